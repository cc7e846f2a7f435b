import { describe, expect, it } from 'vitest';
import { planRetrainDays, PROMOTED_DAYS, SETTLE_DAYS, SHADOW_DAYS, summaryLine } from '../../../services/cli/src/demo/retrain.js';

describe('demo --scenario retrain: planRetrainDays', () => {
  it('trains after the drift settles, tests 14 days later, retrains once the test week is labelled', () => {
    const p = planRetrainDays({ driftDay: 40, days: 140, labelDelayDays: 7, settleDays: 0 });
    expect(p).toEqual({ trainFirst: 40, testFirst: 54, testLast: 60, validationFirst: 26, retrainAt: 68.5, daysAfter: 71.5 });
  });

  it('the default settling period moves every day by the same amount', () => {
    const p = planRetrainDays({ driftDay: 40, days: 140, labelDelayDays: 7 });
    expect(p.trainFirst).toBe(40 + SETTLE_DAYS);
    expect(p.testLast).toBe(60 + SETTLE_DAYS);
    expect(p.retrainAt).toBe(68.5 + SETTLE_DAYS);
  });

  it('follows the deltas and the label delay', () => {
    const p = planRetrainDays({ driftDay: 30, days: 100, labelDelayDays: 3, settleDays: 0, deltas: { deltaTrain: 5, deltaDelay: 2, deltaTest: 4 } });
    expect(p).toMatchObject({ trainFirst: 30, testFirst: 37, testLast: 40, validationFirst: 23, retrainAt: 44.5 });
  });

  it('refuses a run too short for shadow and promotion after the retrain', () => {
    const enough = 68.5 + SHADOW_DAYS + PROMOTED_DAYS + 1;
    expect(() => planRetrainDays({ driftDay: 40, days: Math.ceil(enough), labelDelayDays: 7, settleDays: 0 })).not.toThrow();
    expect(() => planRetrainDays({ driftDay: 40, days: Math.ceil(enough) - 1, labelDelayDays: 7, settleDays: 0 })).toThrow(/--days 74 is too few.*--days 75 or more/);
  });

  it('refuses a drift too early for a validation split before the training days', () => {
    expect(() => planRetrainDays({ driftDay: 10, days: 100, labelDelayDays: 7, settleDays: 0 })).toThrow(/validation split needs 14 labelled days/);
  });
});

describe('demo --scenario retrain: summaryLine', () => {
  it('names the figures, the gate and what was deployed as what', () => {
    expect(summaryLine({ championAp: 0.2791, candidateAp: 0.76826, gate: 'pass', deployed: 'fraud-lgbm/1.1.0', role: 'champion' }))
      .toBe('retrain: champion AP 0.279 on the post-drift window, candidate AP 0.768, gate pass, deployed fraud-lgbm/1.1.0 as champion');
  });

  it('says so when nothing was judged or deployed', () => {
    expect(summaryLine({})).toBe('retrain: champion AP - on the post-drift window, candidate AP -, gate fail, deployed nothing as none');
  });
});
