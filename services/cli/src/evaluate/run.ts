/**
 * `fraudscore evaluate`, end to end: feature table (cached, given or generated) → models
 * (given, found, or freshly trained by services/trainer) → the handbook's test split with
 * known-compromised cards removed → scores from onnxruntime-node via the scorer's loadModel →
 * AUC ROC, Average Precision, Card Precision@100 → table, then one JSON line.
 *
 * Progress and timings go to stderr; stdout carries only the table and, last, the JSON line.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../scorer/src/features/index.js';
import { loadModel, resolveModelDir } from '../../../scorer/src/model/load.js';
import { createProgress, type SimulationOptions } from '../../../simulator/src/index.js';
import { gatherRows, loadEvalTable } from './dataset.js';
import { ensureFeatures, type Generate } from './features-cache.js';
import { aucRoc, averagePrecision, cardPrecisionAtK } from '../../../common/src/ranking-metrics.js';
import { listModels, pickReported, readDefaultModel, trainModels } from './models.js';
import { describeSplit, makeSplit, selectTestRows } from './protocol.js';
import { formatTable, jsonLine, type ModelResult } from './report.js';
import { scoreRows, SCORE_BATCH } from './score.js';

export interface EvaluateOptions {
  sim: SimulationOptions;
  /** name/version specs; empty = every model in modelsDir (or every trained one). */
  models: string[];
  modelsDir: string;
  /** Train fresh models into runs/evaluate-<timestamp>/models first. */
  train: boolean;
  /** Pass --quick to the trainer (one small configuration per family; smoke runs). */
  trainQuick?: boolean;
  /** Features CSV to use; default: the cache. */
  features?: string;
  trainStart: string;
  deltaTrain: number;
  deltaDelay: number;
  deltaTest: number;
  batch?: number;
}

export interface EvaluateIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Writes the feature table for a simulation (writeFeatureTable). */
  generate: Generate;
  /** Where --train puts its models dir (default: ./runs). */
  runsDir?: string;
}

export interface EvaluateSummary {
  results: ModelResult[];
  reported: ModelResult | undefined;
  timingsMs: Record<string, number>;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

interface TrainerFigures {
  metrics?: { test?: { auc_roc?: number; average_precision?: number; cp100?: number } };
  training_data?: { source?: { sha256?: string }; splits?: { test?: { train?: string[]; test?: string[] } } };
  framework?: { estimator?: string };
}

export async function runEvaluate(o: EvaluateOptions, io: EvaluateIo): Promise<EvaluateSummary> {
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const split = makeSplit({ trainStart: o.trainStart, deltaTrain: o.deltaTrain, deltaDelay: o.deltaDelay, deltaTest: o.deltaTest });
  const splitDesc = describeSplit(split);
  const seed = o.sim.seed ?? 0;

  // 1. Feature table.
  let t = Date.now();
  const features = await ensureFeatures(o.features, o.sim, io.generate);
  timings.features = Date.now() - t;
  io.err(`evaluate: ${features.note} (${secs(timings.features)})\n`);

  // 2. Models.
  let modelsDir = o.modelsDir;
  if (o.train) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    modelsDir = join(resolve(io.runsDir ?? 'runs'), `evaluate-${stamp}`, 'models');
    const valTrainStart = new Date(split.trainStartMs - 2 * 7 * 86_400_000).toISOString().slice(0, 10);
    io.err(`evaluate: training with services/trainer into ${modelsDir} (validation split from ${valTrainStart})\n`);
    t = Date.now();
    await trainModels({
      features: resolve(features.path), modelsDir, trainStart: o.trainStart, valTrainStart,
      deltaTrain: o.deltaTrain, deltaDelay: o.deltaDelay, deltaTest: o.deltaTest, dataSeed: seed, quick: o.trainQuick,
    });
    timings.train = Date.now() - t;
    io.err(`evaluate: trained in ${secs(timings.train)}\n`);
  }
  const specs = o.models.length ? o.models : await listModels(modelsDir);
  if (!specs.length) {
    throw new Error(`no models in ${modelsDir} (no <name>/<version>/manifest.json): pass --train, --model or --models-dir`);
  }
  const dirDefault = await readDefaultModel(modelsDir);

