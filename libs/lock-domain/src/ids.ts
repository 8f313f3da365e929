import { LockError } from './errors.js';

/**
 * Event and category ids as the contract defines them: integers or strings of at most 64 chars
 * `[A-Za-z0-9_:-]`. `1` and `"1"` name the same thing, so every lookup goes through {@link idKey}.
 * The catalog's own form (number or string) is kept for what we send back out.
 */
export type CatalogId = string | number;

export const ID_PATTERN = /^[A-Za-z0-9_:-]{1,64}$/;

/** The canonical string form used as a key everywhere inside the service. */
export function idKey(id: CatalogId): string {
  return typeof id === 'number' ? String(id) : id;
}

export function isValidId(value: unknown): value is CatalogId {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0;
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** A catalog id the caller is about to store: anything else is refused `VALIDATION_FAILED`. */
export function requireId(id: CatalogId): CatalogId {
  if (!isValidId(id)) throw new LockError('VALIDATION_FAILED');
  return id;
}

/** User, session and request ids are opaque, but must be non-empty strings (else `VALIDATION_FAILED`). */
export function requireText(value: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new LockError('VALIDATION_FAILED');
  return value;
}
