/**
 * Rebuilds an ONNX-ML TreeEnsembleClassifier / TreeEnsembleRegressor as flat arrays, with each
 * leaf's contribution to the fraud column's raw margin (the score before post_transform).
 *
 * Only the configurations whose output onnxruntime computes in a documented, checked way are
 * accepted (each was compared with onnxruntime 1.30 on hand-built graphs): a binary classifier
 * whose leaves carry weights of class id 0 only (LightGBM, scikit-learn forests via
 * onnxmltools/skl2onnx; column 1 = score, or sigmoid(score) with LOGISTIC; base_values of
 * length 0 or 1), a binary classifier whose every leaf carries both classes (column 1 = the
 * class-1 score; with SOFTMAX its margin is score1 - score0), and a one-target regressor
 * (SUM or AVERAGE, post_transform NONE). Anything else returns a reason instead: onnxruntime
 * does surprising things there (base_values of length 2 in the one-class layout, leaves with
 * one class of two), and an explanation of the wrong number is worse than none.
 *
 * Node order — the order of the manifest's cover table — is: trees by ascending
 * nodes_treeids, nodes of a tree by ascending nodes_nodeids.
 */
import type { OnnxAttribute, OnnxNode } from './onnx-graph.js';

/** Branch modes as onnxruntime evaluates them; LEAF = 0. */
export const MODES = ['LEAF', 'BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ'] as const;

/** How the raw margin maps to the fraud column: P = margin, or P = 1 / (1 + e^-margin). */
export type Link = 'identity' | 'logistic';

export interface TreeEnsemble {
  /** Trees in ascending tree id; tree t owns nodes treeStart[t] .. treeStart[t+1] - 1. */
  treeStart: Int32Array;
  /** Global index of each tree's root. */
  root: Int32Array;
  /** Per node: mode index into MODES (0 = leaf), feature, threshold, NaN goes to the true branch. */
  mode: Uint8Array;
  feature: Int32Array;
  threshold: Float64Array;
  missingTrue: Uint8Array;
  /** Per node: global indexes of the children (-1 for leaves). */
  trueChild: Int32Array;
  falseChild: Int32Array;
  /** Per node: what reaching this leaf adds to the margin (0 for internal nodes). */
  leafValue: Float64Array;
  /** Added to the margin once (base_values). */
  base: number;
  link: Link;
  /** 1 + the largest feature index a split reads. */
  width: number;
}

export type Built<T> = { ok: true; value: T } | { ok: false; reason: string };

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

function numbers(node: OnnxNode, name: string, required = true): number[] | undefined {
  const a: OnnxAttribute | undefined = node.attributes.get(name) ?? node.attributes.get(`${name}_as_tensor`);
  if (!a) return required ? undefined : [];
  if (a.t) return Array.from(a.t.values);
  return a.floats.length ? a.floats : a.ints;
}

