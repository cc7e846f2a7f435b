import { describe, expect, it } from 'vitest';
import { createPolicy, type ReasonFeatureIndex } from '../../../../services/scorer/src/decision/policy.js';

// A 6-wide row whose columns are deliberately not in the index's declaration order.
const IDX: ReasonFeatureIndex = { amount: 4, cardAvgAmount30d: 1, cardTxCount1d: 0, terminalRisk7d: 5, terminalRisk30d: 2 };
const WIDTH = 6;
const T = { review: 0.5, block: 0.8 };
const policy = createPolicy(T, IDX, 'xgb/2024-05-01');

interface Row {
  amount?: number;
  avg30?: number;
  count1d?: number;
  risk7?: number;
  risk30?: number;
}

/** A quiet row: small amount, no history signals. */
function row(r: Row = {}): Float64Array {
  const f = new Float64Array(WIDTH).fill(-1); // -1 in the unused column 3
  f[IDX.amount] = r.amount ?? 50;
  f[IDX.cardAvgAmount30d] = r.avg30 ?? 40;
  f[IDX.cardTxCount1d] = r.count1d ?? 1;
  f[IDX.terminalRisk7d] = r.risk7 ?? 0;
  f[IDX.terminalRisk30d] = r.risk30 ?? 0;
  return f;
}

describe('thresholds', () => {
  it('below review is ALLOW with no reasons, even when every rule would fire', () => {
    const loud = row({ amount: 1_000, avg30: 10, count1d: 9, risk7: 1, risk30: 1 });
    expect(policy.decide(0, loud, 0)).toEqual({ decision: 'ALLOW', reasons: [] });
    expect(policy.decide(0.49999999, loud, 0)).toEqual({ decision: 'ALLOW', reasons: [] });
  });

  it('score == review is REVIEW', () => {
    expect(policy.decide(0.5, row(), 0)).toEqual({ decision: 'REVIEW', reasons: ['SCORE_ABOVE_REVIEW_THRESHOLD'] });
  });

  it('just below block is REVIEW, score == block is BLOCK, above is BLOCK', () => {
    expect(policy.decide(0.79999999, row(), 0).decision).toBe('REVIEW');
    expect(policy.decide(0.8, row(), 0)).toEqual({ decision: 'BLOCK', reasons: ['SCORE_ABOVE_BLOCK_THRESHOLD'] });
    expect(policy.decide(1, row(), 0).decision).toBe('BLOCK');
  });

  it('review == block: at the threshold it is BLOCK, never REVIEW', () => {
    const p = createPolicy({ review: 0.7, block: 0.7 }, IDX, 'm');
    expect(p.decide(0.69, row(), 0).decision).toBe('ALLOW');
    expect(p.decide(0.7, row(), 0).decision).toBe('BLOCK');
  });

  it('the version names the model and a digest of the exact thresholds, with no long digit runs', () => {
    expect(policy.version).toMatch(/^policy-v1;xgb\/2024-05-01;thresholds=[0-9a-f]{12}$/);
    const a = createPolicy({ review: 0.25, block: 0.9 }, IDX, 'other/1').version;
    const b = createPolicy({ review: 0.25, block: 0.9000001 }, IDX, 'other/1').version;
    expect(a).not.toBe(b);
    expect(createPolicy({ review: 0.015908002853393555, block: 0.3439715504646301 }, IDX, 'm/1').version).not.toMatch(/\d{13}/);
  });
});

