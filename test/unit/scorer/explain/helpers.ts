/**
 * Shared by the explainer tests and the benchmark: the shipped artifacts, reproducible rows
 * inside each feature's training range (plus edge rows), covers made by routing rows through
 * the trees (any positive, additive table is a valid background for TreeSHAP, so local
 * accuracy and exactness can be tested on models whose manifests carry none), and a
 * brute-force Shapley reference that shares no code with the fast algorithm.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readOnnxModel, type ExplainManifest, type TreeCovers } from '../../../../services/scorer/src/model/explain/index.js';
import { buildTreeEnsemble, split, type TreeEnsemble } from '../../../../services/scorer/src/model/explain/tree-ensemble.js';

export const MODELS_DIR = join(import.meta.dirname, '../../../../models');
export const FIXTURES_DIR = join(import.meta.dirname, '../../../fixtures/explain');

export interface Artifact {
  bytes: Uint8Array;
  manifest: ExplainManifest & { sha256: string; reference_histograms?: { features: Record<string, { edges: number[]; min?: number; max?: number }> } };
}

export function shipped(name: string, version = '1.0.0'): Artifact {
  const dir = join(MODELS_DIR, name, version);
  return { bytes: readFileSync(join(dir, 'model.onnx')), manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Artifact['manifest'] };
}

/** Deterministic uniform [0, 1) numbers (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n rows (row-major float32) drawn inside each feature's training range; integer-valued features stay integers. */
export function randomRows(a: Artifact, n: number, seed: number): Float32Array {
  const f = a.manifest.features;
  const next = rng(seed);
  const rows = new Float32Array(n * f.length);
  const ranges = f.map((name) => {
    const h = a.manifest.reference_histograms?.features[name];
    const lo = h?.min ?? h?.edges[0] ?? 0;
    const hi = h?.max ?? h?.edges[h.edges.length - 1] ?? 1;
    return [lo, hi, /NB_TX|DURING/.test(name)] as const;
  });
  for (let r = 0; r < n; r++) {
    ranges.forEach(([lo, hi, integer], j) => {
      // Skewed towards the low end, where most rows are, with the whole range reachable.
      const u = next() ** 2;
      const v = lo + (hi - lo) * u;
      rows[r * f.length + j] = integer ? Math.round(v) : v;
    });
  }
  return rows;
}

/** The ensemble of a graph's only tree node (tests of tree models only). */
export function ensembleOf(bytes: Uint8Array): TreeEnsemble {
  const node = readOnnxModel(bytes).nodes.find((n) => n.opType.startsWith('TreeEnsemble'));
  if (!node) throw new Error('no tree ensemble');
  const built = buildTreeEnsemble(node, 1);
  if (!built.ok) throw new Error(built.reason);
  return built.value;
}

/** The graph's Scaler as onnxruntime applies it, or the identity. */
export function scalerOf(bytes: Uint8Array, width: number): (row: Float32Array, offset: number) => Float64Array {
  const node = readOnnxModel(bytes).nodes.find((n) => n.opType === 'Scaler');
  const off = node?.attributes.get('offset')?.floats ?? new Array<number>(width).fill(0);
  const sc = node?.attributes.get('scale')?.floats ?? new Array<number>(width).fill(1);
  return (row, offset) => Float64Array.from({ length: width }, (_, j) => Math.fround(Math.fround(row[offset + j]! - Math.fround(off[j]!)) * Math.fround(sc[j]!)));
}

/** Covers from routing the rows through each tree, one extra row counted at every leaf (so all are positive). */
export function routedCovers(a: Artifact, rows: Float32Array): TreeCovers {
  const e = ensembleOf(a.bytes);
  const width = a.manifest.features.length;
  const scale = scalerOf(a.bytes, width);
  const counts = new Float64Array(e.mode.length);
  for (let g = 0; g < counts.length; g++) if (e.mode[g] === 0) counts[g] = 1;
  for (let r = 0; r * width < rows.length; r++) {
    const xs = scale(rows, r * width);
    for (let t = 0; t < e.root.length; t++) {
      let g = e.root[t]!;
      while (e.mode[g] !== 0) g = split(xs[e.feature[g]!]!, e.threshold[g]!, e.mode[g]!, e.missingTrue[g]!) ? e.trueChild[g]! : e.falseChild[g]!;
      counts[g]! += 1;
    }
  }
  const total = (g: number): number => (e.mode[g] === 0 ? counts[g]! : (counts[g] = total(e.trueChild[g]!) + total(e.falseChild[g]!)));
  const trees: string[] = [];
  for (let t = 0; t < e.root.length; t++) {
    total(e.root[t]!);
    trees.push(Array.from(counts.subarray(e.treeStart[t], e.treeStart[t + 1])).join(' '));
  }
  return { onnx_sha256: createHash('sha256').update(a.bytes).digest('hex'), source: 'test: routed rows + 1 per leaf', trees };
}

/**
 * Exact Shapley values of each tree's path-dependent game v(S) = E[f | x_S] (Lundberg et al.
 * 2018, Algorithm 1), by enumerating every subset of the features that tree splits on.
 * Exponential: for small trees and a handful of rows only. Returns [bias, ...contributions].
 */
