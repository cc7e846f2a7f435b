/**
 * Reason codes computed from the model itself: per-feature contributions to the fraud score's
 * raw margin (before post_transform and before the manifest's calibration), built from the
 * same ONNX bytes the scorer runs plus its manifest.
 *
 * - Tree ensembles: exact path-dependent TreeSHAP (tree-shap.ts), with node covers from the
 *   manifest's `tree_covers` (covers.ts says why they live there and how they are checked).
 * - Linear models: coefficient × standardised input (linear.ts).
 * - Anything else: { ok: false, reason: 'cannot explain: …' } — creating an explainer never
 *   throws, and neither does explaining a row.
 *
 * The graph must be: input → [Scaler] → one model node → [Identity…] → the manifest's output.
 * Nodes that do not lead to that output (the `label` branch) are ignored. The Scaler is applied
 * in float32 as onnxruntime's is, so every split sees the value the session compares.
 *
 * Contributions sum with the bias to the margin: sigmoid(margin) = P(fraud) for LightGBM and
 * logistic regression (link 'logistic'), margin = P(fraud) for a random forest ('identity').
 */
import { createHash } from 'node:crypto';
import { buildLinear } from './linear.js';
import { OnnxFormatError, readOnnxModel, type OnnxGraph, type OnnxNode } from './onnx-graph.js';
import { readCovers } from './covers.js';
import { reasonTable, topReasons, type ReasonCode, type TopReason } from './reasons.js';
import { buildTreeEnsemble, treeMargin, type Link } from './tree-ensemble.js';
import { TreeShap, type TreeShapOptions } from './tree-shap.js';

export { derivedReason, reasonTable, topReasons, type ReasonCode, type TopReason } from './reasons.js';
export { OnnxFormatError, readOnnxModel, type OnnxGraph, type OnnxNode, type OnnxAttribute, type OnnxTensor } from './onnx-graph.js';
export type { TreeCovers } from './covers.js';
export type { Link } from './tree-ensemble.js';

/** What the explainer reads from a manifest (the scorer's Manifest type satisfies it). */
export interface ExplainManifest {
  features: readonly string[];
  input_name?: string;
  output_name?: string;
  output_fraud_column?: number;
  /** {feature: {code, text}}; optional (see reasons.ts). */
  reasons?: unknown;
  /** Required for tree ensembles (see covers.ts). */
  tree_covers?: unknown;
  [key: string]: unknown;
}

export interface Explainer {
  readonly method: 'tree-shap' | 'linear';
  readonly features: readonly string[];
  /** How the margin maps to P(fraud) before calibration. */
  readonly link: Link;
  /** One code per feature, in feature order. */
  readonly reasons: readonly ReasonCode[];
  /** Memory held by precomputed tables (tree models; tree-shap.ts bounds it). */
  readonly tableBytes: number;
  /**
   * Writes each feature's contribution for the row at row[offset .. offset + features.length)
   * into out[0 .. features.length) (out.length ≥ features.length) and returns the bias
   * (expected margin); bias + Σ out is the model's raw margin for the row. No allocation; a row
   * that does not fit gives NaN. Uses scratch space of its own: one explainer per thread.
   */
  contributions(row: Float32Array, offset: number, out: Float64Array): number;
  /** The raw margin computed by evaluating the model directly (what the contributions add up to). */
  margin(row: Float32Array, offset: number): number;
  /** The k features that raised the margin most, with their codes (reasons.ts). */
  topReasons(contributions: ArrayLike<number>, k?: number): TopReason[];
}

export type ExplainerResult = { ok: true; explainer: Explainer } | { ok: false; reason: string };

export type ExplainerOptions = TreeShapOptions;

const MODEL_OPS = new Set(['TreeEnsembleClassifier', 'TreeEnsembleRegressor', 'LinearClassifier', 'LinearRegressor']);

