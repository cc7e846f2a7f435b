/**
 * The run report as one self-contained HTML page: inline CSS and SVG, no scripts, nothing
 * fetched. Laid out for a 1400 px wide window so that a 1400×1800 screenshot holds all of it.
 */
import { bucketCounts } from './prometheus.js';
import { bound, count, duration, esc, percent, sig } from './format.js';
import { barList, histogramChart, stackedBar, visibleRange, type Bin, type Marker } from './svg.js';
import { METRIC, type HistogramSummary, type RunSummary } from './summary.js';

export interface ReportMeta {
  title?: string;
  generatedAt: Date;
  /** Where the metrics came from (URL or file), shown in the header. */
  source?: string;
}

export const STAGE_COLORS: Record<string, string> = {
  decode: '#4e79a7', features: '#76b7b2', inference: '#f28e2b', decide: '#59a14f', produce: '#b07aa1',
};
const OTHER_COLOR = '#c9c3bd';
export const DECISION_COLORS: Record<string, string> = { ALLOW: '#59a14f', REVIEW: '#e8b434', BLOCK: '#e15759', DLQ: '#8c8c8c' };
const E2E_COLOR = '#4e79a7';
const Q_COLORS = { p50: '#1d6fd6', p90: '#c26a00', p99: '#c8202f' };

const PAGE_WIDTH = 1400;
const PAD = 24;
const GAP = 16;
const CARD_PAD = 16;
const CONTENT = PAGE_WIDTH - 2 * PAD;
const OUT_W = 390;

const CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f3f5f8;color:#1f2937;font:14px/1.4 "Inter","Segoe UI","Helvetica Neue",Arial,"Liberation Sans","DejaVu Sans",sans-serif;font-variant-numeric:tabular-nums}
main{width:${PAGE_WIDTH}px;padding:${PAD}px;margin:0 auto}
header{display:flex;justify-content:space-between;align-items:flex-end;margin-bottom:${GAP}px}
h1{font-size:24px;margin:0;font-weight:700;letter-spacing:-.01em}
h2{font-size:15px;margin:0 0 2px;font-weight:650}
.sub,.cap{color:#5b6573;font-size:12.5px}
.cap{margin:0 0 10px}
.meta{text-align:right;color:#5b6573;font-size:12.5px}
.meta b{color:#1f2937;font-weight:600}
.row{display:grid;gap:${GAP}px;margin-bottom:${GAP}px}
.card{background:#fff;border:1px solid #e3e7ec;border-radius:10px;padding:${CARD_PAD}px}
.stack{display:grid;gap:${GAP}px;align-content:start}
.kpis{grid-template-columns:repeat(6,1fr)}
.kpi{padding:12px 16px}
.kpi .k{color:#5b6573;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.kpi .v{font-size:26px;font-weight:700;margin:2px 0 0}
.kpi .s{color:#5b6573;font-size:12.5px}
.multiples{display:grid;grid-template-columns:repeat(5,1fr);gap:12px}
.mult h3{font-size:14px;margin:0;font-weight:650;display:flex;align-items:center;gap:6px}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px}
.mult .q{font-size:12px;color:#5b6573;margin:1px 0 4px}
.mult .q b{color:#1f2937}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;color:#5b6573;font-weight:600;font-size:12px;padding:5px 8px;border-bottom:1px solid #e3e7ec}
td{padding:5px 8px;border-bottom:1px solid #f0f2f5}
td.n,th.n{text-align:right}
.nw{white-space:nowrap}
.mono{font-family:"DejaVu Sans Mono","Liberation Mono",Menlo,monospace;font-size:12px;word-break:break-all}
.warn{background:#fff7e0;border:1px solid #f1d48a;border-radius:8px;padding:8px 12px;margin-bottom:${GAP}px;font-size:13px}
.empty{color:#5b6573;padding:24px 0;text-align:center}
footer{color:#6b7480;font-size:12px;margin-top:4px}
`;

const cardInner = (outer: number) => outer - 2 * CARD_PAD - 2;

function binsOf(s: HistogramSummary): Bin[] {
  return bucketCounts(s.histogram.buckets);
}

/** The bins to draw (trimmed to where observations are) and the counts before them. */
function shown(all: readonly Bin[], range: [number, number]): { bins: Bin[]; before: number } {
  const [a, b] = range;
  return { bins: all.slice(a, b), before: all.slice(0, a).reduce((x, y) => x + y.count, 0) };
}

const isPowerOfTen = (v: number) => v > 0 && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9;

function markers(s: HistogramSummary, which: readonly ('p50' | 'p90' | 'p99')[], fmt: (v: number) => string): Marker[] {
  return which.map((q) => ({ label: `${q} ${fmt(s.quantiles[q])}`.trim(), value: s.quantiles[q], color: Q_COLORS[q] }));
}

const empty = (what = 'No observations in this scrape') => `<div class="empty">${esc(what)}</div>`;

function e2eCard(s: RunSummary, width: number): string {
  const inner = cardInner(width);
  const cap = s.help[METRIC.e2e] ?? 'From the input record being published to its decision being acknowledged';
  let body: string;
  if (!s.e2e || !(s.e2e.count > 0)) body = empty();
  else {
    const all = binsOf(s.e2e);
    const { bins, before } = shown(all, visibleRange([all]));
    body = histogramChart({
      bins, countBefore: before, total: s.e2e.count, width: inner, height: 392, color: E2E_COLOR, cdf: true,
      tick: (v) => bound(v, 'seconds'), markers: markers(s.e2e, ['p50', 'p90', 'p99'], (v) => duration(v)),
      title: 'End-to-end latency histogram', fontSize: 12, tickSpacing: 40,
    });
  }
  const stats = s.e2e && s.e2e.count > 0
    ? ` · ${count(s.e2e.count)} events · mean ${duration(s.e2e.mean)}`
    : '';
  return `<section class="card" style="width:${width}px"><h2>End-to-end latency</h2><p class="cap">${esc(cap)}${esc(stats)}. Bars: events per bucket; line: share of events at or below.</p>${body}</section>`;
}

function decisionsCard(s: RunSummary, width: number): string {
  const total = s.totals.events;
  const items = s.decisions.map((d) => ({
    label: d.decision, value: d.count, color: DECISION_COLORS[d.decision] ?? '#8c8c8c', note: percent(d.count, total),
  }));
  const body = total > 0 ? barList(items, { width: cardInner(width), labelWidth: 74, row: 28 }) : empty('No events in this scrape');
  return `<section class="card"><h2>Events by decision</h2><p class="cap">${count(total)} events; ${percent(s.totals.flagged, s.totals.decided)} of decisions flagged (REVIEW or BLOCK)</p>${body}</section>`;
}

function deadLettersCard(s: RunSummary, width: number): string {
  const total = s.deadLetters.reduce((a, d) => a + d.count, 0);
  const items = s.deadLetters.map((d) => ({ label: d.code, value: d.count, color: '#9c755f' }));
  const body = items.length ? barList(items, { width: cardInner(width), labelWidth: 170, row: 24, fontSize: 12.5 }) : empty('No dead letters');
  return `<section class="card"><h2>Dead letters by code</h2><p class="cap">${count(total)} inputs dead-lettered (${percent(total, s.totals.events)} of events)</p>${body}</section>`;
}

function stagesCard(s: RunSummary, width: number): string {
  const inner = cardInner(width);
  const help = s.help[METRIC.stage];
  if (s.stages.length === 0) return `<section class="card"><h2>Latency per stage</h2>${empty()}</section>`;
  const cols = 5;
  const panelW = Math.floor((inner - 12 * (cols - 1)) / cols);
  const allBins = s.stages.map((st) => binsOf(st.summary));
  const range = visibleRange(allBins);
  const yMax = Math.max(1, ...allBins.flatMap((b) => b.slice(range[0], range[1]).map((x) => x.count)));
  const panels = s.stages.map((st, i) => {
    const { bins } = shown(allBins[i]!, range);
    const color = STAGE_COLORS[st.stage] ?? OTHER_COLOR;
    const q = st.summary.quantiles;
    const chart = st.summary.count > 0
      ? histogramChart({
        bins, width: panelW, height: 190, color, yMax, fontSize: 10.5, tickSpacing: 34,
        tick: (v) => bound(v, 'seconds'), labelBound: isPowerOfTen,
        markers: markers(st.summary, ['p50', 'p99'], () => ''), title: `${st.stage} latency histogram`,
      })
      : empty();
    return `<div class="mult"><h3><span class="sw" style="background:${color}"></span>${esc(st.stage)}</h3>`
      + `<div class="q">per chunk: p50 <b>${esc(duration(q.p50))}</b> · p99 <b>${esc(duration(q.p99))}</b> · per event ${esc(duration(st.perEvent))}</div>${chart}</div>`;
  });
  return `<section class="card"><h2>Latency per stage</h2><p class="cap">${esc(help ? `${help.replace(/\.?$/, '.')} ` : '')}Same scales in every panel; each bar is one of the scorer's buckets (bounds about 2–2.5× apart, so the x axis reads like a log scale).</p><div class="multiples">${panels.join('')}</div></section>`;
}

function timeCard(s: RunSummary, width: number): string {
  const inner = cardInner(width);
  const e2eMean = s.e2e && s.e2e.count > 0 ? s.e2e.mean : NaN;
  const stageTotal = s.stages.reduce((a, st) => a + (Number.isFinite(st.perEvent) ? st.perEvent : 0), 0);
  const rest = Number.isFinite(e2eMean) ? Math.max(0, e2eMean - stageTotal) : NaN;
  const segments = s.stages.map((st) => ({ label: st.stage, value: st.perEvent, color: STAGE_COLORS[st.stage] ?? OTHER_COLOR, text: duration(st.perEvent) }));
  if (Number.isFinite(rest)) segments.push({ label: 'waiting', value: rest, color: OTHER_COLOR, text: duration(rest) });
  const whole = Number.isFinite(e2eMean) ? e2eMean : stageTotal;
  const rows = [
    ...s.stages.map((st) => ({ name: st.stage, color: STAGE_COLORS[st.stage] ?? OTHER_COLOR, h: st.summary, perEvent: st.perEvent })),
  ].map(({ name, color, h, perEvent }) => `<tr><td><span class="sw" style="background:${color}"></span> ${esc(name)}</td><td class="n">${esc(duration(perEvent))}</td><td class="n">${esc(duration(h.quantiles.p50))}</td><td class="n">${esc(duration(h.quantiles.p99))}</td><td class="n">${esc(percent(perEvent, whole))}</td></tr>`);
  if (Number.isFinite(rest)) rows.push(`<tr><td><span class="sw" style="background:${OTHER_COLOR}"></span> waiting (Kafka, batching, queues)</td><td class="n">${esc(duration(rest))}</td><td class="n">–</td><td class="n">–</td><td class="n">${esc(percent(rest, whole))}</td></tr>`);
  if (s.e2e && s.e2e.count > 0) rows.push(`<tr><td><b>end to end</b></td><td class="n"><b>${esc(duration(s.e2e.mean))}</b></td><td class="n"><b>${esc(duration(s.e2e.quantiles.p50))}</b></td><td class="n"><b>${esc(duration(s.e2e.quantiles.p99))}</b></td><td class="n">100%</td></tr>`);
  const bar = stackedBar(segments, { width: inner, height: 34 });
  return `<section class="card"><h2>Where an event's time goes</h2><p class="cap">Time per event in each stage on average (mean; p50 and p99 are of a whole chunk's time in the stage, what each of its events waits for); the rest of the end-to-end mean is time between stages: in Kafka, waiting for a batch, in queues.</p>${bar}`
    + `<table style="margin-top:12px"><thead><tr><th>stage</th><th class="n">mean</th><th class="n">p50</th><th class="n">p99</th><th class="n">share of e2e mean</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

/** Bars from cool to warm along the score buckets (by position: the buckets are log-ish). */
function scoreColor(i: number, n: number): string {
  const stops: [number, [number, number, number]][] = [[0, [78, 121, 167]], [0.55, [141, 106, 179]], [1, [214, 48, 62]]];
  const t = n > 1 ? i / (n - 1) : 0;
  let k = 0;
  while (k < stops.length - 2 && t > stops[k + 1]![0]) k++;
  const [t0, c0] = stops[k]!;
  const [t1, c1] = stops[k + 1]!;
  const f = (t - t0) / (t1 - t0);
  const c = c0.map((v, j) => Math.round(v + (c1[j]! - v) * f));
  return `rgb(${c.join(',')})`;
}

function scoreCard(s: RunSummary, width: number): string {
  const inner = cardInner(width);
  let body: string;
  let stats = '';
  if (!s.score || !(s.score.count > 0)) body = empty();
  else {
    const all = binsOf(s.score);
    // Scores are at most 1: the +Inf bucket holds (0.99, 1]. Show every bucket, trimming only an empty +Inf.
    const bins = all.at(-1)?.hi === Infinity && all.at(-1)!.count === 0 ? all.slice(0, -1) : all;
    body = histogramChart({
      bins, total: s.score.count, width: inner, height: 300, color: (i) => scoreColor(i, bins.length), logY: true, cdf: true,
      tick: (v) => (v === Infinity ? '1' : bound(v, 'plain')), tickSpacing: 38, fontSize: 11.5,
      markers: markers(s.score, ['p50', 'p90', 'p99'], (v) => sig(v)), title: 'Score histogram',
    });
    stats = ` ${count(s.score.count)} scores, mean ${sig(s.score.mean)}.`;
  }
  return `<section class="card"><h2>Score distribution</h2><p class="cap">Model scores (probability of fraud) in the scorer's buckets, log count scale.${esc(stats)}</p>${body}</section>`;
}

function lagCard(s: RunSummary, width: number): string {
  const items = s.lag.map((l) => ({ label: `partition ${l.partition}`, value: l.lag, color: '#4e79a7' }));
  const max = Math.max(0, ...s.lag.map((l) => l.lag));
  const cap = s.lag.length === 0 ? 'No partitions reported' : max === 0 ? 'Every partition caught up after its last chunk' : `Records behind the end of each partition after its last chunk; largest ${count(max)}`;
  const body = items.length ? barList(items, { width: cardInner(width), labelWidth: 100, row: 24, valueText: count }) : '';
  return `<section class="card"><h2>Consumer lag</h2><p class="cap">${esc(cap)}</p>${body}</section>`;
}

function outcomesCard(s: RunSummary, width: number): string {
  const total = s.outcomes.reduce((a, o) => a + o.count, 0);
  const items = s.outcomes.map((o) => ({ label: o.result, value: o.count, color: o.result === 'applied' ? '#59a14f' : '#bab0ac', note: percent(o.count, total) }));
  return `<section class="card"><h2>Outcomes read</h2><p class="cap">${count(total)} delayed fraud labels from the outcomes topic, by what became of them</p>${total > 0 ? barList(items, { width: cardInner(width), labelWidth: 90, row: 24, fontSize: 12.5 }) : empty('None read in this run')}</section>`;
}

function modelCard(s: RunSummary): string {
  const rows = s.models.map((m) => `<tr><td class="nw">${esc(m.role)}</td><td class="nw">${esc(m.name)}</td><td class="nw">${esc(m.version)}</td><td class="mono">${esc(m.digest)}</td></tr>`);
  const body = rows.length
    ? `<table><thead><tr><th>role</th><th>name</th><th>version</th><th>digest (sha-256)</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    : empty('No model reported');
  const svc = s.service?.name ? `<p class="cap" style="margin-top:10px">Served by ${esc(s.service.name)}${s.service.version ? ` ${esc(s.service.version)}` : ''}.</p>` : '';
  return `<section class="card"><h2>Models</h2><p class="cap">The models the scorer was serving, by role (fraudscore_model_info)</p>${body}${svc}</section>`;
}

function kpis(s: RunSummary): string {
  const maxLag = s.lag.length ? Math.max(...s.lag.map((l) => l.lag)) : NaN;
  const tiles: [string, string, string][] = [
    ['Events', count(s.totals.events), 'since the scorer started'],
    ['Flagged', count(s.totals.flagged), `${percent(s.totals.flagged, s.totals.decided)} of decisions`],
    ['Dead-lettered', count(s.totals.deadLettered), `${percent(s.totals.deadLettered, s.totals.events)} of events`],
    ['E2E p50', s.e2e ? duration(s.e2e.quantiles.p50) : '–', s.e2e ? `mean ${duration(s.e2e.mean)}` : ''],
    ['E2E p99', s.e2e ? duration(s.e2e.quantiles.p99) : '–', s.e2e ? `p90 ${duration(s.e2e.quantiles.p90)}` : ''],
    ['Max consumer lag', Number.isFinite(maxLag) ? count(maxLag) : '–', `${s.lag.length} partition${s.lag.length === 1 ? '' : 's'}`],
  ];
  return `<div class="row kpis">${tiles.map(([k, v, sub]) => `<div class="card kpi"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div><div class="s">${esc(sub)}</div></div>`).join('')}</div>`;
}

function utc(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function renderReportHtml(s: RunSummary, meta: ReportMeta): string {
  const title = meta.title ?? 'fraudscore run report';
  const leftW = 880;
  const rightW = CONTENT - leftW - GAP;
  const halfL = 640;
  const halfR = CONTENT - halfL - GAP;
  const lagW = 440;
  const model = s.models[0];
  const metaLines = [
    `Made <b>${esc(utc(meta.generatedAt))}</b>`,
    meta.source ? `from ${esc(meta.source)}` : '',
  ].filter(Boolean).join(' ');
  const subtitle = [
    model ? `model <b>${esc(model.name)} ${esc(model.version)}</b>` : '',
    s.service?.name ? `${esc(s.service.name)}${s.service.version ? ` ${esc(s.service.version)}` : ''}` : '',
  ].filter(Boolean).join(' · ');
  const warn = s.missing.length
    ? `<div class="warn">Not in this scrape: ${s.missing.map((m) => `<code>${esc(m)}</code>`).join(', ')}. The scorer may not have scored anything yet, or this is not a fraudscore scorer's /metrics.</div>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=${PAGE_WIDTH}">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><main>
<header><div><h1>${esc(title)}</h1><div class="sub">${subtitle}</div></div><div class="meta">${metaLines}</div></header>
${warn}${kpis(s)}
<div class="row" style="grid-template-columns:${leftW}px ${rightW}px">${e2eCard(s, leftW)}<div class="stack">${decisionsCard(s, rightW)}${deadLettersCard(s, rightW)}</div></div>
<div class="row">${stagesCard(s, CONTENT)}</div>
<div class="row" style="grid-template-columns:${halfL}px ${halfR}px">${timeCard(s, halfL)}${scoreCard(s, halfR)}</div>
${s.outcomes.length
    ? `<div class="row" style="grid-template-columns:${OUT_W}px ${OUT_W}px 1fr">${lagCard(s, OUT_W)}${outcomesCard(s, OUT_W)}${modelCard(s)}</div>`
    : `<div class="row" style="grid-template-columns:${lagW}px 1fr">${lagCard(s, lagW)}${modelCard(s)}</div>`}
<footer>Counts are totals since the scorer started, from one scrape of its /metrics. Quantiles are estimated from the histogram buckets by linear interpolation within a bucket, as PromQL's histogram_quantile does; they are only as fine as the buckets.</footer>
</main></body></html>
`;
}
