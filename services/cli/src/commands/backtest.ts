/**
 * `fraudscore backtest --candidate <name/version> [--champion <name/version>] --since <date>
 * --until <date>`: what would have changed had the candidate decided instead of the champion.
 *
 * The transactions with since <= eventTime < until are replayed from the input topics exactly
 * as `features --from-kafka` replays them (history/replay.ts, read-only: read_committed to the
 * end offsets captured at start, the 37-day look-back fed to the feature engine but not kept,
 * nothing committed, the throwaway group deleted, nothing written to any topic); both models
 * score the same float32 feature rows through the scorer's loadModel (digest, feature contract,
 * warm-up) in the scoring loop's batches, each decides by its own manifest thresholds through
 * the scorer's policy, and backtest/compare.ts compares them against the labels the outcomes
 * topic held by the end of the replay. Exit 0 with a report, 2 on bad input (an unknown or
 * refused model, a bad or empty date range, a missing topic, too many bad records), 1 when
 * something else fails (the broker).
 */
import { resolve, join } from 'node:path';
import type { Command } from 'commander';
import { createCodecs } from '../../../common/src/contracts.js';
import { createKafka } from '../../../common/src/kafka.js';
import { FEATURE_COUNT } from '../../../scorer/src/features/index.js';
import { loadModel, ModelError, type Model } from '../../../scorer/src/model/load.js';
import { SCORER_CONTRACT } from '../../../scorer/src/service.js';
import { assertTopicsExist } from '../../../scorer/src/source/topics.js';
import { compareModels, decide } from '../backtest/compare.js';
import { buildReport, jsonLine, prCurve, writeReports, type BacktestReport, type ModelInfo } from '../backtest/report.js';
import { replayRows, TooManyBadRecords, type ReplayedRows } from '../backtest/rows.js';
import { resolveBrokers } from '../env.js';
import { scoreRows } from '../evaluate/score.js';
import { openKafkaTopicSource, type TopicSource } from '../history/kafka-source.js';
import { LOOKBACK_MS, parseReplayTime, replayConfig } from '../history/replay.js';
import { readDefaultRef } from '../models/catalog.js';

export interface BacktestOptions {
  candidate?: string;
  champion?: string;
  since?: string;
  until?: string;
  modelsDir: string;
  brokers?: string;
  transactionsTopic?: string;
  outcomesTopic?: string;
  wireFormat?: string;
  maxBad?: string;
  out?: string;
}

export interface BacktestIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Progress bars (a TTY); null: none. */
  progress: NodeJS.WriteStream | null;
  /** The command's exit code (default: process.exitCode). */
  exit: (code: number) => void;
}

export interface BacktestDeps {
  /** The topics; default: a kafkajs TopicSource on the brokers (and the topics are checked first). */
  source?: TopicSource;
  env?: Record<string, string | undefined>;
  /** Time stamp of the default report folder. */
  now?: () => number;
}

/** Input the backtest cannot run on: exit 2 with the message. */
export class BacktestInputError extends Error {
  override name = 'BacktestInputError';
}

export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

const REF = /^[\w.-]+\/[\w.-]+$/;
const LOOKBACK_DAYS = LOOKBACK_MS / 86_400_000;

const defaultIo: BacktestIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  progress: process.stderr.isTTY ? process.stderr : null,
  exit: (code) => {
    process.exitCode = code;
  },
};

function bad<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new BacktestInputError((err as Error).message);
  }
}

/** [since, until) from the flags, checked before anything is loaded or connected. */
export function backtestWindow(since: string | undefined, until: string | undefined): { since: number; until: number } {
  if (since === undefined || until === undefined) throw new BacktestInputError('backtest needs --since <date> and --until <date>: the eventTime range [since, until) to replay');
  const window = bad(() => ({ since: parseReplayTime(since, '--since'), until: parseReplayTime(until, '--until') }));
  if (window.until <= window.since) throw new BacktestInputError(`--until (${until}) must be after --since (${since})`);
  return window;
}

function maxBadOf(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = v.trim() === '' ? Number.NaN : Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new BacktestInputError(`--max-bad: expected a whole number >= 0, got ${JSON.stringify(v)}`);
  return n;
}