/** Builds an explainer for the model, or says why there is none. Never throws. */
export function createExplainer(onnxBytes: Uint8Array, manifest: ExplainManifest, options: ExplainerOptions = {}): ExplainerResult {
  const made = prepareExplainer(onnxBytes, manifest, options, false);
  return made.ok ? { ok: true, explainer: made.explainer } : made;
}

/**
 * createExplainer without holding the thread: a tree model's tables (~0.2 s of work for the
 * default LightGBM, more for a deep forest) are filled in slices of a few ms with `pause`
 * (default: the next turn of the event loop) between them, so a scorer loading a model for a
 * hot swap keeps scoring meanwhile. Never rejects.
 */
export async function createExplainerAsync(
  onnxBytes: Uint8Array,
  manifest: ExplainManifest,
  options: ExplainerOptions = {},
  pause: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
): Promise<ExplainerResult> {
  const made = prepareExplainer(onnxBytes, manifest, options, true);
  if (!made.ok) return made;
  try {
    await made.shap?.fill(pause);
  } catch (err) {
    return { ok: false, reason: `cannot explain: ${(err as Error).message}` };
  }
  return { ok: true, explainer: made.explainer };
}

type Prepared = { ok: true; explainer: Explainer; shap?: TreeShap } | { ok: false; reason: string };

function prepareExplainer(onnxBytes: Uint8Array, manifest: ExplainManifest, options: ExplainerOptions, deferFill: boolean): Prepared {
  const no = (reason: string): Prepared => ({ ok: false, reason: `cannot explain: ${reason}` });
  try {
    const graph = readOnnxModel(onnxBytes);
    const chain = modelChain(graph, manifest.input_name ?? 'features', manifest.output_name ?? 'probabilities');
    if (typeof chain === 'string') return no(chain);
    const width = manifest.features.length;
    const scaler = chain.scaler ? readScaler(chain.scaler, width) : identityScaler(width);
    if (typeof scaler === 'string') return no(scaler);
    const column = manifest.output_fraud_column ?? 1;
    const reasons = reasonTable(manifest.features, manifest.reasons);
    const common = { features: manifest.features, reasons, topReasons: (c: ArrayLike<number>, k = 3) => topReasons(c, reasons, manifest.features, k) };
    const xs = new Float64Array(width);
    const standardise = (row: Float32Array, offset: number): boolean => {
      if (offset < 0 || offset + width > row.length) return false;
      for (let j = 0; j < width; j++) xs[j] = Math.fround(Math.fround((row[offset + j] as number) - (scaler.offset[j] as number)) * (scaler.scale[j] as number));
      return true;
    };

    if (chain.model.opType.startsWith('Linear')) {
      const lin = buildLinear(chain.model, width, column);
      if (!lin.ok) return no(lin.reason);
      const { coefficients, intercept, link } = lin.value;
      const explainer: Explainer = {
        method: 'linear', link, tableBytes: 0, ...common,
        contributions(row, offset, out) {
          if (!standardise(row, offset)) return nanRow(out, width);
          for (let j = 0; j < width; j++) out[j] = (coefficients[j] as number) * (xs[j] as number);
          return intercept;
        },
        margin(row, offset) {
          if (!standardise(row, offset)) return NaN;
          let m = intercept;
          for (let j = 0; j < width; j++) m += (coefficients[j] as number) * (xs[j] as number);
          return m;
        },
      };
      return { ok: true, explainer };
    }

    const built = buildTreeEnsemble(chain.model, column);
    if (!built.ok) return no(built.reason);
    const ensemble = built.value;
    if (ensemble.width > width) return no(`a split reads feature ${ensemble.width - 1}, the manifest lists ${width} features`);
    const sha = createHash('sha256').update(onnxBytes).digest('hex');
    const covers = readCovers(manifest.tree_covers, ensemble, sha);
    if (!covers.ok) return no(covers.reason);
    const shap = new TreeShap(ensemble, covers.value, options, deferFill);
    const explainer: Explainer = {
      method: 'tree-shap', link: ensemble.link, tableBytes: shap.tableBytes, ...common,
      contributions(row, offset, out) {
        if (!standardise(row, offset)) return nanRow(out, width);
        out.fill(0, 0, width);
        shap.accumulate(xs, out);
        return shap.bias;
      },
      margin(row, offset) {
        return standardise(row, offset) ? treeMargin(ensemble, xs) : NaN;
      },
    };
    return { ok: true, explainer, shap };
  } catch (err) {
    if (err instanceof OnnxFormatError) return no(err.message);
    if (err instanceof RangeError) return no(err.message);
    return no(`unexpected error while reading the graph: ${(err as Error).message}`);
  }
}

