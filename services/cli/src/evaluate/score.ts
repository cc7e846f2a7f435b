/**
 * Scores the test rows through the serving path itself: the model is loaded by the scorer's
 * loadModel (digest and feature-contract checks, onnxruntime-node session) and called with
 * float32 batches exactly as the scoring loop does.
 */
import type { Model } from '../../../scorer/src/model/load.js';

export const SCORE_BATCH = 4096;

/** P(fraud) of each of the n rows (row-major, `width` values each), in batches. */
export async function scoreRows(
  model: Pick<Model, 'score'>,
  rows: Float32Array,
  n: number,
  width: number,
  opts: { batch?: number; onProgress?: (done: number) => void } = {},
): Promise<Float32Array> {
  if (rows.length < n * width) throw new RangeError(`${rows.length} values cannot hold ${n} rows of ${width}`);
  const batch = opts.batch ?? SCORE_BATCH;
  const out = new Float32Array(n);
  for (let start = 0; start < n; start += batch) {
    const m = Math.min(batch, n - start);
    const p = await model.score(rows.subarray(start * width, (start + m) * width), m);
    if (p.length < m) throw new Error(`model returned ${p.length} scores for ${m} rows`);
    out.set(p.subarray(0, m), start);
    opts.onProgress?.(start + m);
  }
  return out;
}
