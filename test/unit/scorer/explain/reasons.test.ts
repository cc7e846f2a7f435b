/**
 * Reason codes: the k largest positive contributions, ties in feature order, named by the
 * manifest's map or, without one, by a code derived from the feature name.
 */
import { describe, expect, it } from 'vitest';
import { createExplainer, derivedReason, reasonTable, topReasons } from '../../../../services/scorer/src/model/explain/index.js';
import { randomRows, shipped } from './helpers.js';

const features = ['TX_AMOUNT', 'TX_DURING_NIGHT', 'TERMINAL_ID_RISK_7DAY_WINDOW', 'CUSTOMER_ID_NB_TX_1DAY_WINDOW'];
const map = {
  TX_AMOUNT: { code: 'AMOUNT', text: 'The transaction amount raised the risk' },
  TX_DURING_NIGHT: { code: 'NIGHT', text: 'The time of day raised the risk' },
  TERMINAL_ID_RISK_7DAY_WINDOW: { code: 'TERMINAL_FRAUD_RATE_7D', text: "The terminal's recent fraud rate raised the risk" },
};

describe('reason codes', () => {
  it('picks the largest positive contributions, largest first, ties by feature index', () => {
    const table = reasonTable(features, map);
    const top = topReasons([0.5, 2, 0.5, -3], table, features);
    expect(top.map((r) => [r.feature, r.index, r.code, r.contribution])).toEqual([
      ['TX_DURING_NIGHT', 1, 'NIGHT', 2],
      ['TX_AMOUNT', 0, 'AMOUNT', 0.5],
      ['TERMINAL_ID_RISK_7DAY_WINDOW', 2, 'TERMINAL_FRAUD_RATE_7D', 0.5],
    ]);
    expect(topReasons([0.5, 2, 0.5, -3], table, features, 1).map((r) => r.code)).toEqual(['NIGHT']);
  });

  it('never names a feature that lowered the score, or did nothing', () => {
    const table = reasonTable(features, map);
    expect(topReasons([-1, 0, NaN, 1e-12], table, features).map((r) => r.feature)).toEqual(['CUSTOMER_ID_NB_TX_1DAY_WINDOW']);
    expect(topReasons([-1, -2, 0, 0], table, features)).toEqual([]);
  });

  it('falls back to FEATURE_<NAME> for features the map lacks, or without a map', () => {
    expect(reasonTable(features, map)[3]).toEqual({ code: 'FEATURE_CUSTOMER_ID_NB_TX_1DAY_WINDOW', text: 'CUSTOMER_ID_NB_TX_1DAY_WINDOW raised the risk' });
    expect(reasonTable(features, undefined).map((r) => r.code)).toEqual(features.map((f) => `FEATURE_${f}`));
    expect(reasonTable(['a'], { a: { code: 'lower case', text: 'x' } })).toEqual([derivedReason('a')]);
    expect(derivedReason('txAmount').code).toBe('FEATURE_TX_AMOUNT');
    expect(derivedReason('risk (7d)').code).toBe('FEATURE_RISK_7D');
  });

  it('an explainer maps its own contributions through its manifest', () => {
    const a = shipped('fraud-lr');
    const reasons = Object.fromEntries(a.manifest.features.map((f, i) => [f, { code: `CODE_${i}`, text: `text ${i}` }]));
    const r = createExplainer(a.bytes, { ...a.manifest, reasons });
    if (!r.ok) throw new Error(r.reason);
    const row = randomRows(a, 1, 4);
    const out = new Float64Array(a.manifest.features.length);
    r.explainer.contributions(row, 0, out);
    const top = r.explainer.topReasons(out);
    expect(top.length).toBeGreaterThan(0);
    for (const t of top) expect(t.code).toBe(`CODE_${t.index}`);
    const sorted = [...out].map((c, i) => [c, i] as const).filter(([c]) => c > 0).sort((x, y) => y[0] - x[0] || x[1] - y[1]).slice(0, 3);
    expect(top.map((t) => t.index)).toEqual(sorted.map(([, i]) => i));
  });
});
