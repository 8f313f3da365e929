import type { Redis } from 'ioredis';

// Compare-and-extend / compare-and-delete: only the holder may renew or drop the lease.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`;
const DROP = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Who may do a cluster-wide singleton job now. */
export interface LeaderLease {
  /** Takes or renews the lease for `ttlMs`; true while `owner` holds it. */
  hold(owner: string, ttlMs: number): Promise<boolean>;
  drop(owner: string): Promise<void>;
}

/** A lease in Redis under the deployment's hash tag (`{prefix}:<name>`). */
export class RedisLeaderLease implements LeaderLease {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    name: string,
  ) {
    this.key = `{${keyPrefix}}:${name}`;
  }

  async hold(owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.key, owner, String(ttlMs))) === 1;
  }

  async drop(owner: string): Promise<void> {
    await this.redis.eval(DROP, 1, this.key, owner);
  }
}

/** Zero-Redis mode: a single instance, always the holder. */
export class SoleLeaderLease implements LeaderLease {
  async hold(): Promise<boolean> {
    return true;
  }

  async drop(): Promise<void> {}
}
