/**
 * The benchmark (issue 6, and the tracing overhead of issue 4): throughput, latency, CPU and
 * memory of fraudscore side by side with "the pipe" (test/bench/pipe.ts: the same consumer →
 * producer path without features and model), on a real local broker.
 *
 *   npm run bench                         full run (minutes)
 *   npm run bench:quick                   same code paths, small backlog, one round (CI)
 *   npm run bench -- --out runs/bench.json   also writes the JSON, and the plots beside it
 *
 * Each measured configuration runs as its own child process (own event loop and CPU, as in
 * production): `node --import tsx services/cli/src/main.ts scorer` for fraudscore, or
 * `node --import tsx test/bench/pipe.ts` for the pipe, configured by FRAUD_* variables.
 *
 * Maximum throughput: a backlog of simulated transactions is published once per run; each
 * configuration drains it from offset 0 with a fresh consumer group and fresh output topics.
 * events/s = backlog / (last decision CreateTime − first decision CreateTime). The rounds are
 * interleaved (every configuration once per round) so drift in a shared machine's load hits
 * all of them alike; the figure is the median over rounds.
 *
 * Latency: a fresh scorer on an empty topic gets the same simulation at 25, 50 and 75 % of
 * its own measured maximum; latency = decision CreateTime − input CreateTime (fs-source-ts),
 * as the demo's monitor measures it; also reported: when the decision became visible to a
 * read-committed consumer (what a downstream service sees; for exactly-once this includes
 * the transaction commit).
 *
 * Options: --quick, --out <file.json>, --partitions <n>, --backlog <tx>, --runs <n>,
 * --load-seconds <s>, --warm-seconds <s>, --customers <n>, --seed <n>, --modes a,b,…,
 * --latency-modes a,b,…, --no-profile, --profile, --state-cards <n> (0 skips), --no-latency,
 * --env KEY=VALUE (extra FRAUD_* for every child, repeatable), --keep-topics, --no-throughput
 * (skip the throughput rounds), --render <file.json> (redraw an earlier run's table and plots), --max-eps <n> | mode=<n>,… (the maxima the latency loads are
 * taken from, instead of the measured ones: the same absolute loads for an A/B).
 * BENCH_LATENCY_NODE_FLAGS="--cpu-prof --cpu-prof-dir=<dir>" (or --trace-gc, …) passes node
 * flags to each latency run's child; summarise a profile with test/bench/lib/profile.ts.
 * Modes: pipe-alo, pipe-eos, alo, eos (tracing 1 %), alo-off, alo-100 (tracing off / 100 %).
 *
 * A/B of a change: copy the tree, change it, and run it beside the original in the same run:
 *   npm run bench -- --variant base=/tmp/a --variant x=/tmp/b --modes alo@base,alo@x,eos@base,eos@x
 * (`mode@variant` runs the child from that tree; variants of a mode run back to back in each
 * round, so both see the same machine load; the table adds each variant's ratio to base).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { logLevel, type Kafka } from 'kafkajs';
import { renderPng } from '../../services/cli/src/report/png.js';
import { createKafka } from '../../services/common/src/kafka.js';
import type { TopicPlan } from '../../services/scorer/src/source/topics.js';
import { acquireBroker, acquireTraceBackend, type Broker, type TraceBackend } from './lib/infra.js';
import {
  buildBacklog, committedSum, continuing, createTopics, retrying, deleteTopics, endOffsetSum, publishEvents, readOutputs, runPlan, simulationEvents, startLiveMonitor,
} from './lib/kafka-io.js';
import { colorOf, esc, htmlTable, lineChart, page, type Series } from './lib/plots.js';
import { CpuSampler, spawnChild, type BenchChild } from './lib/proc.js';
import { formatProfile, summariseProfile, type ProfileSummary } from './lib/profile.js';
import { cdfPoints, fmt, fmtInt, median, pct, percentileSorted, perSecond, sortedCopy } from './lib/stats.js';

// ---------------------------------------------------------------------------------------------
// Options

type BaseMode = 'pipe-alo' | 'pipe-eos' | 'alo' | 'eos' | 'alo-off' | 'alo-100';
const ALL_MODES: BaseMode[] = ['pipe-alo', 'pipe-eos', 'alo', 'eos', 'alo-off', 'alo-100'];
/** A base mode, or `<base>@<variant>`: the same mode run from another source tree (A/B). */
type ModeKey = string;

interface ModeDef {
  key: ModeKey;
  base: BaseMode;
  /** Source tree the child runs from (a variant's); default this one. */
  cwd?: string;
  label: string;
  kind: 'pipe' | 'scorer';
  delivery: 'at-least-once' | 'exactly-once';
  /** Trace sampling ratio; null: tracing off (no endpoint). */
  sample: number | null;
}

const BASE: Record<BaseMode, Omit<ModeDef, 'base'>> = {
  'pipe-alo': { key: 'pipe-alo', label: 'pipe, at-least-once', kind: 'pipe', delivery: 'at-least-once', sample: 0.01 },
  'pipe-eos': { key: 'pipe-eos', label: 'pipe, exactly-once', kind: 'pipe', delivery: 'exactly-once', sample: 0.01 },
  alo: { key: 'alo', label: 'fraudscore at-least-once', kind: 'scorer', delivery: 'at-least-once', sample: 0.01 },
  eos: { key: 'eos', label: 'fraudscore exactly-once', kind: 'scorer', delivery: 'exactly-once', sample: 0.01 },
  'alo-off': { key: 'alo-off', label: 'fraudscore ALO, tracing off', kind: 'scorer', delivery: 'at-least-once', sample: null },
  'alo-100': { key: 'alo-100', label: 'fraudscore ALO, tracing 100 %', kind: 'scorer', delivery: 'at-least-once', sample: 1 },
};

/** Variants (--variant name=dir) known to this run. */
const VARIANTS = new Map<string, string>();

function MODE(key: ModeKey): ModeDef {
  const [base, variant] = key.split('@') as [BaseMode, string | undefined];
  const def = BASE[base];
  if (!def) throw new Error(`unknown mode ${key}`);
  if (!variant) return { ...def, base };
  const cwd = VARIANTS.get(variant);
  if (!cwd) throw new Error(`unknown variant ${variant} in ${key} (declare it with --variant ${variant}=<dir>)`);
  return { ...def, key, base, cwd, label: `${def.label} [${variant}]` };
}

