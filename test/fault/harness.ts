/**
 * The fault suite's tools: scorer processes it can SIGKILL, SIGSTOP and restart (the real CLI,
 * as in production), a supervisor loop that restarts a scorer whenever it exits, control of
 * the dedicated fault broker, waiting for the group to commit the whole input, the reference
 * (fault-free) features of a simulated world, and the results table.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, inject } from 'vitest';
import { Partitioners, type Kafka, type Message } from 'kafkajs';
import { createCodecs } from '../../services/common/src/contracts.js';
import { freePort } from '../../services/cli/src/scorer-child.js';
import { batchFeatures } from '../../services/scorer/src/features/index.js';
import { FEATURE_NAMES, OFFSET_TERMINAL_WINDOWS } from '../../services/scorer/src/features/feature-set.js';
import type { SimEvent } from '../../services/simulator/src/index.js';
import { auditRun, compareFeatures, describeFailures, type AuditReport, type FeatureComparison } from '../helpers/audit.js';
import type { TestTopics } from '../helpers/kafka.js';
import { scorerEnv } from '../helpers/scorer.js';
import { faultKafkaEnv } from './global-setup.js';
import { recordResult } from './results.js';

const execFileP = promisify(execFile);

export const LOG_DIR = 'runs/test-logs';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ScorerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly adminUrl: string;
  readonly exited: Promise<Exit>;
  /** undefined while running. */
  exit(): Exit | undefined;
  /** Resolves when /readyz answers 200; rejects if the process exits first or the timeout passes. */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. */
  stop(graceMs?: number): Promise<Exit>;
  log(): string;
}

/** Spawns `fraudscore scorer` (node --import tsx, like `npm run fraudscore`) with its own log file. */
export async function launchScorer(env: Record<string, string>, name: string): Promise<ScorerProcess> {
  const port = await freePort();
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'w' });
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/src/main.ts', 'scorer'], {
    env: { ...process.env, ...env, FRAUD_ADMIN_HOST: '127.0.0.1', FRAUD_ADMIN_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      // Let the pipes drain into the log before anyone reads it.
      setTimeout(() => resolve(exit!), 100);
    }),
  );
  const adminUrl = `http://127.0.0.1:${port}`;
  const proc: ScorerProcess = {
    name,
    child,
    logFile,
    adminUrl,
    exited,
    exit: () => exit,
    async ready(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exit) throw new Error(`scorer ${name} exited (${describeExit(exit)}) before it was ready; see ${logFile}`);
        const ok = await fetch(`${adminUrl}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
        if (ok) return;
        await sleep(200);
      }
      throw new Error(`scorer ${name} not ready in ${timeoutMs} ms; see ${logFile}`);
    },
    async stop(graceMs = 30_000) {
      if (exit) return exit;
      child.kill('SIGCONT'); // a stopped process cannot handle SIGTERM
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
  return proc;
}

export function describeExit(e: Exit): string {
  return e.signal ? `signal ${e.signal}` : `code ${e.code}`;
}

/** Waits for the process to exit, failing with its log's tail after `timeoutMs`. */
export async function waitExit(p: ScorerProcess, timeoutMs: number, why: string): Promise<Exit> {
  const e = await Promise.race([p.exited, sleep(timeoutMs).then(() => undefined)]);
  if (!e) throw new Error(`${p.name}: still running after ${timeoutMs} ms (${why}); see ${p.logFile}`);
  return e;
}

/**
 * A supervisor, as systemd or Kubernetes would be: whenever the scorer exits (crash, fencing,
 * broker gone at start-up), start it again after a short back-off, until stopped.
 */
export interface Supervisor {
  readonly exits: Exit[];
  readonly starts: number;
  current(): ScorerProcess | undefined;
  /** Resolves once the current process is ready (restarting as often as needed). */
  ready(timeoutMs?: number): Promise<void>;
  stop(): Promise<Exit | undefined>;
}

export function supervise(env: Record<string, string>, name: string, backoffMs = 1_000): Supervisor {
  const exits: Exit[] = [];
  let starts = 0;
  let proc: ScorerProcess | undefined;
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      proc = await launchScorer(env, `${name}-${++starts}`);
      const e = await proc.exited;
      if (stopping) break;
      exits.push(e);
      await sleep(backoffMs);
    }
  })();
  return {
    exits,
    get starts() {
      return starts;
    },
    current: () => proc,
    async ready(timeoutMs = 180_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const p = proc;
        if (p && !p.exit()) {
          const ok = await fetch(`${p.adminUrl}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
          if (ok) return;
        }
        await sleep(250);
      }
      throw new Error(`${name}: no ready scorer within ${timeoutMs} ms (${starts} starts, exits: ${exits.map(describeExit).join(', ')})`);
    },
    async stop() {
      stopping = true;
      const p = proc;
      const e = p ? await p.stop() : undefined;
      await loop;
      return e;
    },
  };
}

