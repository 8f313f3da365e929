import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenExpiryWatch, type ExpiringSocket } from './token-expiry-watch.js';

function socket(tokenExpiresAt?: number) {
  const s = {
    connected: true,
    data: tokenExpiresAt === undefined ? {} : { tokenExpiresAt },
    emit: vi.fn(),
    disconnect: vi.fn(() => {
      s.connected = false;
    }),
  };
  return s satisfies ExpiringSocket;
}

describe('TokenExpiryWatch', () => {
  let watch: TokenExpiryWatch;
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    watch = new TokenExpiryWatch();
  });
  afterEach(() => {
    watch.onModuleDestroy();
    vi.useRealTimers();
  });

  it('tells each socket token-expired at its own exp and disconnects it, not a millisecond before', () => {
    const early = socket(1_002_000);
    const late = socket(1_005_000);
    watch.watch(late);
    watch.watch(early);
    vi.advanceTimersByTime(1_999);
    expect(early.emit).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(early.emit).toHaveBeenCalledWith('token-expired', { expiredAt: new Date(1_002_000).toISOString() });
    expect(early.disconnect).toHaveBeenCalledWith(true);
    expect(late.emit).not.toHaveBeenCalled();
    vi.advanceTimersByTime(3_000);
    expect(late.disconnect).toHaveBeenCalledTimes(1);
    expect(watch.watched).toBe(0);
  });

  it('expires every socket sharing an exp together', () => {
    const sockets = [socket(1_001_000), socket(1_001_000), socket(1_001_000)];
    for (const s of sockets) watch.watch(s);
    vi.advanceTimersByTime(1_000);
    for (const s of sockets) expect(s.disconnect).toHaveBeenCalledTimes(1);
  });

  it('forgets a socket that disconnected first (nothing kept, nothing sent)', () => {
    const gone = socket(1_001_000);
    const stays = socket(1_001_000);
    watch.watch(gone);
    watch.watch(stays);
    watch.forget(gone);
    expect(watch.watched).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(gone.emit).not.toHaveBeenCalled();
    expect(stays.emit).toHaveBeenCalledTimes(1);
  });

  it('ignores sockets without exp and an already expired token goes at once', () => {
    const forever = socket();
    const past = socket(999_000);
    watch.watch(forever);
    watch.watch(past);
    expect(watch.watched).toBe(1);
    vi.advanceTimersByTime(0);
    expect(past.disconnect).toHaveBeenCalledTimes(1);
  });

  it('re-arms past the setTimeout limit', () => {
    const far = socket(1_000_000 + 2 ** 31 + 5_000);
    watch.watch(far);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(far.emit).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5_001);
    expect(far.emit).toHaveBeenCalledTimes(1);
  });
});
