/**
 * `retrain` end to end on a small simulated world (no Kafka): the real Python trainer with
 * --quick where the test is about training (a candidate, an equal one, one trained on
 * shuffled labels), and a recorded artifact copied by a stub trainer where the test is about
 * the gate's logic (feature contract, calibration) or about refusing before training.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFeatureTable } from '../../../../services/cli/src/commands/features.js';
import type { DeploymentSpec } from '../../../../services/common/src/contracts.js';
import type { Deployments } from '../../../../services/cli/src/retrain/deploy.js';
import { DEFAULT_BOUNDS } from '../../../../services/cli/src/retrain/gate.js';
import type { RetrainResult } from '../../../../services/cli/src/retrain/report.js';
import { runRetrain, type RetrainIo, type RetrainOptions } from '../../../../services/cli/src/retrain/run.js';
import { trainerPython, type Train } from '../../../../services/cli/src/retrain/trainer.js';
import { DEFAULT_DELTAS, dayOfIso, dayOfMs } from '../../../../services/cli/src/retrain/window.js';
import { describeSpec } from '../../../../services/scorer/src/deployment/spec.js';
import { editManifest } from '../../../helpers/model-variants.js';

// 1,000 cards and 2,000 terminals for 60 days from 2018-04-01: ~2,000 rows and ~15 frauds a
// day, enough for the trainer's 20 frauds per window; the newest window tests 05-24..05-30.
const SIM = { seed: 11, customers: 1000, terminals: 2000, days: 60 };
const TRAIN_TIMEOUT = 120_000;

let dir: string;
let features: string;
let models: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'retrain-'));
  features = join(dir, 'features.csv');
  await writeFeatureTable(SIM, features);
  models = join(dir, 'models');
  // The shipped LightGBM is the champion: trained on 2018-07-25..07-31, held out of May.
  cpSync(join('models', 'fraud-lgbm', '1.0.0'), join(models, 'fraud-lgbm', '1.0.0'), { recursive: true });
  writeFileSync(join(models, 'default.json'), JSON.stringify({ name: 'fraud-lgbm', version: '1.0.0' }));
  // The trainer's venv (services/trainer/setup.sh): about a minute on a fresh machine, nothing once built.
  await trainerPython(() => {});
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(over: Partial<RetrainIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s), ...over } satisfies RetrainIo };
}

const options = (over: Partial<RetrainOptions> = {}): RetrainOptions => ({
  input: { kind: 'table', path: features }, modelsDir: models, quick: true, deltas: DEFAULT_DELTAS, bounds: DEFAULT_BOUNDS,
  outDir: join(dir, `run-${Math.random().toString(36).slice(2)}`), ...over,
});

/** A stub trainer: copies a recorded artifact as the candidate, then lets `edit` change its manifest. */
const copyOf = (ref: string, edit: (m: Record<string, unknown>) => void = () => {}): Train & { calls: number } => {
  const train = Object.assign(async (o: Parameters<Train>[0]) => {
    train.calls++;
    const to = join(o.modelsDir, o.name, o.version);
    cpSync(join(models, ref), to, { recursive: true });
    editManifest(to, (m) => {
      Object.assign(m, { name: o.name, version: o.version });
      edit(m);
    });
  }, { calls: 0 });
  return train;
};
const neverTrain: Train = async () => {
  throw new Error('the trainer must not run');
};

const criterion = (r: RetrainResult | undefined, name: string) => r?.criteria.find((c) => c.name === name);
const failed = (r: RetrainResult | undefined) => r?.criteria.filter((c) => !c.pass).map((c) => c.name);

let first: RetrainResult;

