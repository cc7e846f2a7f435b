/**
 * The monitor report as one self-contained HTML page: inline CSS and the charts' inline SVGs,
 * no scripts, nothing fetched, so it can be mailed or archived as one file. Every text taken
 * from the store (model names, subjects) is escaped; the SVGs come from ECharts, which
 * escapes its own text.
 */
import type { Chart } from './charts.js';
import { modelLabel, type Figure, type MonitorReport } from './data.js';

export interface HtmlMeta {
  generatedAt: Date;
  /** The store the report was read from, shown in the header. */
  source?: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
const num = (v: Figure | undefined, digits = 3): string => (typeof v === 'number' ? v.toFixed(digits) : '–');
const pct = (v: Figure | undefined): string => (typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : '–');

const CSS = `
body{margin:0;background:#f4f6f8;color:#1f2937;font:14px/1.4 system-ui,"Segoe UI","Helvetica Neue",Arial,sans-serif;font-variant-numeric:tabular-nums}
main{max-width:1500px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px}
.sub{color:#5b6573;font-size:13px}
section,figure{background:#fff;border:1px solid #e3e7ec;border-radius:8px;padding:12px 16px;margin:0 0 16px;overflow-x:auto}
figure svg{max-width:100%;height:auto}
table{border-collapse:collapse;font-size:13px}
th{text-align:left;color:#5b6573;font-weight:600;font-size:12px;padding:4px 8px;border-bottom:1px solid #e3e7ec;white-space:nowrap}
td{padding:4px 8px;border-bottom:1px solid #f0f2f5;white-space:nowrap}
td.n{text-align:right}
.mono{font-family:Menlo,"DejaVu Sans Mono",monospace;font-size:12px}
.alert{color:#b42318;font-weight:600}
`;

const table = (head: string[], rows: string[][], numeric: (i: number) => boolean = () => false): string =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric(i) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;

function modelsTable(r: MonitorReport): string {
  if (!r.models.length) return '<p class="sub">No model had decisions in the period.</p>';
  return table(
    ['model', 'digest', 'roles', 'validation AP'],
    r.models.map((m) => [esc(modelLabel(m)), `<span class="mono">${esc(m.digest.slice(0, 12))}</span>`, esc(m.roles.join(', ') || '–'), num(m.validationAp)]),
    (i) => i === 3,
  );
}

function alertTable(r: MonitorReport): string {
  if (!r.firstFired.length) return '<p class="sub">No alert fired in the period.</p>';
  return table(
    ['rule', 'first fired', 'model', 'subject', 'value', 'days firing', 'all subjects'],
    r.firstFired.map((a) => [`<span class="alert">${esc(a.rule)}</span>`, esc(a.date), esc(modelLabel(a.model)), esc(a.subject), num(a.value), String(a.days), esc(a.subjects.join(', '))]),
    (i) => i === 4 || i === 5,
  );
}

/** The champion's figures per day (one row per champion version that day). */
function championTable(r: MonitorReport): string {
  const rows: string[][] = [];
  for (const d of r.days) {
    for (const p of d.performance) {
      if (p.role !== 'champion') continue;
      const [w1, w7] = [p.realized['1d'], p.realized['7d']];
      rows.push([
        esc(d.date), esc(modelLabel(p.model)), String(w1?.decisions ?? '–'), num(w1?.ap), num(w7?.ap), num(p.estimatedAp7d.latest), num(p.estimatedAp7d.matured), num(p.maturedError7d),
        num(w7?.rocAuc), num(w7?.precisionReview), num(w7?.recallReview), num(w7?.precisionBlock), num(w7?.recallBlock), pct(w7?.flagRate), pct(w7?.labelCoverage), num(w7?.cardPrecision100),
        // This version's alerts that day: its input drift and the rules about its champion role (subject "champion…").
        String(d.alerts.filter((a) => a.model.digest === p.model.digest && modelLabel(a.model) === modelLabel(p.model) && (a.rule === 'FraudscoreInputDrift' || a.subject.split(' ')[0] === 'champion')).length),
      ]);
    }
  }
  if (!rows.length) return '<p class="sub">No labelled champion decisions in the period yet.</p>';
  const head = ['day', 'model', 'decisions 1d', 'AP 1d', 'AP 7d', 'est. AP 7d latest', 'est. AP 7d matured', 'est. error', 'ROC AUC 7d', 'prec. REVIEW', 'recall REVIEW', 'prec. BLOCK', 'recall BLOCK', 'flag rate', 'label cov.', 'CP@100', 'alerts'];
  return table(head, rows, (i) => i >= 2);
}

const figures = (charts: readonly Chart[], kind: Chart['kind']) =>
  charts.filter((c) => c.kind === kind).map((c) => `<figure aria-label="${esc(c.title)}">${c.svg}</figure>`).join('\n');

export function renderMonitorHtml(r: MonitorReport, charts: readonly Chart[], meta: HtmlMeta): string {
  const title = `fraudscore model monitor: ${r.period.from} to ${r.period.to}`;
  const sub = [`${r.period.days} day(s), as the monitor saw them at the end of each UTC day`, `generated ${meta.generatedAt.toISOString()}`, meta.source ? `store ${meta.source}` : ''].filter(Boolean);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head>
<body><main>
<h1>${esc(title)}</h1>
<p class="sub">${sub.map(esc).join(' · ')}</p>
<h2>Models</h2><section>${modelsTable(r)}</section>
<h2>Alerts: first day per rule</h2><section>${alertTable(r)}
<p class="sub">Thresholds (services/monitor/src/alerts.ts, as deploy/prometheus/rules): ${esc(Object.entries(r.thresholds).map(([k, v]) => `${k} ${v}`).join(' · '))}.</p></section>
<h2>Average precision: realized vs estimated</h2>
${figures(charts, 'ap') || '<section class="sub">No performance windows in the period.</section>'}
<h2>Input drift</h2>
${figures(charts, 'psi') || '<section class="sub">No drift figures (no model with reference histograms).</section>'}
<h2>Decisions at the REVIEW threshold</h2>
${figures(charts, 'review') || '<section class="sub">No performance windows in the period.</section>'}
<h2>Champion, day by day</h2>
<section>${championTable(r)}
<p class="sub">Realized figures are over the windows ending at the label frontier as of each day (labels arrive days later); estimates are CBPE from the scores alone.</p></section>
</main></body></html>
`;
}
