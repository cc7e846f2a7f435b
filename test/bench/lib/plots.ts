/**
 * The benchmark's plots as one self-contained HTML page (inline SVG, no scripts, no CDN):
 * latency CDF per mode at each offered load, throughput over time per mode, the summary
 * table and the profiles. Rendered to PNG with headless Chromium when it is installed.
 */

export interface Series {
  label: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  width: number;
  height: number;
  series: Series[];
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  /** y as "nines": y' = −log10(1 − y) for y in [0, 1) (tail-stretched CDF). */
  yNines?: boolean;
  xTicks?: number[];
  yTicks?: number[];
  xTickText?: (v: number) => string;
  yTickText?: (v: number) => string;
  yMin?: number;
  yMax?: number;
  xMin?: number;
  xMax?: number;
}

export const MODE_COLORS: Record<string, string> = {
  'kjs-raw': '#c7ccd3',
  'rdk-pipe': '#2f3640',
  'pipe-alo': '#9aa3ad',
  'pipe-eos': '#5f6b7a',
  alo: '#4e79a7',
  eos: '#e15759',
  'alo-off': '#59a14f',
  'alo-100': '#b07aa1',
  'pipe-alo-rdk': '#a0cbe8',
  'pipe-eos-rdk': '#ff9d9a',
  'alo-rdk': '#17becf',
  'eos-rdk': '#f28e2b',
  'alo-off-rdk': '#8cd17d',
  'alo-100-rdk': '#d4a6c8',
};

/** Each Kafka client's colour in side-by-side charts. */
export const CLIENT_COLORS: Record<string, string> = { kafkajs: '#4e79a7', librdkafka: '#f28e2b' };

const VARIANT_COLORS = ['#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac', '#8c564b', '#e377c2'];
const variantSeen: string[] = [];

