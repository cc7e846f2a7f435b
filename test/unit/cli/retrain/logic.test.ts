/**
 * The retrain's decisions without a trainer or a broker: the window it picks, whether the
 * champion is held out, which version it writes (never an existing one), the gate's criteria
 * and metrics, what --deploy writes (nothing after a failed gate, never as champion), and the
 * JSON line's shape.
 */
import { describe, expect, it } from 'vitest';
import type { DeploymentSpec, ModelPin } from '../../../../services/common/src/contracts.js';
import { parseDeployMode, parseShare, planDeployment, type DeployPlanInput } from '../../../../services/cli/src/retrain/deploy.js';
import { BadInput } from '../../../../services/cli/src/retrain/errors.js';
import {
  brier, calibrationProblem, DEFAULT_BOUNDS, eceEqualMass, featureContractCriterion, inputSchemaCriterion, judge, type GateInput,
} from '../../../../services/cli/src/retrain/gate.js';
import { jsonLine, prCurve, type RetrainResult } from '../../../../services/cli/src/retrain/report.js';
import { checkName, chooseVersion, nextVersion } from '../../../../services/cli/src/retrain/versions.js';
import { championHeldOut, chooseWindow, dayOfIso, DEFAULT_DELTAS } from '../../../../services/cli/src/retrain/window.js';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../../services/scorer/src/features/index.js';

const contract = { features: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION };

