/**
 * Loads a model artifact and refuses a bad one: with public keys configured, a manifest.sig
 * that is missing or does not verify (checked first, on the manifest bytes that are then
 * parsed: nothing unsigned is trusted); unreadable or malformed manifest, ONNX bytes
 * whose sha256 differs from the manifest, a feature list that is not the one the feature code
 * computes, or a graph that cannot score one row. The session is created from the same bytes
 * whose digest was verified, so what runs is what was checked.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelRef } from '../../../common/src/contracts.js';
import { checkSignature, readSignature, SignatureError, type ModelPublicKey } from '../../../common/src/model-signature.js';
import { createExplainerAsync, type Explainer } from './explain/index.js';
import { manifestSchema, type Manifest } from './manifest.js';

/** Which check refused an artifact: a closed set, used as a metric label on a refused deployment. */
export type ModelRefusal = 'unknown_model' | 'missing_artifact' | 'unsigned' | 'bad_signature' | 'invalid_manifest' | 'digest_mismatch' | 'feature_mismatch' | 'graph_refused' | 'warmup_failed';

/** A model artifact that cannot be served; the message says which check failed, `reason` names it. */
export class ModelError extends Error {
  override name = 'ModelError';
  constructor(readonly reason: ModelRefusal, message: string) {
    super(message);
  }
}

/** The scoring side of a loaded model: probability of fraud for each row. */
export interface Model {
  readonly ref: ModelRef;
  readonly manifest: Manifest;
  /** rows: n × features.length float32 values, row-major. Returns P(fraud) per row. */
  score(rows: Float32Array, n: number): Promise<Float32Array>;
  /**
   * Per-feature contributions to this model's score, built from the same verified bytes
   * (explain/): the decision policy's reason codes. Undefined when the model cannot be
   * explained; `explainRefusal` then says why.
   */
  readonly explainer?: Explainer;
  readonly explainRefusal?: string;
  /** Key id whose signature on manifest.json was verified; undefined when signatures are not checked. */
  readonly signedBy?: string;
  dispose(): Promise<void>;
}

export interface Expectation {
  features: readonly string[];
  featureSetVersion: string;
}

/** Resolves "name/version", or models/default.json when spec is empty. */
export async function resolveModelDir(modelsDir: string, spec: string): Promise<string> {
  if (spec) return join(modelsDir, spec);
  const path = join(modelsDir, 'default.json');
  let pointer: { name?: unknown; version?: unknown };
  try {
    pointer = JSON.parse(await readFile(path, 'utf8')) as typeof pointer;
  } catch (err) {
    throw new ModelError('missing_artifact', `cannot read ${path} (which model is the default): ${(err as Error).message}`);
  }
  if (typeof pointer.name !== 'string' || typeof pointer.version !== 'string') {
    throw new ModelError('invalid_manifest', `${path} must be {"name": "...", "version": "..."}`);
  }
  return join(modelsDir, pointer.name, pointer.version);
}

export interface LoadOptions {
  /** Keys one of which must have signed manifest.json (manifest.sig); undefined: signatures are not checked. */
  publicKeys?: readonly ModelPublicKey[];
}

