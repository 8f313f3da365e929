/** Small statistics helpers: percentiles of samples, medians of rounds, ratios. */

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  const copy = Float64Array.from(values);
  copy.sort();
  return copy;
}

export function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = Math.floor(finite.length / 2);
  return finite.length % 2 === 1 ? (finite[mid] ?? Number.NaN) : ((finite[mid - 1] ?? 0) + (finite[mid] ?? 0)) / 2;
}

export function ratio(a: number, b: number): number {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN;
}

/** The keys of `T` whose values are numbers. */
export type NumericKey<T> = { [K in keyof T]-?: T[K] extends number ? K : never }[keyof T];

/** Median over rounds of one numeric field. */
export function medianOf<T>(rounds: readonly T[], key: NumericKey<T>): number {
  return median(rounds.map((r) => r[key] as number));
}

/**
 * Ratios of paired rounds (`a[i]` ÷ `b[i]` of one field: adjacent runs), then their median: robust
 * to drift on a shared machine. A round without a partner gives NaN, which the median leaves out.
 */
export function pairedRatio<T>(a: readonly T[], b: readonly T[], key: NumericKey<T>): number {
  return median(a.map((r, i) => ratio(r[key] as number, (b[i]?.[key] as number | undefined) ?? Number.NaN)));
}

/** Monotonic time that is comparable across the processes of one machine (ms since the epoch, sub-ms). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}
