import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { QueueAdmitted } from '#contracts';
import { ADMITTER_LEASE_MS, QueueAdmitter } from '../apps/realtime/src/waiting-room/queue-admitter.js';
import { WaitingRoomService } from '../apps/realtime/src/waiting-room/waiting-room.service.js';
import type { StatsResponse } from '../apps/realtime/src/http/http-types.js';
import { dropKeys, getJson, startApp, type TestApp } from './support/app.js';
import { closeAll, connect, ok, request, sleep } from './support/clients.js';
import { eventually } from './support/rmq-broker.js';
import { uniqueName } from './support/services.js';

const CATALOG = { events: [{ id: 'fo', categories: [{ categoryId: 'ga', totalTickets: 1000 }] }] };

/**
 * Two instances on one Redis key prefix: one admitter at a time, handed over when its instance dies,
 * and never an admission twice or beyond the pace — the store's atomic tick keeps the pace even if
 * two instances were to tick at once.
 */
describe('waiting room across two instances', () => {
  const prefix = uniqueName('e2e-wr-cluster');
  const apps: TestApp[] = [];
  afterEach(() => closeAll());
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await dropKeys(prefix);
  });

  it('the admitter dies without handing over: the other instance takes the lease when it lapses, with no double admission', async () => {
    const env = { REDIS_KEY_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: '0' };
    const a = await startApp({ catalog: CATALOG, env });
    apps.push(a);
    const b = await startApp({ catalog: CATALOG, env });
    apps.push(b);
    await a.app.get(WaitingRoomService).configure('fo', { admitPerMinute: 120, maxActiveUsers: 1000, admissionMs: 600_000 });
    await eventually(() => a.app.get(QueueAdmitter).isAdmitter !== b.app.get(QueueAdmitter).isAdmitter, 'one admitter');
    const [admitter, other] = a.app.get(QueueAdmitter).isAdmitter ? [a, b] : [b, a];

    // Everyone waits on the instance that survives.
    const admissions: Array<{ userId: string; at: number; expiresAt: string }> = [];
    const users = await Promise.all(Array.from({ length: 30 }, (_, i) => connect(other.socketUrl, { userId: `fo-${i}` })));
    users.forEach(({ socket }, i) => socket.on('queue-admitted', (p: QueueAdmitted) => admissions.push({ userId: `fo-${i}`, at: Date.now(), expiresAt: p.admissionExpiresAt })));
    const started = Date.now();
    for (const { socket } of users) ok(await request(socket, 'join-queue', { eventId: 'fo' }));
    await sleep(3000);
    const beforeDeath = admissions.length;
    expect(beforeDeath).toBeGreaterThan(0);

    // A crash: the process stops without releasing its lease.
    admitter.app.get(WaitingRoomService).releaseLease = async () => undefined;
    const diedAt = Date.now();
    await admitter.close();
    await eventually(() => other.app.get(QueueAdmitter).isAdmitter, 'the takeover', ADMITTER_LEASE_MS + 3000);
    const tookOverAt = Date.now();
    expect(tookOverAt - diedAt).toBeLessThanOrEqual(ADMITTER_LEASE_MS + 2500);
    await sleep(3000);
    const elapsed = (Date.now() - started) / 1000;

    // Admission went on after the takeover, each user once, never beyond 2/s (+ the 1.5 bucket).
    expect(admissions.some((x) => x.at > tookOverAt)).toBe(true);
    const ids = admissions.map((x) => x.userId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => `fo-${i}`));
    expect(admissions.length).toBeLessThanOrEqual(Math.floor(2 * elapsed + 1.5));
    // The store agrees with what the users were told (read between two ticks).
    await eventually(async () => {
      const { body } = await getJson<StatsResponse>(other, '/stats');
      const n = admissions.length;
      return JSON.stringify(body.waitingRooms) === JSON.stringify([{ eventId: 'fo', queueLength: 30 - n, activeUsers: n, admittedTotal: n }]);
    }, 'stats matching the admissions sent');
  }, 30_000);
});
