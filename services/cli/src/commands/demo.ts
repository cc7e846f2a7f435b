import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Partitioners, type ITopicConfig, type Kafka } from 'kafkajs';
import type { Tracer } from '@opentelemetry/api';
import { startTelemetry } from '../../../scorer/src/telemetry/otel.js';
import { SERVICE_VERSION } from '../../../scorer/src/version.js';
import { acquireTracing } from '../local-jaeger.js';
import { renderPng, writeRunReport } from '../report/index.js';
import { createKafka, fetchEndOffsets } from '../../../common/src/kafka.js';
import { ensureTopics, topicEnvironment, topicSpecs, type TopicPlan } from '../../../scorer/src/source/topics.js';
import { createSimulation, publishEvents, type PublishStats, type SimEvent, type SimulationOptions } from '../../../simulator/src/index.js';
import { POISON_KINDS, poisonRecord } from '../../../simulator/src/poison.js';
import { acquireBroker } from '../local-broker.js';
import { percentile, startMonitor, type Monitor } from '../demo/monitor.js';
import { startScorerChild } from '../scorer-child.js';
import { lifecycleScenario } from '../demo/lifecycle.js';
import { driftScenario, DRIFT_MAX_SECONDS, DRIFT_RATE } from '../demo/drift.js';
import { restScenario } from '../demo/rest.js';
import { secureDemo } from '../demo/secure.js';
import { retrainScenario, RETRAIN_RATE } from '../demo/retrain.js';
import { addDriftOptions, driftOptions, type DriftCliOptions } from '../sim-options.js';
import { DEFAULT_TOPIC_PLAN } from './topics.js';

export interface DemoOptions extends DriftCliOptions {
  scenario: 'standard' | 'lifecycle' | 'drift' | 'retrain' | 'rest' | 'secure';
  seconds: number;
  /** Simulated days to publish (undefined: until --seconds end it). */
  days?: number;
  rate: number;
  customers: number;
  terminals: number;
  seed: number;
  poisonEvery: number;
  partitions: number;
  delivery: 'at-least-once' | 'exactly-once';
  /** On the secure broker: SASL_SSL, a principal per client, ACLs probed, signed models. */
  secure?: boolean;
}

/**
 * What a scenario other than the standard one adds to the run (demo/lifecycle.ts): same
 * broker, topics, scorer, traffic and drain; its own topics, work while traffic flows, and end.
 */
export interface DemoScenario {
  /**
   * Before the topics are created (`scorerEnv`: what the demo gives the scorer): topics to
   * create besides the standard ones, more scorer environment; `plan`: the run's own topics
   * instead of the standard ones (a fresh world: no card state or labels of earlier runs);
   * `simulation`: settings of the simulated world.
   */
  prepare(kafka: Kafka, stamp: string, scorerEnv: Readonly<Record<string, string>>): Promise<{ topics: ITopicConfig[]; env: Record<string, string>; plan?: TopicPlan; simulation?: Partial<SimulationOptions> }>;
  /** Runs while traffic is published; never rejects. */
  publishing(adminUrl: string): Promise<void>;
  /** Appended to the live progress line. */
  progress(): string;
  /** Each simulated event as it is handed to the publisher (the stream's clock). */
  observe?(event: SimEvent): void;
  /** Publishing is over (ended, or stopped by --seconds or an error): no more events come. */
  published?(): void;
  /** After the outputs drained and the scorer stopped: its closing lines, ending with its summary line; the exit code. */
  finish(run: DemoEnd): Promise<number>;
}

export interface DemoEnd {
  /** The transactions topic's end offsets before and after publishing: this run's inputs are [start, end). */
  inputs: { start: Map<number, bigint>; end: Map<number, bigint> };
  /** Decisions read back for this run's inputs, and outcomes published. */
  scored: number;
  outcomes: number;
  drained: boolean;
  scorerExit: number | null;
}

const SCENARIOS = ['standard', 'lifecycle', 'drift', 'retrain', 'rest', 'secure'] as const;

