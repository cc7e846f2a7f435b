/**
 * Turns a score (and the row behind it) into ALLOW / REVIEW / BLOCK with reasons.
 * Thresholds come from the model's manifest (chosen on validation data by the trainer), so a
 * model and its operating point travel together.
 *
 * Reasons explain a flag to an analyst and never change the decision (the score does). They
 * come from the model itself: the first says which threshold the score crossed, then up to
 * three codes of the features that pushed this row's margin up the most (TreeSHAP for tree
 * ensembles, coefficient × standardised input for linear models: model/explain/), named by the
 * manifest's reason map, so a new feature set brings its own reasons. A model that cannot be
 * explained gets the threshold reason alone. Only REVIEW and BLOCK are explained: the cost is
 * paid on flags, not on every event. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import type { Outcome } from '../../../common/src/contracts.js';
import type { Explainer } from '../model/explain/index.js';

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
  /** `row` holds the model's float32 inputs, this row's at [offset, offset + width). */
  decide(score: number, row: Float32Array, offset: number): Verdict;
}

/** How many feature reasons follow the threshold reason. */
export const FEATURE_REASONS = 3;

export function createPolicy(thresholds: Thresholds, modelId: string, explainer?: Explainer): Policy {
  // The exact thresholds are named by a short digest: written out in full, a float's long
  // digit run can pass the Luhn check and look like a PAN in every decision.
  const digest = createHash('sha256').update(`${thresholds.review}/${thresholds.block}`).digest('hex').slice(0, 12);
  const version = `policy-v2;${modelId};thresholds=${digest};reasons=${explainer ? explainer.method : 'none'}`;
  const contributions = new Float64Array(explainer?.features.length ?? 0);
  return {
    version,
    decide(score, row, offset) {
      if (score < thresholds.review) return { decision: 'ALLOW', reasons: [] };
      const block = score >= thresholds.block;
      const reasons = [block ? 'SCORE_ABOVE_BLOCK_THRESHOLD' : 'SCORE_ABOVE_REVIEW_THRESHOLD'];
      if (explainer && Number.isFinite(explainer.contributions(row, offset, contributions))) {
        for (const r of explainer.topReasons(contributions, FEATURE_REASONS)) reasons.push(r.code);
      }
      return { decision: block ? 'BLOCK' : 'REVIEW', reasons };
    },
  };
}