describe('retrain with the Python trainer (--quick)', () => {
  it('trains the next version on the newest window, gates it against the champion, writes the reports and one JSON line', async () => {
    const c = capture();
    const defaultBefore = readFileSync(join(models, 'default.json'), 'utf8');
    const { exitCode, result } = await runRetrain(options(), c.io);
    first = result!;
    expect(result).toBeDefined();
    expect(result!.candidate).toBe('fraud-lgbm/1.1.0');
    expect(result!.champion).toBe('fraud-lgbm/1.0.0');
    expect(exitCode).toBe(result!.gate === 'pass' ? 0 : 1);
    expect(result!.window).toMatchObject({ train: ['2018-05-10', '2018-05-16'], delay_days: 7, test: ['2018-05-24', '2018-05-30'] });
    // The candidate is in the models folder; the fallback model is untouched.
    expect(existsSync(join(models, 'fraud-lgbm', '1.1.0', 'model.onnx'))).toBe(true);
    expect(readFileSync(join(models, 'default.json'), 'utf8')).toBe(defaultBefore);
    const manifest = JSON.parse(readFileSync(join(models, 'fraud-lgbm', '1.1.0', 'manifest.json'), 'utf8')) as { training_data: { train: string[] }; metrics: { test: { average_precision: number; rows: number } } };
    expect(manifest.training_data.train).toEqual(['2018-05-10', '2018-05-16']);
    // Same rows as the trainer's own test split, and the serving path agrees with its figures.
    expect(result!.rows.test_rows).toBe(manifest.metrics.test.rows);
    expect(result!.models.candidate.ap).toBeCloseTo(manifest.metrics.test.average_precision, 3);
    // Steps with progress on stderr; stdout is the JSON line only.
    const err = c.err.join('');
    for (const step of ['[1/5] features', '[2/5] window', '[3/5] train', '[4/5] gate', '[5/5] report']) expect(err).toContain(step);
    expect(c.out).toHaveLength(1);
    const line = JSON.parse(c.out[0]!) as Record<string, unknown>;
    expect(Object.keys(line)).toEqual(['gate', 'candidate', 'champion', 'criteria', 'window', 'report']);
    expect((line.criteria as { name: string }[]).map((x) => x.name)).toEqual(['average_precision', 'card_precision_at_100', 'feature_contract', 'input_schema', 'calibration_present', 'calibration_brier', 'calibration_ece']);
    for (const k of line.criteria as Record<string, unknown>[]) expect(Object.keys(k)).toEqual(['name', 'value', 'bound', 'op', 'pass']);
    const html = readFileSync(result!.report.html, 'utf8');
    expect(html).toContain('<polyline');
    expect(html).toContain('calibration_ece');
    expect(JSON.parse(readFileSync(result!.report.json, 'utf8'))).toMatchObject({ gate: result!.gate, candidate: 'fraud-lgbm/1.1.0' });
  }, TRAIN_TIMEOUT);

  it('passes an equal candidate: the same recipe on the same window scores as the champion', async () => {
    const c = capture();
    const { exitCode, result } = await runRetrain(options({ champion: 'fraud-lgbm/1.1.0' }), c.io);
    expect(result!.candidate).toBe('fraud-lgbm/1.2.0');
    expect(failed(result)).toEqual([]);
    expect(result!.gate).toBe('pass');
    expect(exitCode).toBe(0);
    expect(result!.models.candidate.ap).toBe(result!.models.champion.ap);
    expect(result!.models.candidate.cp100).toBe(result!.models.champion.cp100);
  }, TRAIN_TIMEOUT);

  it('fails a candidate trained on shuffled labels (exit 1), and the report says why', async () => {
    // TX_FRAUD shuffled over every row before the test days; the test days keep their labels.
    const shuffled = join(dir, 'shuffled.csv');
    const lines = readFileSync(features, 'utf8').trimEnd().split('\n');
    const testFirst = dayOfIso(first.window.test[0]);
    const rows = lines.slice(1).map((l) => l.split(','));
    const before = rows.filter((f) => dayOfMs(Number(f[1])) < testFirst);
    const labels = before.map((f) => f[4]!);
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = labels.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [labels[i], labels[j]] = [labels[j]!, labels[i]!];
    }
    before.forEach((f, i) => (f[4] = labels[i]!));
    writeFileSync(shuffled, [lines[0], ...rows.map((f) => f.join(','))].join('\n') + '\n');

    const c = capture();
    const { exitCode, result } = await runRetrain(options({ input: { kind: 'table', path: shuffled }, champion: 'fraud-lgbm/1.1.0' }), c.io);
    expect(exitCode).toBe(1);
    expect(result!.gate).toBe('fail');
    expect(failed(result)).toContain('average_precision');
    const ap = criterion(result, 'average_precision')!;
    expect(ap.value as number).toBeLessThan(ap.bound as number);
    expect(result!.reasons.join('\n')).toMatch(/^average_precision: candidate AP .* below the bound/m);
    const html = readFileSync(result!.report.html, 'utf8');
    expect(html).toContain('gate FAIL');
    expect(html).toContain('Why it failed');
    expect(html).toMatch(/average_precision: candidate AP [\d.]+ vs champion [\d.]+/);
    expect(JSON.parse(c.out[0]!)).toMatchObject({ gate: 'fail' });
  }, TRAIN_TIMEOUT);
});