/** The dedicated fault broker: SIGKILL and restart (same port, same data). */
export const broker = {
  controllable: (): boolean => inject('faultBrokerControl'),
  async kill(): Promise<void> {
    await execFileP('bash', ['deploy/local/kafka.sh', 'kill'], { env: faultKafkaEnv() });
  },
  async restart(): Promise<void> {
    await execFileP('bash', ['deploy/local/kafka.sh', 'restart'], { env: faultKafkaEnv(), timeout: 150_000 });
  },
};

/** Committed offsets of the group on `topic`, per partition (-1: none). */
export async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((t?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** End offsets (high watermarks; the input topic is not transactional) per partition. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Sum over partitions of committed progress (committed offset, 0 when none). */
export async function committedCount(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  let n = 0;
  for (const o of (await committedOffsets(kafka, groupId, topic)).values()) if (o > 0n) n += Number(o);
  return n;
}

/** Polls until the group committed every partition of `topic` up to its end. Transient broker errors are retried. */
export async function waitCommittedToEnd(kafka: Kafka, groupId: string, topic: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const end = await endOffsets(kafka, topic);
      const committed = await committedOffsets(kafka, groupId, topic);
      const behind = [...end].filter(([p, e]) => (committed.get(p) ?? -1n) < e);
      if (behind.length === 0) return;
      last = behind.map(([p, e]) => `p${p} ${committed.get(p) ?? -1n}/${e}`).join(', ');
    } catch (err) {
      last = `admin error: ${(err as Error).message}`;
    }
    await sleep(500);
  }
  throw new Error(`group ${groupId} did not commit ${topic} to its end in ${timeoutMs} ms: ${last}`);
}

/** Polls `cond` until true; throws `what` on timeout. */
export async function until(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await Promise.resolve(cond()).catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
}

export { OUTCOME_LEAD_MS, withOutcomeLead } from '../helpers/outcome-lead.js';

/** Features of a fault-free, in-order batch run over the same simulated events. */
export async function referenceFeatures(events: readonly SimEvent[]): Promise<Map<string, Float64Array>> {
  const out = new Map<string, Float64Array>();
  for await (const row of batchFeatures(events)) out.set(row.tx.transactionId, row.features);
  return out;
}

/**
 * Publishes prepared messages in order (one send in flight, idempotent, acks all, Java's
 * murmur2 partitioner), `perBatch` at a time, pausing so that about `rate` messages go per
 * second. For streams the simulator's publisher cannot write (poison, other writer schemas).
 */
export async function publishMessages(kafka: Kafka, messages: readonly { topic: string; message: Message }[], opts: { rate?: number; perBatch?: number } = {}): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const perBatch = opts.perBatch ?? 50;
  const started = Date.now();
  try {
    for (let i = 0; i < messages.length; i += perBatch) {
      const slice = messages.slice(i, i + perBatch);
      const byTopic = new Map<string, Message[]>();
      for (const m of slice) byTopic.set(m.topic, [...(byTopic.get(m.topic) ?? []), m.message]);
      await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })), acks: -1 });
      if (opts.rate) {
        const due = started + ((i + slice.length) / opts.rate) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    }
  } finally {
    await producer.disconnect();
  }
}

/** Lines of a scorer log (pino JSON) whose msg matches. */
export function logLines(text: string, msg: RegExp): string[] {
  return text.split('\n').filter((l) => msg.test(l));
}


// ---- scenario plumbing -----------------------------------------------------------------

/**
 * Environment of an exactly-once scorer on `topics`, logging at info (the suite counts log
 * lines). The session timeout is the broker's minimum, 6 s: a restarted scorer's join waits
 * until the group coordinator evicts the killed member, and 30 s per restart would dominate
 * the suite's runtime.
 */
export function eosEnv(topics: TestTopics, extra: Record<string, string> = {}): Record<string, string> {
  // One instance name per scenario (a restarted scorer is the same instance, as under a
  // supervisor): on librdkafka its transactional id fences the killed predecessor at once.
  // Scenarios with several live instances give each its own (FRAUD_INSTANCE_ID in `extra`).
  return scorerEnv(topics, { FRAUD_DELIVERY: 'exactly-once', FRAUD_LOG_LEVEL: 'info', FRAUD_MAX_BATCH: '20', FRAUD_SESSION_TIMEOUT_MS: '6000', FRAUD_INSTANCE_ID: 'scenario', ...extra });
}

