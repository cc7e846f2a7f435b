/**
 * TreeSHAP on the shipped LightGBM and random forest and on hand-built graphs: contributions add
 * up to the margin (local accuracy), the margin is onnxruntime's (same splits, same leaves), the
 * values are the exact Shapley values of the path-dependent game (brute force over feature
 * subsets), and the tabulated fast path equals the table-free path.
 */
import { describe, expect, it } from 'vitest';
import { createExplainer, createExplainerAsync, type Explainer } from '../../../../services/scorer/src/model/explain/index.js';
import { readCovers } from '../../../../services/scorer/src/model/explain/covers.js';
import { bruteForceShap, ensembleOf, fixture, ortOutput, randomRows, rng, routedCovers, scalerOf, shipped, sigmoid, thresholdRows, type Artifact } from './helpers.js';

function explainer(a: Artifact, covers = routedCovers(a, randomRows(a, 3000, 11)), options = {}): Explainer {
  const r = createExplainer(a.bytes, { ...a.manifest, tree_covers: covers }, options);
  if (!r.ok) throw new Error(r.reason);
  return r.explainer;
}

/** Rows for a shipped model: random in range, exact split thresholds, all zeros, and NaNs (routed as onnxruntime routes them). */
function rowsFor(a: Artifact): Float32Array {
  const w = a.manifest.features.length;
  const random = randomRows(a, 300, 5);
  const edges = thresholdRows(a, random, 100, 9);
  const zeros = new Float32Array(w);
  const next = rng(13);
  const nans = randomRows(a, 20, 6).map((x) => (next() < 0.15 ? NaN : x));
  return Float32Array.from([...random, ...edges, ...zeros, ...nans]);
}

/** bias + Σ contributions against the explainer's own tree walk, for every row; returns the sums. */
function sums(ex: Explainer, rows: Float32Array): Float64Array {
  const w = ex.features.length;
  const out = new Float64Array(w);
  const n = rows.length / w;
  const total = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = ex.contributions(rows, r * w, out);
    for (const c of out) s += c;
    expect(Math.abs(s - ex.margin(rows, r * w))).toBeLessThan(1e-9);
    total[r] = s;
  }
  return total;
}

describe.each([
  ['fraud-lgbm', 'logistic'],
  ['fraud-rf', 'identity'],
] as const)('shipped %s', (name, link) => {
  const a = shipped(name);
  const ex = explainer(a);
  const rows = rowsFor(a);
  const w = a.manifest.features.length;

  it(`adds up to the raw margin, and ${link === 'logistic' ? 'sigmoid(margin)' : 'the margin'} is onnxruntime's P(fraud)`, async () => {
    expect(ex.method).toBe('tree-shap');
    expect(ex.link).toBe(link);
    const total = sums(ex, rows);
    const { data, columns } = await ortOutput(a.bytes, rows, w);
    expect(columns).toBe(2);
    let worst = 0;
    total.forEach((m, r) => (worst = Math.max(worst, Math.abs((link === 'logistic' ? sigmoid(m) : m) - (data[r * 2 + 1] as number)))));
    // onnxruntime sums leaves in float32 and rounds P to float32; a different leaf would move P far more.
    expect(worst).toBeLessThan(2e-6);
  });

  it('equals the table-free computation on every row', () => {
    const cov = routedCovers(a, randomRows(a, 3000, 11));
    const slow = explainer(a, cov, { maxGroupEntries: 0 });
    const fast = explainer(a, cov);
    const o1 = new Float64Array(w);
    const o2 = new Float64Array(w);
    for (let r = 0; r < rows.length / w; r++) {
      expect(fast.contributions(rows, r * w, o1)).toBe(slow.contributions(rows, r * w, o2));
      for (let j = 0; j < w; j++) expect(Math.abs((o1[j] as number) - (o2[j] as number))).toBeLessThan(1e-9);
    }
  });
});

describe('exactness', () => {
  it('LightGBM contributions are the Shapley values of the path-dependent game (brute force)', () => {
    const a = shipped('fraud-lgbm');
    const cov = routedCovers(a, randomRows(a, 3000, 11));
    const ex = explainer(a, cov);
    const e = ensembleOf(a.bytes);
    const covers = readCovers(cov, e, cov.onnx_sha256);
    if (!covers.ok) throw new Error(covers.reason);
    const w = a.manifest.features.length;
    const scale = scalerOf(a.bytes, w);
    const rows = Float32Array.from([...randomRows(a, 6, 21), ...thresholdRows(a, randomRows(a, 10, 22), 4, 23)]);
    const out = new Float64Array(w);
    for (let r = 0; r < rows.length / w; r++) {
      const ref = bruteForceShap(e, covers.value, scale(rows, r * w), w);
      expect(Math.abs(ex.contributions(rows, r * w, out) - (ref[0] as number))).toBeLessThan(1e-9);
      for (let j = 0; j < w; j++) expect(Math.abs((out[j] as number) - (ref[j + 1] as number))).toBeLessThan(1e-9);
    }
  });
});

