/**
 * What a backtest says: report.json (everything), one JSON line on stdout (the headline), and
 * report.html, a small self-contained page (no script, no network): the decision matrix, each
 * model's rates, realized metrics and cost, and one chart, both precision-recall curves with
 * each model's REVIEW and BLOCK operating points, drawn by Apache ECharts in its server-side
 * mode as an inline SVG (as the monitor report draws its charts).
 *
 * JSON has no NaN: a figure without a denominator (no labelled fraud, nothing flagged) is null.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as echarts from 'echarts';
import type { EChartsOption } from 'echarts';
import type { Outcome } from '../../../common/src/contracts.js';
import type { Thresholds } from '../../../scorer/src/decision/policy.js';
import { esc, percent, sig } from '../report/format.js';
import { DECISIONS, namedMatrix, type AtThreshold, type Comparison, type ModelFigures } from './compare.js';
import type { ReplaySummary } from './rows.js';

export interface ModelInfo {
  ref: string;
  digest: string;
  thresholds: Thresholds;
}

/** A number, or null where it is not defined (NaN, ±Infinity). */
type Num = number | null;
const num = (v: number): Num => (Number.isFinite(v) ? v : null);

export const LABELS_NOTE =
  'AP, precision, recall and the fraud amounts are realized over the rows whose outcome was on the outcomes topic by the end of the replay '
  + '(its end offsets when the replay began): rows without one count in the decisions, rates and reviews only';

export interface ModelSection {
  ref: string;
  digest: string;
  thresholds: Thresholds;
  decisions: Record<Outcome, number>;
  flagged: number;
  flag_rate: Num;
  review_rate: Num;
  block_rate: Num;
  ap: Num;
  /** Flagged (REVIEW or BLOCK: score >= the review threshold) and BLOCK, over the labelled rows. */
  at_review: { labelled: number; frauds: number; precision: Num; recall: Num };
  at_block: { labelled: number; frauds: number; precision: Num; recall: Num };
  cost: {
    fraud_amount_flagged_minor: number;
    fraud_amount_blocked_minor: number;
    fraud_amount_flagged_share: Num;
    fraud_amount_blocked_share: Num;
    reviews: number;
    genuine_blocked: number;
    genuine_amount_blocked_minor: number;
  };
}

export interface BacktestReport {
  command: 'backtest';
  candidate: ModelSection;
  champion: ModelSection;
  /** eventTime range [since, until). */
  window: { since: string; until: string };
  topics: { transactions: string; outcomes: string };
  rows: { transactions: number; labelled: number; unlabelled: number; frauds: number; fraud_amount_minor: number };
  labels: string;
  decisions: {
    /** matrix[champion decision][candidate decision]. */
    matrix: Record<Outcome, Record<Outcome, number>>;
    changed: number;
    changed_rate: Num;
  };
  /** candidate − champion. */
  change: Record<string, Num>;
  replay: {
    read: { transactions: number; outcomes: number };
    /** Transactions before --since that fed the feature windows (look-back) but are not rows. */
    context: number;
    from_timestamp: string;
    bad_records: number;
    bad_by_kind: string;
    dropped_outcomes: number;
    truncated: { topic: string; partition: number; low: string }[];
    read_only: string;
  };
  notes: string[];
  timings_s: Record<string, number>;
  report: { dir: string; json: string; html: string };
}

const at = (a: AtThreshold): ModelSection['at_review'] => ({ labelled: a.labelled, frauds: a.frauds, precision: num(a.precision), recall: num(a.recall) });

function section(info: ModelInfo, f: ModelFigures): ModelSection {
  return {
    ref: info.ref,
    digest: info.digest,
    thresholds: info.thresholds,
    decisions: f.counts,
    flagged: f.flagged,
    flag_rate: num(f.flagRate),
    review_rate: num(f.reviewRate),
    block_rate: num(f.blockRate),
    ap: num(f.ap),
    at_review: at(f.atReview),
    at_block: at(f.atBlock),
    cost: {
      fraud_amount_flagged_minor: f.cost.fraudAmountFlagged,
      fraud_amount_blocked_minor: f.cost.fraudAmountBlocked,
      fraud_amount_flagged_share: num(f.cost.fraudAmountFlaggedShare),
      fraud_amount_blocked_share: num(f.cost.fraudAmountBlockedShare),
      reviews: f.cost.reviews,
      genuine_blocked: f.cost.genuineBlocked,
      genuine_amount_blocked_minor: f.cost.genuineAmountBlocked,
    },
  };
}

