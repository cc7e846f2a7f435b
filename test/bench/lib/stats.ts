/** Small statistics and formatting helpers for the benchmark. */

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Nearest-rank percentile of an already sorted array; q in [0, 1]. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(Math.round(q * sorted.length * 1e9) / 1e9);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values as ArrayLike<number>).sort();
}

/** Points of an empirical CDF, at most `points` of them (log-friendly: every quantile step). */
export function cdfPoints(sorted: Float64Array, points = 200): [number, number][] {
  if (sorted.length === 0) return [];
  const out: [number, number][] = [];
  const qs = new Set<number>();
  for (let i = 0; i <= points; i++) qs.add(i / points);
  for (const q of [0.9, 0.95, 0.99, 0.995, 0.999, 0.9999]) qs.add(q);
  for (const q of [...qs].sort((a, b) => a - b)) out.push([percentileSorted(sorted, Math.max(q, 1 / sorted.length)), q]);
  return out;
}

/** Counts per whole second since `origin` (ms). */
export function perSecond(timestamps: ArrayLike<number>, origin: number): number[] {
  const counts: number[] = [];
  for (let i = 0; i < timestamps.length; i++) {
    const s = Math.floor((timestamps[i]! - origin) / 1000);
    if (s < 0) continue;
    while (counts.length <= s) counts.push(0);
    counts[s]!++;
  }
  return counts;
}

export const fmtInt = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
export const fmt = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : '–');
export const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : '–');

/** A growable Float64Array (no boxed numbers for hundreds of thousands of samples). */
export class Samples {
  private buf = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  get(i: number): number {
    return this.buf[i]!;
  }
  view(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}