/** Fixture rows: values around and exactly at the thresholds, NaN now and then. */
function fixtureRows(n: number, seed: number, nan = true): Float32Array {
  const next = rng(seed);
  const exact = [0.5, -0.25, 1.0, 1.5, 0.0, 2.0, -1.0, 0.75];
  return Float32Array.from({ length: n * 3 }, () => {
    const u = next();
    if (nan && u < 0.05) return NaN;
    return u < 0.45 ? (exact[Math.floor(next() * exact.length)] as number) : -2 + 5 * next();
  });
}

describe('hand-built graphs', () => {
  it.each([
    ['regressor-modes.onnx', 'identity', 1],
    ['classifier-softmax.onnx', 'logistic', 2],
    ['classifier-logistic-base.onnx', 'logistic', 2],
  ] as const)('%s: every branch mode, NaN routing, shuffled node ids — margin is onnxruntime\'s, values are exact', async (file, link, columns) => {
    const a = fixture(file);
    const cov = routedCovers(a, fixtureRows(400, 1, false));
    const ex = explainer(a, cov);
    expect(ex.link).toBe(link);
    const rows = fixtureRows(400, 2);
    const total = sums(ex, rows);
    const ort = await ortOutput(a.bytes, rows, 3);
    expect(ort.columns).toBe(columns);
    total.forEach((m, r) => {
      const p = ort.data[r * columns + columns - 1] as number;
      expect(Math.abs((link === 'logistic' ? sigmoid(m) : m) - p)).toBeLessThan(1e-6);
    });
    const e = ensembleOf(a.bytes);
    const covers = readCovers(cov, e, cov.onnx_sha256);
    if (!covers.ok) throw new Error(covers.reason);
    const scale = scalerOf(a.bytes, 3);
    const out = new Float64Array(3);
    for (let r = 0; r < 400; r++) {
      const ref = bruteForceShap(e, covers.value, scale(rows, r * 3), 3);
      expect(ex.contributions(rows, r * 3, out)).toBeCloseTo(ref[0] as number, 12);
      for (let j = 0; j < 3; j++) expect(out[j]).toBeCloseTo(ref[j + 1] as number, 12);
    }
  });

  it('a row outside the buffer gives NaN, not an exception', () => {
    const ex = explainer(fixture('regressor-modes.onnx'), routedCovers(fixture('regressor-modes.onnx'), fixtureRows(50, 1, false)));
    const out = new Float64Array(3);
    expect(ex.contributions(new Float32Array(4), 2, out)).toBeNaN();
    expect([...out].every(Number.isNaN)).toBe(true);
    expect(ex.margin(new Float32Array(2), 0)).toBeNaN();
  });
});

describe('createExplainerAsync (a hot swap builds it while the scorer keeps scoring)', () => {
  it('gives the same contributions as the synchronous build, in many short slices', async () => {
    const a = shipped('fraud-lgbm');
    const sync = createExplainer(a.bytes, a.manifest);
    let pauses = 0;
    let longest = 0;
    let last = performance.now();
    const made = await createExplainerAsync(a.bytes, a.manifest, {}, async () => {
      longest = Math.max(longest, performance.now() - last);
      pauses++;
      await new Promise((r) => setImmediate(r));
      last = performance.now();
    });
    if (!sync.ok || !made.ok) throw new Error('the shipped LightGBM must be explainable');
    expect(pauses).toBeGreaterThan(5);
    // Slices of ~4 ms after ~40 ms of parsing and layout (measured here: 38 pauses, the longest
    // stretch 38 ms); the bound is generous for a loaded machine, below a whole build (~200 ms).
    expect(longest).toBeLessThan(150);
    const width = a.manifest.features.length;
    const rows = randomRows(a, 100, 5);
    const [x, y] = [new Float64Array(width), new Float64Array(width)];
    for (let r = 0; r < 100; r++) {
      expect(made.explainer.contributions(rows, r * width, x)).toBe(sync.explainer.contributions(rows, r * width, y));
      expect(x).toEqual(y);
    }
  });
});
