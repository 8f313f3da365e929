import type { Availability } from '#lock-domain';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dropKeys, getJson, startApp, type TestApp } from './support/app.js';
import { closeAll, connect, request } from './support/clients.js';
import { uniqueName } from './support/services.js';

describe('120 clients race for 100 tickets on two instances sharing one Redis', () => {
  const prefix = uniqueName('e2e-race');
  let apps: TestApp[];

  beforeAll(async () => {
    apps = [await startApp({ env: { REDIS_KEY_PREFIX: prefix } }), await startApp({ env: { REDIS_KEY_PREFIX: prefix } })];
  });
  afterEach(() => closeAll());
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await dropKeys(prefix);
  });

  it('grants exactly 100 locks and refuses the other 20 with INSUFFICIENT_TICKETS', async () => {
    const clients = await Promise.all(
      Array.from({ length: 120 }, (_, i) => connect((apps[i % 2] as TestApp).socketUrl, { userId: `racer-${i}` })),
    );
    // Category 2 of event 1 has exactly 100 tickets.
    const answers = await Promise.all(clients.map(({ socket }) => request(socket, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1 })));

    const granted = answers.filter((a) => a.success);
    const refused = answers.filter((a) => !a.success);
    expect(granted).toHaveLength(100);
    expect(refused).toHaveLength(20);
    expect(new Set(refused.map((a) => (a.success ? '' : a.code)))).toEqual(new Set(['INSUFFICIENT_TICKETS']));
    expect(new Set(granted.map((a) => (a.success ? a.lockId : ''))).size).toBe(100);

    for (const app of apps) {
      const { body } = await getJson<Availability[]>(app, '/events/1/availability');
      expect(body.find((a) => a.categoryId === 2)).toMatchObject({ totalTickets: 100, lockedTickets: 100, availableTickets: 0, soldTickets: 0 });
    }
  });
});
