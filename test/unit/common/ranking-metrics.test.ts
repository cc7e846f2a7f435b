import { describe, expect, it } from 'vitest';
import { aucRoc, averagePrecision, cardPrecisionAtK } from '../../../services/common/src/ranking-metrics.js';
import { CARD_PRECISION, FLOAT32, TIES } from '../cli/evaluate/reference-values.js';

describe('aucRoc', () => {
  it('scikit-learn documentation example: 0.75', () => {
    // 2 positives × 2 negatives; of the 4 pairs, (0.35 vs 0.4) is the only one ranked wrong.
    expect(aucRoc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 15);
  });

  it('is 1 for a perfect ranking, 0 for a reversed one, 0.5 when every score ties', () => {
    expect(aucRoc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(aucRoc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(aucRoc([0.5, 0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1, 0])).toBe(0.5);
  });

  it('counts a tied (fraud, genuine) pair as one half', () => {
    // pairs: (0.7 vs 0.7) = ½, (0.7 vs 0.2) = 1, (0.4 vs 0.7) = 0, (0.4 vs 0.2) = 1 → 2.5 / 4
    expect(aucRoc([0.7, 0.4, 0.7, 0.2], [1, 1, 0, 0])).toBe(0.625);
  });

  it('does not depend on row order', () => {
    const s = [0.3, 0.9, 0.3, 0.1, 0.6, 0.6];
    const y = [0, 1, 1, 0, 0, 1];
    const perm = [5, 2, 0, 4, 1, 3];
    expect(aucRoc(perm.map((i) => s[i] as number), perm.map((i) => y[i] as number))).toBe(aucRoc(s, y));
  });

  it('is NaN with one class only', () => {
    expect(aucRoc([0.1, 0.2], [0, 0])).toBeNaN();
    expect(aucRoc([0.1, 0.2], [1, 1])).toBeNaN();
    expect(aucRoc([], [])).toBeNaN();
  });

  it('equals scikit-learn roc_auc_score on tied scores', () => {
    expect(aucRoc(TIES.scores, TIES.labels)).toBeCloseTo(TIES.auc, 12);
  });

  it('equals scikit-learn roc_auc_score on float32 scores', () => {
    expect(aucRoc(Float32Array.from(FLOAT32.scores), Uint8Array.from(FLOAT32.labels))).toBeCloseTo(FLOAT32.auc, 12);
  });

  it('refuses mismatched lengths and NaN scores', () => {
    expect(() => aucRoc([0.1], [0, 1])).toThrow(/rows/);
    expect(() => aucRoc([0.1, Number.NaN], [0, 1])).toThrow(/NaN/);
  });
});

describe('averagePrecision (scikit-learn definition)', () => {
  it('scikit-learn documentation example: 0.8333', () => {
    // thresholds 0.8 (P 1, R ½), 0.4 (P ½, R ½), 0.35 (P ⅔, R 1): ½·1 + 0 + ½·⅔ = 5/6
    expect(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(5 / 6, 15);
  });

  it('takes tied scores as one threshold (no optimistic order inside a tie)', () => {
    // one threshold: P = 1/2, R = 1
    expect(averagePrecision([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(averagePrecision([0.5, 0.5], [1, 0])).toBe(0.5);
    // 0.9 (P 1, R ⅓), 0.5 ×3 with one fraud (P ½, R ⅔), 0.2 (P ⅗, R 1): ⅓ + ⅓·½ + ⅓·⅗
    expect(averagePrecision([0.9, 0.5, 0.5, 0.5, 0.2], [1, 0, 1, 0, 1])).toBeCloseTo(1 / 3 + 1 / 6 + 1 / 5, 15);
  });

  it('is 1 for a perfect ranking and the fraud rate when every score ties', () => {
    expect(averagePrecision([0.9, 0.8, 0.1, 0.05], [1, 1, 0, 0])).toBe(1);
    expect(averagePrecision([0.3, 0.3, 0.3, 0.3], [1, 0, 0, 0])).toBe(0.25);
  });

  it('is NaN without frauds', () => {
    expect(averagePrecision([0.1, 0.2], [0, 0])).toBeNaN();
  });

  it('equals scikit-learn average_precision_score on tied scores', () => {
    expect(averagePrecision(TIES.scores, TIES.labels)).toBeCloseTo(TIES.ap, 12);
  });

  it('equals scikit-learn average_precision_score on float32 scores', () => {
    expect(averagePrecision(Float32Array.from(FLOAT32.scores), Uint8Array.from(FLOAT32.labels))).toBeCloseTo(FLOAT32.ap, 12);
  });
});

describe('cardPrecisionAtK', () => {
  // Day 1: card 1 best 0.9 (genuine row 0.9, fraud row 0.2), card 2 0.8 fraud, card 3 0.3 fraud.
  // Day 2: card 2 0.95 fraud, card 4 0.5, card 1 0.1 fraud.
  const rows = {
    scores: [0.9, 0.2, 0.8, 0.3, 0.95, 0.5, 0.1],
    labels: [0, 1, 1, 1, 1, 0, 1],
    cards: [1, 1, 2, 3, 2, 4, 1],
    days: [1, 1, 1, 1, 2, 2, 2],
  };

  it('ranks cards by their best score and labels them by any fraud that day', () => {
    // k = 2: day 1 top = {1 (fraud via its 0.2 row), 2} → 1; day 2 top = {2, 4} → ½
    const r = cardPrecisionAtK(rows, 2);
    expect(r.days).toEqual([1, 2]);
    expect(r.perDay).toEqual([1, 0.5]);
    expect(r.mean).toBe(0.75);
  });

  it('divides by k even when fewer cards are active', () => {
    // k = 5: day 1 has 3 cards, all compromised → 3/5; day 2: cards 2 and 1 → 2/5
    expect(cardPrecisionAtK(rows, 5).perDay).toEqual([0.6, 0.4]);
  });

  it('breaks ties in the best score by card code (the order np.unique gives)', () => {
    const tie = { scores: [0.5, 0.5, 0.5], labels: [0, 1, 0], cards: [7, 3, 5], days: [0, 0, 0] };
    expect(cardPrecisionAtK(tie, 1).mean).toBe(1); // card 3 first
    expect(cardPrecisionAtK({ ...tie, labels: [1, 0, 0] }, 1).mean).toBe(0);
  });

  it('with removeDetected drops cards found in any earlier top k (the handbook code)', () => {
    const three = {
      scores: [0.9, 0.1, 0.2, 0.9, 0.8],
      labels: [1, 0, 0, 1, 0],
      cards: [1, 1, 2, 1, 2],
      days: [0, 1, 1, 2, 2],
    };
    // without removal: day 0 {1} hit, day 1 {2} miss, day 2 {1} hit
    expect(cardPrecisionAtK(three, 1).perDay).toEqual([1, 0, 1]);
    // with removal: card 1 was found on day 0, so day 2 ranks card 2 only
    expect(cardPrecisionAtK(three, 1, { removeDetected: true }).perDay).toEqual([1, 0, 0]);
  });

  it('equals the trainer card_precision_at_k and the handbook card_precision_top_k', () => {
    const r = cardPrecisionAtK(CARD_PRECISION, CARD_PRECISION.k);
    expect(r.mean).toBeCloseTo(CARD_PRECISION.cp, 12);
    const hb = cardPrecisionAtK(CARD_PRECISION, CARD_PRECISION.k, { removeDetected: true });
    expect(hb.perDay).toEqual(CARD_PRECISION.cpHandbookPerDay);
    expect(hb.mean).toBeCloseTo(CARD_PRECISION.cpHandbook, 12);
    // The trainer's variant only forgets the previous day's finds: a different number.
    expect(hb.mean).not.toBeCloseTo(CARD_PRECISION.cpTrainerHb, 6);
  });

  it('is NaN without rows and refuses a bad k', () => {
    expect(cardPrecisionAtK({ scores: [], labels: [], cards: [], days: [] }).mean).toBeNaN();
    expect(() => cardPrecisionAtK(rows, 0)).toThrow(/k must/);
  });
});
