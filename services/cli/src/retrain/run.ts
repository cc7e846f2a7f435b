/**
 * `fraudscore retrain`, end to end:
 *
 *   1. features  the table (given, or built from history files or the Kafka topics);
 *   2. window    the newest window it allows (window.ts), and proof from the champion's
 *                manifest that the champion did not train on its test days;
 *   3. train     a candidate with the pinned Python trainer into the models folder, under a
 *                version that does not exist yet (never overwritten; default.json untouched);
 *   4. gate      candidate and champion scored through the serving path on the same test rows,
 *                every criterion with value, bound and pass/fail (gate.ts);
 *   5. report    report.json and report.html in the run's folder, one JSON line on stdout,
 *                and with --deploy (gate passed only) a shadow/canary spec next to the champion.
 *
 * Progress goes to stderr; stdout carries only the JSON line. Exit code: 0 pass, 1 fail, 2 bad
 * input (nothing judged: the message says what to change).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ModelPin } from '../../../common/src/contracts.js';
import { aucRoc, averagePrecision, cardPrecisionAtK } from '../../../common/src/ranking-metrics.js';
import type { Calibration } from '../../../monitor/src/cbpe.js';
import { DeploymentRefused, pinName } from '../../../scorer/src/deployment/spec.js';
import { FEATURE_COUNT } from '../../../scorer/src/features/index.js';
import { ModelError } from '../../../scorer/src/model/load.js';
import { parsePrivateKey, signManifest } from '../../../common/src/model-signature.js';
import { readDefaultRef } from '../models/catalog.js';
import { pinOf, verifySpec } from '../models/deployments.js';
import { planDeployment, type DeployMode, type Deployments } from './deploy.js';
import { BadInput, EXIT } from './errors.js';
import { buildFeatureTable, type FeatureInput } from './features.js';
import {
  brier, calibrated, calibrationProblem, eceEqualMass, featureContractCriterion, inputSchemaCriterion, judge, reasons,
  type CalibrationFigures, type Criterion, type GateBounds, type Scored,
} from './gate.js';
import { graphOf, SCORER_CONTRACT, scoreThroughServingPath } from './model.js';
import { jsonLine, prCurve, reportPaths, writeReports, type DeployOutcome, type ModelFigures, type RetrainResult } from './report.js';
import { loadGateRows, splitOf, type GateRows } from './rows.js';
import { trainCandidate, type Train } from './trainer.js';
import { checkName, chooseVersion, versionsOf } from './versions.js';
import { chooseWindow, championHeldOut, FEATURE_LOOKBACK_DAYS, scanTable, type Deltas } from './window.js';

export interface RetrainOptions {
  input: FeatureInput;
  modelsDir: string;
  /** name/version; default: the champion in force (with --deploy) or models/default.json. */
  champion?: string;
  /** Candidate name (a trainer family); default: the champion's. */
  name?: string;
  /** Candidate version; default: the next free minor version. */
  version?: string;
  quick: boolean;
  deltas: Deltas;
  /** Last test day (default: the newest labelled day). */
  testEnd?: string;
  bounds: GateBounds;
  /** Report folder; default <runsDir>/retrain-<time>. */
  outDir?: string;
  runsDir?: string;
  deploy?: { mode: DeployMode; sharePercent?: number; requestedBy: string; reason: string };
  /** Ed25519 private key (PEM): the candidate's manifest is signed right after training, before the gate and any deploy. */
  signingKey?: string;
  batch?: number;
}

export interface RetrainIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Default: the Python trainer (trainer.ts). */
  train?: Train;
  /** The deployments topic; needed with --deploy. */
  deployments?: Deployments;
  /** Progress bars of the feature step; default none. */
  progress?: NodeJS.WriteStream | null;
  now?: () => number;
}

export interface RetrainOutcome {
  exitCode: 0 | 1 | 2;
  result?: RetrainResult;
}

const REF = /^[\w-][\w.-]*\/[\w-][\w.-]*$/;
const secs = (ms: number): number => Math.round(ms / 100) / 10;

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

/** Runs a retrain; BadInput becomes exit 2 with its message on stderr, other errors propagate. */
export async function runRetrain(o: RetrainOptions, io: RetrainIo): Promise<RetrainOutcome> {
  try {
    return await retrain(o, io);
  } catch (err) {
    if (!(err instanceof BadInput)) throw err;
    io.err(`retrain: ${err.message}\n`);
    return { exitCode: EXIT.badInput };
  }
}

