import { Socket } from 'node:net';
import { TEST_RABBITMQ_URL, TEST_REDIS_URL } from './services.js';

function answers(rawUrl: string, defaultPort: number): Promise<boolean> {
  const url = new URL(rawUrl);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(Number(url.port || defaultPort), url.hostname, () => done(true));
  });
}

/** Refuses to run without the real services the suites talk to. */
export default async function setup(): Promise<void> {
  const missing: string[] = [];
  if (!(await answers(TEST_REDIS_URL, 6379))) {
    missing.push(
      `Redis does not answer at ${TEST_REDIS_URL}. Start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no (or set REDIS_URL)`,
    );
  }
  if (!(await answers(TEST_RABBITMQ_URL, 5672))) {
    missing.push(`RabbitMQ does not answer at ${new URL(TEST_RABBITMQ_URL).host}. Start it: rabbitmq-server -detached (or set RABBITMQ_URL)`);
  }
  if (missing.length > 0) throw new Error(`The test suites need real services:\n- ${missing.join('\n- ')}`);
}
