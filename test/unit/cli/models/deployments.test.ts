/**
 * The CLI's deployments library without a broker: which revision a rollback restores, pins
 * read from manifests, and verifySpec refusing what a scorer would refuse (each with its
 * reason) on tampered copies of a real model, while a valid spec passes. Also what `list`,
 * `show` and `status` make of the same copies and reports.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editManifest, modelVariant } from '../../../helpers/model-variants.js';
import type { DeploymentSpec, DeploymentStatus, ModelPin } from '../../../../services/common/src/contracts.js';
import { listModels, showModel } from '../../../../services/cli/src/models/catalog.js';
import { pinOf, rollbackTarget, verifySpec, type Revision } from '../../../../services/cli/src/models/deployments.js';
import { formatStatus, statusView } from '../../../../services/cli/src/models/status.js';
import { DeploymentRefused, type RefusalReason } from '../../../../services/scorer/src/deployment/spec.js';

const digestOf = (dir: string) => (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { sha256: string }).sha256;

const specOf = (champion: string, over: Partial<DeploymentSpec> = {}): DeploymentSpec => ({
  champion: { name: champion, version: '1', digest: 'a'.repeat(64) },
  shadow: null, canary: null, policy: 'policy-v1', requestedBy: 't', requestedAt: 0, reason: '', restoresRevision: null, ...over,
});
const rev = (revision: number, champion: string, restoresRevision: number | null = null): Revision => ({ revision, spec: specOf(champion, { restoresRevision }) });

describe('rollbackTarget', () => {
  it('restores the revision before the current one', () => {
    const t = rollbackTarget([rev(0, 'a'), rev(1, 'b'), rev(2, 'c')]);
    expect(t.revision).toBe(1);
    expect(t.spec.champion.name).toBe('b');
  });

  it('walks further back through repeated rollbacks instead of undoing the last one', () => {
    const history = [rev(0, 'a'), rev(1, 'b'), rev(2, 'c')];
    history.push({ revision: 3, spec: { ...rollbackTarget(history).spec, restoresRevision: 1 } }); // rollback to b
    const second = rollbackTarget(history);
    expect(second.revision).toBe(0);
    expect(second.spec.champion.name).toBe('a');
    history.push({ revision: 4, spec: { ...second.spec, restoresRevision: 0 } }); // rollback to a
    expect(() => rollbackTarget(history)).toThrow(/revision 0 is the first deployment/);
  });

  it('names the original revision when the target was itself a rollback', () => {
    // a, b, rollback to a (2), d: rolling back d restores a, i.e. revision 0, not 2.
    const t = rollbackTarget([rev(0, 'a'), rev(1, 'b'), rev(2, 'a', 0), rev(3, 'd')]);
    expect(t.revision).toBe(0);
    expect(t.spec.champion.name).toBe('a');
  });

  it('follows offsets, not positions (compaction may leave gaps)', () => {
    expect(rollbackTarget([rev(3, 'a'), rev(7, 'b')]).revision).toBe(3);
  });

  it('refuses an empty history and a first revision', () => {
    expect(() => rollbackTarget([])).toThrow(/nothing to roll back/);
    expect(() => rollbackTarget([rev(0, 'a')])).toThrow(/first deployment/);
  });
});

describe('pins and verification on real artifacts', () => {
  let dir: string;
  const pin = (name: string, version = '1.0.0'): Promise<ModelPin> => pinOf(dir, `${name}/${version}`);
  const spec = async (over: Partial<DeploymentSpec> = {}): Promise<DeploymentSpec> => ({
    champion: await pin('fraud-lgbm'), shadow: null, canary: null, policy: 'policy-v1', requestedBy: 't', requestedAt: 0, reason: 'test', restoresRevision: null, ...over,
  });
  const refusal = async (s: DeploymentSpec): Promise<RefusalReason> => {
    const err = await verifySpec(dir, s).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DeploymentRefused);
    return (err as DeploymentRefused).reason;
  };

  const variant = (name: string, tamper: (path: string) => void) => modelVariant(dir, name, tamper);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fraudscore-cli-deployments-'));
    cpSync('models', dir, { recursive: true });
    variant('no-onnx', (p) => unlinkSync(join(p, 'model.onnx')));
    variant('bad-digest', (p) => editManifest(p, (m) => (m.sha256 = 'f'.repeat(64))));
    variant('reordered', (p) => editManifest(p, (m) => {
      const f = m.features as string[];
      m.features = [f[1], f[0], ...f.slice(2)];
    }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('pinOf takes the digest from the manifest', async () => {
    expect(await pin('fraud-lr')).toEqual({ name: 'fraud-lr', version: '1.0.0', digest: digestOf(join(dir, 'fraud-lr', '1.0.0')) });
  });

  it('pinOf refuses an unknown model and rejects what is not name/version', async () => {
    const err = await pin('fraud-nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeploymentRefused);
    expect((err as DeploymentRefused).reason).toBe('unknown_model');
    await expect(pinOf(dir, 'fraud-lr')).rejects.toThrow(/not name\/version/);
  });

  it('a valid champion + shadow + canary spec passes every check', async () => {
    const s = await spec({ shadow: await pin('fraud-lr'), canary: { model: await pin('fraud-rf'), sharePercent: 5 } });
    await expect(verifySpec(dir, s)).resolves.toBeUndefined();
  });

  it('with FRAUD_MODEL_PUBLIC_KEYS, accepts the signed shipped models and refuses an unsigned variant before the spec is written', async () => {
    const keys = { FRAUD_MODEL_PUBLIC_KEYS: 'models/keys/fraudscore-release-1.pub' };
    await expect(verifySpec(dir, await spec({ shadow: await pin('fraud-lr') }), keys)).resolves.toBeUndefined();
    const unsigned = await verifySpec(dir, await spec({ champion: await pin('reordered') }), keys).then(() => undefined, (e: unknown) => e);
    expect((unsigned as DeploymentRefused).reason).toBe('unsigned');
  });

  it('refuses a canary share outside 0–100 (invalid_spec)', async () => {
    expect(await refusal(await spec({ canary: { model: await pin('fraud-rf'), sharePercent: 150 } }))).toBe('invalid_spec');
  });

  it('refuses a policy the scorer does not implement (unknown_policy)', async () => {
    expect(await refusal(await spec({ policy: 'policy-v9' }))).toBe('unknown_policy');
  });

  it('refuses a model the models folder does not hold (unknown_model)', async () => {
    const ghost = { name: 'fraud-ghost', version: '1.0.0', digest: 'a'.repeat(64) };
    expect(await refusal(await spec({ shadow: ghost }))).toBe('unknown_model');
  });

  it('refuses a model whose model.onnx is missing (missing_artifact)', async () => {
    expect(await refusal(await spec({ champion: await pin('no-onnx') }))).toBe('missing_artifact');
  });

  it('refuses ONNX bytes that are not the ones the manifest names (digest_mismatch)', async () => {
    expect(await refusal(await spec({ canary: { model: await pin('bad-digest'), sharePercent: 5 } }))).toBe('digest_mismatch');
  });

  it('refuses a pin whose digest is not the artifact\'s (digest_mismatch)', async () => {
    const stale = { ...(await pin('fraud-lr')), digest: 'e'.repeat(64) };
    expect(await refusal(await spec({ shadow: stale }))).toBe('digest_mismatch');
  });

  it('refuses a model trained on the features in another order (feature_mismatch)', async () => {
    expect(await refusal(await spec({ shadow: await pin('reordered') }))).toBe('feature_mismatch');
  });

  it('list shows every model with its test metrics, the fallback, and what the scorer would refuse', async () => {
    const byRef = new Map((await listModels(dir)).map((e) => [e.ref, e]));
    expect([...byRef.keys()]).toEqual(['bad-digest/1.0.0', 'fraud-lgbm/1.0.0', 'fraud-lr/1.0.0', 'fraud-rf/1.0.0', 'no-onnx/1.0.0', 'reordered/1.0.0']);
    const lgbm = byRef.get('fraud-lgbm/1.0.0')!;
    expect(lgbm).toMatchObject({ isDefault: true, featureSetVersion: 'handbook-15-v1', headlineSplit: 'test', digest: digestOf(join(dir, 'fraud-lgbm', '1.0.0')) });
    expect(lgbm.headline.average_precision).toBeGreaterThan(0);
    expect(lgbm.headline.cp100).toBeGreaterThan(0);
    expect(byRef.get('fraud-lr/1.0.0')?.isDefault).toBe(false);
    expect(byRef.get('reordered/1.0.0')?.problem).toMatch(/feature list differs/);
  });

  it('show says whether model.onnx still matches the manifest', async () => {
    expect(await showModel(dir, 'fraud-lr/1.0.0')).toMatchObject({ digestMatches: true, isDefault: false });
    expect(await showModel(dir, 'bad-digest/1.0.0')).toMatchObject({ digestMatches: false });
    expect(await showModel(dir, 'no-onnx/1.0.0')).toMatchObject({ digestMatches: false, onnxSha256: undefined });
    await expect(showModel(dir, '../fraud-lr')).rejects.toThrow(/not name\/version/);
  });
});

describe('status view', () => {
  const served = { name: 'a', version: '1', digest: 'a'.repeat(64) };
  const report = (instance: string, appliedRevision: number, lastRevisionSeen: number, refusal: string | null = null): DeploymentStatus => ({
    instance, appliedRevision, champion: served, shadow: null, canary: null, canarySharePercent: 0, lastRevisionSeen, refusal, reportedAt: 1_000,
  });

  it('marks instances on another revision behind, or refused when they said why', () => {
    const statuses = new Map([['c', report('c', 1, 2, 'unknown_model: no model')], ['a', report('a', 2, 2)], ['b', report('b', 1, 1)]]);
    const view = statusView('deployments', 'status', [rev(0, 'a'), rev(1, 'b'), rev(2, 'a', 0)], statuses, 61_000);
    expect(view.current?.revision).toBe(2);
    expect(view.instances.map((i) => [i.instance, i.state, i.reportedAgoMs])).toEqual([['a', 'current', 60_000], ['b', 'behind', 60_000], ['c', 'refused', 60_000]]);
    const text = formatStatus(view).join('\n');
    expect(text).toMatch(/^revision 2 in force: champion a\/1 \(policy policy-v1\)/);
    expect(text).toContain('a rollback: restores revision 0');
    expect(text).toMatch(/ {2}b {2}revision 1: champion a\/1 {2}\(last seen revision 1, reported 60 s ago\) {2}BEHIND/);
    expect(text).toMatch(/REFUSED\n {4}refusal: unknown_model: no model/);
  });

  it('an empty topic: every scorer serves its fallback', () => {
    const view = statusView('deployments', 'status', [], new Map([['a', report('a', -1, -1)]]), 1_000);
    expect(view.current).toBeNull();
    expect(view.instances[0]?.state).toBe('current');
    expect(formatStatus(view)[0]).toMatch(/^no deployment on deployments: the scorers serve their fallback model/);
  });
});