describe('the gate on recorded artifacts', () => {
  it('fails a candidate whose feature contract is not the scorer\'s (it cannot even be scored)', async () => {
    const train = copyOf('fraud-lgbm/1.1.0', (m) => {
      const f = [...(m.features as string[])];
      [f[3], f[4]] = [f[4]!, f[3]!];
      m.features = f;
    });
    const { exitCode, result } = await runRetrain(options({ champion: 'fraud-lgbm/1.1.0', version: '5.0.0' }), capture({ train }).io);
    expect(train.calls).toBe(1);
    expect(exitCode).toBe(1);
    // Nothing the serving path would compute can be measured: every figure fails, the graph itself is fine.
    expect(failed(result)).toEqual(['average_precision', 'card_precision_at_100', 'feature_contract', 'calibration_brier', 'calibration_ece']);
    expect(criterion(result, 'input_schema')!.pass).toBe(true);
    expect(criterion(result, 'feature_contract')!.detail).toMatch(/feature 3 is/);
    expect(criterion(result, 'average_precision')!.detail).toMatch(/could not be scored through the serving path: feature_mismatch/);
  });

  it('fails a candidate without calibration', async () => {
    const train = copyOf('fraud-lgbm/1.1.0', (m) => delete m.calibration);
    const { exitCode, result } = await runRetrain(options({ champion: 'fraud-lgbm/1.1.0', version: '5.1.0' }), capture({ train }).io);
    expect(exitCode).toBe(1);
    expect(failed(result)).toEqual(['calibration_present', 'calibration_brier', 'calibration_ece']);
    expect(result!.reasons[0]).toBe('calibration_present: the manifest has no calibration block');
  });

  it('fails a miscalibrated candidate on ECE (probabilities tripled)', async () => {
    const train = copyOf('fraud-lgbm/1.1.0', (m) => {
      const cal = m.calibration as { y: number[] };
      cal.y = cal.y.map((v) => Math.min(1, v * 3));
    });
    const { result } = await runRetrain(options({ champion: 'fraud-lgbm/1.1.0', version: '5.2.0' }), capture({ train }).io);
    expect(failed(result)).toContain('calibration_ece');
    expect(criterion(result, 'average_precision')!.pass).toBe(true);
  });
});

