import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { JWT_SECRET, TEST_CATALOG } from './app.js';
import { TEST_REDIS_URL, uniqueName } from './services.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOOKS = pathToFileURL(join(ROOT, 'test/support/swc-hooks.mjs')).href;

/** How a child ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** When it ended (Date.now()). */
  at: number;
}

export interface ChildService {
  process: ChildProcess;
  port: number;
  baseUrl: string;
  socketUrl: string;
  redisKeyPrefix: string;
  /** Everything the child wrote to stdout and stderr so far. */
  output(): string;
  /** Settles when the child has ended. */
  exited: Promise<ChildExit>;
  /** Sends the signal and waits for the end (kills it after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ChildExit>;
}

/** A free TCP port on 127.0.0.1 (the child is told to listen on it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

/**
 * Starts the service as a real process (`node apps/realtime/src/main.ts`), the way production runs
 * it (its own signals, its own exit code), from the TypeScript sources under test: SWC compiles them
 * on load with decorator metadata (test/support/swc-hooks.mjs), so nothing needs building first and a
 * stale dist/ can never be what is tested. Resolves once `/ready` answers 200.
 */
export async function startChild(options: { env?: Record<string, string | undefined>; catalog?: unknown; readyTimeoutMs?: number } = {}): Promise<ChildService> {
  const dir = await mkdtemp(join(tmpdir(), 'realtime-child-'));
  const catalogFile = join(dir, 'catalog.json');
  await writeFile(catalogFile, JSON.stringify(options.catalog ?? TEST_CATALOG));
  const port = await freePort();
  const redisKeyPrefix = options.env?.REDIS_KEY_PREFIX ?? uniqueName('e2e-child');
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'test',
    WEBSOCKET_PORT: String(port),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: redisKeyPrefix,
    CATALOG_FILE: catalogFile,
    JWT_SECRET,
    LOG_LEVEL: 'info',
    ...options.env,
  })) {
    if (value !== undefined) env[key] = value;
  }
  const register = `data:text/javascript,import{register}from'node:module';register(${JSON.stringify(HOOKS)})`;
  const child = spawn(process.execPath, ['--conditions=source', '--enable-source-maps', '--import', register, 'apps/realtime/src/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<ChildExit>((done) => child.once('exit', (code, signal) => done({ code, signal, at: Date.now() })));
  void exited.then(() => rm(dir, { recursive: true, force: true }));
  const baseUrl = `http://127.0.0.1:${port}`;
  const service: ChildService = {
    process: child,
    port,
    baseUrl,
    socketUrl: `${baseUrl}/realtime`,
    redisKeyPrefix,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((done) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          done();
        }, timeoutMs);
      });
      await Promise.race([exited, killed]);
      clearTimeout(timer);
      return exited;
    },
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    const ended = child.exitCode !== null || child.signalCode !== null;
    if (ended) throw new Error(`the service exited during start-up:\n${output}`);
    const ready = await fetch(`${baseUrl}/ready`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) return service;
    if (Date.now() > deadline) {
      await service.stop('SIGKILL');
      throw new Error(`the service was not ready within the time limit:\n${output}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}
