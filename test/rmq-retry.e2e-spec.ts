import { firstValueFrom, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealtimeRmqServer } from '../apps/realtime/src/rmq/realtime-rmq.server.js';
import { eventually, ordersClient, rmqNames, TestBroker, type OrdersClient } from './support/rmq-broker.js';
import { TEST_RABBITMQ_URL } from './support/services.js';

/**
 * CONTRACT §4: a message whose handling fails again and again (any cause) is retried a bounded
 * number of times, then dead-lettered with the reason. The transport alone, with a handler that
 * always throws and short delays.
 */
describe('RabbitMQ transport: bounded retries', () => {
  const names = rmqNames('rmq-retry');
  const queue = names.realtimeQueue;
  let broker: TestBroker;
  let server: RealtimeRmqServer;
  let orders: OrdersClient;
  const attempts = new Map<string, number>();

  beforeAll(async () => {
    broker = await TestBroker.forService(names);
    server = new RealtimeRmqServer({ url: TEST_RABBITMQ_URL, queue, prefetch: 5, retry: { maxRetries: 3, baseDelayMs: 50, maxDelayMs: 200 } });
    server.addHandler('always-fails', async (data: { n: string }) => {
      attempts.set(data.n, (attempts.get(data.n) ?? 0) + 1);
      throw new Error('the handler is broken');
    });
    server.addHandler('works', async (data: unknown) => ({ echoed: data }));
    await new Promise<void>((resolve, reject) => {
      void server.listen((error?: unknown) => (error ? reject(error instanceof Error ? error : new Error('listen failed')) : resolve()));
    });
    orders = await ordersClient(queue);
  });

  afterAll(async () => {
    await orders.close();
    await server.close();
    await broker.close();
  });

  it('more failing messages than the prefetch: each tried 1 + 3 times, then dead-lettered with the reason; others pass meanwhile', async () => {
    for (let i = 0; i < 12; i++) await broker.publishRaw(queue, JSON.stringify({ pattern: 'always-fails', data: { n: `e${i}` } }));
    // A request behind them is answered at once: a waiting retry holds no prefetch slot.
    const started = Date.now();
    const echoed = await firstValueFrom(orders.client.send<unknown>('works', { hello: 1 }).pipe(timeout(5000)));
    expect(echoed).toEqual({ echoed: { hello: 1 } });
    expect(Date.now() - started).toBeLessThan(2000);

    const dead = await broker.take(`${queue}.dead-letter`, 12);
    for (const message of dead) {
      expect(message.headers).toMatchObject({ 'x-dead-letter-reason': 'retries-exhausted', 'x-retry-count': 3, 'x-original-queue': queue });
      expect(String(message.headers['x-dead-letter-detail'])).toBe('always-fails failed 4 times, last: the handler is broken');
    }
    expect([...attempts.values()]).toEqual(Array(12).fill(4));
    await eventually(async () => (await broker.messageCount(queue)) === 0 && (await broker.messageCount(`${queue}.retry`)) === 0, 'queues drained');
  });

  it('a request that keeps failing is answered INTERNAL_ERROR once it is dead-lettered', async () => {
    const reply = await firstValueFrom(orders.client.send<unknown>('always-fails', { n: 'request' }).pipe(timeout(5000)));
    expect(reply).toEqual({ success: false, code: 'INTERNAL_ERROR', message: 'The message could not be processed' });
    expect(attempts.get('request')).toBe(4);
    const [dead] = await broker.take(`${queue}.dead-letter`, 1);
    expect(dead?.headers['x-dead-letter-reason']).toBe('retries-exhausted');
  });
});
