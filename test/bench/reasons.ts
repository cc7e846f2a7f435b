/**
 * What an explanation costs next to the score it explains: µs per row for the explainer
 * (exact TreeSHAP / linear contributions, services/scorer/src/model/explain) and, as the
 * baseline, for the onnxruntime session scoring one row at a time and in chunks of 500 (as
 * the scorer does). Medians over several passes; rows drawn inside the training ranges.
 *
 *   node --import tsx test/bench/reasons.ts [--model fraud-lgbm] [--rows 2000] [--runs 7]
 *
 * Covers come from the manifest when it has `tree_covers`, else from routing rows through the
 * trees (test/unit/scorer/explain/helpers.ts): the cost does not depend on their values.
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { createPolicy } from '../../services/scorer/src/decision/policy.js';
import { createExplainer } from '../../services/scorer/src/model/explain/index.js';
import { randomRows, routedCovers, shipped } from '../unit/scorer/explain/helpers.js';

const { values } = parseArgs({ options: { model: { type: 'string', default: 'fraud-lgbm' }, rows: { type: 'string', default: '2000' }, runs: { type: 'string', default: '7' } } });
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);
const a = shipped(values.model);
const width = a.manifest.features.length;
const median = (xs: number[]) => xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;

const hasCovers = a.manifest.tree_covers !== undefined;
const manifest = hasCovers || values.model === 'fraud-lr' ? a.manifest : { ...a.manifest, tree_covers: routedCovers(a, randomRows(a, 5000, 1)) };
const t0 = performance.now();
const made = createExplainer(a.bytes, manifest);
const buildMs = performance.now() - t0;
if (!made.ok) throw new Error(made.reason);
const ex = made.explainer;
const rows = randomRows(a, ROWS, 2);
const out = new Float64Array(width);

/** µs per row of fn over all rows, one value per pass (the first, warm-up, pass dropped). */
async function passes(fn: () => Promise<void> | void): Promise<number[]> {
  const us: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const start = performance.now();
    await fn();
    if (run > 0) us.push(((performance.now() - start) * 1000) / ROWS);
  }
  return us;
}

const explain = await passes(() => {
  for (let r = 0; r < ROWS; r++) ex.contributions(rows, r * width, out);
});
// What a flag costs the scorer: the policy's whole decide for a REVIEW/BLOCK score
// (contributions, the top three, the codes), beside the same decide for an ALLOW (no reasons).
const policy = createPolicy(a.manifest.thresholds as { review: number; block: number }, `${a.manifest.name}/${a.manifest.version}`, ex);
const flagScore = 0.999;
const flag = await passes(() => {
  for (let r = 0; r < ROWS; r++) policy.decide(flagScore, rows, r * width);
});
const allow = await passes(() => {
  for (let r = 0; r < ROWS; r++) policy.decide(0, rows, r * width);
});
const session = await ort.InferenceSession.create(a.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
const scoreOne = await passes(async () => {
  for (let r = 0; r < ROWS; r++) await session.run({ features: new ort.Tensor('float32', rows.subarray(r * width, (r + 1) * width), [1, width]) });
});
const scoreChunks = await passes(async () => {
  for (let r = 0; r < ROWS; r += 500) {
    const n = Math.min(500, ROWS - r);
    await session.run({ features: new ort.Tensor('float32', rows.subarray(r * width, (r + n) * width), [n, width]) });
  }
});
await session.release();

const fmt = (xs: number[]) => `${median(xs).toFixed(2)} µs/row (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`;
console.log(`reasons bench: ${a.manifest.name} ${ex.method}, ${ROWS} rows × ${RUNS} passes, node ${process.version}`);
console.log(`  explainer built in ${buildMs.toFixed(0)} ms, tables ${(ex.tableBytes / 2 ** 20).toFixed(1)} MiB, covers ${ex.method === 'linear' ? 'not needed' : hasCovers ? 'from the manifest' : 'routed (manifest has none)'}`);
console.log(`  explain (contributions)    ${fmt(explain)}`);
console.log(`  policy decide, a flag      ${fmt(flag)}  (the reasons' cost per flagged decision)`);
console.log(`  policy decide, an ALLOW    ${fmt(allow)}`);
console.log(`  onnxruntime score, 1 row   ${fmt(scoreOne)}`);
console.log(`  onnxruntime score, by 500  ${fmt(scoreChunks)}`);
// Last line, for npm run bench (test/bench/lib/reasons.ts).
console.log(JSON.stringify({ model: `${a.manifest.name}/${a.manifest.version}`, method: ex.method, usPerFlag: median(flag), usPerAllow: median(allow), explainUs: median(explain), scoreOneUs: median(scoreOne), scoreChunkUs: median(scoreChunks), buildMs }));