export function bruteForceShap(e: TreeEnsemble, covers: Float64Array, xs: Float64Array, width: number): Float64Array {
  const phi = new Float64Array(width + 1);
  phi[0] = e.base;
  for (let t = 0; t < e.root.length; t++) {
    const used = [...new Set(Array.from({ length: e.treeStart[t + 1]! - e.treeStart[t]! }, (_, k) => e.treeStart[t]! + k).filter((g) => e.mode[g] !== 0).map((g) => e.feature[g]!))];
    const m = used.length;
    const value = (mask: number): number => {
      const g0 = (g: number): number => {
        if (e.mode[g] === 0) return e.leafValue[g]!;
        const k = used.indexOf(e.feature[g]!);
        if (mask & (1 << k)) return g0(split(xs[e.feature[g]!]!, e.threshold[g]!, e.mode[g]!, e.missingTrue[g]!) ? e.trueChild[g]! : e.falseChild[g]!);
        const a = e.trueChild[g]!;
        const b = e.falseChild[g]!;
        return (g0(a) * covers[a]! + g0(b) * covers[b]!) / covers[g]!;
      };
      return g0(e.root[t]!);
    };
    const v = Float64Array.from({ length: 1 << m }, (_, mask) => value(mask));
    phi[0]! += v[0]!;
    const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
    for (let i = 0; i < m; i++) {
      for (let mask = 0; mask < 1 << m; mask++) {
        if (mask & (1 << i)) continue;
        let s = 0;
        for (let x = mask; x; x &= x - 1) s++;
        phi[1 + used[i]!]! += ((fact(s) * fact(m - s - 1)) / fact(m)) * (v[mask | (1 << i)]! - v[mask]!);
      }
    }
  }
  return phi;
}

/** onnxruntime's `probabilities` output for n rows, as the scorer's session computes it. */
export async function ortOutput(bytes: Uint8Array, rows: Float32Array, width: number): Promise<{ data: Float32Array; columns: number }> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const n = rows.length / width;
    const out = await session.run({ features: new ort.Tensor('float32', rows, [n, width]) }, ['probabilities']);
    const t = out.probabilities as { data: Float32Array; dims: readonly number[] };
    return { data: t.data, columns: t.dims[1] ?? 1 };
  } finally {
    await session.release();
  }
}

/**
 * Rows whose standardised value of one feature equals a split threshold exactly (the float32
 * raw value whose Scaler output is the threshold, when one exists): the branch then depends on
 * the comparison's exact semantics, where a float64 shortcut would differ from onnxruntime.
 */
export function thresholdRows(a: Artifact, base: Float32Array, count: number, seed: number): Float32Array {
  const e = ensembleOf(a.bytes);
  const width = a.manifest.features.length;
  const node = readOnnxModel(a.bytes).nodes.find((n) => n.opType === 'Scaler');
  const off = node?.attributes.get('offset')?.floats ?? new Array<number>(width).fill(0);
  const sc = node?.attributes.get('scale')?.floats ?? new Array<number>(width).fill(1);
  const next = rng(seed);
  const out: number[] = [];
  const f32 = new Float32Array(1);
  const i32 = new Int32Array(f32.buffer);
  for (let tries = 0; out.length < count * width && tries < count * 20; tries++) {
    const g = Math.floor(next() * e.mode.length);
    if (e.mode[g] === 0) continue;
    const f = e.feature[g]!;
    const t = e.threshold[g]!;
    f32[0] = t / sc[f]! + off[f]!;
    let hit: number | undefined;
    for (let step = -8; step <= 8 && hit === undefined; step++) {
      const saved = i32[0]!;
      i32[0] = saved + step;
      const x = f32[0]!;
      if (Math.fround(Math.fround(x - off[f]!) * sc[f]!) === t) hit = x;
      i32[0] = saved;
    }
    if (hit === undefined) continue;
    const r = Math.floor(next() * (base.length / width));
    const row = Array.from(base.subarray(r * width, (r + 1) * width));
    row[f] = hit;
    out.push(...row);
  }
  return Float32Array.from(out);
}

export const sigmoid = (m: number): number => 1 / (1 + Math.exp(-m));

/** A manifest for a fixture graph of `width` features named f0, f1, … */
export function fixture(name: string, width = 3): Artifact {
  const features = Array.from({ length: width }, (_, j) => `f${j}`);
  const bytes = readFileSync(join(FIXTURES_DIR, name));
  return { bytes, manifest: { features, sha256: createHash('sha256').update(bytes).digest('hex') } };
}

/** The Scaler and LinearClassifier numbers of a linear graph, read with the module's reader. */
export function readScaler(bytes: Uint8Array): { offset: number[]; scale: number[]; coefficients: number[]; intercepts: number[] } {
  const nodes = readOnnxModel(bytes).nodes;
  const s = nodes.find((n) => n.opType === 'Scaler');
  const l = nodes.find((n) => n.opType === 'LinearClassifier');
  return {
    offset: s?.attributes.get('offset')?.floats ?? [],
    scale: s?.attributes.get('scale')?.floats ?? [],
    coefficients: l?.attributes.get('coefficients')?.floats ?? [],
    intercepts: l?.attributes.get('intercepts')?.floats ?? [],
  };
}
