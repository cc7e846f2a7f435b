/**
 * The two models as the scorer sees them: loaded by the scorer's own loadModel with its
 * feature contract (digest, features, warm-up) and scored in the scoring loop's float32
 * batches (evaluate/score.ts); and the graph's declared inputs and outputs, read from an
 * onnxruntime session on the same bytes, for the input-schema criterion.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FEATURE_COUNT } from '../../../scorer/src/features/index.js';
import { loadModel } from '../../../scorer/src/model/load.js';
import { SCORER_CONTRACT } from '../../../scorer/src/service.js';
import { scoreRows } from '../evaluate/score.js';
import type { GraphValue } from './gate.js';
import type { GateRows } from './rows.js';

export { SCORER_CONTRACT };

export async function graphOf(dir: string): Promise<{ inputs: GraphValue[]; outputs: GraphValue[] }> {
  const session = await ort.InferenceSession.create(await readFile(join(dir, 'model.onnx')), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const plain = (v: ort.InferenceSession.ValueMetadata): GraphValue => (v.isTensor ? { name: v.name, isTensor: true, type: v.type, shape: [...v.shape] } : { name: v.name, isTensor: false });
    return { inputs: session.inputMetadata.map(plain), outputs: session.outputMetadata.map(plain) };
  } finally {
    await session.release();
  }
}

/** P(fraud) of every gate row, through loadModel + scoreRows; throws the scorer's ModelError when it refuses the model. */
export async function scoreThroughServingPath(dir: string, rows: GateRows, batch?: number): Promise<Float32Array> {
  const model = await loadModel(dir, SCORER_CONTRACT);
  try {
    return await scoreRows(model, rows.X, rows.n, FEATURE_COUNT, { batch });
  } finally {
    await model.dispose();
  }
}