export function registerDemo(program: Command): void {
  const demo = program
    .command('demo')
    .description('end to end on a real broker: start Kafka if none is configured, create topics, start the scorer, publish simulated traffic with a few poison records, show live figures')
    .option('--seconds <n>', 'how long to publish', (v) => Number(v), 60)
    .option('--rate <n>', 'events per second offered (transactions + outcomes)', (v) => Number(v), 2000)
    .option('--customers <n>', 'simulated cards', (v) => Number(v), 5000)
    .option('--terminals <n>', 'simulated terminals', (v) => Number(v), 10000)
    .option('--seed <n>', 'simulation seed', (v) => Number(v), 42)
    .option('--poison-every <n>', 'publish one malformed record per n transactions (0: none)', (v) => Number(v), 500)
    .option('--partitions <n>', 'partitions of the transactions topic (when created here)', (v) => Number(v), 4)
    .option('--delivery <mode>', 'exactly-once | at-least-once', 'exactly-once')
    .option('--secure', 'on the secure broker (kafka.sh up --secure): SASL_SSL with SCRAM-SHA-512, a principal per client, the ACLs probed before traffic, models verified against the release key')
    .option('--days <n>', 'simulated days to publish (default: as many as --seconds allow; drift: 54; retrain: 200)', (v) => Number(v))
    .option('--scenario <name>', 'standard | lifecycle (shadow, canary, promotion and rollback of a model while traffic flows, then an audit) | drift (a world that drifts mid-run, watched by the model monitor) | retrain (the world drifts, the champion decays: retrain from Kafka on the post-drift weeks, gate, candidate as shadow, then promoted) | rest (REST requests to the gateway at a steady rate beside the traffic, each answer checked against the stream) | secure (the same as --secure)', 'standard');
  // A drifting world (the simulator's --drift-* options), for watching the monitor react.
  addDriftOptions(demo).action(async (opts: DemoOptions) => {
      for (const k of ['seconds', 'rate', 'customers', 'terminals', 'partitions'] as const) {
        if (!(opts[k] > 0)) throw new Error(`--${k} must be a positive number`);
      }
      if (opts.days !== undefined && !(Number.isInteger(opts.days) && opts.days > 0)) throw new Error('--days must be a positive whole number');
      if (!SCENARIOS.includes(opts.scenario)) throw new Error(`--scenario must be one of ${SCENARIOS.join(', ')}`);
      // `--scenario secure` is `--secure`: the standard scenario on the secure broker.
      if (opts.scenario === 'secure') Object.assign(opts, { scenario: 'standard', secure: true });
      if (opts.secure && opts.scenario !== 'standard') throw new Error('--secure runs the standard scenario');
      if (opts.scenario === 'lifecycle' && opts.delivery !== 'exactly-once') throw new Error('--scenario lifecycle runs exactly-once: its audit counts every duplicate');
      if (opts.scenario === 'retrain' && opts.delivery !== 'exactly-once') throw new Error('--scenario retrain runs exactly-once: its audit counts every duplicate');
      if (opts.scenario === 'drift' || opts.scenario === 'retrain') {
        // Weeks of simulated time: published as fast as the scorer takes them, unless asked otherwise.
        if (demo.getOptionValueSource('rate') === 'default') opts.rate = opts.scenario === 'retrain' ? RETRAIN_RATE : DRIFT_RATE;
        if (demo.getOptionValueSource('seconds') === 'default') opts.seconds = DRIFT_MAX_SECONDS;
      }
      const scenario = opts.scenario === 'lifecycle' ? lifecycleScenario(opts) : opts.scenario === 'drift' ? driftScenario(opts) : opts.scenario === 'retrain' ? retrainScenario(opts) : opts.scenario === 'rest' ? restScenario() : undefined;
      process.exitCode = await runDemo(opts, scenario);
    });
}

