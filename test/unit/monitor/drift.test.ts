import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../services/common/src/contracts.js';
import { binOf, jensenShannon, psi } from '../../../services/monitor/src/drift.js';
import type { Reference } from '../../../services/monitor/src/references.js';
import { openStore } from '../../../services/monitor/src/store.js';
import { computeDrift } from '../../../services/monitor/src/windows.js';

const DAY = 86_400_000;
const MODEL = { name: 'm', version: '1', digest: 'd'.repeat(64) };
/** Two features with quartile edges of U(0,1) and U(0,10); the score's of U(0,1). */
const REF: Reference = {
  names: ['f0', 'f1'],
  features: [[0.25, 0.5, 0.75], [2.5, 5, 7.5]],
  featureFractions: [[0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25]],
  score: [0.25, 0.5, 0.75],
  scoreFractions: [0.25, 0.25, 0.25, 0.25],
  thresholds: { review: 0.5, block: 0.9 },
};

let n = 0;
const decision = (day: number, f0: number, f1: number, score: number): Decision => ({
  transactionId: `tx-${n++}`, cardToken: 'c', score, decision: 'ALLOW', reasons: [], model: MODEL, policyVersion: 'p', eventTime: day * DAY + 1000,
  scoredAt: 0, source: { topic: 't', partition: 0, offset: n }, featureSetVersion: 'f', features: [f0, f1], role: 'CHAMPION', deploymentRevision: 0,
});

describe('drift measures', () => {
  it('binOf counts the edges strictly below x (the trainer rule: bins (-inf,e0], (e0,e1], …)', () => {
    expect([0, 0.25, 0.26, 0.5, 0.75, 0.9].map((x) => binOf([0.25, 0.5, 0.75], x))).toEqual([0, 0, 1, 1, 2, 3]);
  });

  it('PSI and JS are 0 for the reference itself and grow with the shift', () => {
    const ref = [0.25, 0.25, 0.25, 0.25];
    expect(psi(ref, [25, 25, 25, 25])).toBeCloseTo(0, 12);
    expect(jensenShannon(ref, [25, 25, 25, 25])).toBeCloseTo(0, 12);
    const mild = psi(ref, [20, 25, 25, 30]);
    const strong = psi(ref, [5, 10, 25, 60]);
    expect(mild).toBeLessThan(0.1);
    expect(strong).toBeGreaterThan(0.2);
    expect(jensenShannon(ref, [0, 0, 0, 100])).toBeLessThanOrEqual(1);
    expect(Number.isFinite(psi(ref, [0, 0, 0, 100]))).toBe(true);
  });

  it('per model and window, from the counts the store keeps as decisions arrive (replays not counted twice)', () => {
    const store = openStore(':memory:', () => REF);
    const stable: Decision[] = [];
    const shifted: Decision[] = [];
    for (let i = 0; i < 400; i++) {
      const u = (i + 0.5) / 400;
      stable.push(decision(10, u, 10 * u, u));
      // day 11: f1 inflated (all in the top bin), f0 and the score unchanged
      shifted.push(decision(11, u, 10, u));
    }
    store.write({ decisions: stable, labels: [], offsets: [] });
    store.write({ decisions: shifted, labels: [], offsets: [] });
    store.write({ decisions: shifted, labels: [], offsets: [] }); // a replay
    const drift = computeDrift(store, () => REF);
    const get = (window: string, feature: string) => drift.find((d) => d.window === window && d.feature === feature)!;
    expect(get('1d', 'f1').n).toBe(400);
    expect(get('1d', 'f1').psi).toBeGreaterThan(2);
    expect(get('1d', 'f0').psi).toBeCloseTo(0, 9);
    expect(get('1d', 'score').psi).toBeCloseTo(0, 9);
    expect(get('7d', 'f1').n).toBe(800);
    expect(get('7d', 'f1').psi).toBeGreaterThan(0.2);
    expect(get('7d', 'f1').psi).toBeLessThan(get('1d', 'f1').psi);
    // No ranges in this reference: no out-of-range share, rather than a made-up 0.
    expect(get('1d', 'f1').outOfRange).toBeNaN();
    store.close();
  });

  it('the share outside the training range, per feature and for the score, beside (not instead of) the bins', () => {
    const ranged: Reference = { ...REF, featureRanges: [[0, 1], [0, 9]], scoreRange: [0, 1] };
    const store = openStore(':memory:', () => ranged);
    const rows: Decision[] = [];
    // day 12: f1 = i/40 = 0 … 9.975 (above 9 for i = 361 … 399: 39 out of range), f0 below 0 for 100, the score inside
    for (let i = 0; i < 400; i++) rows.push(decision(12, i < 100 ? -1 : 0.5, i / 40, 0.5));
    store.write({ decisions: rows, labels: [], offsets: [] });
    store.write({ decisions: rows, labels: [], offsets: [] }); // a replay
    const drift = computeDrift(store, () => ranged);
    const get = (feature: string) => drift.find((d) => d.window === '1d' && d.feature === feature)!;
    expect(get('f1').outOfRange).toBeCloseTo(39 / 400, 12);
    expect(get('f0').outOfRange).toBeCloseTo(100 / 400, 12);
    expect(get('score').outOfRange).toBe(0);
    // The out-of-range values still sit in their open-ended bins: PSI sees every decision.
    expect(get('f0').n).toBe(400);
    store.close();
  });
});
