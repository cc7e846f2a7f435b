/**
 * The deployer against real artifacts (models/) and tampered copies: a valid spec is swapped
 * in whole; each refusal reason leaves the revision in force untouched and is reported.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { editManifest, modelVariant } from '../../../helpers/model-variants.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentSpec, ModelPin } from '../../../../services/common/src/contracts.js';
import { createPolicy } from '../../../../services/scorer/src/decision/policy.js';
import { createDeployer, type Deployer } from '../../../../services/scorer/src/deployment/deployer.js';
import { DeploymentRefused, type RefusalReason } from '../../../../services/scorer/src/deployment/spec.js';
import { loadModel, type Model } from '../../../../services/scorer/src/model/load.js';
import { SCORER_CONTRACT } from '../../../../services/scorer/src/service.js';
import { createLogger } from '../../../../services/scorer/src/telemetry/log.js';

const digestOf = (dir: string) => (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { sha256: string }).sha256;

let dir: string;
let fallback: Model;
let deployer: Deployer;
const refusals: { revision: number; reason: RefusalReason }[] = [];
const pin = (name: string, version = '1.0.0'): ModelPin => ({ name, version, digest: digestOf(join(dir, name, version)) });
const spec = (over: Partial<DeploymentSpec>): DeploymentSpec => ({
  champion: pin('fraud-lgbm'), shadow: null, canary: null, policy: 'policy-v1', requestedBy: 't', requestedAt: 0, reason: 'test', restoresRevision: null, ...over,
});

const variant = (name: string, tamper: (path: string) => void) => modelVariant(dir, name, tamper);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fraudscore-deployer-'));
  cpSync('models', dir, { recursive: true });
  variant('no-onnx', (p) => unlinkSync(join(p, 'model.onnx')));
  variant('bad-digest', (p) => editManifest(p, (m) => (m.sha256 = 'f'.repeat(64))));
  variant('other-features', (p) => editManifest(p, (m) => (m.features = [...(m.features as string[])].reverse())));
  variant('broken', (p) => editManifest(p, (m) => (m.name = 'broken')));
  fallback = await loadModel(join(dir, 'fraud-lgbm', '1.0.0'), SCORER_CONTRACT);
  deployer = createDeployer({
    modelsDir: dir,
    fallback,
    // "broken" loads, but its graph throws on the warm-up batch.
    load: async (d) => {
      const m = await loadModel(d, SCORER_CONTRACT);
      return d.includes('broken') ? { ...m, score: async () => Promise.reject(new Error('kernel failed')) } : m;
    },
    policyFor: (m) => createPolicy(m.manifest.thresholds, m.ref.name, m.explainer),
    log: createLogger('fatal'),
    onRefused: (revision, err) => refusals.push({ revision, reason: err.reason }),
  });
});

afterAll(async () => {
  await deployer.close();
  await fallback.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('deployer', () => {
  it('serves the fallback model as revision -1 before any spec', () => {
    expect(deployer.serving()).toMatchObject({ revision: -1, champion: { role: 'CHAMPION', model: fallback } });
  });

  it('swaps in a whole spec: champion, canary with its share, shadow, each with its policy', async () => {
    const s = await deployer.apply(spec({ champion: pin('fraud-lr'), canary: { model: pin('fraud-rf'), sharePercent: 5 }, shadow: pin('fraud-lgbm') }), 0);
    expect(deployer.serving()).toBe(s);
    expect(s.revision).toBe(0);
    expect(s.champion.model.ref.name).toBe('fraud-lr');
    expect(s.canary).toMatchObject({ role: 'CANARY', sharePercent: 5 });
    expect(s.canary!.model.ref.name).toBe('fraud-rf');
    expect(s.shadow!.model).toBe(fallback); // the fallback artifact is reused, not loaded twice
    expect(s.champion.policy.version).toContain('fraud-lr');
  });

  it.each<[RefusalReason, () => DeploymentSpec]>([
    ['invalid_spec', () => spec({ canary: { model: pin('fraud-rf'), sharePercent: 101 } })],
    ['invalid_spec', () => spec({ canary: { model: pin('fraud-rf'), sharePercent: Number.NaN } })],
    ['unknown_policy', () => spec({ policy: 'policy-v9' })],
    ['unknown_model', () => spec({ champion: { name: 'nope', version: '1.0.0', digest: 'a'.repeat(64) } })],
    ['missing_artifact', () => spec({ shadow: pin('no-onnx') })],
    ['digest_mismatch', () => spec({ champion: pin('bad-digest') })],
    ['digest_mismatch', () => spec({ champion: { ...pin('fraud-rf'), digest: 'e'.repeat(64) } })],
    ['feature_mismatch', () => spec({ champion: pin('other-features') })],
    ['warmup_failed', () => spec({ shadow: pin('broken') })],
  ])('refuses %s and keeps the revision in force', async (reason, make) => {
    const before = deployer.serving();
    const revision = 100 + refusals.length;
    const err = await deployer.apply(make(), revision).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DeploymentRefused);
    expect((err as DeploymentRefused).reason).toBe(reason);
    expect(deployer.serving()).toBe(before);
    expect(refusals.at(-1)).toEqual({ revision, reason });
  });

  it('applies specs one at a time, in the order given; a rollback reuses the loaded models', async () => {
    const first = deployer.serving();
    const a = deployer.apply(spec({ champion: pin('fraud-rf') }), 200);
    const b = deployer.apply(spec({ champion: pin('fraud-lr') }), 201);
    await Promise.all([a, b]);
    expect(deployer.serving().revision).toBe(201);
    const back = await deployer.apply(spec({ champion: pin('fraud-rf') }), 202);
    expect(back.champion.model).toBe((await a).champion.model);
    expect(first.revision).toBe(0);
  });
});
