/**
 * A hot swap under FRAUD_MODEL_PUBLIC_KEYS: the deployer loads through the scorer's own loader
 * (scorerModelLoader, the one service.ts wires in), so a spec naming an artifact that no
 * configured key signed is refused with its reason, counted in
 * fraudscore_deployment_refusals_total{reason}, and the models in force keep scoring.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentSpec, ModelPin } from '../../../../services/common/src/contracts.js';
import { loadPublicKeys } from '../../../../services/common/src/model-signature.js';
import { createPolicy } from '../../../../services/scorer/src/decision/policy.js';
import { createDeployer, type Deployer } from '../../../../services/scorer/src/deployment/deployer.js';
import { DeploymentRefused } from '../../../../services/scorer/src/deployment/spec.js';
import type { Model } from '../../../../services/scorer/src/model/load.js';
import { scorerModelLoader } from '../../../../services/scorer/src/service.js';
import { createDeploymentMetrics } from '../../../../services/scorer/src/telemetry/deployment-metrics.js';
import { createLogger } from '../../../../services/scorer/src/telemetry/log.js';
import { editManifest, modelVariant } from '../../../helpers/model-variants.js';

const config = { modelPublicKeys: loadPublicKeys('models/keys/fraudscore-release-1.pub') };
let dir: string;
let fallback: Model;
let deployer: Deployer;
let exporter: PrometheusExporter;
let provider: MeterProvider;

const digestOf = (d: string) => (JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as { sha256: string }).sha256;
const pin = (name: string): ModelPin => ({ name, version: '1.0.0', digest: digestOf(join(dir, name, '1.0.0')) });
const spec = (champion: ModelPin): DeploymentSpec => ({
  champion, shadow: null, canary: null, policy: 'policy-v1', requestedBy: 't', requestedAt: 0, reason: 'test', restoresRevision: null,
});

/** The manifest rewritten by hand, so the copied manifest.sig stays (and no longer verifies). */
function forge(path: string): void {
  const bytes = readFileSync(join('models', 'fraud-rf', '1.0.0', 'model.onnx'));
  writeFileSync(join(path, 'model.onnx'), bytes);
  const m = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  m.name = 'forged';
  m.sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(path, 'manifest.json'), JSON.stringify(m));
}

function metricsText(): Promise<string> {
  return new Promise<string>((resolve) => {
    const res = { statusCode: 0, setHeader: () => undefined, end: (body: string) => resolve(body) };
    exporter.getMetricsRequestHandler({} as IncomingMessage, res as unknown as ServerResponse);
  });
}
const refusals = (text: string, reason: string) => Number(new RegExp(`^fraudscore_deployment_refusals_total\\{reason="${reason}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fraudscore-signed-swap-'));
  cpSync('models', dir, { recursive: true });
  modelVariant(dir, 'forged', forge);
  modelVariant(dir, 'unsigned', (p) => editManifest(p, (m) => (m.name = 'unsigned')));
  const load = scorerModelLoader(config, createLogger('fatal'));
  fallback = await load(join(dir, 'fraud-lgbm', '1.0.0'));
  exporter = new PrometheusExporter({ preventServerStart: true });
  provider = new MeterProvider({ readers: [exporter] });
  // As service.ts wires them: refusals counted by reason; the gauges read the deployer's serving() when collected.
  const metrics = createDeploymentMetrics(provider.getMeter('fraudscore', 'test'), () => deployer.serving());
  deployer = createDeployer({
    modelsDir: dir,
    fallback,
    load,
    policyFor: (m) => createPolicy(m.manifest.thresholds, m.ref.name, m.explainer),
    log: createLogger('fatal'),
    onRefused: (_revision, err) => metrics.refused(err.reason),
  });
});

afterAll(async () => {
  await deployer.close();
  await fallback.dispose();
  await provider.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('hot swap with FRAUD_MODEL_PUBLIC_KEYS', () => {
  it('applies a spec whose models the release key signed', async () => {
    expect(fallback.signedBy).toBe(config.modelPublicKeys[0]!.keyId);
    const s = await deployer.apply(spec(pin('fraud-lr')), 0);
    expect(s.champion.model.ref.name).toBe('fraud-lr');
    expect(s.champion.model.signedBy).toBe(config.modelPublicKeys[0]!.keyId);
  });

  it.each([
    ['bad_signature', 'forged'],
    ['unsigned', 'unsigned'],
  ])('refuses %s (%s), counts it by reason, and the model in force keeps scoring', async (reason, name) => {
    const before = deployer.serving();
    const counted = refusals(await metricsText(), reason);
    const err = await deployer.apply(spec(pin(name)), 10).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DeploymentRefused);
    expect((err as DeploymentRefused).reason).toBe(reason);
    expect(deployer.serving()).toBe(before);
    expect(refusals(await metricsText(), reason)).toBe(counted + 1);
    const width = before.champion.model.manifest.features.length;
    const [p] = await deployer.serving().champion.model.score(new Float32Array(width), 1);
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(1);
  });
});
