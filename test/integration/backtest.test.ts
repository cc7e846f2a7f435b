/**
 * `fraudscore backtest` on the real broker: a simulated world is published to fresh topics
 * (as `fraudscore publish --simulate` does), and the command (registerBacktest, in-process,
 * with the flags an operator gives) compares the candidate fraud-lr/1.0.0 with the champion
 * fraud-lgbm/1.0.0 on a week near the end of it:
 *
 *   - the report's counts add up to the transactions of the week (the matrix, each model's
 *     decisions, labelled + unlabelled), counted independently from the simulation path's
 *     feature table;
 *   - the champion's AP (and the candidate's) is what scoring the batch feature table's rows of
 *     the same week gives (the simulation path, `features --seed ...`: the same rows, the same
 *     model), to the last digit;
 *   - it is read-only: every topic's end offsets unchanged (the inputs, the test set's
 *     decisions/flags/... topics, and the default fraud-decisions-like topics when they exist),
 *     no consumer group holding offsets on the inputs, the throwaway group gone, no new topic.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BacktestReport } from '../../services/cli/src/backtest/report.js';
import { writeFeatureTable } from '../../services/cli/src/commands/features.js';
import { registerBacktest, type BacktestIo } from '../../services/cli/src/commands/backtest.js';
import { scoreRows } from '../../services/cli/src/evaluate/score.js';
import { TOPICS } from '../../services/common/src/kafka.js';
import { averagePrecision } from '../../services/common/src/ranking-metrics.js';
import { CSV_COLUMNS, FEATURE_COUNT } from '../../services/scorer/src/features/index.js';
import { loadModel } from '../../services/scorer/src/model/load.js';
import { SCORER_CONTRACT } from '../../services/scorer/src/service.js';
import { publishSimulation } from '../../services/simulator/src/index.js';
import { brokers, deleteTopics, freshTopics, testKafka, type TestTopics } from '../helpers/kafka.js';

const WORLD = { seed: 11, customers: 100, terminals: 200, days: 45 };
const START = Date.UTC(2018, 3, 1);
const DAY = 86_400_000;
const SINCE = START + 38 * DAY;
const UNTIL = START + 45 * DAY;
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** End offsets of a topic, partition by partition. */
async function ends(admin: Admin, topic: string): Promise<string[]> {
  return (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((p) => `${p.partition}:${p.low}-${p.high}`);
}

/** Every group with a committed offset on any of `topics`. */
async function groupsWithOffsets(admin: Admin, topics: string[]): Promise<string[]> {
  const { groups } = await admin.listGroups();
  const holding: string[] = [];
  for (const { groupId } of groups) {
    const offsets = await admin.fetchOffsets({ groupId, topics });
    if (offsets.some((t) => t.partitions.some((p) => p.offset !== '-1'))) holding.push(groupId);
  }
  return holding;
}

const backtestGroups = async (admin: Admin): Promise<string[]> => (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith('fraudscore-backtest-'));

interface Snapshot {
  topics: string[];
  offsets: Record<string, string[]>;
  groups: string[];
  backtestGroups: string[];
}

describe('backtest on a real broker', () => {
  const kafka: Kafka = testKafka('fraudscore-test-backtest');
  let admin: Admin;
  let topics: TestTopics;
  let dir: string;
  let before: Snapshot;
  /** The simulation path's table: rows of the window, features as float32, labels. */
  const table = { n: 0, X: new Float32Array(0), labels: new Uint8Array(0) };

  /** Every non-internal topic but other test runs' fresh sets (t-<id>-…, created by tests that may run meanwhile). */
  const visibleTopics = async (): Promise<string[]> => {
    const own = topics.transactions.slice(0, 11);
    return (await admin.listTopics()).filter((t) => !t.startsWith('__') && (!/^t-[0-9a-f]{8}-/.test(t) || t.startsWith(own))).sort();
  };
  /** The test set's topics, and the default topics a scorer writes (when they exist on this broker). */
  const watched = async (): Promise<string[]> => {
    const existing = new Set(await admin.listTopics());
    const plan = Object.entries(topics).filter(([k]) => k !== 'group').map(([, v]) => v);
    return [...plan, ...Object.values(TOPICS).filter((t) => existing.has(t))];
  };
  const snapshot = async (): Promise<Snapshot> => {
    const offsets: Record<string, string[]> = {};
    for (const t of await watched()) offsets[t] = await ends(admin, t);
    return { topics: await visibleTopics(), offsets, groups: await groupsWithOffsets(admin, [topics.transactions, topics.outcomes]), backtestGroups: await backtestGroups(admin) };
  };

  async function cli(...args: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
    const got = { code: undefined as number | undefined, out: '', err: '' };
    const io: BacktestIo = { out: (s) => (got.out += s), err: (s) => (got.err += s), progress: null, exit: (code) => (got.code = code) };
    const program = new Command('fraudscore');
    registerBacktest(program, io, { env: {} });
    await program.parseAsync(['node', 'fraudscore', 'backtest', '--brokers', brokers(), '--transactions-topic', topics.transactions, '--outcomes-topic', topics.outcomes, ...args]);
    return got;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backtest-'));
    admin = kafka.admin();
    await admin.connect();
    topics = await freshTopics(kafka, 3);
    const stats = await publishSimulation(kafka, { ...WORLD, topics: { transactions: topics.transactions, outcomes: topics.outcomes } });
    expect(stats.transactions).toBeGreaterThan(3000);

    // The batch feature table of the same world (the simulation path), cut to the window.
    await writeFeatureTable(WORLD, join(dir, 'simulation.csv'));
    const lines = (await readFile(join(dir, 'simulation.csv'), 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    const idCols = CSV_COLUMNS.length - FEATURE_COUNT;
    const X: number[] = [];
    const labels: number[] = [];
    for (const line of lines.slice(1)) {
      const f = line.split(',');
      const t = Number(f[1]);
      if (t < SINCE || t >= UNTIL) continue;
      labels.push(f[4] === '1' ? 1 : 0);
      for (let j = 0; j < FEATURE_COUNT; j++) X.push(Number(f[idCols + j]));
    }
    table.n = labels.length;
    table.X = Float32Array.from(X);
    table.labels = Uint8Array.from(labels);
    expect(table.n).toBeGreaterThan(500);

    before = await snapshot();
    expect(before.groups).toEqual([]);
  });

  afterAll(async () => {
    if (topics) await deleteTopics(kafka, topics);
    await admin?.disconnect();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let report: BacktestReport;
  let line: Record<string, unknown>;

  it('runs: exit 0, one JSON line on stdout, report.json and a self-contained report.html', async () => {
    const out = join(dir, 'report');
    const started = performance.now();
    const run = await cli('--candidate', 'fraud-lr/1.0.0', '--champion', 'fraud-lgbm/1.0.0', '--since', iso(SINCE), '--until', iso(UNTIL), '--out', out);
    const seconds = (performance.now() - started) / 1000;
    expect(run.code, run.err).toBe(0);
    expect(run.err).not.toContain('warning:');
    const stdout = run.out.trimEnd().split('\n');
    expect(stdout).toHaveLength(1);
    line = JSON.parse(stdout[0] as string) as Record<string, unknown>;
    report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as BacktestReport;
    expect(line).toMatchObject({ backtest: 'ok', report: join(out, 'report.html'), rows: report.rows, changed: report.decisions.changed });
    expect(report.window).toEqual({ since: new Date(SINCE).toISOString(), until: new Date(UNTIL).toISOString() });
    expect(report.champion.ref).toBe('fraud-lgbm/1.0.0');
    expect(report.candidate.ref).toBe('fraud-lr/1.0.0');
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|src=|href="http/i);
    process.stderr.write(`backtest took ${seconds.toFixed(1)} s (${JSON.stringify(report.timings_s)})\n${stdout[0]}\n`);
  });

  it('its counts add up to the transactions of the window', () => {
    const n = table.n;
    expect(report.rows.transactions).toBe(n);
    const m = report.decisions.matrix;
    const cells = Object.values(m).flatMap((r) => Object.values(r));
    expect(cells.reduce((a, b) => a + b, 0)).toBe(n);
    for (const role of ['champion', 'candidate'] as const) {
      const d = report[role].decisions;
      expect(d.ALLOW + d.REVIEW + d.BLOCK).toBe(n);
      expect(report[role].flagged).toBe(d.REVIEW + d.BLOCK);
      expect(report[role].flag_rate).toBe((d.REVIEW + d.BLOCK) / n);
      expect(report[role].cost.reviews).toBe(d.REVIEW);
    }
    // Rows of the matrix are the champion's decisions, columns the candidate's.
    for (const from of ['ALLOW', 'REVIEW', 'BLOCK'] as const) {
      expect(m[from].ALLOW + m[from].REVIEW + m[from].BLOCK).toBe(report.champion.decisions[from]);
      expect(m.ALLOW[from] + m.REVIEW[from] + m.BLOCK[from]).toBe(report.candidate.decisions[from]);
    }
    expect(report.decisions.changed).toBe(n - m.ALLOW.ALLOW - m.REVIEW.REVIEW - m.BLOCK.BLOCK);
    // Every outcome of the world is on the topic, so every row is labelled, as in the table.
    expect(report.rows.labelled + report.rows.unlabelled).toBe(n);
    expect(report.rows.labelled).toBe(n);
    expect(report.rows.frauds).toBe(table.labels.reduce((a, b) => a + b, 0));
    expect(report.rows.frauds).toBeGreaterThan(0);
    expect(report.replay.context).toBeGreaterThan(1000);
  });

  it("each model's AP is what scoring the batch feature table's rows of the window gives", async () => {
    for (const [role, ref] of [['champion', 'fraud-lgbm/1.0.0'], ['candidate', 'fraud-lr/1.0.0']] as const) {
      const model = await loadModel(join('models', ref), SCORER_CONTRACT);
      try {
        const scores = await scoreRows(model, table.X, table.n, FEATURE_COUNT);
        const ap = averagePrecision(scores, table.labels);
        expect(Number.isFinite(ap)).toBe(true);
        expect(report[role].ap).toBe(ap);
      } finally {
        await model.dispose();
      }
    }
    expect((line.champion as { ap: number }).ap).toBe(report.champion.ap);
  });

  it('is read-only: end offsets unchanged, no group holds offsets on the inputs, the throwaway group is gone, no new topic', async () => {
    const after = await snapshot();
    expect(Object.keys(before.offsets)).toContain(topics.decisions);
    expect(after.offsets).toEqual(before.offsets);
    expect(after.groups).toEqual([]);
    expect(after.backtestGroups.filter((g) => !before.backtestGroups.includes(g))).toEqual([]);
    expect(after.topics).toEqual(before.topics);
  });
});
