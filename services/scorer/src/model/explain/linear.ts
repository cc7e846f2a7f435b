/**
 * Linear models (LinearClassifier, LinearRegressor): the contribution of feature i is
 * coefficient_i × its standardised input (the graph's own Scaler output), the bias is the
 * intercept, and their sum is the raw margin — exact, since the margin is linear. (This is
 * not the SHAP value of a linear model, which would centre each input on its training mean;
 * the Scaler already centres on the training mean, so the two agree up to the float32
 * rounding of that mean.)
 *
 * Accepted layouts, each checked against onnxruntime 1.30: a binary classifier with one
 * coefficient row (column 1 = score, or sigmoid(score) with LOGISTIC) or two rows (column 1 =
 * row 1's score under NONE/LOGISTIC; under SOFTMAX, sigmoid(score1 − score0), whose margin is
 * the difference of the rows), and a one-target regressor without post_transform.
 */
import type { OnnxNode } from './onnx-graph.js';
import type { Built, Link } from './tree-ensemble.js';

export interface LinearModel {
  coefficients: Float64Array;
  intercept: number;
  link: Link;
}

/** The fraud column's margin as coefficients over the node's input, or why it cannot be. */
export function buildLinear(node: OnnxNode, width: number, fraudColumn: number): Built<LinearModel> {
  const id = `node ${node.name || node.opType} (${node.opType})`;
  const fail = (why: string) => ({ ok: false as const, reason: `${id}: ${why}` });
  const coef = node.attributes.get('coefficients')?.floats ?? [];
  const intercepts = node.attributes.get('intercepts')?.floats ?? [];
  const post = node.attributes.get('post_transform')?.s ?? 'NONE';
  if (coef.length === 0 || coef.length % width !== 0) return fail(`${coef.length} coefficients for ${width} inputs`);
  const rows = coef.length / width;
  const row = (r: number) => Float64Array.from(coef.slice(r * width, (r + 1) * width));
  const icept = (r: number) => intercepts[r] ?? 0;

  if (node.opType === 'LinearRegressor') {
    const targets = node.attributes.get('targets')?.i ?? 1;
    if (targets !== 1 || rows !== 1) return fail(`${rows} coefficient rows for ${targets} targets; one target is explained`);
    if (post !== 'NONE') return fail(`post_transform ${post} on a regressor`);
    return { ok: true, value: { coefficients: row(0), intercept: icept(0), link: 'identity' } };
  }
  const labels = node.attributes.get('classlabels_ints')?.ints.length || node.attributes.get('classlabels_strings')?.strings.length || 0;
  if (labels !== 2) return fail(`${labels} classes; only binary classifiers are explained`);
  if (fraudColumn !== 1) return fail(`the fraud column is ${fraudColumn}; only column 1 is explained`);
  if (rows === 1 && (post === 'NONE' || post === 'LOGISTIC')) {
    return { ok: true, value: { coefficients: row(0), intercept: icept(0), link: post === 'NONE' ? 'identity' : 'logistic' } };
  }
  if (rows === 2 && (post === 'NONE' || post === 'LOGISTIC')) {
    return { ok: true, value: { coefficients: row(1), intercept: icept(1), link: post === 'NONE' ? 'identity' : 'logistic' } };
  }
  if (rows === 2 && post === 'SOFTMAX') {
    const c0 = row(0);
    const c1 = row(1);
    return { ok: true, value: { coefficients: c1.map((c, j) => c - (c0[j] as number)), intercept: icept(1) - icept(0), link: 'logistic' } };
  }
  return fail(`${rows} coefficient rows with post_transform ${post}`);
}
