/**
 * Maximum throughput: one child process (scorer, pipe or bare baseline) drains the shared
 * backlog from offset 0 with a fresh consumer group and fresh output topics. events/s =
 * backlog / (last output CreateTime − first output CreateTime); CPU µs/event is the child's
 * CPU time (utime + stime, all threads) between those two instants ÷ backlog.
 */
import { writeModeSpec } from './swaps.js';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { topicEnvironment, type TopicPlan } from '../../../services/scorer/src/source/topics.js';
import type { Broker, TraceBackend } from './infra.js';
import { committedSum, createTopics, deleteTopics, readOutputs, runPlan } from './kafka-io.js';
import type { ModeDef, ModeKey, Options } from './options.js';
import { CpuSampler, spawnChild, type BenchChild } from './proc.js';
import { fmt, fmtInt, perSecond } from './stats.js';
import { say, stamp, status } from './ui.js';

export interface Ctx {
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
  /** Modes that could not start (with why): not tried again in later rounds or for latency. */
  cannotStart: Map<ModeKey, string>;
}

export interface DrainResult {
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

export function childEnv(ctx: Ctx, mode: ModeDef, plan: TopicPlan, group: string): Record<string, string> {
  return {
    FRAUD_KAFKA_BROKERS: ctx.broker.brokers.join(','),
    FRAUD_KAFKA_CLIENT: mode.client,
    FRAUD_GROUP_ID: group,
    FRAUD_CLIENT_ID: `bench-${mode.key}`,
    ...topicEnvironment(plan),
    FRAUD_DELIVERY: mode.delivery,
    FRAUD_FROM_BEGINNING: 'true',
    FRAUD_LOG_LEVEL: 'info',
    FRAUD_OTEL_ENDPOINT: mode.sample === null ? '' : ctx.traces.otlpHttp,
    FRAUD_TRACE_SAMPLE_RATIO: String(mode.sample ?? 0),
    ...mode.env,
    ...ctx.opts.extraEnv,
  };
}

const clientSupport = new Map<string, string | null>();

/**
 * Whether the source tree's scorer knows FRAUD_KAFKA_CLIENT=<client> (its loadConfig returns
 * it as kafkaClient); null when it does, else why not. A tree that ignores the variable would
 * silently run kafkajs under an -rdk label, so such modes fail instead.
 */
export function clientSupported(mode: ModeDef): string | null {
  if (mode.kind === 'baseline' || mode.client === 'kafkajs') return null;
  const cwd = mode.cwd ?? process.cwd();
  const key = `${cwd}\0${mode.client}`;
  if (!clientSupport.has(key)) {
    const code = `const { loadConfig } = await import('./services/scorer/src/config.ts');
      console.log(loadConfig({ FRAUD_KAFKA_BROKERS: 'x:1', FRAUD_KAFKA_CLIENT: ${JSON.stringify(mode.client)} }).kafkaClient ?? '(none)');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd, encoding: 'utf8', timeout: 60_000 });
    const got = r.stdout?.trim().split('\n').at(-1) ?? '';
    clientSupport.set(
      key,
      got === mode.client
        ? null
        : `this tree's scorer does not support FRAUD_KAFKA_CLIENT=${mode.client} (its config ${r.status === 0 ? `gives kafkaClient ${got || '(none)'}` : `fails: ${(r.stderr ?? '').trim().split('\n').at(-1)}`})`,
    );
  }
  return clientSupport.get(key)!;
}