interface Options {
  quick: boolean;
  out?: string;
  partitions: number;
  backlog: number;
  runs: number;
  loadSeconds: number;
  warmSeconds: number;
  settleSeconds: number;
  customers: number;
  seed: number;
  modes: ModeKey[];
  latencyModes: ModeKey[];
  latency: boolean;
  throughput: boolean;
  /** Given maxima (events/s) for the latency runs, by base mode ('*' for all); instead of the measured ones. */
  maxEps: Record<string, number>;
  profile: boolean;
  stateCards: number;
  extraEnv: Record<string, string>;
  keepTopics: boolean;
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const o: Options = {
    quick,
    partitions: 4,
    backlog: quick ? 25_000 : 500_000,
    runs: quick ? 1 : 3,
    loadSeconds: quick ? 2 : 20,
    warmSeconds: quick ? 1 : 5,
    settleSeconds: quick ? 0.5 : 2,
    customers: 5_000,
    seed: 42,
    modes: [...ALL_MODES],
    latencyModes: quick ? ['alo', 'eos'] : ['pipe-alo', 'alo', 'eos', 'pipe-eos'],
    latency: true,
    throughput: true,
    maxEps: {},
    profile: !quick,
    stateCards: quick ? 20_000 : 1_000_000,
    extraEnv: {},
    keepTopics: false,
  };
  const modeList = (v: string): ModeKey[] => {
    const list = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const m of list) if (!ALL_MODES.includes(m.split('@')[0] as BaseMode)) throw new Error(`unknown mode ${m} (known: ${ALL_MODES.join(', ')}, each optionally @variant)`);
    return list;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const num = (): number => {
      const v = Number(next());
      if (!Number.isFinite(v) || v < 0) throw new Error(`${a} needs a non-negative number`);
      return v;
    };
    switch (a) {
      case '--quick': break;
      case '--out': o.out = next(); break;
      case '--partitions': o.partitions = Math.max(1, Math.floor(num())); break;
      case '--backlog': o.backlog = Math.max(1, Math.floor(num())); break;
      case '--runs': o.runs = Math.max(1, Math.floor(num())); break;
      case '--load-seconds': o.loadSeconds = num(); break;
      case '--warm-seconds': o.warmSeconds = num(); break;
      case '--customers': o.customers = Math.max(1, Math.floor(num())); break;
      case '--seed': o.seed = Math.floor(num()); break;
      case '--modes': o.modes = modeList(next()); break;
      case '--latency-modes': o.latencyModes = modeList(next()); break;
      case '--no-latency': o.latency = false; break;
      case '--no-throughput': o.throughput = false; break;
      case '--max-eps': {
        for (const part of next().split(',')) {
          const [k, v] = part.includes('=') ? part.split('=') : ['*', part];
          const n = Number(v);
          if (!k || !(n > 0)) throw new Error('--max-eps expects <n> or mode=<n>[,mode=<n>…]');
          o.maxEps[k] = n;
        }
        break;
      }
      case '--profile': o.profile = true; break;
      case '--no-profile': o.profile = false; break;
      case '--state-cards': o.stateCards = Math.floor(num()); break;
      case '--keep-topics': o.keepTopics = true; break;
      case '--variant': {
        const [name, dir] = next().split('=');
        if (!name || !/^[\w.-]+$/.test(name) || !dir) throw new Error('--variant expects name=<source tree>');
        VARIANTS.set(name, resolve(dir));
        break;
      }
      case '--env': {
        const [k, ...v] = next().split('=');
        if (!k || !/^FRAUD_[A-Z0-9_]+$/.test(k) || v.length === 0) throw new Error('--env expects FRAUD_NAME=value');
        o.extraEnv[k] = v.join('=');
        break;
      }
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  // Each variant runs next to its base mode (adjacent in every round: an A/B under the same load).
  if (VARIANTS.size) {
    const withVariants = (list: ModeKey[], explicit: boolean) =>
      explicit ? list : list.flatMap((m) => (m.includes('@') ? [m] : [m, ...[...VARIANTS.keys()].map((v) => `${m}@${v}`)]));
    o.modes = withVariants(o.modes, argv.includes('--modes') && o.modes.some((m) => m.includes('@')));
    o.latencyModes = withVariants(o.latencyModes, argv.includes('--latency-modes') && o.latencyModes.some((m) => m.includes('@')));
  }
  for (const m of [...o.modes, ...o.latencyModes]) MODE(m);
  o.latencyModes = o.latencyModes.filter((m) => o.modes.includes(m));
  return o;
}

// ---------------------------------------------------------------------------------------------
// Output helpers

const isTTY = process.stdout.isTTY === true;
let statusShown = false;
let lastStatusPrint = 0;
/** A progress line: redrawn on a terminal, printed every few seconds otherwise. */
function status(line: string, force = false): void {
  if (isTTY) {
    process.stdout.write(`\r\x1b[2K${line}`);
    statusShown = true;
  } else if (force || Date.now() - lastStatusPrint >= 5_000) {
    lastStatusPrint = Date.now();
    console.log(line);
  }
}
function say(line: string): void {
  if (statusShown) {
    process.stdout.write('\r\x1b[2K');
    statusShown = false;
  }
  console.log(line);
}
const stamp = (): string => new Date().toISOString().slice(11, 19);

// ---------------------------------------------------------------------------------------------
// Runs

interface Ctx {
  opts: Options;
  kafka: Kafka;
  broker: Broker;
  traces: TraceBackend;
  prefix: string;
  backlog: { transactions: string; outcomes: string; total: number; outcomesTotal: number };
  logDir: string;
  outDir: string;
  current?: BenchChild;
  aborted: boolean;
}

interface DrainResult {
  mode: ModeKey;
  round: string;
  ok: boolean;
  error?: string;
  inputs: number;
  decisions: number;
  deadLetters: number;
  duplicates: number;
  seconds: number;
  eps: number;
  cpuCores: number;
  cpuUsPerEvent: number;
  brokerCpuCores: number;
  traceBackendCpuCores: number;
  peakRssMb: number;
  startupSeconds: number;
  exitCode: number | null;
  /** Decisions per second since the first decision. */
  perSecond: number[];
  /** From the child's /metrics at the end: mean ms per event in each stage. */
  stageMs?: Record<string, number>;
  profile?: string;
}

function childEnv(ctx: Ctx, mode: ModeDef, plan: TopicPlan, group: string): Record<string, string> {
  return {
    FRAUD_KAFKA_BROKERS: ctx.broker.brokers.join(','),
    FRAUD_GROUP_ID: group,
    FRAUD_CLIENT_ID: `bench-${mode.key}`,
    FRAUD_TOPIC_TRANSACTIONS: plan.transactions,
    FRAUD_TOPIC_OUTCOMES: plan.outcomes,
    FRAUD_TOPIC_DECISIONS: plan.decisions,
    FRAUD_TOPIC_FLAGS: plan.flags,
    FRAUD_TOPIC_DLQ: plan.dlq,
    FRAUD_TOPIC_CARD_STATE: plan.cardState,
    FRAUD_DELIVERY: mode.delivery,
    FRAUD_FROM_BEGINNING: 'true',
    FRAUD_LOG_LEVEL: 'info',
    FRAUD_OTEL_ENDPOINT: mode.sample === null ? '' : ctx.traces.otlpHttp,
    FRAUD_TRACE_SAMPLE_RATIO: String(mode.sample ?? 0),
    ...ctx.opts.extraEnv,
  };
}

async function startChild(ctx: Ctx, mode: ModeDef, plan: TopicPlan, group: string, name: string, nodeFlags: string[] = []): Promise<BenchChild> {
  const child = await spawnChild({
    label: name,
    entry: mode.kind === 'pipe' ? 'test/bench/pipe.ts' : 'services/cli/src/main.ts',
    cwd: mode.cwd,
    args: mode.kind === 'pipe' ? [] : ['scorer'],
    env: childEnv(ctx, mode, plan, group),
    logFile: join(ctx.logDir, `${name}.log`),
    nodeFlags,
  });
  ctx.current = child;
  return child;
}

async function drainRun(ctx: Ctx, mode: ModeDef, round: string, profileDir?: string): Promise<DrainResult> {
  const name = `${mode.key.replace('@', '_')}-${round}`;
  const plan = runPlan(ctx.prefix, name, ctx.backlog);
  const group = `${ctx.prefix}-${name}-${randomUUID().slice(0, 6)}`;
  let created: string[] = [];
  const result: DrainResult = {
    mode: mode.key, round, ok: false, inputs: ctx.backlog.total, decisions: 0, deadLetters: 0, duplicates: 0, seconds: NaN, eps: NaN,
    cpuCores: NaN, cpuUsPerEvent: NaN, brokerCpuCores: NaN, traceBackendCpuCores: NaN, peakRssMb: NaN, startupSeconds: NaN, exitCode: null, perSecond: [],
  };
  const admin = ctx.kafka.admin();
  await admin.connect();
  let child: BenchChild | undefined;
  let sampler: CpuSampler | undefined;
  try {
    created = await createTopics(ctx.kafka, plan, ctx.opts.partitions, ['decisions', 'flags', 'dlq', 'cardState']);
    const t0 = Date.now();
    // One directory per run: node writes one profile per thread (tsx's loader runs in a worker).
    const flags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`] : [];
    child = await startChild(ctx, mode, plan, group, name, flags);
    result.startupSeconds = (Date.now() - t0) / 1000;
    const pids = [child.pid, ...(ctx.broker.pid ? [ctx.broker.pid] : []), ...(ctx.traces.pid && mode.sample !== null ? [ctx.traces.pid] : [])];
    sampler = new CpuSampler(pids, 500);
    let done = 0;
    let lastProgressAt = Date.now();
    let prev = { at: Date.now(), done: 0 };
    while (done < ctx.backlog.total) {
      if (ctx.aborted) throw new Error('aborted');
      await new Promise((r) => setTimeout(r, 1000));
      const now = Date.now();
      const c = await committedSum(admin, group, plan.transactions).catch(() => done);
      if (c > done) lastProgressAt = now;
      const rate = ((c - prev.done) * 1000) / Math.max(1, now - prev.at);
      prev = { at: now, done: c };
      done = c;
      status(`  [${stamp()}] ${name}: ${fmtInt(done)} / ${fmtInt(ctx.backlog.total)} committed | ${fmtInt(rate)} ev/s | rss ${fmt(child.peakRssMb(), 0)} MB`);
      if (now - lastProgressAt > 60_000) throw new Error(`no progress for 60 s at ${done}/${ctx.backlog.total}; see ${join(ctx.logDir, `${name}.log`)}`);
    }
    result.peakRssMb = child.peakRssMb();
    sampler.stop();
    result.stageMs = await saveMetrics(child, join(ctx.logDir, `${name}.metrics.prom`));
    // Everything is committed (and so acknowledged): read back while the child shuts down.
    const stopping = child.stop();
    const out = await readOutputs(ctx.kafka, plan);
    result.exitCode = await stopping;
    ctx.current = undefined;
    result.decisions = out.decisions;
    result.deadLetters = out.deadLetters;
    result.duplicates = out.duplicates;
    result.seconds = (out.lastDecision - out.firstDecision) / 1000;
    result.eps = ctx.backlog.total / result.seconds;
    const cpu = sampler.cpuBetween(child.pid, out.firstDecision, out.lastDecision);
    result.cpuCores = cpu / result.seconds;
    result.cpuUsPerEvent = (cpu * 1e6) / ctx.backlog.total;
    if (ctx.broker.pid) result.brokerCpuCores = sampler.cpuBetween(ctx.broker.pid, out.firstDecision, out.lastDecision) / result.seconds;
    if (ctx.traces.pid && mode.sample !== null) result.traceBackendCpuCores = sampler.cpuBetween(ctx.traces.pid, out.firstDecision, out.lastDecision) / result.seconds;
    result.perSecond = perSecond(out.decisionTimes, out.firstDecision);
    result.ok = out.decisions + out.deadLetters >= ctx.backlog.total;
    if (!result.ok) result.error = `only ${out.decisions + out.deadLetters} of ${ctx.backlog.total} inputs have an output`;
    if (profileDir) result.profile = mainThreadProfile(join(profileDir, name));
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    sampler?.stop();
    if (child) await child.stop(10_000).catch(() => null);
    ctx.current = undefined;
    await admin.disconnect().catch(() => {});
    if (!ctx.opts.keepTopics) await deleteTopics(ctx.kafka, created, [group]).catch(() => {});
  }
  say(
    result.ok
      ? `  [${stamp()}] ${name}: ${fmtInt(result.eps)} ev/s (${fmtInt(ctx.backlog.total)} in ${fmt(result.seconds, 1)} s) | scorer cpu ${fmt(result.cpuCores, 2)} cores, ${fmt(result.cpuUsPerEvent, 0)} µs/ev | broker ${fmt(result.brokerCpuCores, 2)} cores | peak rss ${fmt(result.peakRssMb, 0)} MB | start ${fmt(result.startupSeconds, 1)} s${result.duplicates ? ` | ${result.duplicates} duplicates` : ''}`
      : `  [${stamp()}] ${name}: FAILED: ${result.error}`,
  );
  return result;
}

/** The main thread's profile among node's CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile files (thread 0). */
function mainThreadProfile(dir: string): string | undefined {
  try {
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    const main = files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    return main ? join(dir, main) : undefined;
  } catch {
    return undefined;
  }
}

interface LatencyPhase {
  loadPct: number;
  offeredEps: number;
  /** Inputs published per second in the measured window. */
  achievedEps: number;
  samples: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  visibleP50: number;
  visibleP99: number;
  visibleP999: number;
  cpuCores: number;
  cdf: [number, number][];
  visibleCdf: [number, number][];
}

interface LatencyResult {
  mode: ModeKey;
  ok: boolean;
  error?: string;
  maxEps: number;
  peakRssMb: number;
  /** Mean ms per event in each stage over the whole latency run (child's /metrics). */
  stageMs?: Record<string, number>;
  unaccounted: number;
  phases: LatencyPhase[];
}

const LOADS = [0.25, 0.5, 0.75];

async function latencyRun(ctx: Ctx, mode: ModeDef, maxEps: number): Promise<LatencyResult> {
  const name = `${mode.key.replace('@', '_')}-latency`;
  const live = `${ctx.prefix}-${name}-transactions`;
  const plan = runPlan(ctx.prefix, name, { transactions: live, outcomes: ctx.backlog.outcomes });
  const group = `${ctx.prefix}-${name}-${randomUUID().slice(0, 6)}`;
  const result: LatencyResult = { mode: mode.key, ok: false, maxEps, peakRssMb: NaN, unaccounted: 0, phases: [] };
  let child: BenchChild | undefined;
  let sampler: CpuSampler | undefined;
  let created: string[] = [];
  let monitor: Awaited<ReturnType<typeof startLiveMonitor>> | undefined;
  try {
    created = await createTopics(ctx.kafka, plan, ctx.opts.partitions, ['transactions', 'decisions', 'flags', 'dlq', 'cardState']);
    const m = await retrying('starting the latency monitor', () => startLiveMonitor(ctx.kafka, plan));
    monitor = m;
    // BENCH_LATENCY_NODE_FLAGS: node flags for the child while it serves the offered loads.
    child = await startChild(ctx, mode, plan, group, name, (process.env.BENCH_LATENCY_NODE_FLAGS ?? '').split(' ').filter(Boolean));
    sampler = new CpuSampler([child.pid], 500);
    // Same simulation as the backlog (its outcomes are in the outcomes topic), transactions only.
    const events = continuing(simulationEvents(ctx.opts.seed, ctx.opts.customers, Number.MAX_SAFE_INTEGER, false));
    let published = 0;
    const publish = async (rate: number, seconds: number, what: string) => {
      const ticker = setInterval(() => status(`  [${stamp()}] ${name}: ${what} at ${fmtInt(rate)} tx/s | decisions seen ${fmtInt(m.accounted())} | rss ${fmt(child!.peakRssMb(), 0)} MB`), 1000);
      try {
        const s = await publishEvents(ctx.kafka, events, { topics: { transactions: live, outcomes: plan.outcomes }, rate, durationMs: seconds * 1000 });
        published += s.transactions;
      } finally {
        clearInterval(ticker);
      }
    };
    /** Waits until every input published so far has its output, so phases do not overlap. */
    const caughtUp = async (timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (m.accounted() < published && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        status(`  [${stamp()}] ${name}: waiting for the decisions to catch up ${fmtInt(m.accounted())} / ${fmtInt(published)}`);
      }
      return m.accounted() >= published;
    };
    // Warm-up (JIT, connections, model) at the lowest load, excluded from the figures.
    if (ctx.opts.warmSeconds > 0) await publish(maxEps * LOADS[0]!, ctx.opts.warmSeconds, 'warm-up');
    await caughtUp(60_000);
    const windows: { loadPct: number; from: number; to: number; offered: number }[] = [];
    for (const load of LOADS) {
      if (ctx.aborted) throw new Error('aborted');
      const from = Date.now();
      await publish(maxEps * load, ctx.opts.loadSeconds, `${load * 100} % load`);
      windows.push({ loadPct: load * 100, from: from + ctx.opts.settleSeconds * 1000, to: Date.now(), offered: maxEps * load });
      await caughtUp(120_000);
    }
    result.unaccounted = Math.max(0, published - m.accounted());
    result.peakRssMb = child.peakRssMb();
    result.stageMs = await saveMetrics(child, join(ctx.logDir, `${name}.metrics.prom`));
    sampler.stop();
    const src = m.sourceTs.view();
    const dec = m.decisionTs.view();
    const arr = m.arrivalTs.view();
    for (const w of windows) {
      const lat: number[] = [];
      const vis: number[] = [];
      for (let i = 0; i < src.length; i++) {
        if (src[i]! >= w.from && src[i]! < w.to) {
          lat.push(dec[i]! - src[i]!);
          vis.push(arr[i]! - src[i]!);
        }
      }
      const l = sortedCopy(lat);
      const v = sortedCopy(vis);
      const seconds = (w.to - w.from) / 1000;
      result.phases.push({
        loadPct: w.loadPct,
        offeredEps: w.offered,
        achievedEps: l.length / seconds,
        samples: l.length,
        p50: percentileSorted(l, 0.5),
        p99: percentileSorted(l, 0.99),
        p999: percentileSorted(l, 0.999),
        max: l.length ? l[l.length - 1]! : NaN,
        visibleP50: percentileSorted(v, 0.5),
        visibleP99: percentileSorted(v, 0.99),
        visibleP999: percentileSorted(v, 0.999),
        cpuCores: sampler.cpuBetween(child.pid, w.from, w.to) / seconds,
        cdf: cdfPoints(l),
        visibleCdf: cdfPoints(v),
      });
    }
    result.ok = result.unaccounted === 0;
    if (!result.ok) result.error = `${result.unaccounted} inputs without an output after 120 s`;
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    sampler?.stop();
    await monitor?.stop().catch(() => {});
    if (child) await child.stop(10_000).catch(() => null);
    ctx.current = undefined;
    if (!ctx.opts.keepTopics) await deleteTopics(ctx.kafka, created, [group]).catch(() => {});
  }
  for (const p of result.phases) {
    say(
      `  [${stamp()}] ${name} @ ${p.loadPct} % (${fmtInt(p.offeredEps)} tx/s offered, ${fmtInt(p.achievedEps)} published): ` +
        `p50 ${fmt(p.p50)} p99 ${fmt(p.p99)} p99.9 ${fmt(p.p999)} ms | visible p99 ${fmt(p.visibleP99)} ms | cpu ${fmt(p.cpuCores, 2)} cores | n=${fmtInt(p.samples)}`,
    );
  }
  if (!result.ok) say(`  [${stamp()}] ${name}: ${result.error}`);
  return result;
}

/**
 * Saves the child's Prometheus text beside its log and returns the mean time per event in each
 * stage (decode and features are per event; inference, decide and produce are per chunk, so
 * each event is charged the whole chunk's time, as the scorer's metric does).
 */
async function saveMetrics(child: BenchChild, file: string): Promise<Record<string, number> | undefined> {
  const text = await fetch(`${child.adminUrl}/metrics`).then((r) => (r.ok ? r.text() : ''), () => '');
  if (!text) return undefined;
  writeFileSync(file, text);
  const sums = new Map<string, { sum: number; count: number }>();
  for (const m of text.matchAll(/^fraudscore_(stage|e2e)_latency_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm)) {
    const stage = m[1] === 'e2e' ? 'e2e_to_ack' : (m[3]!.match(/stage="([^"]+)"/)?.[1] ?? '?');
    const e = sums.get(stage) ?? { sum: 0, count: 0 };
    if (m[2] === 'sum') e.sum += Number(m[4]);
    else e.count += Number(m[4]);
    sums.set(stage, e);
  }
  return Object.fromEntries([...sums].map(([k, v]) => [k, v.count ? (v.sum * 1000) / v.count : NaN]));
}

interface StateResult {
  cards: number;
  storeBytesPerCard: number;
  processBytesPerCard: number;
  nsPerEvent: number;
  output: string;
}

/** test/bench/features-card-memory.ts with `cards` cards at 2 tx/day for 60 days (steady state). */
async function stateMemory(cards: number): Promise<StateResult> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/bench/features-card-memory.ts', String(cards), '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const started = Date.now();
  const ticker = setInterval(() => status(`  [${stamp()}] card state: ${fmtInt(cards)} cards, ${fmt((Date.now() - started) / 1000, 0)} s`), 1000);
  child.stdout!.on('data', (b: Buffer) => {
    output += b.toString();
    for (const line of b.toString().split('\n')) if (line.trim()) say(`  ${line.trim()}`);
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearInterval(ticker);
  if (code !== 0) throw new Error(`features-card-memory.ts exited with ${code}`);
  const last = output.trim().split('\n').filter((l) => l.startsWith('day')).at(-1) ?? '';
  const num = (re: RegExp) => Number(last.match(re)?.[1] ?? NaN);
  return {
    cards,
    storeBytesPerCard: num(/bytesUsed\(\)\/card (\d+) B/),
    processBytesPerCard: num(/process heap\+buffers\/card (\d+) B/),
    nsPerEvent: num(/(\d+) ns per observe/),
    output: output.trim(),
  };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const renderAt = process.argv.indexOf('--render');
  if (renderAt > 0) {
    // Re-render the table, HTML and PNG of an earlier run from its JSON (nothing is measured).
    const file = resolve(process.argv[renderAt + 1] ?? '');
    await writeOutputs(JSON.parse(readFileSync(file, 'utf8')) as Result, file);
    return 0;
  }
  const opts = parseArgs(process.argv.slice(2));
  const started = new Date();
  const outFile = resolve(opts.out ?? join('runs', `bench-${started.toISOString().replace(/[:.]/g, '-')}`, 'bench.json'));
  const outDir = dirname(outFile);
  const logDir = join(outDir, `${basename(outFile, '.json')}-logs`);
  mkdirSync(logDir, { recursive: true });
  say(`bench: ${opts.quick ? 'QUICK' : 'full'} run | ${opts.partitions} partitions | backlog ${fmtInt(opts.backlog)} tx | ${opts.runs} round(s) | modes ${opts.modes.join(', ')}`);
  say(`bench: machine ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${fmt(totalmem() / 2 ** 30, 0)} GB, load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  say(`bench: output ${outFile} (child logs in ${logDir})`);

  const broker = acquireBroker();
  say(`bench: Kafka: ${broker.description}`);
  const traces = await acquireTraceBackend();
  say(`bench: traces: ${traces.kind === 'discard' ? `no Jaeger built: an in-process OTLP sink that discards (${traces.otlpHttp})` : `${traces.kind} ${traces.otlpHttp}`}`);
  // The bench's own client (admin, publisher, readers) logs nothing: right after topic creation
  // kafkajs logs every retried "not the leader" at ERROR; real failures still throw.
  const kafka = createKafka({ brokers: broker.brokers, clientId: 'fraudscore-bench', logLevel: logLevel.NOTHING });
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const backlogTopics = { transactions: `${prefix}-transactions`, outcomes: `${prefix}-outcomes` };
  const ctx: Ctx = { opts, kafka, broker, traces, prefix, backlog: { ...backlogTopics, total: 0, outcomesTotal: 0 }, logDir, outDir, aborted: false };
  const onSignal = () => {
    if (ctx.aborted) process.exit(130);
    ctx.aborted = true;
    say('bench: interrupted; stopping the current child and cleaning up (again to force)');
    ctx.current?.process.kill('SIGTERM');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const drains: DrainResult[] = [];
  const latency: LatencyResult[] = [];
  const profiles: Record<string, { file: string; eps: number; summary: ProfileSummary }> = {};
  let state: StateResult | undefined;
  let backlogInfo = { transactions: 0, outcomes: 0, seconds: 0, eps: 0 };
  try {
    // 1. The backlog, once.
    const plan = runPlan(prefix, 'backlog', backlogTopics);
    await createTopics(kafka, plan, opts.partitions, ['transactions', 'outcomes']);
    say(`bench: [${stamp()}] publishing the backlog: ${fmtInt(opts.backlog)} simulated transactions (+ their outcomes) to ${backlogTopics.transactions}`);
    const pub = await buildBacklog(kafka, backlogTopics, {
      seed: opts.seed,
      customers: opts.customers,
      transactions: opts.backlog,
      onProgress: (s) => status(`  [${stamp()}] backlog: ${fmtInt(s.transactions)} / ${fmtInt(opts.backlog)} tx, ${fmtInt(s.outcomes)} outcomes, ${fmtInt(((s.transactions + s.outcomes) * 1000) / Math.max(1, s.elapsedMs))} ev/s`),
    });
    const ends = await endOffsetSum(kafka, backlogTopics.transactions);
    ctx.backlog.total = ends.total;
    ctx.backlog.outcomesTotal = (await endOffsetSum(kafka, backlogTopics.outcomes)).total;
    backlogInfo = { transactions: ends.total, outcomes: ctx.backlog.outcomesTotal, seconds: pub.elapsedMs / 1000, eps: ((pub.transactions + pub.outcomes) * 1000) / pub.elapsedMs };
    say(`bench: [${stamp()}] backlog ready: ${fmtInt(ends.total)} transactions over ${opts.partitions} partitions (${[...ends.perPartition.values()].join(' / ')}), ${fmtInt(ctx.backlog.outcomesTotal)} outcomes, in ${fmt(pub.elapsedMs / 1000)} s`);

    // 2. Maximum throughput: interleaved rounds.
    for (let r = 1; r <= (opts.throughput ? opts.runs : 0) && !ctx.aborted; r++) {
      say(`bench: [${stamp()}] throughput round ${r}/${opts.runs}`);
      for (const m of opts.modes) {
        if (ctx.aborted) break;
        drains.push(await drainRun(ctx, MODE(m), `r${r}`));
      }
    }
    const maxOf = (m: ModeKey) => median(drains.filter((d) => d.mode === m && d.ok).map((d) => d.eps));

    // 3. Latency at 25/50/75 % of each mode's own maximum.
    if (opts.latency) {
      for (const m of opts.latencyModes) {
        if (ctx.aborted) break;
        const max = opts.maxEps[m] ?? opts.maxEps[MODE(m).base] ?? opts.maxEps['*'] ?? maxOf(m);
        if (!Number.isFinite(max)) {
          say(`bench: no maximum for ${m}; skipping its latency run`);
          continue;
        }
        say(`bench: [${stamp()}] latency, ${MODE(m).label}: 25/50/75 % of ${fmtInt(max)} tx/s, ${opts.loadSeconds} s each`);
        latency.push(await latencyRun(ctx, MODE(m), max));
      }
    }

    // 4. Profiles under load (not counted in the medians: the profiler costs throughput).
    if (opts.profile && !ctx.aborted) {
      const profileDir = join(outDir, `${basename(outFile, '.json')}-profiles`);
      mkdirSync(profileDir, { recursive: true });
      for (const m of opts.modes.filter((k) => ['alo', 'eos', 'pipe-alo'].includes(k.split('@')[0]!))) {
        if (ctx.aborted) break;
        say(`bench: [${stamp()}] profiling ${MODE(m).label} (node --cpu-prof) while it drains the backlog`);
        const d = await drainRun(ctx, MODE(m), 'profile', profileDir);
        const file = d.profile;
        if (file) {
          try {
            const summary = summariseProfile(file, { topN: 30, windowFunction: 'handleBatch', events: ctx.backlog.total });
            profiles[m] = { file, eps: d.eps, summary };
            say(formatProfile(`  profile ${m} (${fmtInt(d.eps)} ev/s under the profiler)`, summary, 15));
          } catch (err) {
            say(`  profile ${m}: cannot read ${file}: ${(err as Error).message}`);
          }
        }
      }
    }

    // 5. State bytes per card.
    if (opts.stateCards > 0 && !ctx.aborted) {
      say(`bench: [${stamp()}] card state memory with ${fmtInt(opts.stateCards)} cards (test/bench/features-card-memory.ts)`);
      state = await stateMemory(opts.stateCards);
    }
  } finally {
    if (!opts.keepTopics) await deleteTopics(kafka, Object.values(backlogTopics)).catch((err: Error) => say(`bench: could not delete the backlog topics: ${err.message}`));
    await traces.stop().catch(() => {});
    try {
      broker.stop();
    } catch (err) {
      say(`bench: could not stop the broker: ${(err as Error).message}`);
    }
  }

  // 6. Results.
  const result = summarise(opts, started, broker, traces, backlogInfo, drains, latency, profiles, state);
  writeFileSync(outFile, `${JSON.stringify(result, null, 1)}\n`);
  await writeOutputs(result, outFile);
  const failed = drains.filter((d) => !d.ok).length + latency.filter((l) => !l.ok).length;
  if (failed) say(`bench: ${failed} run(s) failed; see the logs in ${logDir}`);
  return ctx.aborted ? 130 : failed ? 1 : 0;
}

/** The HTML (and PNG) beside the JSON, and the table on stdout. */
async function writeOutputs(result: Result, outFile: string): Promise<void> {
  const htmlFile = outFile.replace(/\.json$/, '') + '.html';
  writeFileSync(htmlFile, renderHtml(result));
  const pngFile = outFile.replace(/\.json$/, '') + '.png';
  let png = false;
  try {
    png = await renderPng(htmlFile, pngFile, { width: 1400, height: 1600, timeoutMs: 120_000 });
  } catch (err) {
    say(`bench: PNG not written: ${(err as Error).message}`);
  }
  say('');
  say(renderTable(result));
  say('');
  say(`bench: JSON ${outFile}`);
  say(`bench: plots ${htmlFile}${png ? ` and ${pngFile}` : ''}`);
}

// ---------------------------------------------------------------------------------------------
// Summary, table, HTML

type Result = ReturnType<typeof summarise>;

function summarise(
  opts: Options,
  started: Date,
  broker: Broker,
  traces: TraceBackend,
  backlog: { transactions: number; outcomes: number; seconds: number; eps: number },
  drains: DrainResult[],
  latency: LatencyResult[],
  profiles: Record<string, { file: string; eps: number; summary: ProfileSummary }>,
  state: StateResult | undefined,
) {
  const ok = (m: ModeKey) => drains.filter((d) => d.mode === m && d.ok && d.round !== 'profile');
  const med = (m: ModeKey, f: (d: DrainResult) => number) => median(ok(m).map(f));
  const eps = (m: ModeKey) => med(m, (d) => d.eps);
  /** The first of these keys that was measured (variants fall back to the base tree's runs). */
  const measured = (...keys: ModeKey[]) => keys.find((k) => ok(k).length > 0) ?? keys[0]!;
  const pipeFor = (m: ModeKey) => {
    const pipe = MODE(m).delivery === 'exactly-once' ? 'pipe-eos' : 'pipe-alo';
    const variant = m.split('@')[1];
    return measured(...(variant ? [`${pipe}@${variant}`] : []), pipe, `${pipe}@base`);
  };
  const baseOf = (m: ModeKey) => measured(MODE(m).base, `${MODE(m).base}@base`);
  const lat = (m: ModeKey, load: number) => latency.find((l) => l.mode === m)?.phases.find((p) => p.loadPct === load);
  const modes = Object.fromEntries(
    opts.modes.map((m) => [
      m,
      {
        label: MODE(m).label,
        source_tree: MODE(m).cwd ?? process.cwd(),
        delivery: MODE(m).delivery,
        trace_sample_ratio: MODE(m).sample,
        median_eps: eps(m),
        /** To the (base) pipe of the same delivery mode. */
        ratio_to_pipe: eps(m) / eps(pipeFor(m)),
        /** A variant's throughput relative to its base mode's in the same run (mode, else mode@base). */
        ratio_to_base: eps(m) / eps(baseOf(m)),
        ratio_cpu_per_event_to_base: med(m, (d) => d.cpuUsPerEvent) / med(baseOf(m), (d) => d.cpuUsPerEvent),
        median_cpu_cores: med(m, (d) => d.cpuCores),
        median_cpu_us_per_event: med(m, (d) => d.cpuUsPerEvent),
        median_broker_cpu_cores: med(m, (d) => d.brokerCpuCores),
        max_peak_rss_mb: Math.max(...ok(m).map((d) => d.peakRssMb)),
        runs: drains.filter((d) => d.mode === m && d.round !== 'profile').map(({ perSecond: _p, ...d }) => d),
      },
    ]),
  );
  const pipeAlo = eps('pipe-alo');
  const pipeEos = eps('pipe-eos');
  const alo = eps('alo');
  const eos = eps('eos');
  const off = eps('alo-off');
  const full = eps('alo-100');
  const scorerRss = drains.filter((d) => (d.mode === 'alo' || d.mode === 'eos') && d.ok).map((d) => d.peakRssMb);
  const aloP99 = lat('alo', 50)?.p99 ?? NaN;
  const eosP99 = lat('eos', 50)?.p99 ?? NaN;
  const stateBytes = state?.processBytesPerCard ?? NaN;
  const verdict = (value: number, target: number, lowerIsBetter: boolean) =>
    !Number.isFinite(value) ? 'not measured' : (lowerIsBetter ? value <= target : value >= target) ? 'PASS' : 'MISS';
  return {
    bench: 'fraudscore issue 6 / issue 4 overhead',
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    quick: opts.quick,
    config: {
      partitions: opts.partitions,
      backlog_transactions: backlog.transactions,
      backlog_outcomes: backlog.outcomes,
      backlog_publish_seconds: backlog.seconds,
      backlog_publish_eps: backlog.eps,
      rounds: opts.runs,
      load_seconds: opts.loadSeconds,
      warm_seconds: opts.warmSeconds,
      settle_seconds: opts.settleSeconds,
      simulation: { seed: opts.seed, customers: opts.customers, terminals: opts.customers * 2 },
      extra_env: opts.extraEnv,
      broker: broker.description,
      trace_backend: `${traces.kind} ${traces.otlpHttp}`,
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, memory_gb: totalmem() / 2 ** 30, node: process.version },
      git: gitState(),
    },
    // The keys issue 6 asks for.
    pipe_eps: pipeAlo,
    alo_eps: alo,
    eos_eps: eos,
    alo_ratio: alo / pipeAlo,
    eos_ratio: eos / pipeEos,
    alo_p99_ms_at_50pct: aloP99,
    eos_p99_ms_at_50pct: eosP99,
    state_bytes_per_card: stateBytes,
    peak_rss_mb: scorerRss.length ? Math.max(...scorerRss) : NaN,
    // More of the same.
    pipe_eos_eps: pipeEos,
    eos_ratio_to_alo_pipe: eos / pipeAlo,
    state_store_bytes_per_card: state?.storeBytesPerCard ?? NaN,
    state_cards: state?.cards ?? 0,
    // Issue 4: tracing overhead (at-least-once), in the same run.
    tracing_off_eps: off,
    tracing_1pct_eps: alo,
    tracing_100pct_eps: full,
    tracing_1pct_ratio: alo / off,
    tracing_100pct_ratio: full / off,
    // The same as CPU per event (less sensitive to other load on a shared machine than ev/s):
    // tracing-off µs/ev ÷ traced µs/ev.
    tracing_1pct_cpu_ratio: med('alo-off', (d) => d.cpuUsPerEvent) / med('alo', (d) => d.cpuUsPerEvent),
    tracing_100pct_cpu_ratio: med('alo-off', (d) => d.cpuUsPerEvent) / med('alo-100', (d) => d.cpuUsPerEvent),
    targets: {
      alo_ratio: { target: '>= 0.80 of the pipe', value: alo / pipeAlo, verdict: verdict(alo / pipeAlo, 0.8, false) },
      eos_ratio: { target: '>= 0.60 of the pipe (exactly-once pipe)', value: eos / pipeEos, verdict: verdict(eos / pipeEos, 0.6, false) },
      eos_ratio_to_alo_pipe: { target: '>= 0.60 of the at-least-once pipe (stricter reading)', value: eos / pipeAlo, verdict: verdict(eos / pipeAlo, 0.6, false) },
      alo_p99_ms_at_50pct: { target: '<= 25 ms', value: aloP99, verdict: verdict(aloP99, 25, true) },
      eos_p99_ms_at_50pct: { target: '<= 100 ms', value: eosP99, verdict: verdict(eosP99, 100, true) },
      alo_visible_p99_ms_at_50pct: { target: '<= 25 ms (as a read-committed consumer sees it)', value: lat('alo', 50)?.visibleP99 ?? NaN, verdict: verdict(lat('alo', 50)?.visibleP99 ?? NaN, 25, true) },
      eos_visible_p99_ms_at_50pct: { target: '<= 100 ms (as a read-committed consumer sees it)', value: lat('eos', 50)?.visibleP99 ?? NaN, verdict: verdict(lat('eos', 50)?.visibleP99 ?? NaN, 100, true) },
      state_bytes_per_card: { target: '<= 1024 bytes', value: stateBytes, verdict: verdict(stateBytes, 1024, true) },
      tracing_1pct_ratio: { target: '>= 0.95 of tracing off (issue 4)', value: alo / off, verdict: verdict(alo / off, 0.95, false) },
    },
    modes,
    latency: latency.map((l) => ({
      ...l,
      phases: l.phases.map(({ cdf: _c, visibleCdf: _v, ...p }) => p),
    })),
    latency_cdf: Object.fromEntries(latency.map((l) => [l.mode, Object.fromEntries(l.phases.map((p) => [String(p.loadPct), { decision: p.cdf, visible: p.visibleCdf }]))])),
    throughput_per_second: Object.fromEntries(
      opts.modes.map((m) => {
        const runs = ok(m);
        const mid = runs.slice().sort((a, b) => a.eps - b.eps)[Math.floor((runs.length - 1) / 2)];
        return [m, mid ? { round: mid.round, eps: mid.eps, per_second: mid.perSecond } : null];
      }),
    ),
    profiles: Object.fromEntries(Object.entries(profiles).map(([m, p]) => [m, { file: p.file, eps_under_profiler: p.eps, ...p.summary }])),
    state: state ? { ...state } : null,
  };
}

/** The commit and the uncommitted changes under services/ the measured code had. */
function gitState(): { head: string; modified_services: string[] } | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { head: git('rev-parse', 'HEAD'), modified_services: git('status', '--short', '--', 'services').split('\n').filter(Boolean) };
  } catch {
    return null;
  }
}