async function retrain(o: RetrainOptions, io: RetrainIo): Promise<RetrainOutcome> {
  const now = io.now ?? Date.now;
  const t0 = now();
  const timings: Record<string, number> = {};
  const say = (s: string) => io.err(`retrain ${s}\n`);
  const stamp = new Date(t0).toISOString().replace(/[:.]/g, '-');
  const dir = resolve(o.outDir ?? join(o.runsDir ?? 'runs', `retrain-${stamp}`));
  if (o.deploy && !io.deployments) throw new Error('--deploy needs the deployments topic');
  if (o.signingKey !== undefined) {
    try {
      parsePrivateKey(o.signingKey);
    } catch (err) {
      throw new BadInput((err as Error).message);
    }
  }

  // The champion: named, else the one in force (when deploying next to it), else the fallback.
  let championRef = o.champion;
  let championPin: ModelPin | undefined;
  if (championRef !== undefined && !REF.test(championRef)) throw new BadInput(`--champion takes name/version, got ${JSON.stringify(championRef)}`);
  if (o.deploy) {
    // The gate must compare against what serves: the spec's champion (or, with no spec yet, the fallback).
    const current = await io.deployments!.current();
    if (current && championRef !== undefined && championRef !== pinName(current.champion)) {
      throw new BadInput(`--deploy adds the candidate next to the champion in force, ${pinName(current.champion)}, but --champion names ${championRef}: leave out --champion (or deploy separately)`);
    }
    if (current) {
      championPin = current.champion;
      championRef = pinName(current.champion);
    }
  }
  championRef ??= await readDefaultRef(o.modelsDir);
  if (championRef === undefined) throw new BadInput(`no champion: ${o.modelsDir}/default.json names none; give --champion name/version`);
  const championDir = join(o.modelsDir, championRef);
  const championManifest = await readJson(join(championDir, 'manifest.json')).catch((err: Error) => {
    throw new BadInput(`champion ${championRef}: cannot read its manifest in ${o.modelsDir} (${err.message})`);
  });
  if (championPin && championPin.digest !== championManifest.sha256) {
    throw new BadInput(`the champion in force ${championRef} has digest ${championPin.digest.slice(0, 12)}, the manifest in ${o.modelsDir} ${String(championManifest.sha256).slice(0, 12)}: this models folder does not hold the artifact that serves`);
  }

  const name = o.name ?? championRef.split('/')[0]!;
  checkName(name);
  let version = chooseVersion(name, await versionsOf(o.modelsDir, name), o.version);
  say(`candidate ${name}/${version} against champion ${championRef} (models folder ${o.modelsDir}); run folder ${dir}`);

  // 1. Features.
  await mkdir(dir, { recursive: true });
  let t = now();
  say(`[1/5] features: ${o.input.kind === 'table' ? `using ${o.input.path}` : o.input.kind === 'files' ? `from ${o.input.transactions}${o.input.outcomes ? ` and ${o.input.outcomes}` : ''}` : `replaying Kafka from ${o.input.since}`}`);
  const table = await buildFeatureTable(o.input, join(dir, 'features.csv'), { err: io.err, progress: io.progress ?? null });
  timings.features = secs(now() - t);

  // 2. Window, and the champion held out of its test days.
  t = now();
  const scan = await scanTable(table.path).catch((err: NodeJS.ErrnoException) => {
    if (err instanceof BadInput) throw err;
    throw new BadInput(`cannot read the feature table ${table.path}: ${err.message}`);
  });
  const window = chooseWindow(scan, o.deltas, o.testEnd);
  timings.window = secs(now() - t);
  say(`[2/5] window: ${scan.rows.toLocaleString('en-US')} rows, labelled ${window.labelled[0]}..${window.labelled[1]}; ` +
    `train ${window.train[0]}..${window.train[1]}, ${window.delay_days}-day delay, test ${window.test[0]}..${window.test[1]} ` +
    `(validation ${window.validation.train[0]}..${window.validation.train[1]} → ${window.validation.test[0]}..${window.validation.test[1]})`);
  if (window.history_days < FEATURE_LOOKBACK_DAYS) {
    say(`      note: only ${window.history_days} days of history before ${window.validation.train[0]}; features need ${FEATURE_LOOKBACK_DAYS} to be warm, so the validation split's first rows see part of their windows`);
  }
  const heldOut = championHeldOut(championRef, championManifest.training_data, window.test);
  if (!heldOut.ok) {
    throw new BadInput(`${heldOut.detail}. The gate compares on the newest labelled days, which must be new to both models: give a table with labelled days after the champion's training, or another --champion`);
  }
  say(`      ${heldOut.detail}`);

  // 3. Train the candidate (the folder is read again: another run may have taken the version meanwhile).
  t = now();
  const taken = await versionsOf(o.modelsDir, name);
  if (taken.includes(version)) {
    if (o.version !== undefined) throw new BadInput(`${name}/${version} appeared in ${o.modelsDir} meanwhile; artifacts are never overwritten`);
    version = chooseVersion(name, taken);
  }
  const candidateRef = `${name}/${version}`;
  const candidateDir = join(o.modelsDir, name, version);
  say(`[3/5] train: ${candidateRef}${o.quick ? ' (--quick: one small configuration)' : ''} with services/trainer`);
  await (io.train ?? trainCandidate)(
    { features: resolve(table.path), modelsDir: resolve(o.modelsDir), name, version, window, deltas: o.deltas, quick: o.quick, report: join(dir, 'trainer.json') },
    (line) => io.err(`      ${line}\n`),
  );
  const candidateManifest = await readJson(join(candidateDir, 'manifest.json')).catch((err: Error) => {
    throw new Error(`the trainer finished but ${candidateDir}/manifest.json cannot be read: ${err.message}`);
  });
  timings.train = secs(now() - t);
  say(`      wrote ${candidateDir} (${timings.train} s)`);
  if (o.signingKey !== undefined) {
    // An artifact that does not hold together is left unsigned: the gate refuses it and says why.
    await signManifest(candidateDir, o.signingKey).then(
      (sig) => say(`      signed ${join(candidateDir, 'manifest.sig')} with key ${sig.keyId}`),
      (err: Error) => say(`      NOT signed: ${err.message}`),
    );
  }

  // 4. Gate: the same rows for both, through the serving path.
  t = now();
  const rows = await loadGateRows(table.path, splitOf(window, o.deltas));
  if (rows.n === 0 || rows.frauds === 0 || rows.frauds === rows.n) {
    throw new BadInput(`the test days ${window.test[0]}..${window.test[1]} have ${rows.n} labelled rows and ${rows.frauds} frauds after removing known-compromised cards: nothing to compare on`);
  }
  let championScores: Float32Array;
  try {
    championScores = await scoreThroughServingPath(championDir, rows, o.batch);
  } catch (err) {
    if (err instanceof ModelError) throw new BadInput(`the scorer refuses the champion ${championRef} (${err.reason}): ${err.message}; give another --champion`);
    throw err;
  }
  const champion = measure(championScores, rows);
  let candidateScores: Float32Array | undefined;
  let candidateRefusal: string | undefined;
  try {
    candidateScores = await scoreThroughServingPath(candidateDir, rows, o.batch);
  } catch (err) {
    if (!(err instanceof ModelError)) throw err;
    candidateRefusal = `${err.reason}: ${err.message}`;
  }
  const candidate = candidateScores && measure(candidateScores, rows);
  let graph;
  try {
    graph = await graphOf(candidateDir);
  } catch (err) {
    graph = { inputs: [], outputs: [], error: (err as Error).message };
  }
  const inputSchema: Criterion = 'error' in graph
    ? { name: 'input_schema', value: null, bound: `float32 [N, ${FEATURE_COUNT}]`, op: '==', pass: false, detail: `onnxruntime cannot open the graph: ${graph.error}` }
    : inputSchemaCriterion(candidateManifest, graph, FEATURE_COUNT);
  const calibration = calibrationFigures(candidateManifest.calibration, candidateScores, rows, o.bounds);
  const criteria = judge({
    champion, candidate, candidateRefusal, featureContract: featureContractCriterion(candidateManifest, SCORER_CONTRACT), inputSchema, calibration,
  }, o.bounds);
  const passed = criteria.every((c) => c.pass);
  const championCal = calibrationFigures(championManifest.calibration, championScores, rows, o.bounds);
  timings.gate = secs(now() - t);
  say(`[4/5] gate: ${passed ? 'PASS' : 'FAIL'} on ${rows.n.toLocaleString('en-US')} test rows (${rows.frauds} frauds)`);
  for (const c of criteria) say(`      ${c.pass ? 'pass' : 'FAIL'}  ${c.name}: ${c.value ?? '–'} ${c.op} ${c.bound ?? '–'}${c.pass ? '' : `  (${c.detail})`}`);

  // 5. Deploy (passed gate only), report.
  let deploy: DeployOutcome | undefined;
  let exitCode: 0 | 1 | 2 = passed ? EXIT.pass : EXIT.fail;
  if (o.deploy) {
    deploy = await deployCandidate(o, io, { passed, candidateRef, championRef, championPin });
    if (passed && !deploy.written) exitCode = EXIT.badInput;
    say(`      deploy ${o.deploy.mode}: ${deploy.written ? `revision ${deploy.revision}: ${deploy.spec}` : `nothing written: ${deploy.why}`}`);
  }
  timings.total = secs(now() - t0);
  const figures = (ref: string, m: Record<string, unknown>, s: Scored | undefined, cal: CalibrationFigures): ModelFigures => ({
    ref,
    digest: typeof m.sha256 === 'string' ? m.sha256 : undefined,
    ...(s ? { auc: s.auc, ap: s.ap, cp100: s.cp100 } : {}),
    ...(cal.brier !== undefined ? { brier: cal.brier, ece: cal.ece } : {}),
    trainer_test: (m.metrics as { test?: Record<string, unknown> } | undefined)?.test,
    trained_on: (m.training_data as { train?: [string, string] } | undefined)?.train,
  });
  const sel = rows.selection;
  const result: RetrainResult = {
    gate: passed ? 'pass' : 'fail',
    candidate: candidateRef,
    champion: championRef,
    criteria,
    window,
    reasons: reasons(criteria),
    bounds: o.bounds,
    rows: {
      test_rows: rows.n, test_frauds: rows.frauds, test_cards: sel.testCards,
      removed_rows: sel.removedRows, removed_frauds: sel.removedFrauds, removed_cards: sel.removedCards,
    },
    models: {
      candidate: figures(candidateRef, candidateManifest, candidate, calibration),
      champion: figures(championRef, championManifest, champion, championCal),
    },
    champion_held_out: heldOut.detail,
    features: table,
    timings_s: timings,
    report: reportPaths(dir),
    ...(deploy ? { deploy } : {}),
  };
  await writeReports(result, {
    candidate: candidateScores && prCurve(candidateScores, rows.labels),
    champion: prCurve(championScores, rows.labels),
    reliability: calibration.eceBins,
  });
  say(`[5/5] report: ${result.report.html} (${timings.total} s in all)`);
  io.out(jsonLine(result) + '\n');
  return { exitCode, result };
}