async function runDemo(opts: DemoOptions, scenario?: DemoScenario): Promise<number> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const runDir = join('runs', `demo-${stamp}`);
  mkdirSync(runDir, { recursive: true });
  // The demo is a world of its own (its topics, test-vector poison ids): it runs on
  // schemas/ids.json's ids, and so do the scorer and gateway it starts (they inherit this env).
  if (process.env.FRAUD_SCHEMA_REGISTRY_URL || process.env.FRAUD_SCHEMA_REGISTRY_URL_FILE) console.log('demo: FRAUD_SCHEMA_REGISTRY_URL ignored: the demo runs on the embedded schema ids (schemas/ids.json)');
  delete process.env.FRAUD_SCHEMA_REGISTRY_URL;
  delete process.env.FRAUD_SCHEMA_REGISTRY_URL_FILE;
  const secure = opts.secure ? secureDemo() : undefined;
  const broker = secure?.broker ?? acquireBroker();
  console.log(`demo: Kafka at ${broker.brokers.join(',')}${secure ? ' (SASL_SSL)' : ''}${broker.startedHere ? ' (started here)' : ''}; run files in ${runDir}`);
  // Topics, poison records and the read-back are the operator's (admin); traffic is the publisher's.
  const kafka = secure?.kafka('admin', 'fraudscore-demo') ?? createKafka({ brokers: broker.brokers, clientId: 'fraudscore-demo' });
  const publisher = secure?.kafka('publisher', 'fraudscore-demo-publisher') ?? kafka;
  const tracing = acquireTracing();
  console.log(tracing ? `demo: tracing every event to ${tracing.otlpHttp}` : 'demo: no tracing (set FRAUD_OTEL_ENDPOINT, or build the local Jaeger once with `npm run jaeger:up`)');
  const telemetry = tracing ? startTelemetry({ serviceName: 'fraudscore-publisher', serviceVersion: SERVICE_VERSION, endpoint: tracing.otlpHttp, sampleRatio: 1 }) : undefined;
  let monitor: Monitor | undefined;
  let scorer: Awaited<ReturnType<typeof startScorerChild>> | undefined;
  try {
    const scorerEnv: Record<string, string> = {
      FRAUD_KAFKA_BROKERS: broker.brokers.join(','),
      FRAUD_DELIVERY: opts.delivery,
      FRAUD_LOG_LEVEL: 'info',
      ...(tracing ? { FRAUD_OTEL_ENDPOINT: tracing.otlpHttp, FRAUD_TRACE_SAMPLE_RATIO: '1' } : {}),
      ...secure?.scorerEnv,
    };
    const extra = await scenario?.prepare(kafka, stamp, scorerEnv);
    Object.assign(scorerEnv, extra?.env);
    const topics = extra?.plan ?? DEFAULT_TOPIC_PLAN;
    if (extra?.plan) Object.assign(scorerEnv, topicEnvironment(extra.plan));
    await ensureTopics(kafka, [...topicSpecs(topics, opts.partitions), ...(extra?.topics ?? [])]);
    await secure?.check(topics);
    const startOffsets = await endOffsets(kafka, topics.transactions);
    scorer = await startScorerChild(scorerEnv, join(runDir, 'scorer.log'));
    console.log(`demo: scorer ready (admin ${scorer.adminUrl}: /healthz /readyz /metrics); publishing for ${opts.seconds} s at ${opts.rate} events/s`);
    monitor = await startMonitor(kafka, topics, startOffsets);

    const during = scenario?.publishing(scorer.adminUrl);
    const published = await publishWithPoison(publisher, opts, topics, extra?.simulation ?? {}, monitor, telemetry?.tracer, scenario?.progress, scenario?.observe?.bind(scenario)).finally(() => scenario?.published?.());
    const inputEnd = scenario && (await endOffsets(kafka, topics.transactions));
    await during;
    const inputs = published.stats.transactions + published.poison;
    const drained = await waitFor(() => monitor!.accounted() >= inputs, 60_000, () => status(monitor!, published.stats, published.poison, scenario?.progress));
    await writeReport(scorer.adminUrl, runDir);
    const code = await scorer.stop();
    scorer = undefined;
    // Trace export is a view of the run, not its result: a trace backend gone meanwhile is reported, not fatal.
    await telemetry?.shutdown().catch((err: Error) => console.log(`demo: could not flush traces (${err.message})`));
    if (tracing?.query) await saveTraces(tracing.query, runDir);
    const f = monitor.figures;
    console.log(`\ndemo: published ${inputs} transactions (${published.poison} malformed) and ${published.stats.outcomes} outcomes; dead letters by code: ${JSON.stringify(f.byCode)}`);
    if (!drained) console.log(`demo: WARNING ${inputs - monitor.accounted()} inputs without an output after 60 s`);
    if (f.duplicates) console.log(`demo: ${f.duplicates} duplicate outputs (at-least-once redelivery)`);
    console.log(`demo: scorer exited with code ${code}`);
    if (scenario && inputEnd) return await scenario.finish({ inputs: { start: startOffsets, end: inputEnd }, scored: f.scored, outcomes: published.stats.outcomes, drained, scorerExit: code });
    console.log(`demo: ${f.scored} events scored, ${f.flagged} flagged, ${f.deadLettered} dead-lettered, p99 ${percentile(f.latenciesMs, 0.99).toFixed(1)} ms`);
    const verdict = secure?.verdict(readFileSync(join(runDir, 'scorer.log'), 'utf8'));
    if (verdict) console.log(verdict.line);
    return drained && code === 0 && (verdict?.ok ?? true) ? 0 : 1;
  } finally {
    await monitor?.stop().catch(() => {});
    if (scorer) await scorer.stop().catch(() => {});
    tracing?.stop();
    broker.stop();
  }
}

