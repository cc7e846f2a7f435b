/**
 * The scorer with FRAUD_MODEL_PUBLIC_KEYS: a model is trusted only when a configured key signed
 * its manifest, checked before the digest and before onnxruntime sees the bytes. Covers the
 * refusals (unsigned, bad_signature), the attack a digest alone cannot stop (ONNX and manifest
 * changed together), key rotation, the config error for a bad key file, and the process's exit
 * codes at start-up (the model is refused before any broker is contacted).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadPublicKeys, parsePublicKey, signManifest, type ModelPublicKey } from '../../../../services/common/src/model-signature.js';
import { ConfigError, loadConfig } from '../../../../services/scorer/src/config.js';
import { loadModel, ModelError, type Model } from '../../../../services/scorer/src/model/load.js';
import { SCORER_CONTRACT } from '../../../../services/scorer/src/service.js';
import { runCli } from '../../../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'fs-signed-model-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const RELEASE_PUB = 'models/keys/fraudscore-release-1.pub';
const release = loadPublicKeys(RELEASE_PUB);
const oldKey = generateKeyPair();
const newKey = generateKeyPair();
const pub = (k: { publicKeyPem: string }): ModelPublicKey => parsePublicKey(k.publicKeyPem, 'test.pub');

let n = 0;
function copyOf(ref = 'fraud-lr/1.0.0'): string {
  const dir = join(work, `m${n++}`, 'fraud-lr', '1.0.0');
  cpSync(join('models', ref), dir, { recursive: true });
  return dir;
}
function writeManifest(dir: string, edit: (m: Record<string, unknown>) => void): void {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  edit(m);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
}
/** model.onnx replaced by `bytes` and the manifest's sha256 updated to match: what whoever can write the folder can do. */
function tamper(dir: string, bytes: Buffer | string): void {
  writeFileSync(join(dir, 'model.onnx'), bytes);
  writeManifest(dir, (m) => (m.sha256 = createHash('sha256').update(bytes).digest('hex')));
}
async function refusal(dir: string, keys?: readonly ModelPublicKey[]): Promise<ModelError> {
  const err = await loadModel(dir, SCORER_CONTRACT, { publicKeys: keys }).then(async (m) => {
    await m.dispose();
    return undefined;
  }, (e: unknown) => e);
  expect(err).toBeInstanceOf(ModelError);
  return err as ModelError;
}
async function loaded(dir: string, keys?: readonly ModelPublicKey[]): Promise<Model> {
  const model = await loadModel(dir, SCORER_CONTRACT, { publicKeys: keys });
  await model.dispose();
  return model;
}

describe('loadModel with public keys', () => {
  it('loads the shipped models and says which key verified them', async () => {
    for (const ref of ['fraud-lgbm/1.0.0', 'fraud-lr/1.0.0', 'fraud-rf/1.0.0']) {
      expect((await loaded(join('models', ref), release)).signedBy, ref).toBe(release[0]!.keyId);
    }
    expect((await loaded(join('models', 'fraud-lr', '1.0.0'))).signedBy).toBeUndefined();
  });

  it('refuses a model without manifest.sig as unsigned', async () => {
    const dir = copyOf();
    rmSync(join(dir, 'manifest.sig'));
    const err = await refusal(dir, release);
    expect(err.reason).toBe('unsigned');
    expect(err.message).toMatch(/no manifest\.sig/);
  });

  it('refuses a model signed by a key that is not configured as bad_signature', async () => {
    const dir = copyOf();
    await signManifest(dir, oldKey.privateKeyPem);
    expect((await refusal(dir, release)).reason).toBe('bad_signature');
  });

  it('refuses a tampered ONNX whose manifest was tampered to match, which the digest check alone accepts', async () => {
    const dir = copyOf();
    // Another real graph with the same features: it loads and scores, only it is not this release.
    tamper(dir, readFileSync(join('models', 'fraud-rf', '1.0.0', 'model.onnx')));
    expect((await loaded(dir)).ref.name).toBe('fraud-lr'); // without keys: accepted
    const err = await refusal(dir, release);
    expect(err.reason).toBe('bad_signature');
    expect(err.message).toMatch(/does not verify/);
  });

  it('checks the signature before the manifest is parsed and before onnxruntime sees the bytes', async () => {
    const garbage = copyOf();
    tamper(garbage, 'not a model');
    expect((await refusal(garbage)).reason).toBe('graph_refused'); // without keys: onnxruntime was reached
    expect((await refusal(garbage, release)).reason).toBe('bad_signature');
    const invalid = copyOf();
    writeFileSync(join(invalid, 'manifest.json'), '{ not json');
    rmSync(join(invalid, 'manifest.sig'));
    expect((await refusal(invalid, release)).reason).toBe('unsigned');
  });

  it('rotation: with both keys configured either signature is accepted; without the old key its artifacts are refused', async () => {
    const byOld = copyOf();
    const byNew = copyOf();
    await signManifest(byOld, oldKey.privateKeyPem);
    await signManifest(byNew, newKey.privateKeyPem);
    const both = [pub(oldKey), pub(newKey)];
    expect((await loaded(byOld, both)).signedBy).toBe(oldKey.keyId);
    expect((await loaded(byNew, both)).signedBy).toBe(newKey.keyId);
    expect((await loaded(byNew, [pub(newKey)])).signedBy).toBe(newKey.keyId);
    expect((await refusal(byOld, [pub(newKey)])).reason).toBe('bad_signature');
    // Re-signed with the new key, the same bytes are accepted again.
    await signManifest(byOld, newKey.privateKeyPem);
    expect((await loaded(byOld, [pub(newKey)])).signedBy).toBe(newKey.keyId);
  });
});

