import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startApp, type TestApp } from './support/app.js';
import { closeAll, connect, ok, request } from './support/clients.js';
import { freePort } from './support/child-service.js';
import { eventually } from './support/rmq-broker.js';

type ReadyBody = { status: string; checks: Record<string, string> };

/** A throwaway redis-server of this test's own (never the shared one: this test empties it). */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused until the server listens: expected, and answered by the next try.
  probe.on('error', () => undefined);
  try {
    await eventually(async () => (await probe.connect().then(() => probe.ping()).catch(() => '')) === 'PONG', `redis-server on ${port}`);
  } finally {
    probe.disconnect();
  }
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** CONTRACT §3: Redis coming back empty is noticed, `/ready` says 503, and the catalog is restored without a restart. */
describe('Redis back empty', () => {
  let port: number;
  let redisServer: ChildProcess;
  let app: TestApp;
  let admin: Redis;
  const ready = () => getJson<ReadyBody>(app, '/ready');

  beforeAll(async () => {
    port = await freePort();
    redisServer = await startRedis(port);
    admin = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    // The second test restarts the server under it; it reconnects by itself.
    admin.on('error', () => undefined);
    app = await startApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}/0` } });
  });

  afterAll(async () => {
    closeAll();
    await app.close();
    admin.disconnect();
    await stopRedis(redisServer);
  });

  it('FLUSHDB under a running service: /ready 503 (catalog down) until restored, then locks work again, no restart', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'before-flush' });
    ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1 }));
    expect((await ready()).status).toBe(200);

    // Writes paused for a moment right after the flush, so the restore cannot beat the look at /ready.
    await admin.multi().flushdb().call('CLIENT', 'PAUSE', '1500', 'WRITE').exec();
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body.checks).toMatchObject({ redis: 'up', catalog: 'down' });

    await eventually(async () => (await ready()).status === 200, '/ready back to 200');
    const { socket: after } = await connect(app.socketUrl, { userId: 'after-flush' });
    ok(await request(after, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 3 }));
    // The lock taken before the flush went with it; the new one counts against the restored total.
    const category = ok(await request(after, 'join-event-room', { eventId: 1 })).availability.find((c) => c.categoryId === 2);
    expect(category).toMatchObject({ totalTickets: 100, lockedTickets: 3, availableTickets: 97 });
    expect(ok(await request(after, 'join-event-room', { eventId: 'fest-2027' })).availability).toHaveLength(2);
    const events = await getJson<Array<{ id: unknown }>>(app, '/events');
    expect(events.body.map((e) => e.id)).toEqual([1, 'fest-2027']);
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^realtime_catalog_restores_total 1$/m);
  });

  it('redis-server restarted without data: noticed once it is back, catalog restored, locks work', async () => {
    await stopRedis(redisServer);
    await eventually(async () => (await ready()).body.checks.redis === 'down', '/ready to say redis down');
    redisServer = await startRedis(port);
    await eventually(async () => (await ready()).status === 200, '/ready back to 200', 15_000);
    const { socket } = await connect(app.socketUrl, { userId: 'after-restart' });
    ok(await request(socket, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'backstage', quantity: 2 }));
  });
});