describe('refused before training (exit 2)', () => {
  it('never overwrites: an existing --version is refused and the trainer never runs', async () => {
    const c = capture({ train: neverTrain });
    const { exitCode, result } = await runRetrain(options({ version: '1.0.0' }), c.io);
    expect(exitCode).toBe(2);
    expect(result).toBeUndefined();
    expect(c.err.join('')).toMatch(/fraud-lgbm\/1\.0\.0 already exists .* never overwritten/);
    expect(c.out).toEqual([]);
  });

  it('a champion that trained on the test days', async () => {
    cpSync(join(models, 'fraud-lgbm', '1.1.0'), join(models, 'fraud-lgbm', '0.0.1'), { recursive: true });
    editManifest(join(models, 'fraud-lgbm', '0.0.1'), (m) => ((m.training_data as { train: string[] }).train = ['2018-05-25', '2018-05-31']));
    const c = capture({ train: neverTrain });
    const { exitCode } = await runRetrain(options({ champion: 'fraud-lgbm/0.0.1' }), c.io);
    expect(exitCode).toBe(2);
    expect(c.err.join('')).toMatch(/fraud-lgbm\/0\.0\.1 trained on 2018-05-25\.\.2018-05-31, which overlaps the test days 2018-05-24\.\.2018-05-30/);
    rmSync(join(models, 'fraud-lgbm', '0.0.1'), { recursive: true });
  });

  it('a table too short for the window, and a missing champion', async () => {
    const c = capture({ train: neverTrain });
    expect((await runRetrain(options({ testEnd: '2018-05-01' }), c.io)).exitCode).toBe(2);
    expect(c.err.join('')).toMatch(/needs 35 labelled days/);
    const d = capture({ train: neverTrain });
    expect((await runRetrain(options({ champion: 'fraud-lgbm/9.9.9' }), d.io)).exitCode).toBe(2);
    expect(d.err.join('')).toMatch(/champion fraud-lgbm\/9\.9\.9: cannot read its manifest/);
  });
});

describe('--deploy', () => {
  function fakeTopic(current?: DeploymentSpec): Deployments & { written: DeploymentSpec[] } {
    const written: DeploymentSpec[] = [];
    return { written, current: async () => current, write: async (s) => (written.push(s), 7), describe: describeSpec };
  }

  it('writes nothing when the gate fails', async () => {
    const topic = fakeTopic();
    const train = copyOf('fraud-lgbm/1.1.0', (m) => delete m.calibration);
    const { exitCode, result } = await runRetrain(
      options({ champion: 'fraud-lgbm/1.1.0', version: '6.0.0', deploy: { mode: 'shadow', requestedBy: 't', reason: '' } }),
      capture({ train, deployments: topic }).io,
    );
    expect(exitCode).toBe(1);
    expect(topic.written).toEqual([]);
    expect(result!.deploy).toEqual({ mode: 'shadow', written: false, why: 'the gate failed: fraud-lgbm/6.0.0 is not deployed' });
  });

  it('adds a passing candidate as shadow next to the champion in force, verified by the scorer\'s checks', async () => {
    const digest = (ref: string) => (JSON.parse(readFileSync(join(models, ref, 'manifest.json'), 'utf8')) as { sha256: string }).sha256;
    const inForce: DeploymentSpec = {
      champion: { name: 'fraud-lgbm', version: '1.1.0', digest: digest('fraud-lgbm/1.1.0') },
      shadow: null, canary: null, policy: 'policy-v1', requestedBy: 'x', requestedAt: 1, reason: '', restoresRevision: null,
    };
    const topic = fakeTopic(inForce);
    const c = capture({ train: copyOf('fraud-lgbm/1.1.0'), deployments: topic });
    // No --champion: the gate compares against the champion in force.
    const { exitCode, result } = await runRetrain(options({ version: '6.1.0', deploy: { mode: 'shadow', requestedBy: 't', reason: '' } }), c.io);
    expect(result!.champion).toBe('fraud-lgbm/1.1.0');
    expect(result!.gate).toBe('pass');
    expect(exitCode).toBe(0);
    expect(topic.written).toHaveLength(1);
    expect(topic.written[0]).toMatchObject({ champion: inForce.champion, shadow: { name: 'fraud-lgbm', version: '6.1.0', digest: digest('fraud-lgbm/6.1.0') }, canary: null });
    expect(result!.deploy).toMatchObject({ mode: 'shadow', written: true, revision: 7 });
    expect(JSON.parse(c.out[0]!)).toMatchObject({ gate: 'pass', deploy: { written: true } });
  });
});