describe('FRAUD_MODEL_PUBLIC_KEYS', () => {
  const BASE = { FRAUD_KAFKA_BROKERS: 'localhost:9092' };

  it('unset: signatures are not checked', () => {
    expect(loadConfig(BASE).modelPublicKeys).toBeUndefined();
  });

  it('reads every key file at start-up', () => {
    const other = join(work, 'other.pub');
    writeFileSync(other, newKey.publicKeyPem);
    expect(loadConfig({ ...BASE, FRAUD_MODEL_PUBLIC_KEYS: `${RELEASE_PUB},${other}` }).modelPublicKeys?.map((k) => k.keyId)).toEqual([release[0]!.keyId, newKey.keyId]);
  });

  it('an unreadable or malformed key file is a config error naming the variable and the file', () => {
    const bad = join(work, 'bad.pub');
    writeFileSync(bad, 'not a key');
    for (const [list, why] of [[join(work, 'missing.pub'), /cannot read .*missing\.pub/], [`${RELEASE_PUB},${bad}`, /bad\.pub is not a PEM public key/]] as const) {
      let err: unknown;
      try {
        loadConfig({ ...BASE, FRAUD_MODEL_PUBLIC_KEYS: list });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/FRAUD_MODEL_PUBLIC_KEYS: /);
      expect((err as Error).message).toMatch(why);
    }
  });
});

/** `fraudscore scorer` as a process; the broker address is never contacted when start-up fails on the config or the model. */
async function scorer(env: Record<string, string>): Promise<{ code: number | null; err: string }> {
  const r = await runCli(['scorer'], { FRAUD_KAFKA_BROKERS: '127.0.0.1:1', FRAUD_ADMIN_PORT: '0', FRAUD_LOG_LEVEL: 'info', ...env });
  return { code: r.code, err: r.out + r.err };
}

describe('fraudscore scorer start-up', () => {
  it('exits 3 on a tampered model and 2 on an unreadable key file', async () => {
    const dir = copyOf();
    tamper(dir, readFileSync(join('models', 'fraud-rf', '1.0.0', 'model.onnx')));
    const modelsDir = join(dir, '..', '..');
    copyFileSync(join('models', 'default.json'), join(modelsDir, 'default.json'));
    const [tampered, badKeys] = await Promise.all([
      scorer({ FRAUD_MODELS_DIR: modelsDir, FRAUD_MODEL: 'fraud-lr/1.0.0', FRAUD_MODEL_PUBLIC_KEYS: RELEASE_PUB }),
      scorer({ FRAUD_MODEL_PUBLIC_KEYS: join(work, 'nowhere.pub') }),
    ]);
    expect(tampered.code).toBe(3);
    expect(tampered.err).toMatch(/scorer failed to start/);
    expect(tampered.err).toMatch(/signature of key [0-9a-f]{16} does not verify/);
    expect(badKeys.code).toBe(2);
    expect(badKeys.err).toMatch(/FRAUD_MODEL_PUBLIC_KEYS: cannot read .*nowhere\.pub/);
  }, 60_000);
});