export async function startChild(ctx: Ctx, mode: ModeDef, plan: TopicPlan, group: string, name: string, nodeFlags: string[] = []): Promise<BenchChild> {
  const unsupported = clientSupported(mode);
  if (unsupported) throw new StartupError(unsupported);
  if (mode.deploy) await writeModeSpec(ctx.kafka, plan.deployments, mode.deploy);
  try {
    const child = await spawnChild({
      label: name,
      entry: mode.entry,
      cwd: mode.cwd,
      args: mode.args,
      env: childEnv(ctx, mode, plan, group),
      logFile: join(ctx.logDir, `${name}.log`),
      nodeFlags,
      nodeBin: mode.node?.bin,
    });
    ctx.current = child;
    return child;
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
}

/** The child never became ready: the mode is not tried again in this run. */
export class StartupError extends Error {
  override name = 'StartupError';
}

export const runName = (mode: ModeDef, suffix: string): string => `${mode.key.replaceAll('@', '_')}-${suffix}`;

export async function drainRun(ctx: Ctx, mode: ModeDef, round: string, profileDir?: string): Promise<DrainResult> {
  const name = runName(mode, round);
  const result: DrainResult = {
    mode: mode.key, round, ok: false, inputs: ctx.backlog.total, decisions: 0, deadLetters: 0, duplicates: 0, seconds: NaN, eps: NaN,
    cpuCores: NaN, cpuUsPerEvent: NaN, brokerCpuCores: NaN, traceBackendCpuCores: NaN, peakRssMb: NaN, startupSeconds: NaN, exitCode: null, perSecond: [],
  };
  const skip = ctx.cannotStart.get(mode.key);
  if (skip) {
    result.error = `skipped: could not start earlier (${skip})`;
    say(`  [${stamp()}] ${name}: SKIPPED (could not start earlier in this run)`);
    return result;
  }
  const plan = runPlan(ctx.prefix, name, ctx.backlog);
  const group = `${ctx.prefix}-${name}-${randomUUID().slice(0, 6)}`;
  let created: string[] = [];
  const admin = ctx.kafka.admin();
  await admin.connect();
  let child: BenchChild | undefined;
  let sampler: CpuSampler | undefined;
  try {
    created = await createTopics(ctx.kafka, plan, ctx.opts.partitions, ['decisions', 'flags', 'dlq', 'cardState', 'shadowDecisions', 'deployments', 'deploymentStatus']);
    const t0 = Date.now();
    // One directory per run: node writes one profile per thread (tsx's loader runs in a worker).
    const flags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`] : [];
    status(`  [${stamp()}] ${name}: starting`, true);
    child = await startChild(ctx, mode, plan, group, name, flags);
    result.startupSeconds = (Date.now() - t0) / 1000;
    const pids = [child.pid, ...(ctx.broker.pid ? [ctx.broker.pid] : []), ...(ctx.traces.pid && mode.sample !== null ? [ctx.traces.pid] : [])];
    sampler = new CpuSampler(pids, 100); // fine-grained: a baseline drains 500k events in a few seconds
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
    if (err instanceof StartupError) ctx.cannotStart.set(mode.key, err.message);
  } finally {
    sampler?.stop();
    if (child) await child.stop(10_000).catch(() => null);
    ctx.current = undefined;
    await admin.disconnect().catch(() => {});
    if (!ctx.opts.keepTopics) await deleteTopics(ctx.kafka, created, [group]).catch(() => {});
  }
  say(
    result.ok
      ? `  [${stamp()}] ${name}: ${fmtInt(result.eps)} ev/s (${fmtInt(ctx.backlog.total)} in ${fmt(result.seconds, 1)} s) | cpu ${fmt(result.cpuCores, 2)} cores, ${fmt(result.cpuUsPerEvent, 1)} µs/ev | broker ${fmt(result.brokerCpuCores, 2)} cores | peak rss ${fmt(result.peakRssMb, 0)} MB | start ${fmt(result.startupSeconds, 1)} s${result.duplicates ? ` | ${result.duplicates} duplicates` : ''}`
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

/**
 * Saves the child's Prometheus text beside its log and returns the mean time per event in each
 * stage (decode and features are per event; inference, decide and produce are per chunk, so
 * each event is charged the whole chunk's time, as the scorer's metric does).
 */
export async function saveMetrics(child: BenchChild, file: string): Promise<Record<string, number> | undefined> {
  const text = await fetch(`${child.adminUrl}/metrics`).then((r) => (r.ok ? r.text() : ''), () => '');
  if (!text) return undefined;
  writeFileSync(file, text);
  // Stage times are recorded per chunk (their sum over its events): per event = sum ÷ events.
  let events = 0;
  for (const m of text.matchAll(/^fraudscore_events_total\{[^}]*\} (\S+)$/gm)) events += Number(m[1]);
  const sums = new Map<string, { sum: number; count: number }>();
  for (const m of text.matchAll(/^fraudscore_(stage|e2e)_latency_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm)) {
    const stage = m[1] === 'e2e' ? 'e2e_to_ack' : (m[3]!.match(/stage="([^"]+)"/)?.[1] ?? '?');
    const e = sums.get(stage) ?? { sum: 0, count: 0 };
    if (m[2] === 'sum') e.sum += Number(m[4]);
    else e.count += Number(m[4]);
    sums.set(stage, e);
  }
  const perEvent = (stage: string, v: { sum: number; count: number }) => (stage === 'e2e_to_ack' ? v.count : events);
  return Object.fromEntries([...sums].map(([k, v]) => [k, perEvent(k, v) ? (v.sum * 1000) / perEvent(k, v) : NaN]));
}