function measure(scores: Float32Array, rows: GateRows): Scored {
  return {
    ap: averagePrecision(scores, rows.labels),
    auc: aucRoc(scores, rows.labels),
    cp100: cardPrecisionAtK({ scores, labels: rows.labels, cards: rows.cards, days: rows.days }, 100).mean,
  };
}

function calibrationFigures(raw: unknown, scores: Float32Array | undefined, rows: GateRows, b: GateBounds): CalibrationFigures {
  const rate = rows.frauds / rows.n;
  const noSkillBrier = rate * (1 - rate);
  const problem = calibrationProblem(raw);
  if (problem || !scores) return { problem, fraudRate: rate, noSkillBrier };
  const p = calibrated(raw as Calibration, scores);
  const e = eceEqualMass(p, rows.labels, b.eceBins);
  return { fraudRate: rate, noSkillBrier, brier: brier(p, rows.labels), ece: e.ece, eceBins: e.bins };
}

async function deployCandidate(
  o: RetrainOptions,
  io: RetrainIo,
  g: { passed: boolean; candidateRef: string; championRef: string; championPin?: ModelPin },
): Promise<DeployOutcome> {
  const d = o.deploy!;
  if (!g.passed) return { mode: d.mode, written: false, why: `the gate failed: ${g.candidateRef} is not deployed` };
  try {
    const deployments = io.deployments!;
    const plan = planDeployment({
      gatePassed: g.passed,
      mode: d.mode,
      sharePercent: d.sharePercent,
      candidate: await pinOf(o.modelsDir, g.candidateRef),
      gateChampion: g.championPin ?? (await pinOf(o.modelsDir, g.championRef)),
      current: await deployments.current(),
      requestedBy: d.requestedBy,
      reason: d.reason || `retrain gate passed: ${g.candidateRef} vs ${g.championRef}`,
      now: (io.now ?? Date.now)(),
    });
    if (!plan.write) return { mode: d.mode, written: false, why: plan.why };
    await verifySpec(o.modelsDir, plan.spec);
    const revision = await deployments.write(plan.spec);
    return { mode: d.mode, written: true, revision, spec: deployments.describe(plan.spec) };
  } catch (err) {
    if (err instanceof DeploymentRefused) return { mode: d.mode, written: false, why: `refused (${err.reason}): ${err.message}` };
    throw err;
  }
}
