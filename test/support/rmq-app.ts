import { afterAll, afterEach, beforeAll } from 'vitest';
import { dropKeys, startApp, type StartOptions, type TestApp } from './app.js';
import { closeAll } from './clients.js';
import { TestBroker, ordersClient, rmqEnv, rmqNames, type OrdersClient, type ReceivedLockEvent } from './rmq-broker.js';
import { TEST_RABBITMQ_URL, TEST_REDIS_URL } from './services.js';
import { TcpProxy } from './tcp-proxy.js';

export interface RmqAppOptions extends StartOptions {
  /** TCP proxies between the service and Redis / RabbitMQ, for cutting them (the test's own connections go direct). */
  proxy?: { redis?: boolean; rabbitmq?: boolean };
  /** An Orders-style Nest client on the service's queue. */
  orders?: boolean;
  /** Collect every lifecycle event, from a queue bound before the service starts. */
  lifecycle?: boolean;
}

/** What {@link useRmqApp} sets up; everything but `names` exists once the block's `beforeAll` ran. */
export interface RmqApp {
  names: ReturnType<typeof rmqNames>;
  app: TestApp;
  broker: TestBroker;
  orders: OrdersClient;
  lifecycle: ReceivedLockEvent[];
  redisProxy: TcpProxy;
  rabbitProxy: TcpProxy;
}

/**
 * A describe block's service on RabbitMQ (queue and exchange names of its own, `EVENTS_SOURCE=catalog`
 * unless `env` says otherwise) with what the block asks for; after each test the proxies are restored
 * and sockets closed, at the end everything is closed and deleted (queues, exchange, Redis keys).
 */
export function useRmqApp(base: string, options: RmqAppOptions = {}): RmqApp {
  const { proxy, orders, lifecycle, ...start } = options;
  const state: Partial<RmqApp> & Pick<RmqApp, 'names'> = { names: rmqNames(base) };
  beforeAll(async () => {
    const broker = await TestBroker.forService(state.names);
    state.broker = broker;
    if (lifecycle) state.lifecycle = await broker.bindLockEvents(state.names.exchange);
    const env: Record<string, string | undefined> = { ...rmqEnv(state.names), EVENTS_SOURCE: 'catalog' };
    if (proxy?.redis) {
      const front = await TcpProxy.inFrontOf(TEST_REDIS_URL, 6379);
      state.redisProxy = front.proxy;
      env.REDIS_URL = front.url;
    }
    if (proxy?.rabbitmq) {
      const front = await TcpProxy.inFrontOf(TEST_RABBITMQ_URL, 5672);
      state.rabbitProxy = front.proxy;
      env.RABBITMQ_URL = front.url;
    }
    state.app = await startApp({ ...start, env: { ...env, ...start.env } });
    if (orders) state.orders = await ordersClient(state.names.realtimeQueue);
  });
  afterEach(() => {
    state.redisProxy?.restore();
    state.rabbitProxy?.restore();
    closeAll();
  });
  afterAll(async () => {
    await state.orders?.close();
    await state.app?.close();
    await state.redisProxy?.stop();
    await state.rabbitProxy?.stop();
    await state.broker?.close();
    if (state.app) await dropKeys(state.app.config.redisKeyPrefix);
  });
  return state as RmqApp;
}
