/**
 * Realized performance of each (model, role) over a window of decisions and their labels:
 * the handbook's ranking metrics (AP, ROC AUC, card precision@100 per day) over the labelled
 * decisions, precision and recall of the decisions actually made at the REVIEW threshold
 * (REVIEW or BLOCK) and at the BLOCK threshold, the flag rate and the label coverage.
 */
import { aucRoc, averagePrecision, cardPrecisionAtK } from '../../common/src/ranking-metrics.js';
import type { ModelRole } from '../../common/src/contracts.js';
import type { DecisionRow } from './store.js';

export const DAY_MS = 86_400_000;

export interface Performance {
  decisions: number;
  labelled: number;
  frauds: number;
  /** labelled / decisions. */
  labelCoverage: number;
  /** Share of decisions that were REVIEW or BLOCK (all decisions, labelled or not). */
  flagRate: number;
  ap: number;
  rocAuc: number;
  precisionReview: number;
  recallReview: number;
  precisionBlock: number;
  recallBlock: number;
  /** Mean over the window's days of the share of the day's 100 top-scored cards that had a fraud. */
  cardPrecision100: number;
}

export const PERFORMANCE_METRICS = ['ap', 'rocAuc', 'precisionReview', 'recallReview', 'precisionBlock', 'recallBlock', 'cardPrecision100', 'flagRate', 'labelCoverage'] as const;

/** Metrics of one group of rows (one model and role, one window). */
export function performanceOf(rows: readonly DecisionRow[]): Performance {
  let flagged = 0;
  const labelled = rows.filter((r) => r.fraud !== null);
  for (const r of rows) if (r.outcome !== 'ALLOW') flagged++;
  const scores = Float64Array.from(labelled, (r) => r.score);
  const labels = Uint8Array.from(labelled, (r) => r.fraud!);
  let frauds = 0;
  let tpReview = 0;
  let flaggedReview = 0;
  let tpBlock = 0;
  let flaggedBlock = 0;
  for (const r of labelled) {
    const fraud = r.fraud === 1;
    if (fraud) frauds++;
    if (r.outcome !== 'ALLOW') {
      flaggedReview++;
      if (fraud) tpReview++;
    }
    if (r.outcome === 'BLOCK') {
      flaggedBlock++;
      if (fraud) tpBlock++;
    }
  }
  // Cards as small integer codes in card-id order (the handbook's tie rule), days by UTC day.
  const cardIds = [...new Set(labelled.map((r) => r.card))].sort();
  const codeOf = new Map(cardIds.map((c, i) => [c, i]));
  const cp = labelled.length
    ? cardPrecisionAtK({ scores, labels, cards: Uint32Array.from(labelled, (r) => codeOf.get(r.card)!), days: Int32Array.from(labelled, (r) => Math.floor(r.eventTime / DAY_MS)) }, 100).mean
    : Number.NaN;
  return {
    decisions: rows.length,
    labelled: labelled.length,
    frauds,
    labelCoverage: rows.length ? labelled.length / rows.length : Number.NaN,
    flagRate: rows.length ? flagged / rows.length : Number.NaN,
    ap: labelled.length ? averagePrecision(scores, labels) : Number.NaN,
    rocAuc: labelled.length ? aucRoc(scores, labels) : Number.NaN,
    precisionReview: flaggedReview ? tpReview / flaggedReview : Number.NaN,
    recallReview: frauds ? tpReview / frauds : Number.NaN,
    precisionBlock: flaggedBlock ? tpBlock / flaggedBlock : Number.NaN,
    recallBlock: frauds ? tpBlock / frauds : Number.NaN,
    cardPrecision100: cp,
  };
}

/** Rows grouped by model id and role. */
export function byModelAndRole(rows: readonly DecisionRow[]): Map<string, { model: number; role: ModelRole; rows: DecisionRow[] }> {
  const out = new Map<string, { model: number; role: ModelRole; rows: DecisionRow[] }>();
  for (const r of rows) {
    const key = `${r.model}/${r.role}`;
    let g = out.get(key);
    if (!g) out.set(key, (g = { model: r.model, role: r.role, rows: [] }));
    g.rows.push(r);
  }
  return out;
}
