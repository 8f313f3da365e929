/* global process, setTimeout */
// Bench-only preload (`node --import ./bench/lib/admin-hook.mjs …`), loaded into the service and the
// reference servers alike so both are measured the same way. No application code is changed.
// Over the IPC channel the bench runner started the process with, it answers:
//   { benchAdmin: 'mem' }            → full GC (needs --expose-gc), then VmRSS and heap figures
//   { benchAdmin: 'profile-start' }  → starts the V8 CPU profiler (same format as --cpu-prof)
//   { benchAdmin: 'profile-stop', file } → writes the .cpuprofile
// When the runner goes away (IPC disconnect) the process exits, so no server outlives a bench.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { getHeapSpaceStatistics } from 'node:v8';

function vmRssBytes() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return match ? Number(match[1]) * 1024 : process.memoryUsage().rss;
}

if (process.send) {
  let session;
  const reply = (message, data) => process.send?.({ benchAdmin: message.benchAdmin, id: message.id, ...data });
  process.on('message', (message) => {
    if (!message || typeof message !== 'object' || typeof message.benchAdmin !== 'string') return;
    switch (message.benchAdmin) {
      case 'mem': {
        if (typeof globalThis.gc === 'function') {
          globalThis.gc();
          globalThis.gc();
        }
        // Let the allocator hand pages back before reading RSS.
        setTimeout(() => {
          const usage = process.memoryUsage();
          // The young generation's committed size: V8 grows it under allocation bursts (to 3 × 16 MB), a
          // one-off cost of the process that RSS shows but heapUsed (empty after a GC) does not.
          const young = getHeapSpaceStatistics()
            .filter((space) => space.space_name === 'new_space' || space.space_name === 'new_large_object_space')
            .reduce((sum, space) => sum + space.space_size, 0);
          reply(message, { rss: vmRssBytes(), heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, young, gc: typeof globalThis.gc === 'function' });
        }, 300);
        break;
      }
      case 'profile-start': {
        session = new Session();
        session.connect();
        session.post('Profiler.enable', () =>
          session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start', () => reply(message, {}))),
        );
        break;
      }
      case 'profile-stop': {
        if (!session) {
          reply(message, { error: 'not profiling' });
          break;
        }
        session.post('Profiler.stop', (error, result) => {
          if (!error && result?.profile) writeFileSync(message.file, JSON.stringify(result.profile));
          session?.disconnect();
          session = undefined;
          reply(message, error ? { error: String(error) } : { file: message.file });
        });
        break;
      }
      default:
        reply(message, { error: 'unknown command' });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.channel?.unref();
}
