/**
 * Linear models: coefficient × standardised input per feature, the intercept as bias, their sum
 * the margin whose sigmoid is onnxruntime's P(fraud) — on the shipped logistic regression and a
 * two-row SOFTMAX LinearClassifier with a broadcast Scaler.
 */
import { describe, expect, it } from 'vitest';
import { createExplainer } from '../../../../services/scorer/src/model/explain/index.js';
import { manifestSchema } from '../../../../services/scorer/src/model/manifest.js';
import { fixture, ortOutput, randomRows, readScaler, rng, shipped, sigmoid } from './helpers.js';

describe('linear explainer', () => {
  it('shipped fraud-lr: contributions are coefficient × standardised input, summing to the margin of P(fraud)', async () => {
    const a = shipped('fraud-lr');
    const r = createExplainer(a.bytes, manifestSchema.parse(a.manifest)); // the scorer's Manifest type fits
    if (!r.ok) throw new Error(r.reason);
    const ex = r.explainer;
    expect(ex.method).toBe('linear');
    expect(ex.link).toBe('logistic');
    const w = a.manifest.features.length;
    const rows = Float32Array.from([...randomRows(a, 300, 3), ...new Float32Array(w)]);
    const { data } = await ortOutput(a.bytes, rows, w);
    const { offset, scale, coefficients, intercepts } = readScaler(a.bytes);
    const out = new Float64Array(w);
    for (let i = 0; i < rows.length / w; i++) {
      const bias = ex.contributions(rows, i * w, out);
      expect(bias).toBe(intercepts[1]);
      let m = bias;
      for (let j = 0; j < w; j++) {
        const z = Math.fround(Math.fround((rows[i * w + j] as number) - (offset[j] as number)) * (scale[j] as number));
        expect(out[j]).toBe((coefficients[w + j] as number) * z); // row 1 of the two coefficient rows: class 1
        m += out[j] as number;
      }
      expect(Math.abs(m - ex.margin(rows, i * w))).toBeLessThan(1e-12);
      // onnxruntime computes the dot product in float32: P agrees to float32 precision.
      expect(Math.abs(sigmoid(m) - (data[i * 2 + 1] as number))).toBeLessThan(1e-6);
    }
  });

  it('two coefficient rows under SOFTMAX: the margin is row 1 − row 0', async () => {
    const a = fixture('linear-softmax.onnx');
    const r = createExplainer(a.bytes, a.manifest);
    if (!r.ok) throw new Error(r.reason);
    const next = rng(4);
    const rows = Float32Array.from({ length: 300 }, () => -3 + 6 * next());
    const { data } = await ortOutput(a.bytes, rows, 3);
    const out = new Float64Array(3);
    for (let i = 0; i < 100; i++) {
      let m = r.explainer.contributions(rows, i * 3, out);
      expect(m).toBe(Math.fround(-0.2) - Math.fround(0.1)); // intercepts are float32
      for (const c of out) m += c;
      expect(Math.abs(sigmoid(m) - (data[i * 2 + 1] as number))).toBeLessThan(1e-6);
    }
  });
});
