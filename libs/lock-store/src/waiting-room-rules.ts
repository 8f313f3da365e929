import { randomBytes } from 'node:crypto';

/**
 * Rules both waiting room stores share (the Redis scripts receive their inputs from here, so the
 * two cannot drift apart).
 */

/**
 * Admission credit after `elapsedMs` at `admitPerMinute`: fractions carry over from tick to tick,
 * but credit never banks beyond one tick's worth (+ ½ for timer jitter), so an idle or full room
 * cannot release a burst later: over any window, admissions ≤ rate × window + that bound.
 */
export function admissionCredit(credit: number, admitPerMinute: number, elapsedMs: number): number {
  return Math.min(creditCap(admitPerMinute), credit + (admitPerMinute * Math.max(0, elapsedMs)) / 60_000);
}

export function creditCap(admitPerMinute: number): number {
  return Math.max(1, admitPerMinute / 60) + 0.5;
}

/** Abandoned users skipped in one tick at most (keeps one atomic call short). */
export const MAX_SKIPS_PER_TICK = 1000;

/**
 * An early joiner's sort key: 48 uniformly random bits from the OS CSPRNG. Sorting i.i.d. uniform
 * keys gives a uniformly random permutation (ties, ~n²/2⁴⁹, are negligible), so nobody's place
 * depends on when they joined, and no one can learn or re-roll a better key.
 */
export function randomPlaceKey(): number {
  return randomBytes(6).readUIntBE(0, 6);
}
