/**
 * The decision policy: thresholds decide, reasons explain. The reasons are the threshold
 * crossed, then the codes (from the manifest's map) of the three features with the largest
 * positive contributions to this row's margin, as the model's own explainer computes them;
 * a model without an explainer gets the threshold reason alone.
 */
import { describe, expect, it } from 'vitest';
import { createPolicy, FEATURE_REASONS } from '../../../../services/scorer/src/decision/policy.js';
import { createExplainer, type Explainer } from '../../../../services/scorer/src/model/explain/index.js';
import { randomRows, shipped } from '../explain/helpers.js';

const T = { review: 0.5, block: 0.8 };
const plain = createPolicy(T, 'xgb/2024-05-01');
const EMPTY = new Float32Array(0);

function explainerOf(name: string): { explainer: Explainer; width: number; codes: Map<string, string> } {
  const a = shipped(name);
  const made = createExplainer(a.bytes, a.manifest);
  if (!made.ok) throw new Error(made.reason);
  const reasons = a.manifest.reasons as Record<string, { code: string }>;
  return { explainer: made.explainer, width: a.manifest.features.length, codes: new Map(a.manifest.features.map((f) => [f, reasons[f]!.code])) };
}

describe('thresholds', () => {
  it('below review is ALLOW with no reasons', () => {
    expect(plain.decide(0, EMPTY, 0)).toEqual({ decision: 'ALLOW', reasons: [] });
    expect(plain.decide(0.49999999, EMPTY, 0)).toEqual({ decision: 'ALLOW', reasons: [] });
  });

  it('score == review is REVIEW; just below block is REVIEW, score == block is BLOCK', () => {
    expect(plain.decide(0.5, EMPTY, 0)).toEqual({ decision: 'REVIEW', reasons: ['SCORE_ABOVE_REVIEW_THRESHOLD'] });
    expect(plain.decide(0.79999999, EMPTY, 0).decision).toBe('REVIEW');
    expect(plain.decide(0.8, EMPTY, 0)).toEqual({ decision: 'BLOCK', reasons: ['SCORE_ABOVE_BLOCK_THRESHOLD'] });
    expect(plain.decide(1, EMPTY, 0).decision).toBe('BLOCK');
  });

  it('review == block: at the threshold it is BLOCK, never REVIEW', () => {
    const p = createPolicy({ review: 0.7, block: 0.7 }, 'm');
    expect(p.decide(0.69, EMPTY, 0).decision).toBe('ALLOW');
    expect(p.decide(0.7, EMPTY, 0).decision).toBe('BLOCK');
  });

  it('the version names the model, a digest of the exact thresholds and the reason method, with no long digit runs', () => {
    expect(plain.version).toMatch(/^policy-v2;xgb\/2024-05-01;thresholds=[0-9a-f]{12};reasons=none$/);
    expect(createPolicy(T, 'fraud-lgbm/1.0.0', explainerOf('fraud-lgbm').explainer).version).toMatch(/;reasons=tree-shap$/);
    const a = createPolicy({ review: 0.25, block: 0.9 }, 'other/1').version;
    const b = createPolicy({ review: 0.25, block: 0.9000001 }, 'other/1').version;
    expect(a).not.toBe(b);
    expect(createPolicy({ review: 0.015908002853393555, block: 0.3439715504646301 }, 'm/1').version).not.toMatch(/\d{13}/);
  });
});

describe.each(['fraud-lgbm', 'fraud-lr'])('reasons from the model (%s)', (name) => {
  const { explainer, width, codes } = explainerOf(name);
  const policy = createPolicy(T, name, explainer);
  const rows = randomRows(shipped(name), 200, 11);

  it('the threshold reason, then the codes of the features that raised this row\'s margin most, in that order', () => {
    const contributions = new Float64Array(width);
    let explained = 0;
    for (let r = 0; r < 200; r++) {
      const { reasons } = policy.decide(0.9, rows, r * width);
      expect(reasons[0]).toBe('SCORE_ABOVE_BLOCK_THRESHOLD');
      explainer.contributions(rows, r * width, contributions);
      // The expected codes, from the contributions directly: positive ones, largest first.
      const want = [...contributions]
        .map((c, j) => ({ c, j }))
        .filter((x) => x.c > 0)
        .sort((x, y) => y.c - x.c || x.j - y.j)
        .slice(0, FEATURE_REASONS)
        .map((x) => codes.get(explainer.features[x.j] as string));
      expect(reasons.slice(1)).toEqual(want);
      if (want.length > 0) explained++;
    }
    // Most rows have features that push them up: the check above is not vacuous.
    expect(explained).toBeGreaterThan(100);
  });

  it('every code is one of the manifest\'s reason map', () => {
    const known = new Set(codes.values());
    for (let r = 0; r < 50; r++) for (const code of policy.decide(0.6, rows, r * width).reasons.slice(1)) expect(known.has(code), code).toBe(true);
  });

  it('reads the row at the given offset; reasons never change the decision', () => {
    const one = policy.decide(0.9, rows.subarray(7 * width, 8 * width), 0);
    expect(policy.decide(0.9, rows, 7 * width)).toEqual(one);
    expect(policy.decide(0.55, rows, 7 * width).decision).toBe('REVIEW');
    expect(policy.decide(0.4, rows, 7 * width)).toEqual({ decision: 'ALLOW', reasons: [] });
  });

  it('a row out of range gets the threshold reason alone, and a fresh array each call', () => {
    expect(policy.decide(0.9, rows, rows.length).reasons).toEqual(['SCORE_ABOVE_BLOCK_THRESHOLD']);
    const a = policy.decide(0.9, rows, 0);
    a.reasons.push('MUTATED');
    expect(policy.decide(0.9, rows, 0).reasons).not.toContain('MUTATED');
  });
});