  // 3. The test split.
  t = Date.now();
  // Bars only on a terminal: elsewhere the one-line summaries below say it all.
  const bars = process.stderr.isTTY === true;
  const progress = bars ? createProgress({ label: 'evaluate: read features', stream: process.stderr }) : undefined;
  const table = await loadEvalTable(features.path, split, {
    onProgress: (rowsRead, _kept, frauds) => progress?.update({ transactions: rowsRead, outcomes: 0, frauds, elapsedMs: Date.now() - t }),
  });
  progress?.stop();
  const sel = selectTestRows(table, split);
  timings.load = Date.now() - t;
  io.err(`evaluate: ${table.rowsRead.toLocaleString('en-US')} rows read, ${table.n.toLocaleString('en-US')} in ${splitDesc.train[0]}..${splitDesc.test[1]}, ` +
    `${sel.testRows.toLocaleString('en-US')} test rows (${secs(timings.load)})\n`);
  if (sel.testRows === 0 || sel.testFrauds === 0 || sel.testFrauds === sel.testRows) {
    throw new Error(`the test days ${splitDesc.test[0]}..${splitDesc.test[1]} have ${sel.testRows} rows and ${sel.testFrauds} frauds in ${features.path}: ` +
      'check --train-start and the delays against the simulated days');
  }
  const X = gatherRows(table, sel.rows);
  const labels = new Uint8Array(sel.testRows);
  const cards = new Int32Array(sel.testRows);
  const days = new Int32Array(sel.testRows);
  sel.rows.forEach((r, i) => {
    labels[i] = table.labels[r] as number;
    cards[i] = table.cards[r] as number;
    days[i] = table.days[r] as number;
  });

  // 4. Score and measure each model.
  let dataSha: string | undefined;
  const results: ModelResult[] = [];
  for (const spec of specs) {
    const dir = await resolveModelDir(modelsDir, spec);
    const model = await loadModel(dir, { features: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION });
    try {
      t = Date.now();
      const bar = bars ? createProgress({ label: `evaluate: score ${spec}`, total: sel.testRows, stream: process.stderr }) : undefined;
      const scores = await scoreRows(model, X, sel.testRows, FEATURE_COUNT, {
        batch: o.batch ?? SCORE_BATCH,
        onProgress: (done) => bar?.update({ transactions: done, outcomes: 0, frauds: 0, elapsedMs: Date.now() - t }),
      });
      bar?.stop();
      const scoreMs = Date.now() - t;
      timings[`score ${spec}`] = scoreMs;
      const cp = { scores, labels, cards, days };
      const m = model.manifest as unknown as TrainerFigures;
      const test = m.metrics?.test;
      let trainer: ModelResult['trainer'];
      if (test) {
        const source = m.training_data?.source?.sha256;
        if (source && dataSha === undefined) dataSha = await fileSha256(features.path);
        const tt = m.training_data?.splits?.test;
        const sameSplit = tt?.train?.[0] === splitDesc.train[0] && tt?.test?.[0] === splitDesc.test[0] && tt?.test?.[1] === splitDesc.test[1];
        trainer = {
          auc: test.auc_roc, ap: test.average_precision, cp100: test.cp100,
          sameData: source === undefined ? undefined : source === dataSha && sameSplit,
        };
      }
      results.push({
        model: spec,
        estimator: m.framework?.estimator,
        auc: aucRoc(scores, labels),
        ap: averagePrecision(scores, labels),
        cp100: cardPrecisionAtK(cp, 100).mean,
        cp100Hb: cardPrecisionAtK(cp, 100, { removeDetected: true }).mean,
        trainer,
        scoreMs,
      });
      io.err(`evaluate: scored ${spec}: ${sel.testRows.toLocaleString('en-US')} rows in ${secs(scoreMs)} ` +
        `(${Math.round((sel.testRows * 1000) / Math.max(scoreMs, 1)).toLocaleString('en-US')} rows/s)\n`);
    } finally {
      await model.dispose();
    }
  }

  // 5. Report.
  const reportedSpec = pickReported(specs, dirDefault);
  const reported = results.find((r) => r.model === reportedSpec);
  if (dirDefault === undefined || reportedSpec !== dirDefault) {
    io.err(`evaluate: ${dirDefault ? `default ${dirDefault} was not evaluated` : `no ${join(modelsDir, 'default.json')}`}; the JSON line reports ${reportedSpec}\n`);
  }
  timings.total = Date.now() - t0;
  io.err(`evaluate: timings ${Object.entries(timings).map(([k, v]) => `${k} ${secs(v)}`).join(', ')}\n`);
  io.out(formatTable({ results, reported: reportedSpec, dirDefault, split: splitDesc, selection: sel, featuresPath: features.path, modelsDir }));
  if (reported) io.out(jsonLine(reported) + '\n');
  return { results, reported, timingsMs: timings };
}
