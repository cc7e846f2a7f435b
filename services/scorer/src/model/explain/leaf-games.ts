/**
 * Path-dependent TreeSHAP leaf by leaf. Each leaf l (value v, distinct path features P with
 * |P| = d, z_k = product of the cover fractions of feature k's edges on the path) plays the
 * product game v · Π_{k∈P} (k ∈ S ? o_k : z_k), where o_k = 1 when the row agrees with every
 * edge of feature k; a tree's SHAP values are the sum of its leaves' (Lundberg et al. 2018).
 * With U = {k : o_k = 1}, the Shapley value of that game for feature i is
 *
 *   i ∉ U:  −T(U)                         T(M) = v · D(M) · Π_{j∉M} z_j
 *   i ∈ U:  (1 − z_i)/z_i · T(U \ {i})    D(M) = Σ_{S⊆M} |S|!(d−|S|−1)!/d! · Π_{j∈M\S} z_j
 *
 * (covers are positive, so z_i > 0), and the game's empty-set value v · cover(l)/cover(root)
 * goes to the expected value. `subsetTable` tabulates T over all 2^d subsets (Fast TreeSHAP v2,
 * Yang 2021, in a division-free form); `polynomialLeaf` evaluates the same sums from the
 * elementary symmetric polynomials of the z's in O(d²) for leaves too deep to tabulate.
 */
import type { TreeEnsemble } from './tree-ensemble.js';

/** Distinct features on one path must fit a 32-bit subset mask. */
export const MAX_PATH_FEATURES = 30;

export interface LeafGame {
  /** Global index of the leaf node and its value. */
  leaf: number;
  value: number;
  /** The path's internal nodes (root first), the branch taken (1 = true), the bit of the edge's feature. */
  nodes: number[];
  dirs: number[];
  bits: number[];
  /** Distinct path features in order of first use, and their cover-fraction products z. */
  features: number[];
  z: number[];
}

/** Every leaf's game, tree by tree in depth-first order (true branch first), and the expected value. */
export function leafGames(e: TreeEnsemble, covers: Float64Array): { games: LeafGame[]; bias: number } {
  const games: LeafGame[] = [];
  let bias = e.base;
  const nodes: number[] = [];
  const dirs: number[] = [];
  for (let t = 0; t < e.root.length; t++) {
    const root = e.root[t] as number;
    const rootCover = covers[root] as number;
    // Iterative depth-first walk: the stack holds (node, depth of its path); popping trims the path.
    const stack: [number, number, number][] = [[root, 0, -1]];
    while (stack.length) {
      const [g, depth, dir] = stack.pop() as [number, number, number];
      nodes.length = dirs.length = depth;
      if (depth > 0) dirs[depth - 1] = dir;
      if (e.mode[g] !== 0) {
        nodes.push(g);
        dirs.push(-1);
        stack.push([e.falseChild[g] as number, depth + 1, 0], [e.trueChild[g] as number, depth + 1, 1]);
        continue;
      }
      const value = e.leafValue[g] as number;
      bias += (value * (covers[g] as number)) / rootCover;
      const features: number[] = [];
      const z: number[] = [];
      const bits: number[] = [];
      for (let k = 0; k < depth; k++) {
        const node = nodes[k] as number;
        const f = e.feature[node] as number;
        let local = features.indexOf(f);
        if (local < 0) local = features.push(f) - 1;
        z[local] = (z[local] ?? 1) * ((covers[(dirs[k] ? e.trueChild[node] : e.falseChild[node]) as number] as number) / (covers[node] as number));
        bits.push(1 << local);
      }
      if (features.length > MAX_PATH_FEATURES) throw new RangeError(`a path uses ${features.length} distinct features (at most ${MAX_PATH_FEATURES} are supported)`);
      games.push({ leaf: g, value, nodes: nodes.slice(0, depth), dirs: dirs.slice(0, depth), bits, features, z });
    }
  }
  return { games, bias };
}

/** Shapley weights |S|!(d−|S|−1)!/d! for s = 0..d−1. */
export function shapleyWeights(d: number): Float64Array {
  const w = new Float64Array(Math.max(d, 1));
  if (d > 0) w[0] = 1 / d;
  for (let s = 0; s + 1 < d; s++) w[s + 1] = ((w[s] as number) * (s + 1)) / (d - s - 1);
  return w;
}

/** T(M) for every subset M of the leaf's d features (index = subset mask). */
export function subsetTable(game: LeafGame): Float64Array {
  const { z, value } = game;
  const d = z.length;
  const size = 1 << d;
  const w = shapleyWeights(d);
  const poly = new Float64Array(size * (d + 1)); // e_k(z_M), k = 0..d, for each M
  const inside = new Float64Array(size); // Π_{j∈M} z_j
  const out = new Float64Array(size);
  poly[0] = 1;
  inside[0] = 1;
  for (let m = 1; m < size; m++) {
    const low = 31 - Math.clz32(m & -m);
    const prev = m ^ (1 << low);
    const zl = z[low] as number;
    inside[m] = (inside[prev] as number) * zl;
    const a = m * (d + 1);
    const b = prev * (d + 1);
    poly[a] = 1;
    for (let k = 1; k <= d; k++) poly[a + k] = (poly[b + k] as number) + zl * (poly[b + k - 1] as number);
  }
  for (let m = 0; m < size; m++) {
    let bits = 0;
    for (let x = m; x; x &= x - 1) bits++;
    let dm = 0;
    // s = |S| < d: T of the full set is never read (no feature lies outside it).
    for (let s = 0; s <= bits && s < d; s++) dm += (w[s] as number) * (poly[m * (d + 1) + bits - s] as number);
    out[m] = value * dm * (inside[(size - 1) ^ m] as number);
  }
  return out;
}

/**
 * Adds one leaf's contributions for the agreement set u into out, without a table:
 * D(U) and each D(U \ {i}) from the elementary symmetric polynomials of the z's (deflating
 * by one factor at a time, which is stable since every z ≤ 1). Scratch arrays need d + 2 slots.
 */
export function polynomialLeaf(value: number, feature: Int32Array, z: Float64Array, f0: number, d: number, u: number, w: Float64Array, out: Float64Array, e: Float64Array, e2: Float64Array): void {
  let zOut = 1;
  let m = 0;
  e[0] = 1;
  for (let k = 0; k < d; k++) {
    const zk = z[f0 + k] as number;
    if (!(u & (1 << k))) {
      zOut *= zk;
      continue;
    }
    e[++m] = 0;
    for (let j = m; j > 0; j--) e[j]! += zk * (e[j - 1] as number);
  }
  let dU = 0;
  for (let s = 0; s <= m && s < d; s++) dU += (w[s] as number) * (e[m - s] as number);
  for (let k = 0; k < d; k++) {
    const f = feature[f0 + k] as number;
    if (!(u & (1 << k))) {
      out[f]! -= value * zOut * dU;
      continue;
    }
    const zk = z[f0 + k] as number;
    e2[0] = 1;
    for (let j = 1; j < m; j++) e2[j] = (e[j] as number) - zk * (e2[j - 1] as number);
    let dI = 0;
    for (let s = 0; s < m; s++) dI += (w[s] as number) * (e2[m - 1 - s] as number);
    out[f]! += value * (1 - zk) * zOut * dI;
  }
}
