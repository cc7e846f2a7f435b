/**
 * `retrain` with a signing key (--signing-key or FRAUD_MODEL_SIGNING_KEY_FILE): the candidate it
 * writes is signed right after training, before the gate and any deploy, so a scorer with
 * FRAUD_MODEL_PUBLIC_KEYS accepts it; a key that is not an Ed25519 private key is bad input,
 * refused before anything is trained. A stub trainer copies a shipped artifact (no Python).
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFeatureTable } from '../../../../services/cli/src/commands/features.js';
import { DEFAULT_BOUNDS } from '../../../../services/cli/src/retrain/gate.js';
import { runRetrain, type RetrainOptions } from '../../../../services/cli/src/retrain/run.js';
import type { Train } from '../../../../services/cli/src/retrain/trainer.js';
import { DEFAULT_DELTAS } from '../../../../services/cli/src/retrain/window.js';
import { generateKeyPair, parsePublicKey, verifyManifest } from '../../../../services/common/src/model-signature.js';
import { editManifest } from '../../../helpers/model-variants.js';

// The world of retrain.test.ts: the shipped LightGBM (trained in July) is held out of May.
const SIM = { seed: 11, customers: 1000, terminals: 2000, days: 60 };
let dir: string;
let models: string;
let features: string;
const key = generateKeyPair();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'retrain-sign-'));
  features = join(dir, 'features.csv');
  await writeFeatureTable(SIM, features);
  models = join(dir, 'models');
  cpSync(join('models', 'fraud-lgbm', '1.0.0'), join(models, 'fraud-lgbm', '1.0.0'), { recursive: true });
  writeFileSync(join(models, 'default.json'), JSON.stringify({ name: 'fraud-lgbm', version: '1.0.0' }));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options = (over: Partial<RetrainOptions>): RetrainOptions => ({
  input: { kind: 'table', path: features }, modelsDir: models, quick: true, deltas: DEFAULT_DELTAS, bounds: DEFAULT_BOUNDS,
  outDir: join(dir, `run-${Math.random().toString(36).slice(2)}`), ...over,
});
/** Copies the champion as the candidate: its rewritten manifest carries no signature of its own. */
const stub: Train = async (o) => {
  const to = join(o.modelsDir, o.name, o.version);
  cpSync(join(models, 'fraud-lgbm', '1.0.0'), to, { recursive: true });
  editManifest(to, (m) => Object.assign(m, { name: o.name, version: o.version }));
};

describe('retrain --signing-key', () => {
  it('signs the candidate it writes', async () => {
    const err: string[] = [];
    const { result } = await runRetrain(options({ signingKey: key.privateKeyPem, version: '7.0.0' }), { out: () => {}, err: (s) => void err.push(s), train: stub });
    expect(result?.candidate).toBe('fraud-lgbm/7.0.0');
    const candidate = join(models, 'fraud-lgbm', '7.0.0');
    expect(err.join('')).toContain(`signed ${join(candidate, 'manifest.sig')} with key ${key.keyId}`);
    expect((await verifyManifest(candidate, [parsePublicKey(key.publicKeyPem, 'k.pub')])).key.keyId).toBe(key.keyId);
  }, 120_000);

  it('refuses a key that is not an Ed25519 private key before training (exit 2)', async () => {
    const err: string[] = [];
    const train: Train = async () => {
      throw new Error('the trainer must not run');
    };
    const { exitCode } = await runRetrain(options({ signingKey: key.publicKeyPem }), { out: () => {}, err: (s) => void err.push(s), train });
    expect(exitCode).toBe(2);
    expect(err.join('')).toMatch(/the signing key is not a PEM private key/);
  });
});
