/**
 * What a retrain says: one JSON line on stdout, report.json (everything, for machines and
 * audits) and report.html (small, self-contained: the criteria, both precision-recall curves
 * on the gate's rows, the candidate's reliability over equal-mass bins).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { esc, sig } from '../report/format.js';
import type { Criterion, EceBin, GateBounds } from './gate.js';
import type { RetrainWindow } from './window.js';

export interface ModelFigures {
  ref: string;
  digest?: string;
  auc?: number;
  ap?: number;
  cp100?: number;
  brier?: number;
  ece?: number;
  /** The manifest's own metrics.test (the trainer's figures on the same split, Python onnxruntime). */
  trainer_test?: Record<string, unknown>;
  trained_on?: [string, string];
}

export interface DeployOutcome {
  mode: string;
  written: boolean;
  revision?: number;
  spec?: string;
  why?: string;
}

export interface RetrainResult {
  gate: 'pass' | 'fail';
  candidate: string;
  champion: string;
  criteria: Criterion[];
  window: RetrainWindow;
  /** One line per failed criterion. */
  reasons: string[];
  bounds: GateBounds;
  rows: { test_rows: number; test_frauds: number; removed_rows: number; removed_frauds: number; removed_cards: number; test_cards: number };
  models: { candidate: ModelFigures; champion: ModelFigures };
  champion_held_out: string;
  features: { path: string; note: string };
  timings_s: Record<string, number>;
  report: { dir: string; json: string; html: string };
  deploy?: DeployOutcome;
}

/** The stdout line: gate, models, each criterion's value/bound/pass, the window, the report. */
export function jsonLine(r: RetrainResult): string {
  return JSON.stringify({
    gate: r.gate,
    candidate: r.candidate,
    champion: r.champion,
    criteria: r.criteria.map((c) => ({ name: c.name, value: c.value, bound: c.bound, op: c.op, pass: c.pass })),
    window: { train: r.window.train, delay_days: r.window.delay_days, test: r.window.test, validation: r.window.validation },
    report: r.report.html,
    ...(r.deploy ? { deploy: r.deploy } : {}),
  });
}

export interface Curves {
  candidate?: { recall: number[]; precision: number[] };
  champion?: { recall: number[]; precision: number[] };
  reliability?: EceBin[];
}

/** Precision-recall points at the distinct score thresholds, thinned to about `max` points. */
export function prCurve(scores: ArrayLike<number>, labels: ArrayLike<number>, max = 200): { recall: number[]; precision: number[] } {
  const n = scores.length;
  const idx = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  let pos = 0;
  for (let i = 0; i < n; i++) pos += labels[i] as number;
  const recall: number[] = [];
  const precision: number[] = [];
  if (pos === 0) return { recall, precision };
  let tp = 0;
  let lastR = -1;
  for (let i = 0; i < n; ) {
    const v = scores[idx[i] as number];
    let j = i;
    while (j < n && scores[idx[j] as number] === v) tp += labels[idx[j++] as number] as number;
    const r = tp / pos;
    if (r - lastR >= 1 / max || j === n) {
      recall.push(r);
      precision.push(tp / j);
      lastR = r;
    }
    i = j;
  }
  return { recall, precision };
}

function prSvg(c: Curves): string {
  const W = 420, H = 300, m = { l: 44, r: 12, t: 12, b: 34 };
  const X = (v: number) => m.l + v * (W - m.l - m.r);
  const Y = (v: number) => H - m.b - v * (H - m.t - m.b);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-size="11" role="img"><title>precision-recall on the test rows</title>`];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${X(0)}" x2="${X(1)}" y1="${Y(t)}" y2="${Y(t)}" stroke="#e6e9ee"/><text x="${m.l - 6}" y="${Y(t) + 4}" text-anchor="end" fill="#4a5563">${t}</text>`);
    parts.push(`<text x="${X(t)}" y="${H - m.b + 14}" text-anchor="middle" fill="#4a5563">${t}</text>`);
  }
  parts.push(`<text x="${X(0.5)}" y="${H - 4}" text-anchor="middle" fill="#4a5563">recall</text><text x="10" y="${Y(0.5)}" transform="rotate(-90 10 ${Y(0.5)})" text-anchor="middle" fill="#4a5563">precision</text>`);
  const line = (curve: { recall: number[]; precision: number[] } | undefined, color: string, label: string, k: number) => {
    if (!curve || curve.recall.length === 0) return;
    const pts = curve.recall.map((r, i) => `${X(r).toFixed(1)},${Y(curve.precision[i] as number).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${pts}"/>`);
    parts.push(`<rect x="${X(0.62)}" y="${m.t + 6 + k * 16}" width="12" height="3" fill="${color}"/><text x="${X(0.62) + 16}" y="${m.t + 10 + k * 16}" fill="#1f2937">${esc(label)}</text>`);
  };
  line(c.champion, '#8c8c8c', 'champion', 0);
  line(c.candidate, '#4e79a7', 'candidate', 1);
  parts.push('</svg>');
  return parts.join('');
}

