import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BENCH_DIR = path.join(ROOT, 'bench');
export const LOG_DIR = path.join(BENCH_DIR, 'results', 'logs');
const ADMIN_HOOK = path.join(BENCH_DIR, 'lib', 'admin-hook.mjs');

/** A child process of the bench, with a request/answer helper over its IPC channel. */
export interface Child {
  name: string;
  proc: ChildProcess;
  /** Last lines of its output, for error messages. */
  tail: string[];
  exited: Promise<number | null>;
  /** Sends a message and resolves with the first message the predicate accepts. */
  ask<T>(message: object, accept: (reply: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<T>;
  /** The next message the predicate accepts. */
  next<T>(accept: (reply: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<T>;
  send(message: object): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface SpawnOptions {
  name: string;
  /** Node flags and the script (a .ts script gets `--import tsx`). */
  args: string[];
  env?: Record<string, string | undefined>;
  /** Load the bench admin hook (GC + RSS, CPU profile over IPC). */
  admin?: boolean;
}

let adminSeq = 0;

export function spawnNode(options: SpawnOptions): Child {
  mkdirSync(LOG_DIR, { recursive: true });
  const script = options.args[options.args.length - 1] ?? '';
  const nodeArgs = [
    ...(options.admin ? ['--expose-gc', '--import', ADMIN_HOOK] : []),
    ...(script.endsWith('.ts') ? ['--import', 'tsx'] : []),
    ...options.args,
  ];
  // Raise the open-files limit (thousands of sockets) with `ulimit -n` in a shell that then execs
  // node: the IPC descriptor and its env variable go through.
  const proc = spawn('sh', ['-c', `ulimit -n 65536 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$0" "$@"`, process.execPath, ...nodeArgs], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const log = createWriteStream(path.join(LOG_DIR, `${options.name}.log`), { flags: 'a' });
  const tail: string[] = [];
  const collect = (chunk: Buffer): void => {
    log.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > 30) tail.shift();
    }
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => {
    proc.on('exit', (code) => {
      log.end();
      resolve(code);
    });
  });
  const next = <T>(accept: (reply: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: unknown): void => {
        if (typeof message === 'object' && message !== null && accept(message as Record<string, unknown>)) {
          cleanup();
          resolve(message as T);
        }
      };
      const onExit = (code: number | null): void => {
        cleanup();
        reject(new Error(`${options.name} exited (${String(code)}) while waiting; last output:\n  ${tail.join('\n  ')}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${options.name}: no answer within ${timeoutMs} ms; last output:\n  ${tail.join('\n  ')}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        proc.off('message', onMessage);
        proc.off('exit', onExit);
      };
      proc.on('message', onMessage);
      proc.on('exit', onExit);
    });
  const child: Child = {
    name: options.name,
    proc,
    tail,
    exited,
    next,
    send: (message) => {
      if (proc.connected) proc.send(message);
    },
    ask: <T>(message: object, accept: (reply: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<T> => {
      const answer = next<T>(accept, timeoutMs);
      if (proc.connected) proc.send(message);
      return answer;
    },
  };
  return child;
}

/** Asks a process started with `admin: true` for a GC and its memory figures. */
/** CPU time (user + system) a process has used so far, in ms (Linux /proc; NaN elsewhere). */
export function cpuMsOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime and stime, fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

export async function memoryOf(child: Child): Promise<{ rss: number; heapUsed: number; young: number; gc: boolean }> {
  const id = ++adminSeq;
  return child.ask({ benchAdmin: 'mem', id }, (m) => m.benchAdmin === 'mem' && m.id === id, 30_000);
}

export async function profileStart(child: Child): Promise<void> {
  const id = ++adminSeq;
  await child.ask({ benchAdmin: 'profile-start', id }, (m) => m.benchAdmin === 'profile-start' && m.id === id, 10_000);
}

export async function profileStop(child: Child, file: string): Promise<void> {
  const id = ++adminSeq;
  await child.ask({ benchAdmin: 'profile-stop', id, file }, (m) => m.benchAdmin === 'profile-stop' && m.id === id, 30_000);
}

export async function stopChild(child: Child, graceMs = 8000): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export async function waitForHttp(url: string, timeoutMs: number, child?: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child && child.proc.exitCode !== null) {
      throw new Error(`${child.name} exited (${child.proc.exitCode}); last output:\n  ${child.tail.join('\n  ')}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
      last = `HTTP ${response.status} ${await response.text()}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(250);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (${last})${child ? `; last output:\n  ${child.tail.join('\n  ')}` : ''}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