/** Loads name/version from the models folder as the scorer does; a refused or unknown model is bad input. */
async function loadRef(role: string, ref: string, modelsDir: string): Promise<Model> {
  if (!REF.test(ref)) throw new BacktestInputError(`--${role} takes name/version (a folder under ${modelsDir}), got ${JSON.stringify(ref)}`);
  try {
    return await loadModel(join(modelsDir, ref), SCORER_CONTRACT);
  } catch (err) {
    if (!(err instanceof ModelError)) throw err;
    const what = err.reason === 'unknown_model' ? `unknown ${role} ${ref}` : `the scorer refuses the ${role} ${ref} (${err.reason})`;
    throw new BacktestInputError(`${what}: ${err.message}`);
  }
}

const info = (m: Model): ModelInfo => ({ ref: `${m.ref.name}/${m.ref.version}`, digest: m.ref.digest, thresholds: m.manifest.thresholds });
const seconds = (ms: number): number => Math.round(ms) / 1000;

/** The backtest itself: checks, replay, scoring, comparison, reports. Throws BacktestInputError on bad input. */
export async function runBacktest(o: BacktestOptions, io: BacktestIo, deps: BacktestDeps = {}): Promise<BacktestReport> {
  const t0 = performance.now();
  const env = deps.env ?? process.env;
  if (o.candidate === undefined) throw new BacktestInputError('backtest needs --candidate <name/version>: the model to try');
  const window = backtestWindow(o.since, o.until);
  const maxBad = maxBadOf(o.maxBad);
  const config = bad(() => replayConfig(env));
  const wireFormat = o.wireFormat ?? config.wireFormat;
  if (wireFormat !== 'confluent' && wireFormat !== 'plain') throw new BacktestInputError(`--wire-format must be confluent or plain, not ${wireFormat}`);
  const topics = { transactions: o.transactionsTopic ?? config.topics.transactions, outcomes: o.outcomesTopic ?? config.topics.outcomes };
  if (topics.transactions === topics.outcomes) throw new BacktestInputError(`the transactions and outcomes topics must differ (both are ${topics.transactions})`);
  const championRef = o.champion ?? (await readDefaultRef(o.modelsDir));
  if (championRef === undefined) throw new BacktestInputError(`no champion: ${join(o.modelsDir, 'default.json')} names none; give --champion name/version`);
  const stamp = new Date(deps.now?.() ?? Date.now()).toISOString().replace(/[:.]/g, '-');
  const dir = resolve(o.out ?? join('runs', `backtest-${stamp}`));

  // Both models first: an unknown or refused one is known before anything is read.
  const candidate = await loadRef('candidate', o.candidate, o.modelsDir);
  let champion: Model | undefined;
  try {
    champion = await loadRef('champion', championRef, o.modelsDir);
    const loadedAt = performance.now();

    let source = deps.source;
    if (!source) {
      const kafka = createKafka({ brokers: bad(() => resolveBrokers(o.brokers)), clientId: 'fraudscore-backtest' });
      try {
        await assertTopicsExist(kafka, [topics.transactions, topics.outcomes]);
      } catch (err) {
        if ((err as Error).message.startsWith('topic(s) missing')) throw new BacktestInputError((err as Error).message);
        throw err;
      }
      source = await openKafkaTopicSource(kafka, { groupPrefix: 'fraudscore-backtest' });
    }
    io.err(`backtest: ${info(candidate).ref} (candidate) vs ${info(champion).ref} (champion), eventTime [${new Date(window.since).toISOString()}, ${new Date(window.until).toISOString()}) from ${topics.transactions} + ${topics.outcomes} (and the ${LOOKBACK_DAYS} days before, to warm the features)\n`);
    let replayed: ReplayedRows;
    try {
      replayed = await replayRows({
        source, topics, window, codecs: createCodecs(wireFormat), rules: { limits: config.limits, wireFormat }, maxBad, progress: io.progress,
      });
    } catch (err) {
      if (!(err instanceof TooManyBadRecords)) throw err;
      for (const line of err.replay.errorLines) io.err(`${line}\n`);
      throw new BacktestInputError(err.message);
    } finally {
      if (!deps.source) await source.close();
    }
    const replayedAt = performance.now();
    const { rows, replay } = replayed;
    for (const line of replay.errorLines) io.err(`${line}\n`);

    const championScores = await scoreRows(champion, rows.X, rows.n, FEATURE_COUNT);
    const candidateScores = await scoreRows(candidate, rows.X, rows.n, FEATURE_COUNT);
    const comparison = compareModels(
      rows,
      { scores: championScores, decisions: decide(championScores, champion.manifest.thresholds) },
      { scores: candidateScores, decisions: decide(candidateScores, candidate.manifest.thresholds) },
    );
    const scoredAt = performance.now();

    const notes: string[] = [];
    const warnings = replay.truncated.map((t) => `${t.topic} partition ${t.partition} holds nothing before offset ${t.low} (retention or compaction): history published before that is gone, so the first rows after --since may miss some of their ${LOOKBACK_DAYS} days of look-back`);
    notes.push(...warnings);
    if (rows.n === 0) notes.push('no transaction in that range: --since and --until are event times (eventTime), not publish times');
    else if (comparison.labelled < rows.n) notes.push(`${rows.n - comparison.labelled} of ${rows.n} rows have no outcome on the topic yet: they count in the decisions and rates, not in AP, precision, recall or the fraud amounts`);
    if (rows.n > 0 && comparison.frauds === 0) notes.push('no labelled fraud in the range: AP, recall and the fraud amounts are undefined (null)');
    if (replay.badRecords > 0) notes.push(`skipped ${replay.badRecords} bad record(s) (--max-bad ${maxBad}): ${replay.byKind}`);
    if (replay.droppedOutcomes > 0) notes.push(`dropped ${replay.droppedOutcomes} outcome(s) whose transaction was a skipped record`);
    for (const w of warnings) io.err(`warning: ${w}\n`);

    const report = buildReport({
      candidate: info(candidate),
      champion: info(champion),
      window,
      topics,
      comparison,
      replay,
      notes,
      timings_s: { load_models: seconds(loadedAt - t0), replay: seconds(replayedAt - loadedAt), score_and_compare: seconds(scoredAt - replayedAt), total: 0 },
      dir,
    });
    const curves = { champion: prCurve(championScores, rows.labels), candidate: prCurve(candidateScores, rows.labels) };
    report.timings_s.total = seconds(performance.now() - t0);
    await writeReports(report, curves);
    return report;
  } finally {
    await candidate.dispose();
    await champion?.dispose();
  }
}