const show = (v: number | string | null): string => (v === null ? '–' : typeof v === 'number' ? (Math.abs(v) < 0.01 && v !== 0 ? v.toPrecision(3) : sig(v)) : v);

export function renderHtml(r: RetrainResult, c: Curves): string {
  const ok = r.gate === 'pass';
  const rows = r.criteria.map((k) => `<tr class="${k.pass ? 'ok' : 'bad'}"><td>${esc(k.name)}</td><td>${esc(show(k.value))}</td><td>${esc(k.op)} ${esc(show(k.bound))}</td><td>${k.pass ? 'pass' : 'FAIL'}</td><td>${esc(k.detail)}</td></tr>`).join('\n');
  const fig = (f: ModelFigures) => `<tr><td>${esc(f.ref)}</td><td>${f.digest ? esc(f.digest.slice(0, 12)) : '–'}</td><td>${show(f.ap ?? null)}</td><td>${show(f.cp100 ?? null)}</td><td>${show(f.auc ?? null)}</td><td>${show(f.brier ?? null)}</td><td>${show(f.ece ?? null)}</td><td>${f.trained_on ? esc(f.trained_on.join(' … ')) : '–'}</td></tr>`;
  const rel = (c.reliability ?? []).map((b, i) => `<tr><td>${i + 1}</td><td>${b.rows.toLocaleString('en-US')}</td><td>${show(b.meanP)}</td><td>${show(b.fraudRate)}</td></tr>`).join('');
  const w = r.window;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>retrain ${esc(r.candidate)}: gate ${r.gate}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2937;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;background:${ok ? '#59a14f' : '#e15759'}}
table{border-collapse:collapse}td,th{border-bottom:1px solid #e6e9ee;padding:4px 10px;text-align:left;vertical-align:top}
tr.bad td{background:#fdecec}tr.ok td:nth-child(4){color:#2f7d32}tr.bad td:nth-child(4){color:#c62828;font-weight:600}
.muted{color:#6b7280}
</style></head><body>
<h1>fraudscore retrain: <span class="verdict">gate ${ok ? 'PASS' : 'FAIL'}</span></h1>
<p>candidate <b>${esc(r.candidate)}</b> against champion <b>${esc(r.champion)}</b>, on the test days ${esc(w.test[0])} … ${esc(w.test[1])}
(${r.rows.test_rows.toLocaleString('en-US')} rows, ${r.rows.test_frauds.toLocaleString('en-US')} frauds after removing ${r.rows.removed_rows.toLocaleString('en-US')} rows of ${r.rows.removed_cards} known-compromised cards), scored by onnxruntime-node through the scorer's loadModel.</p>
<p class="muted">candidate trained on ${esc(w.train[0])} … ${esc(w.train[1])} (validation split ${esc(w.validation.train[0])} … ${esc(w.validation.train[1])} → ${esc(w.validation.test[0])} … ${esc(w.validation.test[1])}), ${w.delay_days}-day label delay; ${esc(r.champion_held_out)}. Features: ${esc(r.features.note)}.</p>
${r.reasons.length ? `<h2>Why it failed</h2><ul>${r.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}
<h2>Criteria</h2>
<table><tr><th>criterion</th><th>value</th><th>bound</th><th></th><th>detail</th></tr>
${rows}
</table>
<h2>Models on the test rows</h2>
<table><tr><th>model</th><th>sha256</th><th>AP</th><th>CP@100</th><th>AUC ROC</th><th>Brier (cal.)</th><th>ECE (cal.)</th><th>trained on</th></tr>
${fig(r.models.champion)}
${fig(r.models.candidate)}
</table>
<h2>Precision–recall</h2>
${prSvg(c)}
${rel ? `<h2>Candidate reliability (calibrated probability, equal-mass bins)</h2><table><tr><th>bin</th><th>rows</th><th>mean p</th><th>fraud rate</th></tr>${rel}</table>` : ''}
${r.deploy ? `<h2>Deployment</h2><p>${r.deploy.written ? `revision ${r.deploy.revision}: ${esc(r.deploy.spec ?? '')}` : `nothing written: ${esc(r.deploy.why ?? '')}`}</p>` : ''}
<p class="muted">timings: ${Object.entries(r.timings_s).map(([k, v]) => `${esc(k)} ${v} s`).join(', ')}</p>
</body></html>
`;
}

export async function writeReports(r: RetrainResult, c: Curves): Promise<void> {
  await mkdir(r.report.dir, { recursive: true });
  await writeFile(r.report.json, JSON.stringify(r, null, 2) + '\n');
  await writeFile(r.report.html, renderHtml(r, c));
}

export const reportPaths = (dir: string): RetrainResult['report'] => ({ dir, json: join(dir, 'report.json'), html: join(dir, 'report.html') });