/** Builds the ensemble of a TreeEnsembleClassifier/Regressor node, or says why it cannot. */
export function buildTreeEnsemble(node: OnnxNode, fraudColumn: number): Built<TreeEnsemble> {
  const id = `node ${node.name || node.opType} (${node.opType})`;
  const get = (name: string, required = true) => numbers(node, name, required);
  const treeIds = get('nodes_treeids');
  const nodeIds = get('nodes_nodeids');
  const featureIds = get('nodes_featureids');
  const values = get('nodes_values');
  const trueIds = get('nodes_truenodeids');
  const falseIds = get('nodes_falsenodeids');
  const missing = get('nodes_missing_value_tracks_true', false) ?? [];
  const modes = node.attributes.get('nodes_modes')?.strings;
  if (!treeIds || !nodeIds || !featureIds || !values || !trueIds || !falseIds || !modes) return fail(`${id} lacks a nodes_* attribute`);
  const n = treeIds.length;
  if ([nodeIds, featureIds, values, trueIds, falseIds, modes].some((a) => a.length !== n) || (missing.length !== 0 && missing.length !== n)) {
    return fail(`${id}: nodes_* attributes have different lengths`);
  }
  // Order: tree id, then node id.
  const order = Array.from({ length: n }, (_, k) => k).sort((a, b) => (treeIds[a] as number) - (treeIds[b] as number) || (nodeIds[a] as number) - (nodeIds[b] as number));
  const index = new Map<string, number>();
  const treeStart: number[] = [];
  for (let g = 0; g < n; g++) {
    const k = order[g] as number;
    if (g === 0 || treeIds[k] !== treeIds[order[g - 1] as number]) treeStart.push(g);
    const key = `${treeIds[k]}/${nodeIds[k]}`;
    if (index.has(key)) return fail(`${id}: tree ${treeIds[k]} has two nodes with id ${nodeIds[k]}`);
    index.set(key, g);
  }
  treeStart.push(n);
  const e: TreeEnsemble = {
    treeStart: Int32Array.from(treeStart), root: new Int32Array(treeStart.length - 1), mode: new Uint8Array(n), feature: new Int32Array(n),
    threshold: new Float64Array(n), missingTrue: new Uint8Array(n), trueChild: new Int32Array(n).fill(-1), falseChild: new Int32Array(n).fill(-1),
    leafValue: new Float64Array(n), base: 0, link: 'identity', width: 0,
  };
  const parents = new Int32Array(n);
  for (let g = 0; g < n; g++) {
    const k = order[g] as number;
    const m = MODES.indexOf(modes[k] as (typeof MODES)[number]);
    if (m < 0) return fail(`${id}: unsupported node mode ${modes[k]}`);
    e.mode[g] = m;
    if (m === 0) continue;
    if (!((featureIds[k] as number) >= 0)) return fail(`${id}: tree ${treeIds[k]} node ${nodeIds[k]} reads feature ${featureIds[k]}`);
    e.feature[g] = featureIds[k] as number;
    e.threshold[g] = values[k] as number;
    e.missingTrue[g] = missing[k] ? 1 : 0;
    e.width = Math.max(e.width, (featureIds[k] as number) + 1);
    const t = index.get(`${treeIds[k]}/${trueIds[k]}`);
    const f = index.get(`${treeIds[k]}/${falseIds[k]}`);
    if (t === undefined || f === undefined) return fail(`${id}: tree ${treeIds[k]} node ${nodeIds[k]} has a child that does not exist`);
    e.trueChild[g] = t;
    e.falseChild[g] = f;
    parents[t]! += 1;
    parents[f]! += 1;
  }
  for (let t = 0; t + 1 < treeStart.length; t++) {
    const roots: number[] = [];
    for (let g = treeStart[t] as number; g < (treeStart[t + 1] as number); g++) {
      if (parents[g]! > 1) return fail(`${id}: tree ${t} is not a tree (a node has two parents)`);
      if (parents[g] === 0) roots.push(g);
    }
    if (roots.length !== 1) return fail(`${id}: tree ${t} has ${roots.length} roots`);
    e.root[t] = roots[0] as number;
    // onnxruntime starts each tree at the first node the attributes list for it.
    const listed = order.slice(treeStart[t], treeStart[t + 1]).reduce((a, b) => Math.min(a, b));
    if (order[roots[0] as number] !== listed) return fail(`${id}: tree ${t} does not list its root first`);
  }
  const leaves = node.opType === 'TreeEnsembleClassifier' ? classifierLeaves(node, e, index, fraudColumn, id) : regressorLeaves(node, e, index, id);
  return leaves ?? { ok: true, value: e };
}