/**
 * Registers `fraudscore backtest` (main.ts: `registerBacktest(program);`). `io` is for tests:
 * by default stdout, stderr and process.exitCode.
 */
export function registerBacktest(program: Command, io: BacktestIo = defaultIo, deps: BacktestDeps = {}): void {
  const env = deps.env ?? process.env;
  program
    .command('backtest')
    .description('replay an eventTime range of the input topics (read-only) through a candidate and the champion on the same features, and report how decisions, flag rates, realized AP/precision/recall and the fraud caught vs reviews needed would change; exit 0 report, 2 bad input')
    .option('--candidate <name/version>', 'the model to try (a folder under --models-dir)')
    .option('--champion <name/version>', 'the model to compare with (default: <models-dir>/default.json)')
    .option('--since <date>', `first eventTime replayed (a date: its UTC midnight, an ISO 8601 date-time with a zone, or 42d: 42 days before today); the ${LOOKBACK_DAYS} days before it are read to warm the features, not scored`)
    .option('--until <date>', 'replay the transactions with eventTime before this')
    .option('--models-dir <dir>', 'model artifacts (env FRAUD_MODELS_DIR)', env.FRAUD_MODELS_DIR || 'models')
    .option('--brokers <list>', 'Kafka bootstrap servers host:port[,…] (default KAFKA_BROKERS, FRAUD_KAFKA_BROKERS, the local broker)')
    .option('--transactions-topic <name>', 'default FRAUD_TOPIC_TRANSACTIONS, else transactions')
    .option('--outcomes-topic <name>', 'default FRAUD_TOPIC_OUTCOMES, else transaction-outcomes')
    .option('--wire-format <f>', 'confluent | plain (default FRAUD_WIRE_FORMAT, else confluent)')
    .option('--max-bad <n>', 'bad records to skip before refusing (default 0)')
    .option('--out <dir>', 'report folder: report.json and report.html (default runs/backtest-<time>)')
    .addHelpText('after', `
Labels: AP, precision, recall and the fraud amounts are realized over the transactions whose
outcome was on the outcomes topic by the end of the replay (its end offsets when the replay
began); the others count in the decisions, flag rates and reviews only. Read-only: nothing
is committed by any consumer group, and nothing is written to any topic.`)
    // Bad flags are bad input: exit 2, as every other refusal before the replay.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.badInput))
    .action(async (o: BacktestOptions) => {
      try {
        const report = await runBacktest(o, io, deps);
        io.out(`${jsonLine(report)}\n`);
        io.err(`backtest: report ${report.report.html}\n`);
        io.exit(EXIT.ok);
      } catch (err) {
        if (!(err instanceof BacktestInputError)) throw err;
        io.err(`backtest: ${err.message}\n`);
        io.exit(EXIT.badInput);
      }
    });
}