export interface Outcome {
  report: AuditReport;
  features: FeatureComparison;
}

const codecs = createCodecs('confluent');

/**
 * Audits a finished scenario (every scorer stopped), compares features with the reference
 * run, records the table row and prints a one-line summary plus any failures by class.
 */
export async function auditScenario(opts: {
  kafka: Kafka;
  topics: TestTopics;
  scenario: string;
  rounds: number;
  reference: ReadonlyMap<string, Float64Array>;
  startedAt: number;
  starts: number;
  exits: readonly Exit[];
  notes?: string;
}): Promise<Outcome> {
  const report = await auditRun(opts.kafka, { transactions: opts.topics.transactions, decisions: opts.topics.decisions, dlq: opts.topics.dlq, flags: opts.topics.flags }, codecs);
  const features = compareFeatures(report.committedDecisions, opts.reference, OFFSET_TERMINAL_WINDOWS);
  const featureMismatches = features.cardMismatches.length + features.terminalMismatches.length + features.unknown.length;
  recordResult({
    scenario: opts.scenario,
    rounds: opts.rounds,
    events: report.inputs,
    lost: report.lostCount,
    duplicated: report.duplicate.length,
    abortedCopies: report.abortedCopies,
    abortedRead: report.abortedRead.length,
    deadLetters: report.deadLetters,
    featureMismatches,
    scorerStarts: opts.starts,
    exits: summarizeExits(opts.exits),
    seconds: Math.round((Date.now() - opts.startedAt) / 1000),
    notes: (opts.notes ?? '') + (report.ok ? '' : ' AUDIT FAILED'),
  });
  console.log(
    `[${opts.scenario}] inputs ${report.inputs} (${JSON.stringify(report.inputRanges)}), decisions ${report.decisions}, dead letters ${report.deadLetters}, flags ${report.flags}, ` +
      `lost ${report.lostCount}, duplicated ${report.duplicate.length}, aborted-read ${report.abortedRead.length}, aborted copies seen ${JSON.stringify(report.abortedCopiesByTopic)}, ` +
      `features compared ${features.compared} (card mismatches ${features.cardMismatches.length}, terminal-only mismatches ${features.terminalMismatches.length}, unknown ${features.unknown.length}), exits [${summarizeExits(opts.exits)}]`,
  );
  if (!report.ok) console.log(`[${opts.scenario}] AUDIT FAILURES:\n${describeFailures(report)}`);
  if (featureMismatches) {
    const byId = new Map(report.committedDecisions.map((d) => [d.transactionId, d]));
    const first = [...features.cardMismatches, ...features.terminalMismatches].slice(0, 5).map((m) => {
      const d = byId.get(m.transactionId)!;
      return { ...m, feature: FEATURE_NAMES[m.index], source: `p${d.source.partition}@${d.source.offset}`, scoredAt: new Date(d.scoredAt).toISOString() };
    });
    const perPartition: Record<number, number> = {};
    for (const m of [...features.cardMismatches, ...features.terminalMismatches]) {
      const p = byId.get(m.transactionId)!.source.partition;
      perPartition[p] = (perPartition[p] ?? 0) + 1;
    }
    console.log(`[${opts.scenario}] feature mismatches per partition ${JSON.stringify(perPartition)}; first 5: ${JSON.stringify(first)}`);
  }
  return { report, features };
}

export function summarizeExits(exits: readonly Exit[]): string {
  const counts = new Map<string, number>();
  for (const e of exits) counts.set(describeExit(e), (counts.get(describeExit(e)) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n}× ${k}`).join(', ');
}

/** The assertions every scenario ends with. */
export function expectClean({ report, features }: Outcome): void {
  const failures = describeFailures(report);
  expect(report.lostCount, failures).toBe(0);
  expect(report.duplicate.length, failures).toBe(0);
  expect(report.abortedRead.length, failures).toBe(0);
  expect(report.foreign.length, failures).toBe(0);
  expect(report.headerMismatch.length, failures).toBe(0);
  expect(report.committedUnread.length, failures).toBe(0);
  expect(report.openRecords, failures).toBe(0);
  expect(report.flagProblems, failures).toEqual([]);
  expect(report.ok, failures).toBe(true);
  expect(features.unknown).toEqual([]);
  expect(features.cardMismatches.slice(0, 5)).toEqual([]);
  expect(features.terminalMismatches.slice(0, 5)).toEqual([]);
}
