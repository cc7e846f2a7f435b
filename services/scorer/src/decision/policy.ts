/**
 * Turns a score (and the features behind it) into ALLOW / REVIEW / BLOCK with reasons.
 * Thresholds come from the model's manifest (chosen on validation data by the trainer), so a
 * model and its operating point travel together. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import type { Outcome } from '../../../common/src/contracts.js';

export interface Thresholds {
  review: number;
  block: number;
}

export interface Verdict {
  decision: Outcome;
  reasons: string[];
}

export interface Policy {
  readonly version: string;
  decide(score: number, features: Float64Array, offset: number): Verdict;
}

/** Indexes into the feature vector that the reason rules read. */
export interface ReasonFeatureIndex {
  amount: number;
  cardAvgAmount30d: number;
  cardTxCount1d: number;
  terminalRisk7d: number;
  terminalRisk30d: number;
}

/**
 * Reasons explain a flag to an analyst; they are fixed rules over the model's own inputs,
 * reported only for REVIEW/BLOCK, and never change the decision (the score does).
 */
export function createPolicy(thresholds: Thresholds, idx: ReasonFeatureIndex, modelId: string): Policy {
  // The exact thresholds are named by a short digest: written out in full, a float's long
  // digit run can pass the Luhn check and look like a PAN in every decision.
  const digest = createHash('sha256').update(`${thresholds.review}/${thresholds.block}`).digest('hex').slice(0, 12);
  const version = `policy-v1;${modelId};thresholds=${digest}`;
  return {
    version,
    decide(score, f, o) {
      if (score < thresholds.review) return { decision: 'ALLOW', reasons: [] };
      const block = score >= thresholds.block;
      const reasons = [block ? 'SCORE_ABOVE_BLOCK_THRESHOLD' : 'SCORE_ABOVE_REVIEW_THRESHOLD'];
      const amount = f[o + idx.amount] as number;
      const avg30 = f[o + idx.cardAvgAmount30d] as number;
      if (amount > 220) reasons.push('AMOUNT_ABOVE_220');
      if (avg30 > 0 && amount >= 3 * avg30) reasons.push('AMOUNT_3X_CARD_30D_AVERAGE');
      if ((f[o + idx.terminalRisk7d] as number) > 0) reasons.push('TERMINAL_FRAUD_LAST_7D');
      else if ((f[o + idx.terminalRisk30d] as number) > 0) reasons.push('TERMINAL_FRAUD_LAST_30D');
      if ((f[o + idx.cardTxCount1d] as number) >= 5) reasons.push('CARD_VELOCITY_1D');
      return { decision: block ? 'BLOCK' : 'REVIEW', reasons };
    },
  };
}
