/**
 * The monitor's CBPE against the trainer's Python reference (services/trainer/cbpe.py): the
 * expected values below were computed by cbpe.estimate on the same scores, calibration and
 * thresholds (40 scores with ties), and against realized metrics on labels drawn from p.
 */
import { describe, expect, it } from 'vitest';
import { averagePrecision } from '../../../services/common/src/ranking-metrics.js';
import { calibrate, estimate } from '../../../services/monitor/src/cbpe.js';

const SCORES = [0.007, 0.056, 0.642, 0.339, 0.009, 0.188, 0.229, 0.026, 0.54, 0.013, 0.153, 0.267, 0.185, 0.344, 0.544, 0.914, 0.081, 0.421, 0.485, 0.086, 0.0, 0.948, 0.089, 0.099, 0.795, 0.342, 0.222, 0.598, 0.001, 0.5, 0.14, 0.008, 0.436, 0.868, 0.043, 0.397, 0.089, 0.55, 0.522, 0.048];
const CAL = { x: [0, 0.2, 0.5, 0.8, 1], y: [0, 0.05, 0.2, 0.6, 0.95] };
const PYTHON = { ap: 0.7144146335489999, pr: 0.3294907407407407, rr: 0.9166548601898481, pb: 0.7427083333333332, rb: 0.4591646166329645, ef: 6.470083333333333 };

describe('CBPE', () => {
  it('equals the Python reference to 1e-12', () => {
    const e = estimate(SCORES, CAL, { review: 0.3, block: 0.7 });
    expect(e.ap).toBeCloseTo(PYTHON.ap, 12);
    expect(e.precisionReview).toBeCloseTo(PYTHON.pr, 12);
    expect(e.recallReview).toBeCloseTo(PYTHON.rr, 12);
    expect(e.precisionBlock).toBeCloseTo(PYTHON.pb, 12);
    expect(e.recallBlock).toBeCloseTo(PYTHON.rb, 12);
    expect(e.expectedFrauds).toBeCloseTo(PYTHON.ef, 12);
  });

  it('calibrates by linear interpolation, clipped at both ends', () => {
    expect([-1, 0, 0.1, 0.35, 0.8, 2].map((s) => calibrate(CAL, s))).toEqual([0, 0, 0.025, 0.125, 0.6, 0.95]);
  });

  it('on labels drawn from the calibrated p, the mean realized AP is close to the estimate', () => {
    let seed = 7;
    const rand = () => ((seed = Math.imul(seed, 48271) % 2147483647) & 0x7fffffff) / 2147483647;
    const scores = Array.from({ length: 2000 }, () => rand() ** 3);
    const cal = { x: [0, 1], y: [0, 0.9] };
    const est = estimate(scores, cal, { review: 0.3, block: 0.7 });
    let sum = 0;
    const draws = 200;
    for (let d = 0; d < draws; d++) sum += averagePrecision(scores, scores.map((s) => (rand() < calibrate(cal, s) ? 1 : 0)));
    expect(Math.abs(est.ap - sum / draws)).toBeLessThan(0.01);
  });
});