describe('chooseWindow', () => {
  const scan = (first: string, last: string, firstRow = first) => ({ firstDay: dayOfIso(firstRow), firstLabelledDay: dayOfIso(first), lastLabelledDay: dayOfIso(last) });

  it('ends the test days on the newest labelled day and lays the protocol out backwards', () => {
    const w = chooseWindow(scan('2018-04-01', '2018-09-30'), DEFAULT_DELTAS);
    expect(w.test).toEqual(['2018-09-24', '2018-09-30']);
    expect(w.train).toEqual(['2018-09-10', '2018-09-16']);
    expect(w.delay_days).toBe(7);
    // The trainer's validation split: its test days are the candidate's training days.
    expect(w.validation).toEqual({ train: ['2018-08-27', '2018-09-02'], test: ['2018-09-10', '2018-09-16'] });
    expect(w.labelled).toEqual(['2018-04-01', '2018-09-30']);
    expect(w.history_days).toBe(148);
  });

  it('honours --test-end and other deltas', () => {
    const w = chooseWindow(scan('2018-04-01', '2018-09-30'), { deltaTrain: 5, deltaDelay: 3, deltaTest: 2 }, '2018-08-14');
    expect(w.test).toEqual(['2018-08-13', '2018-08-14']);
    expect(w.train).toEqual(['2018-08-05', '2018-08-09']);
    expect(w.validation.train).toEqual(['2018-07-28', '2018-08-01']);
    expect(() => chooseWindow(scan('2018-04-01', '2018-09-30'), DEFAULT_DELTAS, '2018-10-01')).toThrow(/after the table's newest labelled day/);
  });

  it('refuses a table with too few labelled days, saying how many are needed', () => {
    // 35 labelled days are exactly enough; 34 are not.
    expect(chooseWindow(scan('2018-04-01', '2018-05-05'), DEFAULT_DELTAS).validation.train[0]).toBe('2018-04-01');
    expect(() => chooseWindow(scan('2018-04-02', '2018-05-05'), DEFAULT_DELTAS)).toThrow(BadInput);
    expect(() => chooseWindow(scan('2018-04-02', '2018-05-05'), DEFAULT_DELTAS)).toThrow(/needs 35 labelled days .* from 2018-04-01/);
    expect(() => chooseWindow({ firstDay: 0, firstLabelledDay: undefined, lastLabelledDay: undefined }, DEFAULT_DELTAS)).toThrow(/no labelled row/);
    expect(() => chooseWindow(scan('2018-04-01', '2018-09-30'), { deltaTrain: 2, deltaDelay: 1, deltaTest: 4 })).toThrow(/validation split would reach the test days/);
  });
});

describe('championHeldOut', () => {
  const test: [string, string] = ['2018-09-24', '2018-09-30'];
  it('passes a champion trained before (or after) the test days', () => {
    expect(championHeldOut('m/1', { train: ['2018-07-25', '2018-07-31'] }, test)).toMatchObject({ ok: true, trainedOn: ['2018-07-25', '2018-07-31'] });
    expect(championHeldOut('m/1', { train: ['2018-10-01', '2018-10-07'] }, test).detail).toMatch(/after the test days/);
  });
  it('refuses one that trained on any test day, and one whose training days are unknown', () => {
    expect(championHeldOut('m/1', { train: ['2018-09-30', '2018-10-06'] }, test)).toMatchObject({ ok: false });
    expect(championHeldOut('m/1', { train: ['2018-09-20', '2018-09-24'] }, test).detail).toMatch(/overlaps the test days 2018-09-24\.\.2018-09-30/);
    expect(championHeldOut('m/1', undefined, test)).toMatchObject({ ok: false });
    expect(championHeldOut('m/1', { train: 'yesterday' }, test).detail).toMatch(/no training_data\.train/);
  });
});

describe('candidate version', () => {
  it('is the next minor version after the highest, never an existing one', () => {
    expect(nextVersion([])).toBe('1.0.0');
    expect(nextVersion(['1.0.0'])).toBe('1.1.0');
    expect(nextVersion(['1.0.0', '1.10.0', '1.2.0', '2.0.0-rc'])).toBe('1.11.0');
    expect(nextVersion(['0.9.3', '1.0.0', '1.0.7'])).toBe('1.1.0');
    expect(nextVersion(['exp'])).toBe('1.0.0');
    expect(nextVersion(['1.0.0', 'exp'])).toBe('1.1.0');
    for (const existing of [['1.0.0'], ['1.0.0', '1.1.0'], ['3.4.5', '1.0.0']]) expect(existing).not.toContain(nextVersion(existing));
  });
  it('refuses a requested version that exists, and takes a free one', () => {
    expect(() => chooseVersion('fraud-lgbm', ['1.0.0', '1.1.0'], '1.1.0')).toThrow(BadInput);
    expect(() => chooseVersion('fraud-lgbm', ['1.0.0', '1.1.0'], '1.1.0')).toThrow(/already exists .* never overwritten.*next free: 1\.2\.0/);
    expect(() => chooseVersion('fraud-lgbm', [], '../x')).toThrow(/not a version/);
    expect(chooseVersion('fraud-lgbm', ['1.0.0'], '7.0.0')).toBe('7.0.0');
    expect(chooseVersion('fraud-lgbm', ['1.0.0'])).toBe('1.1.0');
  });
  it('names only families the trainer trains', () => {
    expect(() => checkName('fraud-lgbm')).not.toThrow();
    expect(() => checkName('my-model')).toThrow(/give --name/);
  });
});

describe('gate metrics', () => {
  it('Brier is the mean squared error', () => {
    expect(brier([0.5, 0, 1], [1, 0, 1])).toBeCloseTo(0.25 / 3, 12);
  });
  it('ECE over equal-mass bins: rows sorted by p, cut into bins of equal count', () => {
    // 4 rows, 2 bins: {0.1, 0.2} with 0 frauds and {0.6, 0.9} with 1: |0.3 − 0| + |1.5 − 1| = 0.8, / 4.
    const r = eceEqualMass([0.9, 0.1, 0.6, 0.2], [1, 0, 0, 0], 2);
    expect(r.ece).toBeCloseTo(0.2, 12);
    expect(r.bins).toEqual([{ rows: 2, meanP: 0.15000000000000002, fraudRate: 0 }, { rows: 2, meanP: 0.75, fraudRate: 0.5 }]);
    // Perfectly calibrated bins give 0; bins never outnumber rows.
    expect(eceEqualMass([0, 0, 1, 1], [0, 0, 1, 1], 2).ece).toBe(0);
    expect(eceEqualMass([0.5], [1], 10).bins).toHaveLength(1);
  });
  it('finds what makes a calibration map unusable', () => {
    expect(calibrationProblem(undefined)).toMatch(/no calibration block/);
    expect(calibrationProblem({ x: [0, 1] })).toMatch(/no x and y/);
    expect(calibrationProblem({ x: [0], y: [0] })).toMatch(/at least 2 knots/);
    expect(calibrationProblem({ x: [0, 0], y: [0, 1] })).toMatch(/strictly ascending/);
    expect(calibrationProblem({ x: [0, 1], y: [0.5, 0.2] })).toMatch(/non-decreasing/);
    expect(calibrationProblem({ x: [0, 1], y: [0, 1.5] })).toMatch(/non-decreasing probabilities/);
    expect(calibrationProblem({ x: [0, 0.5, 1], y: [0, 0.1, 1] })).toBeUndefined();
  });
  it('prCurve runs from high scores to recall 1', () => {
    const c = prCurve([0.9, 0.8, 0.1, 0.7], [1, 0, 1, 0]);
    expect(c.recall.at(-1)).toBe(1);
    expect(c.precision[0]).toBe(1);
    expect(c.precision.at(-1)).toBe(0.5);
  });
});

describe('contract criteria', () => {
  it('feature contract: names, order and feature set version', () => {
    expect(featureContractCriterion({ features: [...FEATURE_NAMES], feature_set_version: FEATURE_SET_VERSION }, contract).pass).toBe(true);
    const swapped: string[] = [...FEATURE_NAMES];
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    const c = featureContractCriterion({ features: swapped, feature_set_version: FEATURE_SET_VERSION }, contract);
    expect(c).toMatchObject({ name: 'feature_contract', pass: false });
    expect(c.detail).toMatch(/feature 0 is/);
    expect(featureContractCriterion({ features: [...FEATURE_NAMES], feature_set_version: 'other-v2' }, contract).detail).toMatch(/feature_set_version other-v2/);
    expect(featureContractCriterion({ features: FEATURE_NAMES.slice(0, 14), feature_set_version: FEATURE_SET_VERSION }, contract).detail).toMatch(/feature 14 is \(nothing\)/);
  });
  it('input schema: one float32 [N, 15] input and a float32 [N, 2] output, as the scorer feeds and reads', () => {
    const outputs = [{ name: 'label', isTensor: true, type: 'int64', shape: [''] }, { name: 'probabilities', isTensor: true, type: 'float32', shape: ['', 2] }];
    const manifest = { input_name: 'features', output_name: 'probabilities' };
    const ok = inputSchemaCriterion(manifest, { inputs: [{ name: 'features', isTensor: true, type: 'float32', shape: ['', 15] }], outputs }, 15);
    expect(ok.pass).toBe(true);
    expect(ok.value).toBe('features float32 [N, 15]');
    const bad = (inputs: object[], m: object = manifest) => inputSchemaCriterion(m, { inputs: inputs as never, outputs }, 15);
    expect(bad([{ name: 'features', isTensor: true, type: 'float64', shape: ['', 15] }]).detail).toMatch(/float64, the scorer feeds float32/);
    expect(bad([{ name: 'features', isTensor: true, type: 'float32', shape: ['', 14] }]).detail).toMatch(/shape \[N, 14\]/);
    expect(bad([{ name: 'features', isTensor: true, type: 'float32', shape: [1, 15] }]).detail).toMatch(/N free/);
    expect(bad([{ name: 'x', isTensor: true, type: 'float32', shape: ['', 15] }]).detail).toMatch(/no input features/);
    expect(bad([{ name: 'features', isTensor: true, type: 'float32', shape: ['', 15] }, { name: 'extra', isTensor: true, type: 'float32', shape: [''] }]).detail).toMatch(/2 inputs/);
    expect(bad([{ name: 'features', isTensor: true, type: 'float32', shape: ['', 15] }], { input_name: 'features', output_name: 'scores' }).detail).toMatch(/no output scores/);
  });
});

describe('judge', () => {
  const pass = (name: string) => ({ name, value: 'x', bound: 'x', op: '==' as const, pass: true, detail: '' });
  const base: GateInput = {
    champion: { ap: 0.6, cp100: 0.3, auc: 0.87 },
    candidate: { ap: 0.59, cp100: 0.29, auc: 0.86 },
    featureContract: pass('feature_contract'),
    inputSchema: pass('input_schema'),
    calibration: { fraudRate: 0.0066, noSkillBrier: 0.0066, brier: 0.003, ece: 0.001 },
  };
  it('passes a candidate within the tolerances with a good calibration, every criterion reported', () => {
    const c = judge(base, DEFAULT_BOUNDS);
    expect(c.map((x) => x.name)).toEqual(['average_precision', 'card_precision_at_100', 'feature_contract', 'input_schema', 'calibration_present', 'calibration_brier', 'calibration_ece']);
    expect(c.every((x) => x.pass)).toBe(true);
    expect(c[0]).toMatchObject({ value: 0.59, bound: 0.58, op: '>=' });
    expect(c[5]).toMatchObject({ value: 0.003, bound: 0.0066, op: '<=' });
  });
  it('fails each criterion on its own and says why', () => {
    const ap = judge({ ...base, candidate: { ap: 0.5, cp100: 0.3, auc: 0.8 } }, DEFAULT_BOUNDS);
    expect(ap.filter((x) => !x.pass).map((x) => x.name)).toEqual(['average_precision']);
    expect(ap[0]!.detail).toMatch(/candidate AP 0\.5 vs champion 0\.6 − tolerance 0\.02: 0\.08 below the bound/);
    const cp = judge({ ...base, candidate: { ap: 0.6, cp100: 0.27, auc: 0.8 } }, DEFAULT_BOUNDS);
    expect(cp.filter((x) => !x.pass).map((x) => x.name)).toEqual(['card_precision_at_100']);
    // Brier: bounded by the no-skill Brier when that is below --max-brier.
    const b = judge({ ...base, calibration: { fraudRate: 0.0066, noSkillBrier: 0.0066, brier: 0.007, ece: 0.001 } }, DEFAULT_BOUNDS);
    expect(b.filter((x) => !x.pass).map((x) => x.name)).toEqual(['calibration_brier']);
    const e = judge({ ...base, calibration: { fraudRate: 0.0066, noSkillBrier: 0.0066, brier: 0.003, ece: 0.003 } }, DEFAULT_BOUNDS);
    expect(e.filter((x) => !x.pass).map((x) => x.name)).toEqual(['calibration_ece']);
    expect(e[6]).toMatchObject({ value: 0.003, bound: 0.00264 });
    expect(e[6]!.detail).toMatch(/bound: 0\.4 × the test fraud rate 0\.0066/);
    // Absolute bounds when given: --max-brier caps below the no-skill Brier, --max-ece replaces 0.4 r.
    const abs = judge({ ...base, calibration: { fraudRate: 0.0066, noSkillBrier: 0.0066, brier: 0.003, ece: 0.003 } }, { ...DEFAULT_BOUNDS, maxBrier: 0.002, maxEce: 0.005 });
    expect(abs.filter((x) => !x.pass).map((x) => x.name)).toEqual(['calibration_brier']);
    expect(abs[5]).toMatchObject({ bound: 0.002 });
    expect(abs[6]).toMatchObject({ bound: 0.005, pass: true });
  });
  it('fails every calibration criterion when the map is missing, and the metrics when the candidate cannot be scored', () => {
    const m = judge({ ...base, calibration: { fraudRate: 0.0066, noSkillBrier: 0.0066, problem: 'the manifest has no calibration block' } }, DEFAULT_BOUNDS);
    expect(m.filter((x) => !x.pass).map((x) => x.name)).toEqual(['calibration_present', 'calibration_brier', 'calibration_ece']);
    expect(m[4]!.detail).toBe('the manifest has no calibration block');
    const r = judge({ ...base, candidate: undefined, candidateRefusal: 'feature_mismatch: …', calibration: { fraudRate: 0.0066, noSkillBrier: 0.0066 } }, DEFAULT_BOUNDS);
    expect(r[0]).toMatchObject({ value: null, pass: false });
    expect(r[0]!.detail).toMatch(/could not be scored through the serving path: feature_mismatch/);
  });
});

describe('--deploy', () => {
  const pin = (name: string, version: string, c = 'a'): ModelPin => ({ name, version, digest: c.repeat(64) });
  const champion = pin('fraud-lgbm', '1.0.0');
  const candidate = pin('fraud-lgbm', '1.1.0', 'b');
  const input = (over: Partial<DeployPlanInput> = {}): DeployPlanInput => ({
    gatePassed: true, mode: 'shadow', candidate, gateChampion: champion, current: undefined, requestedBy: 't', reason: 'r', now: 5, ...over,
  });
  const spec = (over: Partial<DeploymentSpec> = {}): DeploymentSpec => ({
    champion, shadow: null, canary: null, policy: 'policy-v1', requestedBy: 'x', requestedAt: 1, reason: '', restoresRevision: null, ...over,
  });

  it('refuses champion as a mode, with the way to promote', () => {
    expect(() => parseDeployMode('champion')).toThrow(BadInput);
    expect(() => parseDeployMode('champion')).toThrow(/--deploy champion is refused.*models deploy --champion/);
    expect(() => parseDeployMode('blue')).toThrow(/shadow or canary/);
    expect(parseDeployMode('shadow')).toBe('shadow');
    expect(parseDeployMode(undefined)).toBeUndefined();
    expect(() => parseShare(undefined, 'canary')).toThrow(/needs --canary-share/);
    expect(() => parseShare('5', 'shadow')).toThrow(/for --deploy canary/);
    expect(() => parseShare('101', 'canary')).toThrow(/0–100/);
    expect(parseShare('12.5', 'canary')).toBe(12.5);
  });

  it('writes nothing after a failed gate', () => {
    const plan = planDeployment(input({ gatePassed: false, current: spec() }));
    expect(plan).toEqual({ write: false, why: 'the gate failed: fraud-lgbm/1.1.0 is not deployed' });
    expect(planDeployment(input({ gatePassed: false, mode: 'canary', sharePercent: 5 })).write).toBe(false);
  });

  it('keeps the champion in force and adds the candidate as shadow, or as canary at its share', () => {
    const kept = pin('fraud-rf', '1.0.0', 'c');
    const current = spec({ canary: { model: kept, sharePercent: 3 }, policy: 'policy-v1' });
    const shadow = planDeployment(input({ current }));
    expect(shadow).toEqual({ write: true, spec: { ...current, shadow: candidate, requestedBy: 't', requestedAt: 5, reason: 'r', restoresRevision: null } });
    const canary = planDeployment(input({ mode: 'canary', sharePercent: 10, current: spec({ shadow: kept }) }));
    expect(canary.write && canary.spec).toMatchObject({ champion, shadow: kept, canary: { model: candidate, sharePercent: 10 } });
    // No spec yet: the gate's champion (the fallback) stays champion.
    const first = planDeployment(input());
    expect(first.write && first.spec).toMatchObject({ champion, shadow: candidate, canary: null, policy: 'policy-v1' });
  });

  it('writes nothing when the champion in force is not the one the gate compared against', () => {
    const plan = planDeployment(input({ current: spec({ champion: pin('fraud-rf', '1.0.0', 'c') }) }));
    expect(plan.write).toBe(false);
    expect(!plan.write && plan.why).toMatch(/champion in force is fraud-rf\/1\.0\.0 .* the gate compared against fraud-lgbm\/1\.0\.0/);
    // Same name and version, another digest: not the same model either.
    expect(planDeployment(input({ current: spec({ champion: pin('fraud-lgbm', '1.0.0', 'd') }) })).write).toBe(false);
  });
});

describe('the JSON line', () => {
  it('has the gate, both models, every criterion and the window', () => {
    const result = {
      gate: 'fail', candidate: 'fraud-lgbm/1.1.0', champion: 'fraud-lgbm/1.0.0',
      criteria: [{ name: 'average_precision', value: 0.1, bound: 0.58, op: '>=', pass: false, detail: 'long text' }],
      window: chooseWindow({ firstDay: dayOfIso('2018-04-01'), firstLabelledDay: dayOfIso('2018-04-01'), lastLabelledDay: dayOfIso('2018-09-30') }, DEFAULT_DELTAS),
      report: { dir: '/r', json: '/r/report.json', html: '/r/report.html' },
    } as unknown as RetrainResult;
    const line = jsonLine(result);
    expect(line).not.toContain('\n');
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['gate', 'candidate', 'champion', 'criteria', 'window', 'report']);
    expect(parsed.criteria).toEqual([{ name: 'average_precision', value: 0.1, bound: 0.58, op: '>=', pass: false }]);
    expect(parsed.window).toEqual({
      train: ['2018-09-10', '2018-09-16'], delay_days: 7, test: ['2018-09-24', '2018-09-30'],
      validation: { train: ['2018-08-27', '2018-09-02'], test: ['2018-09-10', '2018-09-16'] },
    });
    expect(parsed.report).toBe('/r/report.html');
    expect(Object.keys(JSON.parse(jsonLine({ ...result, deploy: { mode: 'shadow', written: false, why: 'the gate failed' } })) as object)).toContain('deploy');
  });
});
