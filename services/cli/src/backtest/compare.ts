/**
 * The backtest's comparison, pure: two models' scores and decisions on the same rows, against
 * the labels that exist.
 *
 *  - Decisions: each model's own manifest thresholds through the scorer's policy
 *    (decision/policy.ts: score >= block → BLOCK, >= review → REVIEW, else ALLOW), and the
 *    3×3 matrix of champion decision (rows) → candidate decision (columns) over every row.
 *  - Flag rate: REVIEW or BLOCK over every row (labelled or not); also review and block rates.
 *  - Realized quality, over the labelled rows only (label 0/1; a row without an outcome yet is
 *    in the decisions and rates, not here): average precision of the scores (ranking-metrics
 *    averagePrecision, scikit-learn's definition), and precision and recall "at REVIEW"
 *    (flagged: REVIEW or BLOCK, i.e. score >= the review threshold) and "at BLOCK".
 *  - Cost: the amount of the labelled frauds flagged and blocked, against the reviews needed
 *    (REVIEW decisions, every row: an analyst looks at each whether or not it is labelled yet).
 *
 * NaN where a figure has no denominator (no labelled fraud, nothing flagged): JSON writes null.
 */
import type { Outcome } from '../../../common/src/contracts.js';
import { averagePrecision } from '../../../common/src/ranking-metrics.js';
import { createPolicy, type Thresholds } from '../../../scorer/src/decision/policy.js';

export const DECISIONS = ['ALLOW', 'REVIEW', 'BLOCK'] as const satisfies readonly Outcome[];
export const ALLOW = 0;
export const REVIEW = 1;
export const BLOCK = 2;

const CODE: Record<Outcome, number> = { ALLOW, REVIEW, BLOCK };

/** Without an explainer the policy reads no row: the decision is the score's alone. */
const NO_ROW = new Float32Array(0);

/** Each score's decision code (ALLOW 0, REVIEW 1, BLOCK 2), by the scorer's own policy. */
export function decide(scores: ArrayLike<number>, thresholds: Thresholds): Uint8Array {
  const policy = createPolicy(thresholds, 'backtest');
  const out = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = CODE[policy.decide(scores[i] as number, NO_ROW, 0).decision];
  return out;
}

export interface ModelRun {
  /** P(fraud) per row, as the model returned it (float32). */
  scores: ArrayLike<number>;
  /** Decision code per row (decide()). */
  decisions: ArrayLike<number>;
}

export interface CompareRows {
  /** 1 fraud, 0 genuine, anything else (-1): no label. */
  labels: ArrayLike<number>;
  /** amountMinor per row. */
  amounts: ArrayLike<number>;
}

export interface AtThreshold {
  /** Labelled rows at or past the decision, and the frauds among them. */
  labelled: number;
  frauds: number;
  /** frauds / labelled; NaN when none is labelled. */
  precision: number;
  /** frauds / all labelled frauds; NaN when there is none. */
  recall: number;
}

export interface Cost {
  /** Sum of amountMinor of the labelled frauds flagged (REVIEW or BLOCK), and blocked. */
  fraudAmountFlagged: number;
  fraudAmountBlocked: number;
  /** Share of the labelled frauds' amount flagged / blocked. */
  fraudAmountFlaggedShare: number;
  fraudAmountBlockedShare: number;
  /** REVIEW decisions (every row). */
  reviews: number;
  /** Labelled genuine transactions blocked, and their amount. */
  genuineBlocked: number;
  genuineAmountBlocked: number;
}

export interface ModelFigures {
  counts: Record<Outcome, number>;
  /** REVIEW + BLOCK. */
  flagged: number;
  flagRate: number;
  reviewRate: number;
  blockRate: number;
  ap: number;
  atReview: AtThreshold;
  atBlock: AtThreshold;
  cost: Cost;
}

export interface Comparison {
  rows: number;
  labelled: number;
  frauds: number;
  /** Sum of amountMinor of the labelled frauds. */
  fraudAmount: number;
  /** matrix[champion][candidate]: rows decided so by each (ALLOW, REVIEW, BLOCK order). */
  matrix: number[][];
  /** Rows off the diagonal. */
  changed: number;
  changedRate: number;
  champion: ModelFigures;
  candidate: ModelFigures;
  /** candidate − champion. */
  change: {
    flagRate: number;
    reviewRate: number;
    blockRate: number;
    ap: number;
    precisionAtReview: number;
    recallAtReview: number;
    precisionAtBlock: number;
    recallAtBlock: number;
    fraudAmountFlagged: number;
    fraudAmountBlocked: number;
    reviews: number;
  };
}

const isLabel = (v: number): boolean => v === 0 || v === 1;

