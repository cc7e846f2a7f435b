/**
 * The monitor report's charts, drawn with Apache ECharts in its server-side mode: SVG strings
 * rendered in Node, inlined into the HTML, so the page needs no browser-side JavaScript and no
 * network. Animation is off: an SSR render is a single frame, and an animated one would be
 * drawn at its first (empty) frame. ECharts escapes the text it writes into the SVG.
 */
import * as echarts from 'echarts';
import type { EChartsOption } from 'echarts';
import { ALERT_THRESHOLDS } from '../alerts.js';
import { modelLabel, type Figure, type MonitorReport, type PerformanceEntry } from './data.js';
import type { ModelKey } from '../store.js';

export interface Chart {
  kind: 'ap' | 'psi' | 'review';
  title: string;
  svg: string;
}

const sameModel = (a: ModelKey, b: ModelKey) => a.name === b.name && a.version === b.version && a.digest === b.digest;
const fixed = (digits: number) => (v: unknown) => (typeof v === 'number' ? v.toFixed(digits) : '');

function render(option: EChartsOption, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** The (model, role) pairs of the report, in the order the data lists them. */
function pairs(report: MonitorReport): { model: ModelKey; role: string; validationAp: Figure }[] {
  const out: { model: ModelKey; role: string; validationAp: Figure }[] = [];
  for (const d of report.days) {
    for (const p of d.performance) if (!out.some((o) => o.role === p.role && sameModel(o.model, p.model))) out.push({ model: p.model, role: p.role, validationAp: p.validationAp });
  }
  // Champion first: the alerts are about it.
  const rank = (role: string) => ['champion', 'canary', 'shadow'].indexOf(role);
  return out.sort((a, b) => rank(a.role) - rank(b.role));
}

/** One value per day of the report for a (model, role); null where that day has none. */
function series(report: MonitorReport, model: ModelKey, role: string, pick: (p: PerformanceEntry) => Figure): Figure[] {
  return report.days.map((d) => {
    const p = d.performance.find((x) => x.role === role && sameModel(x.model, model));
    return p ? pick(p) : null;
  });
}

const width = (days: number) => Math.min(1400, Math.max(720, 140 + 34 * days));

/** (a) Realized vs CBPE-estimated 7d AP per day, with the validation AP and the alert threshold. */
function apChart(report: MonitorReport, model: ModelKey, role: string, validation: Figure): Chart {
  const dates = report.days.map((d) => d.date);
  const line = (name: string, data: Figure[], extra: object = {}) => ({ name, type: 'line' as const, data, connectNulls: false, symbolSize: 5, ...extra });
  const threshold = validation === null ? null : ALERT_THRESHOLDS.apShareOfValidation * validation;
  const title = `${modelLabel(model)} ${role}: 7-day average precision`;
  const option: EChartsOption = {
    title: { text: title, subtext: 'realized at the label frontier vs CBPE estimates, as of the end of each day', left: 'center', textStyle: { fontSize: 14 } },
    legend: { bottom: 0, itemGap: 24 },
    grid: { left: 56, right: 40, top: 64, bottom: 56 },
    xAxis: { type: 'category', data: dates },
    yAxis: { type: 'value', min: 0, max: 1, name: 'AP' },
    series: [
      line('realized', series(report, model, role, (p) => p.realized['7d']?.ap ?? null), {
        lineStyle: { width: 3 },
        markLine:
          threshold === null
            ? undefined
            : { symbol: ['none', 'none'], silent: true, lineStyle: { type: 'dotted', color: '#c0392b', width: 2 }, label: { formatter: `${role === 'champion' ? 'alert below' : "a champion's alert below"} ${ALERT_THRESHOLDS.apShareOfValidation} × validation = ${threshold.toFixed(3)}`, position: 'insideStartTop', color: '#c0392b' }, data: [{ yAxis: threshold }] },
      }),
      line('estimated (latest)', series(report, model, role, (p) => p.estimatedAp7d.latest)),
      line('estimated (matured)', series(report, model, role, (p) => p.estimatedAp7d.matured)),
      ...(validation === null ? [] : [line('validation AP', dates.map(() => validation), { symbol: 'none', lineStyle: { type: 'dashed', color: '#555' }, itemStyle: { color: '#555' } })]),
    ],
  };
  return { kind: 'ap', title, svg: render(option, width(dates.length), 360) };
}

/** (c) Precision and recall at the REVIEW threshold and the flag rate (7d windows) per day. */
function reviewChart(report: MonitorReport, model: ModelKey, role: string): Chart {
  const dates = report.days.map((d) => d.date);
  const title = `${modelLabel(model)} ${role}: REVIEW threshold, 7-day windows`;
  const line = (name: string, pick: (p: PerformanceEntry) => Figure) => ({ name, type: 'line' as const, data: series(report, model, role, pick), connectNulls: false, symbolSize: 5 });
  const option: EChartsOption = {
    title: { text: title, left: 'center', textStyle: { fontSize: 14 } },
    legend: { bottom: 0, itemGap: 24 },
    grid: { left: 56, right: 40, top: 48, bottom: 56 },
    xAxis: { type: 'category', data: dates },
    yAxis: { type: 'value', min: 0, max: 1 },
    series: [
      line('precision @ REVIEW', (p) => p.realized['7d']?.precisionReview ?? null),
      line('recall @ REVIEW', (p) => p.realized['7d']?.recallReview ?? null),
      line('flag rate', (p) => p.realized['7d']?.flagRate ?? null),
    ],
  };
  return { kind: 'review', title, svg: render(option, width(dates.length), 320) };
}

/** (b) PSI of each input and the score per day (1d windows) for one model version. */
function psiHeatmap(report: MonitorReport, model: ModelKey): Chart {
  const dates = report.days.map((d) => d.date);
  const features: string[] = [];
  const cells: [number, number, number][] = [];
  report.days.forEach((d, x) => {
    for (const f of d.drift.find((e) => sameModel(e.model, model))?.features ?? []) {
      if (!features.includes(f.feature)) features.push(f.feature);
      if (f.psi1d !== null) cells.push([x, features.indexOf(f.feature), f.psi1d]);
    }
  });
  const t = ALERT_THRESHOLDS.psi;
  const title = `${modelLabel(model)}: PSI per input, 1-day windows`;
  const option: EChartsOption = {
    title: { text: title, subtext: 'blank: no decisions that day, or an input judged over whole weeks only', left: 'center', textStyle: { fontSize: 14 } },
    grid: { left: 290, right: 24, top: 64, bottom: 90 },
    xAxis: { type: 'category', data: dates, splitArea: { show: true } },
    yAxis: { type: 'category', data: features, inverse: true, splitArea: { show: true } },
    // The break at the alert threshold: a cell is red exactly when FraudscoreInputDrift counts that day.
    visualMap: {
      type: 'piecewise',
      orient: 'horizontal',
      left: 'center',
      bottom: 8,
      dimension: 2,
      pieces: [
        { lte: t / 2, label: `≤ ${t / 2} stable`, color: '#d8eed0' },
        { gt: t / 2, lte: t, label: `${t / 2}–${t} moderate`, color: '#fbe3a0' },
        { gt: t, label: `> ${t} drift (alert threshold)`, color: '#d7301f' },
      ],
    },
    series: [{ name: 'PSI', type: 'heatmap', data: cells, label: { show: dates.length <= 31, formatter: (p) => fixed(2)((p.value as number[])[2]), fontSize: 9 }, itemStyle: { borderColor: '#fff', borderWidth: 1 } }],
  };
  return { kind: 'psi', title, svg: render(option, width(dates.length) + 150, 160 + 22 * Math.max(1, features.length)) };
}

/** Every chart of the report: per (model, role) the AP and REVIEW charts, per model version the PSI heat map. */
export function reportCharts(report: MonitorReport): Chart[] {
  const out: Chart[] = [];
  for (const { model, role, validationAp } of pairs(report)) out.push(apChart(report, model, role, validationAp), reviewChart(report, model, role));
  const drifted: ModelKey[] = [];
  for (const d of report.days) for (const e of d.drift) if (!drifted.some((m) => sameModel(m, e.model))) drifted.push(e.model);
  for (const m of drifted) out.push(psiHeatmap(report, m));
  return out;
}