describe('reason codes (REVIEW and BLOCK only)', () => {
  const reasons = (r: Row, score = 0.9): string[] => policy.decide(score, row(r), 0).reasons;

  it('AMOUNT_ABOVE_220: strictly above 220', () => {
    expect(reasons({ amount: 220, avg30: 200 })).not.toContain('AMOUNT_ABOVE_220');
    expect(reasons({ amount: 220.01, avg30: 200 })).toContain('AMOUNT_ABOVE_220');
  });

  it('AMOUNT_3X_CARD_30D_AVERAGE: amount >= 3 × a positive 30-day average', () => {
    expect(reasons({ amount: 120, avg30: 40 })).toContain('AMOUNT_3X_CARD_30D_AVERAGE');
    expect(reasons({ amount: 119.99, avg30: 40 })).not.toContain('AMOUNT_3X_CARD_30D_AVERAGE');
    // no history (average 0) is not "3 × the average"
    expect(reasons({ amount: 100, avg30: 0 })).not.toContain('AMOUNT_3X_CARD_30D_AVERAGE');
  });

  it('TERMINAL_FRAUD_LAST_7D takes precedence over TERMINAL_FRAUD_LAST_30D', () => {
    expect(reasons({ risk7: 0.2, risk30: 0.1 })).toEqual(['SCORE_ABOVE_BLOCK_THRESHOLD', 'TERMINAL_FRAUD_LAST_7D']);
    expect(reasons({ risk7: 0, risk30: 0.1 })).toEqual(['SCORE_ABOVE_BLOCK_THRESHOLD', 'TERMINAL_FRAUD_LAST_30D']);
    expect(reasons({ risk7: 0, risk30: 0 })).toEqual(['SCORE_ABOVE_BLOCK_THRESHOLD']);
  });

  it('CARD_VELOCITY_1D: five or more transactions in a day', () => {
    expect(reasons({ count1d: 4 })).not.toContain('CARD_VELOCITY_1D');
    expect(reasons({ count1d: 5 })).toContain('CARD_VELOCITY_1D');
  });

  it('all rules together, in a fixed order, the score reason first', () => {
    const all = { amount: 300, avg30: 50, count1d: 7, risk7: 1, risk30: 1 };
    expect(reasons(all, 0.6)).toEqual([
      'SCORE_ABOVE_REVIEW_THRESHOLD',
      'AMOUNT_ABOVE_220',
      'AMOUNT_3X_CARD_30D_AVERAGE',
      'TERMINAL_FRAUD_LAST_7D',
      'CARD_VELOCITY_1D',
    ]);
    expect(reasons(all, 0.95)[0]).toBe('SCORE_ABOVE_BLOCK_THRESHOLD');
  });

  it('reasons never change the decision: only the score does', () => {
    const loud = row({ amount: 5_000, avg30: 1, count1d: 50, risk7: 1 });
    expect(policy.decide(0.55, loud, 0).decision).toBe('REVIEW');
    expect(policy.decide(0.85, row(), 0).decision).toBe('BLOCK');
  });

  it('reads the row at the given offset, not row 0', () => {
    const quiet = row();
    const loud = row({ amount: 500, avg30: 100, count1d: 6, risk30: 1 });
    const batch = new Float64Array(3 * WIDTH);
    batch.set(quiet, 0);
    batch.set(loud, WIDTH);
    batch.set(quiet, 2 * WIDTH);
    expect(policy.decide(0.9, batch, 0).reasons).toEqual(['SCORE_ABOVE_BLOCK_THRESHOLD']);
    expect(policy.decide(0.9, batch, WIDTH).reasons).toEqual([
      'SCORE_ABOVE_BLOCK_THRESHOLD',
      'AMOUNT_ABOVE_220',
      'AMOUNT_3X_CARD_30D_AVERAGE',
      'TERMINAL_FRAUD_LAST_30D',
      'CARD_VELOCITY_1D',
    ]);
    expect(policy.decide(0.9, batch, 2 * WIDTH).reasons).toEqual(['SCORE_ABOVE_BLOCK_THRESHOLD']);
  });

  it('returns a fresh reasons array each call', () => {
    const a = policy.decide(0.9, row(), 0);
    a.reasons.push('MUTATED');
    expect(policy.decide(0.9, row(), 0).reasons).toEqual(['SCORE_ABOVE_BLOCK_THRESHOLD']);
  });
});