/** A mode's colour; variants (mode@name) get their own. */
export function colorOf(mode: string): string {
  if (!mode.includes('@')) return MODE_COLORS[mode] ?? '#333';
  if (!variantSeen.includes(mode)) variantSeen.push(mode);
  return VARIANT_COLORS[variantSeen.indexOf(mode) % VARIANT_COLORS.length]!;
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const NINES_CAP = 4; // p99.99

function yTransform(o: LineChartOptions): (y: number) => number {
  return o.yNines ? (y) => Math.min(NINES_CAP, -Math.log10(Math.max(1e-12, 1 - y))) : (y) => y;
}

export function lineChart(o: LineChartOptions): string {
  const m = { l: 64, r: 16, t: 30, b: 46 };
  const w = o.width - m.l - m.r;
  const h = o.height - m.t - m.b;
  const ty = yTransform(o);
  const tx = o.xLog ? (x: number) => Math.log10(Math.max(x, 1e-9)) : (x: number) => x;
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0])).filter((v) => Number.isFinite(v) && (!o.xLog || v > 0));
  const ys = o.series.flatMap((s) => s.points.map((p) => ty(p[1]))).filter(Number.isFinite);
  const x0 = tx(o.xMin ?? (xs.length ? Math.min(...xs) : 0));
  const x1 = tx(o.xMax ?? (xs.length ? Math.max(...xs) : 1));
  const y0 = o.yMin ?? (o.yNines ? 0 : 0);
  const y1 = o.yMax ?? (ys.length ? Math.max(...ys) * 1.05 : 1);
  const sx = (x: number) => m.l + (x1 > x0 ? ((tx(x) - x0) / (x1 - x0)) * w : 0);
  const sy = (y: number) => m.t + h - (y1 > y0 ? ((ty(y) - y0) / (y1 - y0)) * h : 0);
  const syRaw = (v: number) => m.t + h - (y1 > y0 ? ((v - y0) / (y1 - y0)) * h : 0);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${o.height}" viewBox="0 0 ${o.width} ${o.height}" font-family="system-ui, sans-serif" font-size="11">`);
  parts.push(`<text x="${m.l}" y="18" font-size="13" font-weight="600" fill="#1f2937">${esc(o.title)}</text>`);
  // grid + ticks
  const xTicks = o.xTicks ?? autoTicks(o.xLog ? 10 ** x0 : x0, o.xLog ? 10 ** x1 : x1, o.xLog);
  for (const t of xTicks) {
    const x = sx(t);
    if (x < m.l - 0.5 || x > m.l + w + 0.5) continue;
    parts.push(`<line x1="${x.toFixed(1)}" y1="${m.t}" x2="${x.toFixed(1)}" y2="${m.t + h}" stroke="#e6e9ee"/>`);
    parts.push(`<text x="${x.toFixed(1)}" y="${m.t + h + 14}" text-anchor="middle" fill="#4a5563">${esc((o.xTickText ?? String)(t))}</text>`);
  }
  const yTicks = o.yNines ? [0, 1, 2, 3, 4].filter((v) => v <= y1 + 1e-9) : (o.yTicks ?? autoTicks(y0, y1, false));
  for (const v of yTicks) {
    const y = syRaw(v);
    parts.push(`<line x1="${m.l}" y1="${y.toFixed(1)}" x2="${m.l + w}" y2="${y.toFixed(1)}" stroke="#e6e9ee"/>`);
    const text = o.yNines ? ['p0', 'p90', 'p99', 'p99.9', 'p99.99'][v]! : (o.yTickText ?? String)(v);
    parts.push(`<text x="${m.l - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#4a5563">${esc(text)}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${w}" height="${h}" fill="none" stroke="#9aa3ad"/>`);
  parts.push(`<text x="${m.l + w / 2}" y="${o.height - 8}" text-anchor="middle" fill="#4a5563">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${m.t + h / 2}) rotate(-90)" text-anchor="middle" fill="#4a5563">${esc(o.yLabel)}</text>`);
  // series
  let legendY = m.t + 14;
  for (const s of o.series) {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.xLog || x > 0));
    if (pts.length === 0) continue;
    const d = pts.map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    parts.push(`<line x1="${m.l + w - 150}" y1="${legendY - 4}" x2="${m.l + w - 130}" y2="${legendY - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    parts.push(`<text x="${m.l + w - 125}" y="${legendY}" fill="#1f2937">${esc(s.label)}</text>`);
    legendY += 14;
  }
  parts.push('</svg>');
  return parts.join('');
}

function autoTicks(lo: number, hi: number, log: boolean | undefined): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(Math.max(lo, 1e-9))); e <= Math.ceil(Math.log10(Math.max(hi, 1e-9))); e++) {
      for (const k of [1, 2, 5]) out.push(k * 10 ** e);
    }
    return out;
  }
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export interface BarGroup {
  label: string;
  /** One bar per series (same order as the series), NaN: not measured. */
  values: number[];
  /** Text printed after each bar (default: the value). */
  notes?: string[];
}

/** Horizontal grouped bars: one group per category, one bar per series (e.g. per Kafka client). */
export function barChart(o: { title: string; width: number; series: { label: string; color: string }[]; groups: BarGroup[]; valueText?: (v: number) => string }): string {
  const barH = 14;
  const gap = 10;
  const m = { l: 230, r: 170, t: 44, b: 10 };
  const groupH = o.series.length * barH + gap;
  const height = m.t + o.groups.length * groupH + m.b;
  const w = o.width - m.l - m.r;
  const max = Math.max(1, ...o.groups.flatMap((g) => g.values.filter(Number.isFinite)));
  const text = o.valueText ?? ((v: number) => String(Math.round(v)));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${height}" viewBox="0 0 ${o.width} ${height}" font-family="system-ui, sans-serif" font-size="11">`);
  parts.push(`<text x="8" y="18" font-size="13" font-weight="600" fill="#1f2937">${esc(o.title)}</text>`);
  o.series.forEach((s, i) => {
    const x = m.l + i * 140;
    parts.push(`<rect x="${x}" y="26" width="12" height="10" fill="${s.color}"/><text x="${x + 16}" y="35" fill="#1f2937">${esc(s.label)}</text>`);
  });
  o.groups.forEach((g, gi) => {
    const y0 = m.t + gi * groupH;
    parts.push(`<text x="${m.l - 8}" y="${y0 + (o.series.length * barH) / 2 + 4}" text-anchor="end" fill="#1f2937">${esc(g.label)}</text>`);
    g.values.forEach((v, si) => {
      const y = y0 + si * barH;
      if (!Number.isFinite(v)) {
        parts.push(`<text x="${m.l + 4}" y="${y + barH - 4}" fill="#9aa3ad">not measured</text>`);
        return;
      }
      const bw = (v / max) * w;
      parts.push(`<rect x="${m.l}" y="${y + 1}" width="${bw.toFixed(1)}" height="${barH - 2}" fill="${o.series[si]!.color}"/>`);
      parts.push(`<text x="${(m.l + bw + 4).toFixed(1)}" y="${y + barH - 3}" fill="#1f2937">${esc(g.notes?.[si] ?? text(v))}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('');
}

export function htmlTable(headers: string[], rows: string[][]): string {
  const th = headers.map((h) => `<th>${esc(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c, i) => `<td${i ? ' class="n"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>${trs}</tbody></table>`;
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #1f2937; width: 1340px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 22px 0 8px; }
p.meta { color: #4a5563; font-size: 12px; margin: 2px 0; }
table { border-collapse: collapse; font-size: 12px; margin: 4px 0; }
th, td { border-bottom: 1px solid #e6e9ee; padding: 3px 10px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.row { display: flex; gap: 12px; flex-wrap: wrap; }
.pass { color: #2e7d32; font-weight: 600; } .miss { color: #c62828; font-weight: 600; }
pre { font-size: 11px; background: #f6f7f9; padding: 8px; overflow: hidden; }
</style></head><body>
${body}
</body></html>
`;
}
