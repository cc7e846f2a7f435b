/**
 * A bad model file is refused at start-up with a message that says which check failed; the
 * shipped default loads and scores probabilities.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../../services/scorer/src/features/index.js';
import { loadModel, ModelError, resolveModelDir } from '../../../../services/scorer/src/model/load.js';

const expectation = { features: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION };

async function copyOfDefault(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-model-'));
  cpSync(await resolveModelDir('models', ''), dir, { recursive: true });
  return dir;
}

function editManifest(dir: string, edit: (m: Record<string, unknown>) => void): void {
  const path = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(m);
  writeFileSync(path, JSON.stringify(m));
}

describe('loadModel', () => {
  it('loads the default model and scores probabilities', async () => {
    const model = await loadModel(await resolveModelDir('models', ''), expectation);
    const rows = new Float32Array(FEATURE_NAMES.length * 2);
    rows[0] = 500; // a large amount in row 0
    const scores = await model.score(rows, 2);
    expect(scores).toHaveLength(2);
    for (const s of scores) expect(s).toBeGreaterThanOrEqual(0);
    expect(model.ref.digest).toMatch(/^[0-9a-f]{64}$/);
    await model.dispose();
  });

  it('refuses bytes whose sha256 differs from the manifest', async () => {
    const dir = await copyOfDefault();
    const bytes = readFileSync(join(dir, 'model.onnx'));
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(join(dir, 'model.onnx'), bytes);
    await expect(loadModel(dir, expectation)).rejects.toThrow(/sha256 of model.onnx is [0-9a-f]{64} but the manifest says/);
  });

  it('refuses a feature list that differs from the feature code, naming the position', async () => {
    const dir = await copyOfDefault();
    editManifest(dir, (m) => {
      const f = [...(m.features as string[])];
      [f[3], f[4]] = [f[4]!, f[3]!];
      m.features = f;
    });
    await expect(loadModel(dir, expectation)).rejects.toThrow(/feature list differs from the feature code at position 3/);
  });

  it('refuses another feature-set version', async () => {
    const dir = await copyOfDefault();
    editManifest(dir, (m) => (m.feature_set_version = 'other-v9'));
    await expect(loadModel(dir, expectation)).rejects.toThrow(/trained on feature set other-v9/);
  });

  it('refuses a malformed manifest and a missing file, as ModelError', async () => {
    const dir = await copyOfDefault();
    editManifest(dir, (m) => (m.thresholds = { review: 0.9, block: 0.1 }));
    await expect(loadModel(dir, expectation)).rejects.toThrow(/review threshold must not exceed block threshold/);
    await expect(loadModel(join(dir, 'nope'), expectation)).rejects.toBeInstanceOf(ModelError);
  });

  it('refuses bytes that are not an ONNX graph even when the digest matches', async () => {
    const dir = await copyOfDefault();
    writeFileSync(join(dir, 'model.onnx'), 'not a model');
    const { createHash } = await import('node:crypto');
    editManifest(dir, (m) => (m.sha256 = createHash('sha256').update('not a model').digest('hex')));
    await expect(loadModel(dir, expectation)).rejects.toThrow(/onnxruntime refused the graph/);
  });
});
