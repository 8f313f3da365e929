import { describe, expect, it } from 'vitest';
import { InflightRequests } from './inflight-requests.js';

describe('InflightRequests', () => {
  it('counts per socket and in total', () => {
    const inflight = new InflightRequests();
    inflight.begin('a');
    inflight.begin('a');
    inflight.begin('b');
    expect([inflight.count('a'), inflight.count('b'), inflight.count('c'), inflight.count()]).toEqual([2, 1, 0, 3]);
    inflight.end('a');
    expect([inflight.count('a'), inflight.count(), inflight.begun, inflight.answered]).toEqual([1, 2, 3, 1]);
  });

  it('resolves idle() when the last request of the socket is answered, at once when there is none', async () => {
    const inflight = new InflightRequests();
    await inflight.idle('nobody');
    inflight.begin('s');
    inflight.begin('s');
    let idle = false;
    const waiting = inflight.idle('s').then(() => (idle = true));
    inflight.end('s');
    await Promise.resolve();
    expect(idle).toBe(false);
    inflight.end('s');
    await waiting;
    expect(idle).toBe(true);
    expect(inflight.count('s')).toBe(0);
  });
});