export interface ReportInput {
  candidate: ModelInfo;
  champion: ModelInfo;
  window: { since: number; until: number };
  topics: { transactions: string; outcomes: string };
  comparison: Comparison;
  replay: ReplaySummary;
  notes: string[];
  timings_s: Record<string, number>;
  dir: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export const reportPaths = (dir: string): BacktestReport['report'] => ({ dir, json: join(dir, 'report.json'), html: join(dir, 'report.html') });

export function buildReport(r: ReportInput): BacktestReport {
  const c = r.comparison;
  return {
    command: 'backtest',
    candidate: section(r.candidate, c.candidate),
    champion: section(r.champion, c.champion),
    window: { since: iso(r.window.since), until: iso(r.window.until) },
    topics: r.topics,
    rows: { transactions: c.rows, labelled: c.labelled, unlabelled: c.rows - c.labelled, frauds: c.frauds, fraud_amount_minor: c.fraudAmount },
    labels: LABELS_NOTE,
    decisions: { matrix: namedMatrix(c.matrix), changed: c.changed, changed_rate: num(c.changedRate) },
    change: {
      flag_rate: num(c.change.flagRate),
      review_rate: num(c.change.reviewRate),
      block_rate: num(c.change.blockRate),
      ap: num(c.change.ap),
      precision_at_review: num(c.change.precisionAtReview),
      recall_at_review: num(c.change.recallAtReview),
      precision_at_block: num(c.change.precisionAtBlock),
      recall_at_block: num(c.change.recallAtBlock),
      fraud_amount_flagged_minor: num(c.change.fraudAmountFlagged),
      fraud_amount_blocked_minor: num(c.change.fraudAmountBlocked),
      reviews: num(c.change.reviews),
    },
    replay: {
      read: r.replay.read,
      context: r.replay.context,
      from_timestamp: iso(r.replay.fromTimestamp),
      bad_records: r.replay.badRecords,
      bad_by_kind: r.replay.byKind,
      dropped_outcomes: r.replay.droppedOutcomes,
      truncated: r.replay.truncated.map((t) => ({ topic: t.topic, partition: t.partition, low: t.low.toString() })),
      read_only: 'read_committed from the offsets found by timestamp to the end offsets captured at start; no offsets committed, throwaway consumer group deleted, nothing written to any topic',
    },
    notes: r.notes,
    timings_s: r.timings_s,
    report: reportPaths(r.dir),
  };
}

/** The stdout line: the models, the window, the headline figures of each and their change, the page. */
export function jsonLine(r: BacktestReport): string {
  const pick = (m: ModelSection) => ({
    ref: m.ref,
    flag_rate: m.flag_rate,
    ap: m.ap,
    precision_at_review: m.at_review.precision,
    recall_at_review: m.at_review.recall,
    precision_at_block: m.at_block.precision,
    recall_at_block: m.at_block.recall,
    fraud_amount_flagged_minor: m.cost.fraud_amount_flagged_minor,
    fraud_amount_blocked_minor: m.cost.fraud_amount_blocked_minor,
    reviews: m.cost.reviews,
  });
  return JSON.stringify({
    backtest: 'ok',
    window: r.window,
    rows: r.rows,
    changed: r.decisions.changed,
    matrix: r.decisions.matrix,
    champion: pick(r.champion),
    candidate: pick(r.candidate),
    change: { flag_rate: r.change.flag_rate, ap: r.change.ap, fraud_amount_flagged_minor: r.change.fraud_amount_flagged_minor, reviews: r.change.reviews },
    report: r.report.html,
  });
}

// ---- the chart ----------------------------------------------------------------------------

export interface Curve {
  recall: number[];
  precision: number[];
}

/**
 * Precision-recall points of the labelled rows at the distinct score thresholds (ties enter
 * together, as averagePrecision counts them), thinned to about `max` points.
 */
export function prCurve(scores: ArrayLike<number>, labels: ArrayLike<number>, max = 200): Curve {
  const keep: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === 0 || labels[i] === 1) keep.push(i);
  const idx = keep.sort((a, b) => (scores[b] as number) - (scores[a] as number));
  let pos = 0;
  for (const i of idx) pos += labels[i] as number;
  const curve: Curve = { recall: [], precision: [] };
  if (pos === 0) return curve;
  let tp = 0;
  let lastR = -1;
  for (let i = 0; i < idx.length; ) {
    const v = scores[idx[i] as number];
    let j = i;
    while (j < idx.length && scores[idx[j] as number] === v) tp += labels[idx[j++] as number] as number;
    const r = tp / pos;
    if (r - lastR >= 1 / max || j === idx.length) {
      curve.recall.push(r);
      curve.precision.push(tp / j);
      lastR = r;
    }
    i = j;
  }
  return curve;
}

