/**
 * Confidence-based performance estimation (CBPE): a window's precision, recall and Average
 * Precision estimated from its scores alone, before any label arrives, by treating each
 * decision's label as a Bernoulli draw with the model's *calibrated* probability (the
 * manifest's `calibration` map, fitted on validation data by the trainer).
 *
 * The formulas, and why the AP differs from NannyML's, are in services/trainer/cbpe.py (the
 * reference this code is tested against): precision = mean p over the flagged rows, recall =
 * Σp flagged / Σp, and AP = Σ_j (S(G_j)·S_j + V(G_j)) / n_j / Σp over groups of equal score,
 * highest first (S_j: Σp of the rows scoring ≥ u_j, n_j: their count, S(G_j), V(G_j): Σp and
 * Σp(1−p) of the group) — the exact expectation of scikit-learn's AP numerator.
 */

export interface Calibration {
  /** Ascending raw scores. */
  x: readonly number[];
  /** Calibrated probabilities at x (non-decreasing); linear in between, clipped outside. */
  y: readonly number[];
}

/** The calibrated probability of a raw score (numpy.interp). */
export function calibrate(c: Calibration, s: number): number {
  const { x, y } = c;
  if (s <= x[0]!) return y[0]!;
  const last = x.length - 1;
  if (s >= x[last]!) return y[last]!;
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (x[mid]! <= s) lo = mid;
    else hi = mid;
  }
  const t = (s - x[lo]!) / (x[hi]! - x[lo]!);
  return y[lo]! + t * (y[hi]! - y[lo]!);
}

export interface Estimate {
  rows: number;
  expectedFrauds: number;
  ap: number;
  precisionReview: number;
  recallReview: number;
  precisionBlock: number;
  recallBlock: number;
}

/** Estimated precision and recall of flagging score ≥ threshold. */
function atThreshold(p: readonly number[], s: readonly number[], t: number, total: number): [number, number] {
  let tp = 0;
  let flagged = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i]! >= t) {
      tp += p[i]!;
      flagged++;
    }
  }
  return [flagged ? tp / flagged : Number.NaN, total > 0 ? tp / total : Number.NaN];
}

/** Expected Average Precision (tie-grouped, as scikit-learn's realized AP). */
export function expectedAveragePrecision(p: readonly number[], s: readonly number[]): number {
  let total = 0;
  for (const v of p) total += v;
  if (p.length === 0 || total <= 0) return Number.NaN;
  const order = Array.from(s.keys()).sort((a, b) => s[b]! - s[a]! || a - b);
  let sum = 0;
  let cumP = 0;
  for (let i = 0; i < order.length; ) {
    const u = s[order[i]!]!;
    let groupP = 0;
    let groupV = 0;
    let j = i;
    for (; j < order.length && s[order[j]!] === u; j++) {
      const pj = p[order[j]!]!;
      groupP += pj;
      groupV += pj * (1 - pj);
    }
    cumP += groupP;
    sum += (groupP * cumP + groupV) / j;
    i = j;
  }
  return sum / total;
}

/** Every estimate for one window of raw scores, given the calibration and the thresholds. */
export function estimate(scores: readonly number[], c: Calibration, thresholds: { review: number; block: number }): Estimate {
  const p = scores.map((s) => calibrate(c, s));
  const total = p.reduce((a, b) => a + b, 0);
  const [precisionReview, recallReview] = atThreshold(p, scores, thresholds.review, total);
  const [precisionBlock, recallBlock] = atThreshold(p, scores, thresholds.block, total);
  return { rows: scores.length, expectedFrauds: total, ap: expectedAveragePrecision(p, scores), precisionReview, recallReview, precisionBlock, recallBlock };
}
