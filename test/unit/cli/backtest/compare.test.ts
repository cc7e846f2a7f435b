/**
 * `fraudscore backtest`'s comparison (backtest/compare.ts) on ten hand-made rows whose every
 * figure is worked out by hand below, the report built from it (backtest/report.ts), and the
 * command's refusals before anything is read (commands/backtest.ts). The replay from a real
 * broker: test/integration/backtest.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW, BLOCK, compareModels, decide, REVIEW } from '../../../../services/cli/src/backtest/compare.js';
import { buildReport, jsonLine, prCurve, renderHtml } from '../../../../services/cli/src/backtest/report.js';
import type { ReplaySummary } from '../../../../services/cli/src/backtest/rows.js';
import { registerBacktest, type BacktestIo } from '../../../../services/cli/src/commands/backtest.js';
import type { PartitionRange, TopicSource } from '../../../../services/cli/src/history/kafka-source.js';
import { averagePrecision } from '../../../../services/common/src/ranking-metrics.js';
import { createPolicy } from '../../../../services/scorer/src/decision/policy.js';

// Thresholds exactly representable, so the edges below are exact.
const CHAMPION_T = { review: 0.5, block: 0.75 };
const CANDIDATE_T = { review: 0.25, block: 0.875 };

//                  row:    0     1     2    3     4     5    6     7    8       9
const labels = Int8Array.of(1, 1, 1, 0, 0, 0, -1, -1, 0, 1);
const amounts = Float64Array.of(1000, 2000, 500, 300, 100, 700, 4000, 50, 10, 60);
const championScores = [0.9, 0.6, 0.1, 0.8, 0.55, 0.2, 0.76, 0.5, 0.7499, 0.05];
//                    B    R    A    B    R     A    B     R(=review) R  A
const candidateScores = [0.95, 0.9, 0.4, 0.3, 0.1, 0.2, 0.5, 0.875, 0.2499, 0.05];
//                      B     B    R    R    A    A    R    B(=block) A      A

const rows = { labels, amounts };
const run = (scores: number[], t: typeof CHAMPION_T) => ({ scores, decisions: decide(scores, t) });
const c = compareModels(rows, run(championScores, CHAMPION_T), run(candidateScores, CANDIDATE_T));

describe('decide', () => {
  it('is the scorer policy: score >= block → BLOCK, >= review → REVIEW, else ALLOW, edges included', () => {
    expect([...decide([0.4999, 0.5, 0.7499, 0.75, 1], CHAMPION_T)]).toEqual([ALLOW, REVIEW, REVIEW, BLOCK, BLOCK]);
    const policy = createPolicy(CHAMPION_T, 'x');
    const names = ['ALLOW', 'REVIEW', 'BLOCK'];
    for (const s of [0, 0.3, 0.5, 0.6, 0.75, 0.99]) expect(names[decide([s], CHAMPION_T)[0] as number]).toBe(policy.decide(s, new Float32Array(0), 0).decision);
  });

  it('compares the float32 score the model returns, as the scorer does (float32 0.9 < 0.9)', () => {
    expect(decide(Float32Array.of(0.9), { review: 0.5, block: 0.9 })[0]).toBe(REVIEW);
    expect(decide(Float64Array.of(0.9), { review: 0.5, block: 0.9 })[0]).toBe(BLOCK);
  });
});

describe('compareModels on ten hand-made rows', () => {
  it('counts every row once in the champion → candidate matrix', () => {
    expect(c.matrix).toEqual([
      // candidate: ALLOW REVIEW BLOCK
      [2, 1, 0], // champion ALLOW: rows 5, 9 | 2 | –
      [2, 0, 2], // champion REVIEW: rows 4, 8 | – | 1, 7
      [0, 2, 1], // champion BLOCK: – | 3, 6 | 0
    ]);
    expect(c.rows).toBe(10);
    expect(c.changed).toBe(7);
    expect(c.changedRate).toBe(0.7);
  });

  it('flag, review and block rates over every row, labelled or not', () => {
    expect(c.champion.counts).toEqual({ ALLOW: 3, REVIEW: 4, BLOCK: 3 });
    expect(c.candidate.counts).toEqual({ ALLOW: 4, REVIEW: 3, BLOCK: 3 });
    expect(c.champion.flagRate).toBe(0.7);
    expect(c.candidate.flagRate).toBe(0.6);
    expect(c.change.flagRate).toBeCloseTo(-0.1, 15);
    expect(c.champion.reviewRate).toBe(0.4);
    expect(c.candidate.blockRate).toBe(0.3);
  });

  it('labels: rows 6 and 7 have none and stay out of the realized figures', () => {
    expect(c.labelled).toBe(8);
    expect(c.frauds).toBe(4);
    expect(c.fraudAmount).toBe(1000 + 2000 + 500 + 60);
  });

  it('AP is averagePrecision over the labelled rows only (and the hand-computed value)', () => {
    const keep = [0, 1, 2, 3, 4, 5, 8, 9];
    const ap = (scores: number[]) => averagePrecision(keep.map((i) => scores[i] as number), keep.map((i) => labels[i] as number));
    expect(c.champion.ap).toBe(ap(championScores));
    expect(c.candidate.ap).toBe(ap(candidateScores));
    // Champion, by descending score: .9 F, .8 G, .7499 G, .6 F, .55 G, .2 G, .1 F, .05 F.
    expect(c.champion.ap).toBeCloseTo(0.25 * (1 + 2 / 4 + 3 / 7 + 4 / 8), 12);
    // Candidate: .95 F, .9 F, .4 F, .3 G, .2 G, .2499 G, .1 G, .05 F.
    expect(c.candidate.ap).toBeCloseTo(0.25 * (1 + 1 + 1 + 4 / 8), 12);
    expect(c.change.ap).toBe((c.candidate.ap) - (c.champion.ap));
  });

  it('precision and recall at REVIEW (flagged) and at BLOCK, over the labelled rows', () => {
    // Champion flags labelled rows 0, 1, 3, 4, 8 (frauds 0, 1); blocks 0, 3 (fraud 0).
    expect(c.champion.atReview).toEqual({ labelled: 5, frauds: 2, precision: 0.4, recall: 0.5 });
    expect(c.champion.atBlock).toEqual({ labelled: 2, frauds: 1, precision: 0.5, recall: 0.25 });
    // Candidate flags labelled rows 0, 1, 2, 3 (frauds 0, 1, 2); blocks 0, 1.
    expect(c.candidate.atReview).toEqual({ labelled: 4, frauds: 3, precision: 0.75, recall: 0.75 });
    expect(c.candidate.atBlock).toEqual({ labelled: 2, frauds: 2, precision: 1, recall: 0.5 });
  });

  it('cost: fraud amount flagged and blocked vs REVIEW decisions (every row)', () => {
    expect(c.champion.cost).toEqual({
      fraudAmountFlagged: 3000, fraudAmountBlocked: 1000, fraudAmountFlaggedShare: 3000 / 3560, fraudAmountBlockedShare: 1000 / 3560,
      reviews: 4, genuineBlocked: 1, genuineAmountBlocked: 300,
    });
    expect(c.candidate.cost).toEqual({
      fraudAmountFlagged: 3500, fraudAmountBlocked: 3000, fraudAmountFlaggedShare: 3500 / 3560, fraudAmountBlockedShare: 3000 / 3560,
      reviews: 3, genuineBlocked: 0, genuineAmountBlocked: 0,
    });
    expect(c.change).toMatchObject({ fraudAmountFlagged: 500, fraudAmountBlocked: 2000, reviews: -1 });
  });

  it('undefined figures are NaN: no labels, no rows', () => {
    const none = compareModels({ labels: [-1, -1], amounts: [1, 2] }, run([0.9, 0.1], CHAMPION_T), run([0.9, 0.9], CANDIDATE_T));
    expect(none.matrix).toEqual([[0, 0, 1], [0, 0, 0], [0, 0, 1]]);
    expect(none.champion.ap).toBeNaN();
    expect(none.champion.atReview).toEqual({ labelled: 0, frauds: 0, precision: Number.NaN, recall: Number.NaN });
    expect(none.candidate.cost.reviews).toBe(0);
    const empty = compareModels({ labels: [], amounts: [] }, run([], CHAMPION_T), run([], CANDIDATE_T));
    expect(empty.champion.flagRate).toBeNaN();
    expect(empty.changedRate).toBeNaN();
  });

  it('refuses columns of different lengths', () => {
    expect(() => compareModels(rows, run(championScores.slice(1), CHAMPION_T), run(candidateScores, CANDIDATE_T))).toThrow(RangeError);
  });
});

describe('the report', () => {
  const replay: ReplaySummary = {
    fromTimestamp: 0, read: { transactions: 12, outcomes: 10 }, outside: { transactions: 0, outcomes: 0 }, unjoinedOutcomes: 0, context: 2,
    badRecords: 0, byKind: '', errorLines: [], droppedOutcomes: 0, truncated: [],
  };
  const model = (ref: string, t: typeof CHAMPION_T) => ({ ref, digest: 'a'.repeat(64), thresholds: t });
  const report = buildReport({
    candidate: model('fraud-lr/1.0.0', CANDIDATE_T), champion: model('fraud-lgbm/1.0.0', CHAMPION_T), window: { since: Date.UTC(2018, 4, 1), until: Date.UTC(2018, 4, 8) },
    topics: { transactions: 'transactions', outcomes: 'transaction-outcomes' }, comparison: c, replay, notes: ['a <note>'], timings_s: { total: 1 }, dir: '/tmp/x',
  });

  it('JSON: the matrix by name, counts that add up, null for undefined figures', () => {
    expect(report.decisions.matrix.REVIEW).toEqual({ ALLOW: 2, REVIEW: 0, BLOCK: 2 });
    expect(report.rows).toEqual({ transactions: 10, labelled: 8, unlabelled: 2, frauds: 4, fraud_amount_minor: 3560 });
    const sum = Object.values(report.decisions.matrix).reduce((s, r) => s + r.ALLOW + r.REVIEW + r.BLOCK, 0);
    expect(sum).toBe(10);
    expect(report.champion.ap).toBe(c.champion.ap);
    expect(report.candidate.cost.fraud_amount_blocked_minor).toBe(3000);
    const line = JSON.parse(jsonLine(report)) as Record<string, unknown>;
    expect(line).toMatchObject({ backtest: 'ok', changed: 7, champion: { ref: 'fraud-lgbm/1.0.0', reviews: 4 }, candidate: { ref: 'fraud-lr/1.0.0', reviews: 3 }, report: '/tmp/x/report.html' });
    const none = buildReport({ ...{ candidate: model('a/1', CANDIDATE_T), champion: model('b/1', CHAMPION_T) }, window: { since: 0, until: 1 }, topics: report.topics, replay, notes: [], timings_s: {}, dir: '/tmp/y',
      comparison: compareModels({ labels: [-1], amounts: [5] }, run([0.9], CHAMPION_T), run([0.1], CANDIDATE_T)) });
    expect(none.champion.ap).toBeNull();
    expect(JSON.parse(JSON.stringify(none)).change.ap).toBeNull();
    // Nothing labelled: the page still renders, with dashes and an empty chart.
    expect(renderHtml(none, { champion: prCurve([0.9], [-1]), candidate: prCurve([0.1], [-1]) })).toContain('<td>average precision (labelled rows)</td><td>–</td><td>–</td><td>–</td>');
  });

  it('HTML: self-contained (no script, no external resource), the tables, escaped text, one inline SVG chart', () => {
    const curves = { champion: prCurve(championScores, labels), candidate: prCurve(candidateScores, labels) };
    const html = renderHtml(report, curves);
    expect(html).not.toMatch(/<script|<link|src=|href="http/i);
    expect(html).toContain('<td class="moved">2</td>');
    expect(html).toContain('7 decisions change (70.0%)');
    expect(html).toContain('a &lt;note&gt;');
    expect(html.match(/<svg/g)?.length).toBe(1);
    expect(curves.champion.recall.at(-1)).toBe(1);
    expect(curves.champion.precision[0]).toBe(1);
  });
});

describe('the command refuses bad input before reading anything (exit 2)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backtest-unit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const untouched: TopicSource = {
    offsets: () => Promise.reject(new Error('read')),
    offsetsForTime: () => Promise.reject(new Error('read')),
    read: (_ranges: readonly PartitionRange[]) => Promise.reject(new Error('read')),
    close: () => Promise.resolve(),
  };

  async function cli(...args: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
    const got = { code: undefined as number | undefined, out: '', err: '' };
    const io: BacktestIo = { out: (s) => (got.out += s), err: (s) => (got.err += s), progress: null, exit: (code) => (got.code = code) };
    const program = new Command('fraudscore');
    registerBacktest(program, io, { source: untouched, env: {} });
    await program.parseAsync(['node', 'fraudscore', 'backtest', '--models-dir', 'models', '--out', dir, ...args]);
    return got;
  }

  it.each([
    [['--candidate', 'fraud-lr/1.0.0', '--since', '2018-05-01'], /--since <date> and --until <date>/],
    [['--candidate', 'fraud-lr/1.0.0', '--since', '2018-05-08', '--until', '2018-05-01'], /--until \(2018-05-01\) must be after --since/],
    [['--candidate', 'fraud-lr/1.0.0', '--since', '2018-05-01', '--until', '2018-05-01'], /must be after --since/],
    [['--candidate', 'fraud-lr/1.0.0', '--since', '2018-02-30', '--until', '2018-05-01'], /--since: expected a date/],
    [['--candidate', 'fraud-lr/1.0.0', '--since', '2018-05-01T08:00', '--until', '2018-05-02'], /--since: expected a date/],
    [['--candidate', 'fraud-lr/1.0.0', '--since', 'yesterday', '--until', '2018-05-02'], /--since: expected a date/],
    [['--since', '2018-05-01', '--until', '2018-05-02'], /needs --candidate/],
    [['--candidate', 'fraud-nope/9.9.9', '--since', '2018-05-01', '--until', '2018-05-02'], /unknown candidate fraud-nope\/9\.9\.9: no model at/],
    [['--candidate', 'fraud-lr/1.0.0', '--champion', 'fraud-lgbm/0.0.1', '--since', '2018-05-01', '--until', '2018-05-02'], /unknown champion fraud-lgbm\/0\.0\.1/],
    [['--candidate', '../models/fraud-lr', '--since', '2018-05-01', '--until', '2018-05-02'], /--candidate takes name\/version/],
    [['--candidate', 'fraud-lr/1.0.0', '--since', '2018-05-01', '--until', '2018-05-02', '--max-bad', '-1'], /--max-bad/],
  ])('%j', async (args, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });
});
