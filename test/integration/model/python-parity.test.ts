/**
 * The same ONNX file must score the same in Python onnxruntime (the trainer's reference) and
 * onnxruntime-node (the scorer): every shipped model, on real feature rows, within 1e-5.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchFeatures, FEATURE_NAMES, FEATURE_SET_VERSION, writeFeaturesCsv, type FeatureRow } from '../../../services/scorer/src/features/index.js';
import { loadModel } from '../../../services/scorer/src/model/load.js';
import { simulate } from '../../../services/simulator/src/index.js';
import { ON_DEFAULT_CLIENT } from '../../helpers/clients.js';

const python = execFileSync('bash', ['services/trainer/setup.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!;
const artifacts = readdirSync('models', { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(join('models', d.name)).map((v) => join('models', d.name, v)))
  .filter((dir) => existsSync(join(dir, 'manifest.json')));

// The monitor, the models CLI and the Python parity do not use the scorer's Kafka client (test/helpers/clients.ts).
describe.runIf(ON_DEFAULT_CLIENT)('Python onnxruntime and onnxruntime-node agree', () => {
  it('ships at least three models', () => expect(artifacts.length).toBeGreaterThanOrEqual(3));

  it.each(artifacts)('%s: max |python - node| <= 1e-5', async (dir) => {
    const rows: FeatureRow[] = [];
    for await (const row of batchFeatures(simulate({ seed: 5, customers: 200, terminals: 400, days: 40 }))) rows.push(row);
    const work = mkdtempSync(join(tmpdir(), 'fs-parity-'));
    const input = join(work, 'rows.csv');
    await writeFeaturesCsv(rows, input);
    const output = join(work, 'scores.csv');
    execFileSync(python, ['services/trainer/predict.py', '--model', dir, '--input', input, '--output', output], { stdio: 'inherit' });
    const lines = readFileSync(output, 'utf8').trim().split('\n').slice(1);
    const pyScores = lines.map((l) => Number(l.split(',').at(-1)));
    expect(pyScores).toHaveLength(rows.length);

    const model = await loadModel(dir, { features: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION });
    const width = FEATURE_NAMES.length;
    const matrix = new Float32Array(rows.length * width);
    rows.forEach((r, i) => matrix.set(r.features, i * width));
    const nodeScores = await model.score(matrix, rows.length);
    await model.dispose();
    let maxDiff = 0;
    for (let i = 0; i < rows.length; i++) maxDiff = Math.max(maxDiff, Math.abs(pyScores[i]! - nodeScores[i]!));
    console.log(`${dir}: ${rows.length} rows, max |python - node| = ${maxDiff.toExponential(2)}`);
    expect(maxDiff).toBeLessThanOrEqual(1e-5);
  });
});