export async function loadModel(dir: string, expect: Expectation, options: LoadOptions = {}): Promise<Model> {
  if (!existsSync(dir)) throw new ModelError('unknown_model', `no model at ${dir} (models are <models folder>/<name>/<version>/)`);
  const manifestBytes = await readManifestBytes(dir);
  const signedBy = options.publicKeys && (await checkSigned(dir, manifestBytes, options.publicKeys));
  const manifest = parseManifest(join(dir, 'manifest.json'), manifestBytes.toString('utf8'));
  const bytes = await readFile(join(dir, 'model.onnx')).catch((err: Error) => {
    throw new ModelError('missing_artifact', `cannot read ${join(dir, 'model.onnx')}: ${err.message}`);
  });
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== manifest.sha256) {
    throw new ModelError('digest_mismatch', `model ${manifest.name}/${manifest.version}: sha256 of model.onnx is ${digest} but the manifest says ${manifest.sha256}; refusing a file that is not the one trained`);
  }
  checkFeatures(manifest, expect);

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  } catch (err) {
    throw new ModelError('graph_refused', `model ${manifest.name}/${manifest.version}: onnxruntime refused the graph: ${(err as Error).message}`);
  }
  if (!session.inputNames.includes(manifest.input_name)) {
    throw new ModelError('graph_refused', `model ${manifest.name}/${manifest.version}: graph has inputs [${session.inputNames.join(', ')}], manifest names ${manifest.input_name}`);
  }
  if (!session.outputNames.includes(manifest.output_name)) {
    throw new ModelError('graph_refused', `model ${manifest.name}/${manifest.version}: graph has outputs [${session.outputNames.join(', ')}], manifest names ${manifest.output_name}`);
  }

  const width = manifest.features.length;
  // Explained from the bytes whose digest was verified, as the session runs them; built in
  // slices, so a hot swap's load does not hold up the scoring loop.
  const explained = await createExplainerAsync(bytes, manifest);
  const model: Model = {
    ref: { name: manifest.name, version: manifest.version, digest },
    manifest,
    ...(signedBy ? { signedBy } : {}),
    ...(explained.ok ? { explainer: explained.explainer } : { explainRefusal: explained.reason }),
    async score(rows, n) {
      const input = new ort.Tensor('float32', rows.subarray(0, n * width), [n, width]);
      const out = await session.run({ [manifest.input_name]: input }, [manifest.output_name]);
      const probs = out[manifest.output_name];
      if (!probs) throw new ModelError('warmup_failed', `model ${manifest.name}/${manifest.version} returned no ${manifest.output_name}`);
      return fraudColumn(probs.data as Float32Array, n);
    },
    dispose: () => session.release(),
  };

  // One row of zeros must score to a probability: catches graphs with the wrong width or output.
  try {
    const [p] = await model.score(new Float32Array(width), 1);
    if (p === undefined || !(p >= 0 && p <= 1)) throw new Error(`score ${p} is not a probability`);
  } catch (err) {
    await session.release();
    throw new ModelError('warmup_failed', `model ${manifest.name}/${manifest.version} cannot score a row of ${width} features: ${(err as Error).message}`);
  }
  return model;
}

async function readManifestBytes(dir: string): Promise<Buffer> {
  const path = join(dir, 'manifest.json');
  try {
    return await readFile(path);
  } catch (err) {
    throw new ModelError('missing_artifact', `cannot read manifest ${path}: ${(err as Error).message}`);
  }
}

/** The id of the key that signed these manifest bytes; ModelError unsigned / bad_signature otherwise. */
async function checkSigned(dir: string, manifest: Buffer, keys: readonly ModelPublicKey[]): Promise<string> {
  try {
    return checkSignature(manifest, await readSignature(dir), keys).keyId;
  } catch (err) {
    if (err instanceof SignatureError) throw new ModelError(err.reason, `model in ${dir}: ${err.message}; refusing a model no trusted key signed`);
    throw err;
  }
}

function parseManifest(path: string, text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModelError('invalid_manifest', `cannot parse manifest ${path}: ${(err as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelError('invalid_manifest', `manifest ${path} is invalid: ${issues}`);
  }
  return parsed.data;
}

function checkFeatures(manifest: Manifest, expect: Expectation): void {
  const id = `model ${manifest.name}/${manifest.version}`;
  if (manifest.feature_set_version !== expect.featureSetVersion) {
    throw new ModelError('feature_mismatch', `${id} was trained on feature set ${manifest.feature_set_version}, the scorer computes ${expect.featureSetVersion}`);
  }
  const n = Math.max(manifest.features.length, expect.features.length);
  for (let i = 0; i < n; i++) {
    if (manifest.features[i] !== expect.features[i]) {
      throw new ModelError('feature_mismatch', `${id}: feature list differs from the feature code at position ${i}: manifest has ${manifest.features[i] ?? '(nothing)'}, code computes ${expect.features[i] ?? '(nothing)'}`);
    }
  }
}

/** Column 1 of an [n, 2] probability tensor is P(fraud). */
function fraudColumn(data: Float32Array, n: number): Float32Array {
  if (data.length === n) return data;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = data[i * 2 + 1] as number;
  return out;
}
