import { firstValueFrom, lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { QueueAdmitted, QueueUpdate } from '#contracts';
import type { StatsResponse } from '../apps/realtime/src/http/http-types.js';
import { getJson } from './support/app.js';
import { connect, next, ok, request } from './support/clients.js';
import { anyString } from './support/matchers.js';
import { eventually } from './support/rmq-broker.js';
import { useRmqApp } from './support/rmq-app.js';

const CATALOG = { events: [{ id: 77, name: 'Flash', categories: [{ categoryId: 'ga', totalTickets: 100 }] }] };

describe('waiting room over RabbitMQ: configure-waiting-room, get-admission', () => {
  const t = useRmqApp('wr-rmq', { orders: true, catalog: CATALOG, env: { RATE_LIMIT_PER_MINUTE: '0' } });
  const send = <T>(pattern: string, data: unknown): Promise<T> => firstValueFrom(t.orders.client.send<T>(pattern, data));
  const emit = (pattern: string, data: unknown): Promise<unknown> => lastValueFrom(t.orders.client.emit(pattern, data), { defaultValue: undefined });
  const rooms = async () => (await getJson<StatsResponse>(t.app, '/stats')).body.waitingRooms;

  it('bad configure-waiting-room requests are refused with VALIDATION_FAILED and change nothing; bad events are dead-lettered', async () => {
    const bad: unknown[] = [
      'on',
      [77],
      { eventId: 77 },
      { eventId: 77, enabled: 'yes', admitPerMinute: 60, maxActiveUsers: 10 },
      { eventId: 77, enabled: true },
      { eventId: 77, enabled: true, admitPerMinute: 0, maxActiveUsers: 10 },
      { eventId: 77, enabled: true, admitPerMinute: 60, maxActiveUsers: 0 },
      { eventId: 77, enabled: true, admitPerMinute: 60, maxActiveUsers: 2.5 },
      { eventId: 77, enabled: true, admitPerMinute: 60, maxActiveUsers: 10, admissionMinutes: -1 },
      { eventId: 77, enabled: true, admitPerMinute: 60, maxActiveUsers: 10, salesStartAt: 'tomorrow' },
      { eventId: 77, enabled: true, admitPerMinute: 60, maxActiveUsers: 10, salesStartAt: '2030-01-01' },
      { eventId: 'bad id!', enabled: true, admitPerMinute: 60, maxActiveUsers: 10 },
    ];
    for (const data of bad) {
      expect(await send('configure-waiting-room', data), JSON.stringify(data)).toEqual({ success: false, code: 'VALIDATION_FAILED', message: anyString() });
    }
    expect(await send('get-admission', { eventId: 77 })).toMatchObject({ success: false, code: 'VALIDATION_FAILED' });
    expect(await rooms()).toEqual([]);
    expect(await send('configure-waiting-room', { eventId: 77, enabled: false })).toMatchObject({ success: false, code: 'QUEUE_NOT_FOUND' });
    expect(await send('get-admission', { eventId: 77, userId: 'u' })).toMatchObject({ success: false, code: 'QUEUE_NOT_FOUND' });
    const dlq = `${t.names.realtimeQueue}.dead-letter`;
    await emit('configure-waiting-room', { eventId: 77, enabled: true, admitPerMinute: 'many' });
    const [dead] = await t.broker.take(dlq, 1);
    expect(dead?.headers['x-dead-letter-reason']).toBe('invalid-payload');
    expect(await rooms()).toEqual([]);
  });

  it('configure (an event, idempotent), join, admission seen by get-admission, then switched off', async () => {
    const settings = { eventId: '77', enabled: true, admitPerMinute: 600, maxActiveUsers: 5, admissionMinutes: 0.5, ignoredExtra: 'x' };
    await emit('configure-waiting-room', settings);
    await emit('configure-waiting-room', settings);
    await eventually(async () => (await rooms()).length === 1, 'the room');
    expect(await send('configure-waiting-room', settings)).toEqual({ success: true });

    const { socket } = await connect(t.app.socketUrl, { userId: 'rmq-buyer' });
    expect(await request(socket, 'lock-tickets', { eventId: 77, categoryId: 'ga', quantity: 1 })).toMatchObject({ code: 'ADMISSION_REQUIRED' });
    expect(await send('get-admission', { eventId: 77, userId: 'rmq-buyer' })).toEqual({ admitted: false });
    const admitted = next<QueueAdmitted>(socket, 'queue-admitted');
    expect(ok(await request(socket, 'join-queue', { eventId: 77 }))).toMatchObject({ eventId: 77, state: 'waiting', position: 1 });
    const { admissionExpiresAt } = await admitted;
    expect(await send('get-admission', { eventId: '77', userId: 'rmq-buyer' })).toEqual({ admitted: true, admissionExpiresAt });
    expect(Date.parse(admissionExpiresAt) - Date.now()).toBeLessThanOrEqual(30_000);
    ok(await request(socket, 'lock-tickets', { eventId: 77, categoryId: 'ga', quantity: 1 }));

    const closed = next<QueueUpdate>(socket, 'queue-update', (u) => u.closed === true);
    await emit('configure-waiting-room', { eventId: 77, enabled: false });
    expect(await closed).toMatchObject({ eventId: 77, closed: true, queueLength: 0, activeUsers: 0 });
    expect(await request(socket, 'join-queue', { eventId: 77 })).toMatchObject({ success: false, code: 'QUEUE_CLOSED' });
    expect(await send('get-admission', { eventId: 77, userId: 'rmq-buyer' })).toEqual({ admitted: false });
  });
});