function renderTable(r: Result): string {
  const lines: string[] = [];
  const pad = (s: string, n: number) => s.padEnd(n);
  const lpad = (s: string, n: number) => s.padStart(n);
  const header = `${pad('configuration', 36)}${lpad('max ev/s', 10)}${lpad('runs', 6)}${lpad('ratio', 9)}${lpad('cpu', 7)}${lpad('µs/ev', 7)}${lpad('broker', 8)}${lpad('RSS MB', 8)}   latency p50/p99/p99.9 ms @ 25 % | 50 % | 75 % of max`;
  lines.push(header, '-'.repeat(header.length + 10));
  const latFor = (m: string) => {
    const l = r.latency.find((x) => x.mode === m);
    if (!l) return '';
    return l.phases.map((p) => `${fmt(p.p50)}/${fmt(p.p99)}/${fmt(p.p999)}`).join(' | ');
  };
  for (const [m, d] of Object.entries(r.modes)) {
    const ratio = `${fmt(d.ratio_to_pipe, 2)} ×`;
    const vsBase = m.includes('@') && !m.endsWith('@base') ? `   [${fmt(d.ratio_to_base, 2)} × base ev/s, ${fmt(d.ratio_cpu_per_event_to_base, 2)} × base µs/ev]` : '';
    lines.push(
      `${pad(d.label, 36)}${lpad(fmtInt(d.median_eps), 10)}${lpad(String(d.runs.filter((x) => x.ok).length), 6)}${lpad(ratio, 9)}${lpad(fmt(d.median_cpu_cores, 2), 7)}${lpad(fmt(d.median_cpu_us_per_event, 0), 7)}${lpad(fmt(d.median_broker_cpu_cores, 2), 8)}${lpad(fmt(d.max_peak_rss_mb, 0), 8)}   ${latFor(m)}${vsBase}`,
    );
  }
  if (r.quick) lines.push('', 'QUICK mode: drains of a few seconds on a shared machine; these figures check that every code path runs, not the targets (use the full run).');
  lines.push('', '(ratio: to the pipe of the same delivery mode; cpu: cores used by the measured process while draining; broker: the broker JVM\'s cores meanwhile)');
  lines.push('', 'targets (issue 6, issue 4):');
  for (const [k, t] of Object.entries(r.targets)) {
    const v = k.includes('ratio') ? pct(t.value) : k.includes('bytes') ? `${fmtInt(t.value)} B` : `${fmt(t.value)} ms`;
    lines.push(`  ${pad(k, 30)} ${lpad(v, 10)}  ${pad(t.target, 50)} ${t.verdict}`);
  }
  lines.push('', `tracing overhead (ALO): off ${fmtInt(r.tracing_off_eps)} ev/s | 1 % ${fmtInt(r.tracing_1pct_eps)} (${pct(r.tracing_1pct_ratio)} of off) | 100 % ${fmtInt(r.tracing_100pct_eps)} (${pct(r.tracing_100pct_ratio)} of off)`);
  lines.push(`  by CPU per event (off ÷ traced): 1 % ${pct(r.tracing_1pct_cpu_ratio)}, 100 % ${pct(r.tracing_100pct_cpu_ratio)}`);
  if (r.state) lines.push(`card state: ${fmtInt(r.state.cards)} cards: ${fmtInt(r.state.processBytesPerCard)} B/card as the process sees it (heap + buffers, incl. Map and tokens), ${fmtInt(r.state.storeBytesPerCard)} B/card in the store's arrays`);
  return lines.join('\n');
}