function figures(run: ModelRun, rows: CompareRows, labelled: number[], frauds: number, fraudAmount: number): ModelFigures {
  const n = rows.labels.length;
  const counts = [0, 0, 0];
  const at = [{ labelled: 0, frauds: 0 }, { labelled: 0, frauds: 0 }];
  let fraudAmountFlagged = 0;
  let fraudAmountBlocked = 0;
  let genuineBlocked = 0;
  let genuineAmountBlocked = 0;
  for (let i = 0; i < n; i++) {
    const d = run.decisions[i] as number;
    if (d !== ALLOW && d !== REVIEW && d !== BLOCK) throw new RangeError(`decision of row ${i} is ${d}, not 0, 1 or 2`);
    counts[d]!++;
    const label = rows.labels[i] as number;
    if (!isLabel(label) || d === ALLOW) continue;
    const amount = rows.amounts[i] as number;
    at[0]!.labelled++;
    if (d === BLOCK) at[1]!.labelled++;
    if (label === 1) {
      at[0]!.frauds++;
      fraudAmountFlagged += amount;
      if (d === BLOCK) {
        at[1]!.frauds++;
        fraudAmountBlocked += amount;
      }
    } else if (d === BLOCK) {
      genuineBlocked++;
      genuineAmountBlocked += amount;
    }
  }
  const scores = Float32Array.from(labelled, (i) => run.scores[i] as number);
  const labels = Uint8Array.from(labelled, (i) => rows.labels[i] as number);
  const atThreshold = (a: { labelled: number; frauds: number }): AtThreshold => ({
    labelled: a.labelled,
    frauds: a.frauds,
    precision: a.labelled > 0 ? a.frauds / a.labelled : Number.NaN,
    recall: frauds > 0 ? a.frauds / frauds : Number.NaN,
  });
  const rate = (k: number): number => (n > 0 ? k / n : Number.NaN);
  const [allow, review, block] = counts as [number, number, number];
  return {
    counts: { ALLOW: allow, REVIEW: review, BLOCK: block },
    flagged: review + block,
    flagRate: rate(review + block),
    reviewRate: rate(review),
    blockRate: rate(block),
    ap: labelled.length > 0 ? averagePrecision(scores, labels) : Number.NaN,
    atReview: atThreshold(at[0]!),
    atBlock: atThreshold(at[1]!),
    cost: {
      fraudAmountFlagged,
      fraudAmountBlocked,
      fraudAmountFlaggedShare: fraudAmount > 0 ? fraudAmountFlagged / fraudAmount : Number.NaN,
      fraudAmountBlockedShare: fraudAmount > 0 ? fraudAmountBlocked / fraudAmount : Number.NaN,
      reviews: review,
      genuineBlocked,
      genuineAmountBlocked,
    },
  };
}

/** Champion against candidate on the same rows (see the header). */
export function compareModels(rows: CompareRows, champion: ModelRun, candidate: ModelRun): Comparison {
  const n = rows.labels.length;
  for (const [name, run] of [['champion', champion], ['candidate', candidate]] as const) {
    if (run.scores.length !== n || run.decisions.length !== n) throw new RangeError(`${name}: ${run.scores.length} scores and ${run.decisions.length} decisions for ${n} rows`);
  }
  if (rows.amounts.length !== n) throw new RangeError(`${rows.amounts.length} amounts for ${n} rows`);
  const labelled: number[] = [];
  let frauds = 0;
  let fraudAmount = 0;
  const matrix = DECISIONS.map(() => DECISIONS.map(() => 0));
  for (let i = 0; i < n; i++) {
    const label = rows.labels[i] as number;
    if (isLabel(label)) {
      labelled.push(i);
      if (label === 1) {
        frauds++;
        fraudAmount += rows.amounts[i] as number;
      }
    }
    const row = matrix[champion.decisions[i] as number];
    if (row === undefined) throw new RangeError(`champion decision of row ${i} is ${champion.decisions[i]}, not 0, 1 or 2`);
    row[candidate.decisions[i] as number]!++;
  }
  let same = 0;
  for (let d = 0; d < DECISIONS.length; d++) same += matrix[d]![d]!;
  const a = figures(champion, rows, labelled, frauds, fraudAmount);
  const b = figures(candidate, rows, labelled, frauds, fraudAmount);
  return {
    rows: n,
    labelled: labelled.length,
    frauds,
    fraudAmount,
    matrix,
    changed: n - same,
    changedRate: n > 0 ? (n - same) / n : Number.NaN,
    champion: a,
    candidate: b,
    change: {
      flagRate: b.flagRate - a.flagRate,
      reviewRate: b.reviewRate - a.reviewRate,
      blockRate: b.blockRate - a.blockRate,
      ap: b.ap - a.ap,
      precisionAtReview: b.atReview.precision - a.atReview.precision,
      recallAtReview: b.atReview.recall - a.atReview.recall,
      precisionAtBlock: b.atBlock.precision - a.atBlock.precision,
      recallAtBlock: b.atBlock.recall - a.atBlock.recall,
      fraudAmountFlagged: b.cost.fraudAmountFlagged - a.cost.fraudAmountFlagged,
      fraudAmountBlocked: b.cost.fraudAmountBlocked - a.cost.fraudAmountBlocked,
      reviews: b.cost.reviews - a.cost.reviews,
    },
  };
}

/** The matrix as { champion decision: { candidate decision: rows } }. */
export function namedMatrix(matrix: number[][]): Record<Outcome, Record<Outcome, number>> {
  const out = {} as Record<Outcome, Record<Outcome, number>>;
  DECISIONS.forEach((from, i) => {
    out[from] = { ALLOW: matrix[i]![ALLOW]!, REVIEW: matrix[i]![REVIEW]!, BLOCK: matrix[i]![BLOCK]! };
  });
  return out;
}
