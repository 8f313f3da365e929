/**
 * Many sockets in one bench child process: `count` authenticated sockets, optionally joined to an
 * event room as watchers of `availability-update`. Settings in BENCH_CLIENT (JSON).
 * IPC: { ready, connectMs } once all are connected (and joined); { report } → { updates } with, per
 * category and version, how many members got it and when the first and the last did (then resets);
 * { close } → closes every socket and exits.
 */
import { runChild } from '../lib/child.js';
import { signHs256 } from '../lib/jwt.js';
import { connectMany, forEachLimit } from '../lib/lite-client.js';
import { wallNow } from '../lib/stats.js';

interface Settings {
  url: string;
  secret: string;
  userPrefix: string;
  count: number;
  /** Join this event's room and record its updates. */
  eventId?: string | number;
}

export interface UpdateSeen {
  categoryId: string;
  version: number;
  count: number;
  first: number;
  last: number;
}

const settings = JSON.parse(process.env.BENCH_CLIENT ?? '{}') as Settings;

/**
 * On loopback, sockets are spread over the source addresses 127.0.0.2…: each source address has its
 * own ~28,000 ephemeral ports (ip_local_port_range) towards the one server port, and other processes
 * on the machine (tests, earlier rounds' TIME_WAIT) use ports of 127.0.0.1 too.
 */
const SOURCES = 4;
const loopback = new URL(settings.url).hostname === '127.0.0.1';
function sourceAddress(i: number): { localAddress?: string } {
  return loopback ? { localAddress: `127.0.0.${2 + (i % SOURCES)}` } : {};
}
const seen = new Map<string, UpdateSeen>();

const CATEGORY = /"categoryId":"?([^",}]*)/;
const VERSION = /"version":(\d+)/;

function record(raw: string): void {
  const at = wallNow();
  const categoryId = CATEGORY.exec(raw)?.[1];
  const version = Number(VERSION.exec(raw)?.[1]);
  if (categoryId === undefined || !Number.isFinite(version)) return;
  const key = `${categoryId}\n${version}`;
  const entry = seen.get(key);
  if (entry) {
    entry.count++;
    if (at > entry.last) entry.last = at;
  } else {
    seen.set(key, { categoryId, version, count: 1, first: at, last: at });
  }
}
const watching = settings.eventId !== undefined;

async function main(): Promise<void> {
  const started = wallNow();
  const sockets = await connectMany(
    settings.count,
    (i) => ({
      url: settings.url,
      token: signHs256({ sub: `${settings.userPrefix}-${i}` }, settings.secret),
      ...sourceAddress(i),
      ...(watching
        ? {
            // The two fields needed are read straight from the frame (no JSON.parse per member and update):
            // ten thousand members in one process must cost the load generator as little as possible.
            filter: (raw: string) => {
              if (raw.startsWith('42/realtime,["availability-update"')) record(raw);
              return false;
            },
          }
        : {}),
    }),
  );
  if (watching) {
    await forEachLimit(sockets, 50, async (socket) => {
      const joined = await socket.request<{ success: boolean; code?: string }>('join-event-room', { eventId: settings.eventId });
      if (!joined.success) throw new Error(`join-event-room failed: ${joined.code}`);
    });
  }
  process.send?.({ ready: true, connectMs: wallNow() - started });
  process.on('message', (message: { cmd?: string }) => {
    if (message.cmd === 'report') {
      process.send?.({ updates: [...seen.values()] });
      seen.clear();
    } else if (message.cmd === 'close') {
      for (const socket of sockets) socket.terminate();
      setTimeout(() => process.exit(0), 200).unref();
    }
  });
}

runChild(main);
