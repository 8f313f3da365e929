import { describe } from 'vitest';
import type { LockPolicy, LockStore } from '#lock-domain';
import { catalogContract } from './catalog.js';
import { countsContract } from './counts.js';
import { expiryContract } from './expiry.js';
import { contractHarness } from './harness.js';
import { ledgerContract } from './ledger.js';
import { lockingContract } from './locking.js';
import { repeatsContract } from './repeats.js';
import { seatsContract } from './seats.js';
import { transitionsContract } from './transitions.js';
import { unlockExtendContract } from './unlock-extend.js';

export { POLICY } from './harness.js';

/**
 * The semantics of docs/lock-store.md, run against every {@link LockStore} implementation: one
 * harness, one file per area. `create` must answer a store with empty state (e.g. a fresh Redis
 * key prefix) for the policy. Real time only: expiry tests use short durations and wait.
 */
export function lockStoreContract(name: string, create: (policy: LockPolicy) => Promise<LockStore>): void {
  describe(`LockStore contract: ${name}`, () => {
    const harness = contractHarness(create);
    transitionsContract(harness);
    lockingContract(harness);
    unlockExtendContract(harness);
    expiryContract(harness);
    repeatsContract(harness);
    countsContract(harness);
    catalogContract(harness);
    seatsContract(harness);
    ledgerContract(harness);
  });
}