/** Fills leafValue/base/link for a binary classifier; a reason when the layout is not supported. */
function classifierLeaves(node: OnnxNode, e: TreeEnsemble, index: Map<string, number>, fraudColumn: number, id: string): Built<TreeEnsemble> | undefined {
  const labels = node.attributes.get('classlabels_int64s')?.ints.length || node.attributes.get('classlabels_strings')?.strings.length || 0;
  if (labels !== 2) return fail(`${id}: ${labels} classes; only binary classifiers are explained`);
  if (fraudColumn !== 1) return fail(`${id}: the fraud column is ${fraudColumn}; only column 1 is explained`);
  const [trees, nodes, classes, weights] = ['class_treeids', 'class_nodeids', 'class_ids', 'class_weights'].map((a) => numbers(node, a));
  if (!trees || !nodes || !classes || !weights || [nodes, classes, weights].some((a) => a.length !== trees.length)) return fail(`${id}: class_* attributes missing or of different lengths`);
  const post = node.attributes.get('post_transform')?.s ?? 'NONE';
  const base = numbers(node, 'base_values', false) ?? [];
  const classSet = new Set(classes);
  const perLeaf = new Map<number, number>(); // leaf -> bitmask of classes seen
  for (let k = 0; k < trees.length; k++) {
    const g = index.get(`${trees[k]}/${nodes[k]}`);
    if (g === undefined || e.mode[g] !== 0) return fail(`${id}: a class weight names tree ${trees[k]} node ${nodes[k]}, which is not a leaf`);
    const c = classes[k] as number;
    if (c !== 0 && c !== 1) return fail(`${id}: class id ${c}`);
    perLeaf.set(g, (perLeaf.get(g) ?? 0) | (1 << c));
    // One class: its score is column 1's. Two classes: column 1's margin is score1 (or score1 - score0 under SOFTMAX).
    const sign = classSet.size === 1 || c === 1 ? 1 : post === 'SOFTMAX' ? -1 : 0;
    e.leafValue[g]! += sign * (weights[k] as number);
  }
  if (classSet.size === 1) {
    if (!classSet.has(0)) return fail(`${id}: leaves carry class 1 only (onnxruntime fills column 0 with a constant)`);
    if (base.length > 1) return fail(`${id}: ${base.length} base_values with one weighted class (onnxruntime's output is not column 1's score there)`);
    if (post !== 'NONE' && post !== 'LOGISTIC') return fail(`${id}: post_transform ${post} with one weighted class`);
    e.base = base[0] ?? 0;
    e.link = post === 'LOGISTIC' ? 'logistic' : 'identity';
    return undefined;
  }
  if ([...perLeaf.values()].some((m) => m !== 3)) return fail(`${id}: some leaves carry one class of two (onnxruntime then fills the other in ways that are not a margin)`);
  if (base.some((b) => b !== 0)) return fail(`${id}: base_values with two weighted classes`);
  if (post !== 'NONE' && post !== 'LOGISTIC' && post !== 'SOFTMAX') return fail(`${id}: post_transform ${post}`);
  e.link = post === 'NONE' ? 'identity' : 'logistic';
  return undefined;
}

function regressorLeaves(node: OnnxNode, e: TreeEnsemble, index: Map<string, number>, id: string): Built<TreeEnsemble> | undefined {
  const targets = node.attributes.get('n_targets')?.i ?? 1;
  const agg = node.attributes.get('aggregate_function')?.s ?? 'SUM';
  const post = node.attributes.get('post_transform')?.s ?? 'NONE';
  if (targets !== 1) return fail(`${id}: ${targets} targets; only one is explained`);
  if (agg !== 'SUM' && agg !== 'AVERAGE') return fail(`${id}: aggregate_function ${agg} is not additive`);
  if (post !== 'NONE') return fail(`${id}: post_transform ${post} on a regressor`);
  const [trees, nodes, ids, weights] = ['target_treeids', 'target_nodeids', 'target_ids', 'target_weights'].map((a) => numbers(node, a));
  if (!trees || !nodes || !ids || !weights || [nodes, ids, weights].some((a) => a.length !== trees.length)) return fail(`${id}: target_* attributes missing or of different lengths`);
  const scale = agg === 'AVERAGE' ? 1 / e.root.length : 1;
  for (let k = 0; k < trees.length; k++) {
    const g = index.get(`${trees[k]}/${nodes[k]}`);
    if (g === undefined || e.mode[g] !== 0) return fail(`${id}: a target weight names tree ${trees[k]} node ${nodes[k]}, which is not a leaf`);
    if (ids[k] !== 0) return fail(`${id}: target id ${ids[k]}`);
    e.leafValue[g]! += (weights[k] as number) * scale;
  }
  const base = numbers(node, 'base_values', false) ?? [];
  if (base.length > 1) return fail(`${id}: ${base.length} base_values for one target`);
  e.base = base[0] ?? 0;
  return undefined;
}

/** onnxruntime's branch test for one node (mode index as in MODES): NaN follows missingTrue first. */
export function split(x: number, t: number, mode: number, missingTrue: number): boolean {
  if (x !== x && missingTrue) return true;
  switch (mode) {
    case 1:
      return x <= t;
    case 2:
      return x < t;
    case 3:
      return x >= t;
    case 4:
      return x > t;
    case 5:
      return x === t;
    default:
      return x !== t;
  }
}

/** The ensemble's raw margin for a standardised row: each tree walked to its leaf (no covers involved). */
export function treeMargin(e: TreeEnsemble, xs: Float64Array): number {
  let sum = e.base;
  for (let t = 0; t < e.root.length; t++) {
    let g = e.root[t] as number;
    while (e.mode[g] !== 0) {
      const yes = split(xs[e.feature[g] as number] as number, e.threshold[g] as number, e.mode[g] as number, e.missingTrue[g] as number);
      g = (yes ? e.trueChild[g] : e.falseChild[g]) as number;
    }
    sum += e.leafValue[g] as number;
  }
  return sum;
}