const COLORS = { champion: '#8c8c8c', candidate: '#4e79a7' };

function prChart(report: BacktestReport, curves: { champion: Curve; candidate: Curve }): string {
  const line = (role: 'champion' | 'candidate') => ({
    name: `${role} ${report[role].ref}`,
    type: 'line' as const,
    showSymbol: false,
    data: curves[role].recall.map((r, i) => [r, curves[role].precision[i] as number]),
    lineStyle: { width: 2, color: COLORS[role] },
    itemStyle: { color: COLORS[role] },
  });
  const points = (role: 'champion' | 'candidate') => ({
    name: `${role} REVIEW / BLOCK`,
    type: 'scatter' as const,
    symbolSize: 10,
    itemStyle: { color: COLORS[role] },
    label: { show: true, position: 'right' as const, formatter: '{b}', fontSize: 11 },
    data: [
      ['REVIEW', report[role].at_review] as const,
      ['BLOCK', report[role].at_block] as const,
    ].filter(([, a]) => a.recall !== null && a.precision !== null).map(([name, a]) => ({ name, value: [a.recall as number, a.precision as number] })),
  });
  const option: EChartsOption = {
    animation: false,
    title: { text: 'Precision–recall on the labelled rows', subtext: 'each model\'s curve, and its operating points at its REVIEW and BLOCK thresholds', left: 'center', textStyle: { fontSize: 14 } },
    legend: { bottom: 0 },
    grid: { left: 64, right: 40, top: 64, bottom: 96 },
    xAxis: { type: 'value', min: 0, max: 1, name: 'recall', nameLocation: 'middle', nameGap: 26 },
    yAxis: { type: 'value', min: 0, max: 1, name: 'precision', nameLocation: 'middle', nameGap: 40 },
    series: [line('champion'), line('candidate'), points('champion'), points('candidate')],
  };
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: 720, height: 460 });
  try {
    chart.setOption(option);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

// ---- the page -----------------------------------------------------------------------------

const show = (v: Num): string => (v === null ? '–' : Math.abs(v) < 0.01 && v !== 0 ? v.toPrecision(3) : sig(v));
const pct = (v: Num): string => (v === null ? '–' : `${(100 * v).toFixed(2)}%`);
const signed = (v: Num, f: (v: Num) => string): string => (v === null ? '–' : `${v > 0 ? '+' : v < 0 ? '−' : '±'}${f(Math.abs(v))}`);
const int = (v: number): string => v.toLocaleString('en-US');
const money = (minor: number): string => (minor / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function renderHtml(r: BacktestReport, curves: { champion: Curve; candidate: Curve }): string {
  const total = r.rows.transactions;
  const m = r.decisions.matrix;
  const matrixRows = DECISIONS.map((from) => {
    const cells = DECISIONS.map((to) => {
      const v = m[from][to];
      const cls = from === to ? 'same' : v > 0 ? 'moved' : '';
      return `<td class="${cls}">${int(v)}</td>`;
    }).join('');
    const sum = DECISIONS.reduce((s, to) => s + m[from][to], 0);
    return `<tr><th>${from}</th>${cells}<td class="muted">${int(sum)}</td></tr>`;
  }).join('\n');
  const colSums = DECISIONS.map((to) => `<td class="muted">${int(DECISIONS.reduce((s, from) => s + m[from][to], 0))}</td>`).join('');
  const model = (role: 'champion' | 'candidate') => r[role];
  const row = (label: string, get: (s: ModelSection) => string, change?: string) =>
    `<tr><td>${esc(label)}</td><td>${get(model('champion'))}</td><td>${get(model('candidate'))}</td><td>${change ?? ''}</td></tr>`;
  const c = r.change;
  const notes = r.notes.map((n) => `<li>${esc(n)}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>backtest ${esc(r.candidate.ref)} vs ${esc(r.champion.ref)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2937;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}td,th{border-bottom:1px solid #e6e9ee;padding:4px 10px;text-align:right}
td:first-child,th:first-child{text-align:left}
td.same{background:#f3f4f6}td.moved{background:#fff4d6;font-weight:600}
.muted{color:#6b7280}
</style></head><body>
<h1>fraudscore backtest: ${esc(r.candidate.ref)} (candidate) vs ${esc(r.champion.ref)} (champion)</h1>
<p>${int(total)} transactions with eventTime in [${esc(r.window.since)}, ${esc(r.window.until)}), replayed read-only from
<code>${esc(r.topics.transactions)}</code> and <code>${esc(r.topics.outcomes)}</code> through the scorer's feature engine (the ${int(r.replay.context)} transactions of the look-back before it fed the windows only),
both models scored on the same features through the scorer's loadModel, each deciding by its own manifest thresholds.</p>
<p>${int(r.rows.labelled)} of them labelled (${int(r.rows.frauds)} frauds, ${money(r.rows.fraud_amount_minor)} in amount), ${int(r.rows.unlabelled)} without an outcome yet. <span class="muted">${esc(r.labels)}.</span></p>
<h2>Decisions: champion (rows) → candidate (columns)</h2>
<table><tr><th></th>${DECISIONS.map((d) => `<th>${d}</th>`).join('')}<th class="muted">total</th></tr>
${matrixRows}
<tr><th class="muted">total</th>${colSums}<td class="muted">${int(total)}</td></tr>
</table>
<p>${int(r.decisions.changed)} decisions change (${percent(r.decisions.changed, total)}).</p>
<h2>Models</h2>
<table><tr><th></th><th>champion</th><th>candidate</th><th>change</th></tr>
${row('model', (s) => esc(s.ref))}
${row('thresholds review / block', (s) => `${show(s.thresholds.review)} / ${show(s.thresholds.block)}`)}
${row('ALLOW / REVIEW / BLOCK', (s) => `${int(s.decisions.ALLOW)} / ${int(s.decisions.REVIEW)} / ${int(s.decisions.BLOCK)}`)}
${row('flag rate (REVIEW + BLOCK)', (s) => pct(s.flag_rate), signed(c.flag_rate ?? null, pct))}
${row('review rate', (s) => pct(s.review_rate), signed(c.review_rate ?? null, pct))}
${row('block rate', (s) => pct(s.block_rate), signed(c.block_rate ?? null, pct))}
${row('average precision (labelled rows)', (s) => show(s.ap), signed(c.ap ?? null, show))}
${row('precision at REVIEW (flagged)', (s) => show(s.at_review.precision), signed(c.precision_at_review ?? null, show))}
${row('recall at REVIEW (flagged)', (s) => show(s.at_review.recall), signed(c.recall_at_review ?? null, show))}
${row('precision at BLOCK', (s) => show(s.at_block.precision), signed(c.precision_at_block ?? null, show))}
${row('recall at BLOCK', (s) => show(s.at_block.recall), signed(c.recall_at_block ?? null, show))}
</table>
<h2>Cost: fraud caught vs reviews needed</h2>
<table><tr><th></th><th>champion</th><th>candidate</th><th>change</th></tr>
${row('fraud amount flagged (REVIEW or BLOCK)', (s) => `${money(s.cost.fraud_amount_flagged_minor)} (${pct(s.cost.fraud_amount_flagged_share)})`, signed(c.fraud_amount_flagged_minor ?? null, (v) => money(v ?? 0)))}
${row('fraud amount blocked', (s) => `${money(s.cost.fraud_amount_blocked_minor)} (${pct(s.cost.fraud_amount_blocked_share)})`, signed(c.fraud_amount_blocked_minor ?? null, (v) => money(v ?? 0)))}
${row('reviews needed (REVIEW decisions)', (s) => int(s.cost.reviews), signed(c.reviews ?? null, (v) => int(v ?? 0)))}
${row('genuine transactions blocked (amount)', (s) => `${int(s.cost.genuine_blocked)} (${money(s.cost.genuine_amount_blocked_minor)})`)}
</table>
<p class="muted">Amounts are amountMinor / 100 of the transactions as published (no currency conversion); percentages are shares of the labelled frauds' amount.</p>
<h2>Precision–recall</h2>
${prChart(r, curves)}
${notes ? `<h2>Notes</h2><ul>${notes}</ul>` : ''}
<p class="muted">digests: champion ${esc(r.champion.digest.slice(0, 12))}, candidate ${esc(r.candidate.digest.slice(0, 12))}.
Replay: read ${int(r.replay.read.transactions)} transactions and ${int(r.replay.read.outcomes)} outcomes published from ${esc(r.replay.from_timestamp)}; ${esc(r.replay.read_only)}.
Timings: ${Object.entries(r.timings_s).map(([k, v]) => `${esc(k)} ${v} s`).join(', ')}.</p>
</body></html>
`;
}

export async function writeReports(r: BacktestReport, curves: { champion: Curve; candidate: Curve }): Promise<void> {
  await mkdir(r.report.dir, { recursive: true });
  await writeFile(r.report.json, JSON.stringify(r, null, 2) + '\n');
  await writeFile(r.report.html, renderHtml(r, curves));
}