function renderHtml(r: Result): string {
  const drains = Object.values(r.modes).flatMap((d) => d.runs);
  const parts: string[] = [];
  parts.push(`<h1>fraudscore benchmark${r.quick ? ' (quick)' : ''}</h1>`);
  parts.push(`<p class="meta">${esc(r.started_at)} · ${r.config.partitions} partitions · backlog ${fmtInt(r.config.backlog_transactions)} transactions · ${r.config.rounds} round(s), medians · ${esc(r.config.broker)} · traces: ${esc(r.config.trace_backend)} · ${r.config.machine.cores} cores, ${esc(String(r.config.machine.cpu))}, node ${esc(r.config.machine.node)}</p>`);
  // Summary table.
  const rows = Object.entries(r.modes).map(([m, d]) => {
    const l = r.latency.find((x) => x.mode === m);
    const at = (load: number) => {
      const p = l?.phases.find((x) => x.loadPct === load);
      return p ? `${fmt(p.p50)} / ${fmt(p.p99)} / ${fmt(p.p999)}` : '';
    };
    return [d.label, fmtInt(d.median_eps), d.runs.map((x) => fmtInt(x.eps)).join(', '), fmt(d.median_cpu_cores, 2), fmt(d.median_cpu_us_per_event, 0), fmt(d.median_broker_cpu_cores, 2), fmt(d.max_peak_rss_mb, 0), at(25), at(50), at(75)];
  });
  parts.push('<h2>Throughput, CPU, memory, latency (p50 / p99 / p99.9 ms)</h2>');
  parts.push(htmlTable(['configuration', 'max ev/s (median)', 'runs', 'cpu cores', 'µs cpu/ev', 'broker cores', 'peak RSS MB', '@25 %', '@50 %', '@75 %'], rows));
  // Latency CDFs.
  parts.push('<h2>End-to-end latency CDF (decision CreateTime − input CreateTime; dashed: visible to a read-committed consumer)</h2><div class="row">');
  for (const load of LOADS.map((l) => l * 100)) {
    const series: Series[] = [];
    for (const l of r.latency) {
      const p = l.phases.find((x) => x.loadPct === load);
      const cdf = r.latency_cdf[l.mode]?.[String(load)];
      if (!p || !cdf) continue;
      series.push({ label: `${l.mode} (${fmtInt(p.offeredEps)}/s)`, color: colorOf(l.mode), points: cdf.decision });
      series.push({ label: `${l.mode} visible`, color: colorOf(l.mode), points: cdf.visible, dashed: true });
    }
    parts.push(lineChart({ title: `${load} % of each mode's maximum`, width: 430, height: 320, series, xLabel: 'latency, ms (log)', yLabel: 'percentile', xLog: true, yNines: true, xTickText: (v) => String(v) }));
  }
  parts.push('</div>');
  // Throughput over time.
  const tSeries: Series[] = [];
  for (const [m, t] of Object.entries(r.throughput_per_second)) {
    if (!t) continue;
    tSeries.push({ label: `${m} (${fmtInt(t.eps)}/s, ${t.round})`, color: colorOf(m), points: t.per_second.map((c, i) => [i + 0.5, c]) });
  }
  parts.push('<h2>Throughput over time while draining the backlog (decisions per second, by decision CreateTime; the median run of each)</h2>');
  parts.push(lineChart({ title: 'decisions per second', width: 1340, height: 340, series: tSeries, xLabel: 'seconds since the first decision', yLabel: 'events/s', yMin: 0, xMin: 0, yTickText: (v) => fmtInt(v) }));
  parts.push('<h2>Targets</h2>');
  parts.push(
    `<table><thead><tr><th>target</th><th>value</th><th>goal</th><th></th></tr></thead><tbody>${Object.entries(r.targets)
      .map(([k, t]) => {
        const v = k.includes('ratio') ? pct(t.value) : k.includes('bytes') ? `${fmtInt(t.value)} B` : `${fmt(t.value)} ms`;
        return `<tr><td>${esc(k)}</td><td class="n">${esc(v)}</td><td>${esc(t.target)}</td><td class="${t.verdict === 'PASS' ? 'pass' : 'miss'}">${esc(t.verdict)}</td></tr>`;
      })
      .join('')}</tbody></table>`,
  );
  // Raw runs.
  parts.push('<h2>Every drain run</h2>');
  parts.push(
    htmlTable(
      ['run', 'ev/s', 'seconds', 'decisions', 'DLQ', 'dup', 'cpu cores', 'µs/ev', 'broker', 'RSS MB', 'start s', 'ok'],
      drains.map((d) => [`${d.mode} ${d.round}`, fmtInt(d.eps), fmt(d.seconds), fmtInt(d.decisions), fmtInt(d.deadLetters), fmtInt(d.duplicates), fmt(d.cpuCores, 2), fmt(d.cpuUsPerEvent, 0), fmt(d.brokerCpuCores, 2), fmt(d.peakRssMb, 0), fmt(d.startupSeconds), d.ok ? 'yes' : (d.error ?? 'no')]),
    ),
  );
  // Profiles.
  for (const [m, p] of Object.entries(r.profiles)) {
    parts.push(`<h2>CPU profile: ${esc(m)} (${fmtInt(p.eps_under_profiler)} ev/s under the profiler)</h2>`);
    parts.push(`<pre>${esc(formatProfile(m, p, 20))}</pre>`);
  }
  return page('fraudscore benchmark', parts.join('\n'));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
