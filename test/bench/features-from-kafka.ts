/**
 * replay_features_eps: the feature table replayed from Kafka (`fraudscore features
 * --from-kafka`) against the in-process feature engine on the same events.
 *
 * A simulated world (default: 30 days of the default 5,000 cards / 10,000 terminals, seed 42)
 * is published to fresh topics (4 transaction partitions, 1 outcomes partition, as `fraudscore
 * topics` makes them) on the broker given, then, `passes` times each (median kept):
 *
 *   eps           the replay: plan (offsets by timestamp, end offsets), read both topics
 *                 read_committed in a throwaway group, decode, check, join, order, features,
 *                 CSV; events (transactions + outcomes) per wall second, start to renamed file;
 *   inProcessEps  the same events already in memory (generated before the clock starts), through
 *                 the same feature engine (featureRows) into the same CSV writer: what
 *                 bench:features times (events in memory, the engine, median of passes), with
 *                 the table written as the replay writes it rather than a model call;
 *   ratio         eps / inProcessEps (target >= 0.5).
 *
 * The last line on stdout is {"eps":…,"txEps":…,"inProcessEps":…,"ratio":…} (txEps: the replay in
 * transactions per second, the unit of bench:features); details go to stderr. The
 * two tables are checked byte-identical; the topics are deleted at the end.
 *
 *   node --import tsx test/bench/features-from-kafka.ts <host:port[,…]> [days] [customers] [passes]
 *   npm run bench:features-kafka -- <host:port[,…]> [days] [customers] [passes]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKafkaTopicSource } from '../../services/cli/src/history/kafka-source.js';
import { writeKafkaFeatureTable } from '../../services/cli/src/history/replay.js';
import { createCodecs } from '../../services/common/src/contracts.js';
import { createKafka, parseBrokers } from '../../services/common/src/kafka.js';
import { createFeatureEngine, FEATURE_COUNT, featureRows, writeFeaturesCsv } from '../../services/scorer/src/features/index.js';
import { ensureTopics } from '../../services/scorer/src/source/topics.js';
import { DEFAULT_SIMULATION, publishSimulation, resolveSimulationOptions, simulate, type SimEvent } from '../../services/simulator/src/index.js';

const brokerArg = process.argv[2] ?? process.env.KAFKA_BROKERS;
if (!brokerArg) {
  process.stderr.write('usage: features-from-kafka.ts <host:port[,…]> [days=30] [customers=5000] [passes=3]\n');
  process.exit(2);
}
const DAYS = Number(process.argv[3] ?? 30);
const CUSTOMERS = Number(process.argv[4] ?? DEFAULT_SIMULATION.customers);
const PASSES = Number(process.argv[5] ?? 3);
const sim = { seed: 42, days: DAYS, customers: CUSTOMERS, terminals: CUSTOMERS * 2 };
const since = resolveSimulationOptions(sim).startMs;

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const rate = (n: number): string => Math.round(n).toLocaleString('en-US');
const log = (line: string): void => void process.stderr.write(`${line}\n`);

const kafka = createKafka({ brokers: parseBrokers(brokerArg), clientId: 'bench-features-from-kafka' });
const id = randomUUID().slice(0, 8);
const topics = { transactions: `bench-replay-${id}-transactions`, outcomes: `bench-replay-${id}-outcomes` };
const dir = await mkdtemp(join(tmpdir(), 'features-from-kafka-'));
const codecs = createCodecs('confluent');
const rules = { limits: { maxAmountMinor: 100_000_000, maxFutureSkewMs: 300_000 }, wireFormat: 'confluent' };

try {
  await ensureTopics(kafka, [{ topic: topics.transactions, numPartitions: 4 }, { topic: topics.outcomes, numPartitions: 1 }]);
  const published = await publishSimulation(kafka, { ...sim, topics });
  const events = published.transactions + published.outcomes;
  log(`features-from-kafka: ${rate(published.transactions)} transactions + ${rate(published.outcomes)} outcomes published in ${(published.elapsedMs / 1000).toFixed(1)} s (${CUSTOMERS} cards, ${CUSTOMERS * 2} terminals, ${DAYS} days, seed ${sim.seed}) to ${brokerArg}`);

  // The replays run first, before the simulation is held in memory for the in-process passes:
  // a replay process holds no simulation, and a heap twice as large slows its collector.
  const replayRates: number[] = [];
  const readRates: number[] = [];
  const replayOut = join(dir, 'replay.csv');
  for (let i = 0; i < PASSES; i++) {
    const started = performance.now();
    const source = await openKafkaTopicSource(kafka, { groupPrefix: 'bench-features' });
    let r;
    try {
      r = await writeKafkaFeatureTable({ source, topics, window: { since }, codecs, rules, out: replayOut, progress: null });
    } finally {
      await source.close();
    }
    replayRates.push(events / ((performance.now() - started) / 1000));
    readRates.push(events / (r.readMs / 1000));
    if (!r.written || r.badLines > 0 || r.rows !== published.transactions) throw new Error(`the replay wrote ${r.rows} rows, ${r.badLines} bad records`);
    log(`replay pass ${i + 1}/${PASSES}: ${rate(replayRates[i]!)} ev/s (read + decode + check + join + order ${rate(readRates[i]!)})`);
  }

  const inMemory: SimEvent[] = [...simulate(sim)];
  if (inMemory.length !== events) throw new Error(`published ${events} events, the simulation has ${inMemory.length}`);
  const inProcessRates: number[] = [];
  const engineRates: number[] = [];
  const inProcessOut = join(dir, 'in-process.csv');
  for (let i = 0; i < PASSES; i++) {
    let started = performance.now();
    await writeFeaturesCsv(featureRows(inMemory, createFeatureEngine(), new Float64Array(FEATURE_COUNT)), inProcessOut);
    inProcessRates.push(events / ((performance.now() - started) / 1000));

    const engine = createFeatureEngine();
    started = performance.now();
    for (const e of inMemory) {
      if (e.kind === 'outcome') engine.terminals.addOutcome(e.outcome);
      else engine.compute(e.tx);
    }
    engineRates.push(events / ((performance.now() - started) / 1000));
    log(`in-process pass ${i + 1}/${PASSES}: ${rate(inProcessRates[i]!)} ev/s (engine alone ${rate(engineRates[i]!)})`);
  }
  const identical = (await readFile(replayOut)).equals(await readFile(inProcessOut));
  log(`tables byte-identical: ${identical ? 'yes' : 'NO'}`);
  if (!identical) process.exitCode = 1;

  const eps = median(replayRates);
  const inProcessEps = median(inProcessRates);
  log(`replay ${rate(eps)} ev/s, in-process ${rate(inProcessEps)} ev/s (median of ${PASSES}); engine alone ${rate(median(engineRates))} ev/s`);
  // txEps: the same replay in transactions per second, the unit bench:features reports.
  console.log(JSON.stringify({ eps: Math.round(eps), txEps: Math.round((eps * published.transactions) / events), inProcessEps: Math.round(inProcessEps), ratio: Number((eps / inProcessEps).toFixed(3)) }));
} finally {
  await rm(dir, { recursive: true, force: true });
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topics.transactions, topics.outcomes] }).catch(() => {});
  await admin.disconnect();
}