async function publishWithPoison(
  kafka: ReturnType<typeof createKafka>,
  opts: DemoOptions,
  topics: TopicPlan,
  simulation: Partial<SimulationOptions>,
  monitor: Monitor,
  tracer?: Tracer,
  more?: () => string,
  observe?: (e: SimEvent) => void,
): Promise<{ stats: PublishStats; poison: number }> {
  const poisonProducer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await poisonProducer.connect();
  let poison = 0;
  let lastStats: PublishStats | undefined;
  const drift = driftOptions(opts);
  const sim = createSimulation({ customers: opts.customers, terminals: opts.terminals, seed: opts.seed, ...(opts.days ? { days: opts.days } : {}), ...(drift ? { drift } : {}), ...simulation });
  const ticker = setInterval(() => lastStats && status(monitor, lastStats, poison, more), 1000);
  const pendingPoison: Promise<unknown>[] = [];
  try {
    const events = (function* () {
      let n = 0;
      for (const e of sim.events()) {
        observe?.(e);
        yield e;
        if (e.kind === 'transaction' && opts.poisonEvery > 0 && ++n % opts.poisonEvery === 0) {
          const kind = POISON_KINDS[(n / opts.poisonEvery) % POISON_KINDS.length]!;
          const rec = poisonRecord(kind, { ...e.tx, transactionId: `${e.tx.transactionId}-poison` });
          pendingPoison.push(poisonProducer.send({ topic: topics.transactions, messages: [rec], acks: -1 }));
          poison++;
        }
      }
    })();
    const stats = await publishEvents(kafka, events, {
      rate: opts.rate,
      durationMs: opts.seconds * 1000,
      onProgress: (s) => (lastStats = s),
      topics: { transactions: topics.transactions, outcomes: topics.outcomes },
      tracer,
    });
    await Promise.all(pendingPoison);
    return { stats, poison };
  } finally {
    clearInterval(ticker);
    await poisonProducer.disconnect();
  }
}

let lastLine = { at: Date.now(), scored: 0 };
function status(monitor: Monitor, published: PublishStats, poison: number, more?: () => string): void {
  const f = monitor.figures;
  const now = Date.now();
  const rate = ((f.scored - lastLine.scored) * 1000) / Math.max(1, now - lastLine.at);
  lastLine = { at: now, scored: f.scored };
  const recent = f.latenciesMs.slice(-5000);
  const line = `published ${published.transactions + poison} tx | scored ${f.scored} (${rate.toFixed(0)}/s) | flagged ${f.flagged} | dead-lettered ${f.deadLettered} | p50 ${percentile(recent, 0.5).toFixed(1)} ms p99 ${percentile(recent, 0.99).toFixed(1)} ms${more?.() ?? ''}`;
  if (process.stdout.isTTY) process.stdout.write(`\r\x1b[2K${line}`);
  else console.log(line);
}

async function endOffsets(kafka: ReturnType<typeof createKafka>, topic: string): Promise<Map<number, bigint>> {
  return new Map([...(await fetchEndOffsets(kafka, topic))].map(([p, o]) => [p, o.high]));
}

/** The scorer's metrics at the end of the run, kept beside the logs (and as a report). */
async function writeReport(adminUrl: string, runDir: string): Promise<void> {
  const text = await fetch(`${adminUrl}/metrics`).then((r) => r.text(), () => '');
  if (!text) return;
  writeFileSync(join(runDir, 'metrics.prom'), text);
  const html = join(runDir, 'report.html');
  await writeRunReport(text, html, `fraudscore demo ${runDir}`, { source: `${adminUrl}/metrics` });
  const png = await renderPng(html, join(runDir, 'report.png')).catch(() => false);
  if (process.stdout.isTTY) process.stdout.write('\n'); // end the live progress line
  console.log(`demo: report of the run (latency per stage, score histogram) in ${html}${png ? ' and report.png' : ''}`);
}

/** Jaeger here keeps traces in memory only: save a few flagged ones with the run. */
async function saveTraces(query: string, runDir: string): Promise<void> {
  const res = await fetch(`${query}/api/traces?service=fraudscore-scorer&tags=${encodeURIComponent('{"fraudscore.decision":"BLOCK"}')}&limit=5&lookback=1h`).catch(() => undefined);
  if (!res?.ok) return;
  const { data } = (await res.json()) as { data: { traceID: string }[] };
  mkdirSync(join(runDir, 'traces'), { recursive: true });
  for (const t of data ?? []) writeFileSync(join(runDir, 'traces', `${t.traceID}.json`), JSON.stringify(t, null, 1));
  console.log(`demo: ${data?.length ?? 0} traces of blocked transactions saved in ${join(runDir, 'traces')} (query API was ${query}/api/traces?service=fraudscore-scorer)`);
}

async function waitFor(done: () => boolean, timeoutMs: number, tick: () => void): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 1000));
    tick();
  }
  return true;
}
