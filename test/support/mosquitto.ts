import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';

/** The ACL the project ships (deploy/mosquitto/acl): the tests run the broker with it, unchanged. */
export const DEPLOY_ACL = resolve(import.meta.dirname, '../../deploy/mosquitto/acl');

/** Logins in the test broker's password file: the service and two buyers. */
export const MQTT_USERS = { realtime: 'service-password', alice: 'alice-password', bob: 'bob-password' } as const;

export interface TestBroker {
  /** `mqtt://realtime:…@127.0.0.1:<port>`: the service's MQTT_URL. */
  serviceUrl: string;
  /** `ws://127.0.0.1:<port>`: what a browser (seed 003's frontend) connects to. */
  wsUrl: string;
  /** Stops the broker (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same ports (retained messages and sessions are gone, unless started with `persistence`). */
  start(): Promise<void>;
  /** Stops it and removes its files. */
  close(): Promise<void>;
}

/**
 * A Mosquitto of the test's own on free ports (TCP + WebSocket listeners), with a password file and
 * the project's ACL, like deploy/mosquitto; the machine's broker on 1883 is shared and never touched.
 */
export async function startBroker(options: { acl?: boolean; persistence?: boolean } = {}): Promise<TestBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'mosquitto-e2e-'));
  // Started as root, mosquitto drops to its own user, which must be able to read these.
  await chmod(dir, 0o755);
  const passwd = join(dir, 'passwd');
  await writeFile(passwd, '');
  for (const [user, password] of Object.entries(MQTT_USERS)) {
    const made = spawnSync('mosquitto_passwd', ['-b', passwd, user, password], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`mosquitto_passwd failed (is mosquitto installed?): ${made.stderr || made.error?.message}`);
  }
  await chmod(passwd, 0o644);
  const [tcpPort, wsPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      'per_listener_settings false',
      `listener ${tcpPort} 127.0.0.1`,
      'protocol mqtt',
      `listener ${wsPort} 127.0.0.1`,
      'protocol websockets',
      'allow_anonymous true',
      `password_file ${passwd}`,
      // Without the ACL every client may read and write every topic (e.g. for a topic prefix the ACL does not name).
      ...(options.acl === false ? [] : [`acl_file ${DEPLOY_ACL}`]),
      // With persistence, sessions (and what is queued for them) and retained messages survive stop()/start().
      ...(options.persistence ? ['persistence true', `persistence_location ${dir}/`] : ['persistence false']),
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child = proc;
    const deadline = Date.now() + 5000;
    while (!(await answers(tcpPort)) || !(await answers(wsPort))) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start: ${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    serviceUrl: `mqtt://realtime:${MQTT_USERS.realtime}@127.0.0.1:${tcpPort}`,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    start,
    stop,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A browser-like client: mqtt.js over WebSocket, as seed 003's frontend connects. */
export async function browserClient(
  broker: TestBroker,
  options?: { username?: string; password?: string; protocolVersion?: 4 | 5; clientId?: string; clean?: boolean },
): Promise<MqttClient> {
  const client = mqtt.connect(broker.wsUrl, { reconnectPeriod: 200, connectTimeout: 3000, ...(options ?? {}) });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/** Subscribes and resolves once the broker granted it (retained messages follow at once). */
export async function subscribe(client: MqttClient, topic: string): Promise<void> {
  const granted = await client.subscribeAsync(topic, { qos: 1 });
  if (granted.some((g) => g.qos >= 128)) throw new Error(`subscription to ${topic} refused`);
}

export interface Received {
  topic: string;
  body: Record<string, unknown>;
  retain: boolean;
  at: number;
}

/** Every message the client gets from now on, parsed. */
export function record(client: MqttClient): Received[] {
  const seen: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    seen.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown>, retain: packet.retain, at: Date.now() });
  });
  return seen;
}

/** Waits until `predicate` holds of one of the received messages. */
export async function waitFor(seen: Received[], predicate: (message: Received) => boolean, timeoutMs = 3000): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = seen.find(predicate);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no such MQTT message within ${timeoutMs} ms; got: ${JSON.stringify(seen.map((m) => [m.topic, m.body]))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolveAnswer(true);
    });
    socket.once('error', () => resolveAnswer(false));
  });
}
