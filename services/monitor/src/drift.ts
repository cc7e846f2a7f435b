/**
 * Drift of a model's inputs and score against its training data: the manifest's reference
 * histograms (services/trainer/histograms.py: quantile edges with open ends; bin of x = number
 * of edges strictly less than x) against the live values' histogram over a window, per
 * feature and for the score.
 *
 * PSI = Σ (live − ref) · ln(live / ref) over the bins, with both shares floored at 1e-4 so an
 * empty bin gives a large but finite term (the usual reading: < 0.1 stable, 0.1–0.2 moderate,
 * > 0.2 drifted). Jensen–Shannon divergence (base 2, 0…1) is reported beside it: bounded and
 * symmetric, it does not explode on a bin the training data barely had.
 */

const FLOOR = 1e-4;

export interface Histogram {
  edges: readonly number[];
  fractions: readonly number[];
  /** The training rows' range (absent in manifests written before it was recorded). */
  min?: number;
  max?: number;
}

/** A reference range [min, max]; values outside it are out of range. */
export type Range = readonly [number, number];

export const outOfRange = (range: Range | undefined, x: number): boolean => range !== undefined && (x < range[0] || x > range[1]);

/** Bin of x: the number of edges strictly less than x (binary search). */
export function binOf(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const shares = (counts: readonly number[]): number[] => {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total ? c / total : 0));
};

export function psi(reference: readonly number[], counts: readonly number[]): number {
  const live = shares(counts);
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const e = Math.max(FLOOR, reference[i] ?? 0);
    const a = Math.max(FLOOR, live[i] ?? 0);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

export function jensenShannon(reference: readonly number[], counts: readonly number[]): number {
  const live = shares(counts);
  const kl = (p: readonly number[], q: readonly number[]) => {
    let s = 0;
    for (let i = 0; i < p.length; i++) if (p[i]! > 0) s += p[i]! * Math.log2(p[i]! / q[i]!);
    return s;
  };
  const ref = reference.map((x) => Math.max(0, x));
  const m = ref.map((r, i) => (r + (live[i] ?? 0)) / 2);
  return 0.5 * kl(ref, m) + 0.5 * kl(live, m);
}