function nanRow(out: Float64Array, width: number): number {
  out.fill(NaN, 0, width);
  return NaN;
}

interface Chain {
  scaler?: OnnxNode;
  model: OnnxNode;
}

/** Walks back from the output to the input; a string says which node is in the way. */
function modelChain(graph: OnnxGraph, input: string, output: string): Chain | string {
  if (!graph.inputs.includes(input)) return `the graph has no input named ${input} (inputs: ${graph.inputs.join(', ')})`;
  if (!graph.outputs.includes(output)) return `the graph has no output named ${output} (outputs: ${graph.outputs.join(', ')})`;
  const producer = new Map<string, OnnxNode>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const describe = (n: OnnxNode) => `node ${n.name || '(unnamed)'} of type ${n.domain ? `${n.domain}.` : ''}${n.opType}`;
  const skipIdentity = (name: string): [string, OnnxNode | undefined] => {
    let n = producer.get(name);
    for (let hops = 0; n && n.opType === 'Identity' && n.domain === '' && hops < graph.nodes.length; hops++) {
      name = n.inputs[0] ?? '';
      n = producer.get(name);
    }
    return [name, n];
  };
  const [scores, model] = skipIdentity(output);
  if (!model) return `output ${output} is not computed by a model node`;
  if (model.domain !== 'ai.onnx.ml' || !MODEL_OPS.has(model.opType)) return `${describe(model)} (only tree ensembles and linear models are explained)`;
  const outputIndex = model.opType.endsWith('Classifier') ? 1 : 0;
  if (scores !== model.outputs[outputIndex]) return `output ${output} is not the scores output of ${describe(model)}`;
  const [beforeModel, pre] = skipIdentity(model.inputs[0] ?? '');
  if (!pre) return beforeModel === input ? { model } : `${describe(model)} reads ${beforeModel}, not the input ${input}`;
  if (pre.domain !== 'ai.onnx.ml' || pre.opType !== 'Scaler') return `${describe(pre)} (only a Scaler may precede the model)`;
  const [beforeScaler, other] = skipIdentity(pre.inputs[0] ?? '');
  if (other) return `${describe(other)} (only a Scaler may precede the model)`;
  return beforeScaler === input ? { scaler: pre, model } : `${describe(pre)} reads ${beforeScaler}, not the input ${input}`;
}

interface Affine {
  offset: Float32Array;
  scale: Float32Array;
}

function identityScaler(width: number): Affine {
  return { offset: new Float32Array(width), scale: new Float32Array(width).fill(1) };
}

/** The Scaler's offset/scale per feature (a single value applies to every feature, as in onnxruntime). */
function readScaler(node: OnnxNode, width: number): Affine | string {
  const offset = node.attributes.get('offset')?.floats ?? [];
  const scale = node.attributes.get('scale')?.floats ?? [];
  const widen = (v: number[], fill: number) => (v.length === 0 ? new Float32Array(width).fill(fill) : v.length === 1 ? new Float32Array(width).fill(v[0] as number) : Float32Array.from(v));
  if ((offset.length > 1 && offset.length !== width) || (scale.length > 1 && scale.length !== width)) {
    return `Scaler ${node.name || ''} has ${offset.length} offsets and ${scale.length} scales for ${width} features`;
  }
  return { offset: widen(offset, 0), scale: widen(scale, 1) };
}
