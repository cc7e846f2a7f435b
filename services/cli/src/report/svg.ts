/**
 * Inline SVG charts for the run report: a histogram over its buckets (bars, optional CDF line,
 * quantile markers), horizontal bar lists and a stacked bar. Pure functions returning markup;
 * no scripts, no external resources.
 *
 * Histogram x axes are in bucket space: each bucket gets an equal-width band (the buckets are
 * roughly logarithmic, so this reads like a log axis), and a value inside a bucket sits at the
 * same linear fraction of its band as histogram_quantile interpolates it, so quantile markers
 * land on the CDF line.
 */
import { esc, shortCount, sig } from './format.js';

export interface Bin { lo: number; hi: number; count: number }

export interface Marker { label: string; value: number; color: string }

export interface HistogramChartOptions {
  bins: readonly Bin[];
  width: number;
  height: number;
  /** Colour of every bar, or one per bin. */
  color: string | ((i: number, bin: Bin) => string);
  /** Label of a bucket bound on the x axis. */
  tick: (bound: number) => string;
  markers?: readonly Marker[];
  /** Draw the cumulative share (right axis, 0–100 %). */
  cdf?: boolean;
  /** Counts already below the first bin shown (for the CDF when leading bins were trimmed). */
  countBefore?: number;
  /** Total count (for the CDF); defaults to countBefore + the bins' counts. */
  total?: number;
  logY?: boolean;
  /** Same y scale across small multiples. */
  yMax?: number;
  /** Minimum pixels between x tick labels. */
  tickSpacing?: number;
  /** When given, only bounds it accepts get a label (e.g. powers of ten on a crowded axis). */
  labelBound?: (bound: number) => boolean;
  fontSize?: number;
  title?: string;
}

const AXIS = '#9aa3ad';
const GRID = '#e6e9ee';
const TEXT = '#4a5563';
const CDF = '#1f2937';

/** Round numbers for a linear axis from 0 to at least max. */
export function niceTicks(max: number, target = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Position of value v in bucket space: band i spans [i, i+1] and holds (lo, hi]. */
export function bucketPosition(bins: readonly Bin[], v: number): number {
  if (bins.length === 0 || Number.isNaN(v)) return NaN;
  if (v <= bins[0]!.lo) return 0;
  for (let i = 0; i < bins.length; i++) {
    const { lo, hi } = bins[i]!;
    if (v <= hi) return hi === Infinity || hi === lo ? i : i + (v - lo) / (hi - lo);
  }
  return bins.length;
}

/**
 * The bins worth showing: from one empty bin before the first non-empty one to one after the
 * last (an empty +Inf bin is dropped). All bins when none has a count.
 */
export function visibleRange(binSets: readonly (readonly Bin[])[]): [number, number] {
  let first = Infinity;
  let last = -Infinity;
  let n = 0;
  for (const bins of binSets) {
    n = Math.max(n, bins.length);
    bins.forEach((b, i) => {
      if (b.count > 0) { first = Math.min(first, i); last = Math.max(last, i); }
    });
  }
  if (first === Infinity) return [0, Math.max(0, n - (binSets[0]?.at(-1)?.hi === Infinity ? 1 : 0))];
  let end = Math.min(n, last + 2);
  const ref = binSets.find((b) => b.length === n);
  if (ref && end === n && ref[n - 1]!.hi === Infinity && !binSets.some((b) => (b[n - 1]?.count ?? 0) > 0)) end = n - 1;
  return [Math.max(0, first - 1), Math.max(end, Math.max(0, first - 1) + 1)];
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${r(x)}" y="${r(y)}" ${attrs}>${esc(s)}</text>`;
}
const r = (v: number): string => (Math.round(v * 10) / 10).toString();

export function histogramChart(o: HistogramChartOptions): string {
  const fs = o.fontSize ?? 12;
  const bins = o.bins;
  const m = { top: o.markers?.length ? fs * 2 + 10 : 10, right: o.cdf ? 44 : 12, bottom: fs + 14, left: 46 };
  const w = o.width - m.left - m.right;
  const h = o.height - m.top - m.bottom;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${o.height}" viewBox="0 0 ${o.width} ${o.height}" font-size="${fs}" role="img">`);
  if (o.title) parts.push(`<title>${esc(o.title)}</title>`);
  if (bins.length === 0) {
    parts.push(text(o.width / 2, o.height / 2, 'no observations', `text-anchor="middle" fill="${TEXT}"`), '</svg>');
    return parts.join('');
  }
  const band = w / bins.length;
  const X = (pos: number) => m.left + pos * band;
  const maxCount = o.yMax ?? Math.max(1, ...bins.map((b) => b.count));

  // y scale and grid
  let Y: (c: number) => number;
  let ticks: number[];
  if (o.logY) {
    const top = Math.max(1, 10 ** Math.ceil(Math.log10(Math.max(1, maxCount))));
    const span = Math.log10(top) + 0.3; // 0.3 decades below 1 so single events still show
    Y = (c) => m.top + h - (c <= 0 ? 0 : (h * (Math.log10(c) + 0.3)) / span);
    ticks = [];
    for (let t = 1; t <= top; t *= 10) ticks.push(t);
  } else {
    ticks = niceTicks(maxCount);
    const top = ticks.at(-1)!;
    Y = (c) => m.top + h - (h * c) / top;
  }
  for (const t of ticks) {
    const y = Y(t);
    parts.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${r(y)}" y2="${r(y)}" stroke="${GRID}"/>`);
    parts.push(text(m.left - 6, y + fs * 0.35, shortCount(t), `text-anchor="end" fill="${TEXT}"`));
  }

  // bars
  const gap = Math.min(3, band * 0.12);
  bins.forEach((b, i) => {
    if (b.count <= 0) return;
    const y = Y(b.count);
    const color = typeof o.color === 'string' ? o.color : o.color(i, b);
    parts.push(`<rect x="${r(X(i) + gap / 2)}" y="${r(y)}" width="${r(Math.max(1, band - gap))}" height="${r(Math.max(1, m.top + h - y))}" fill="${color}" rx="1.5"><title>${esc(`${o.tick(b.lo)} – ${o.tick(b.hi)}: ${b.count.toLocaleString('en-US')}`)}</title></rect>`);
  });

  // x axis: a label at each band edge, skipping those that would crowd the previous one
  parts.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${m.top + h}" y2="${m.top + h}" stroke="${AXIS}"/>`);
  const minGap = o.tickSpacing ?? 44;
  let lastX = -Infinity;
  const edgeValue = (e: number) => (e === 0 ? bins[0]!.lo : bins[e - 1]!.hi);
  for (let e = 0; e <= bins.length; e++) {
    const x = X(e);
    const value = edgeValue(e);
    const label = o.tick(value);
    const halfWidth = (label.length * fs * 0.55) / 2;
    const fits = x - lastX >= minGap && x - halfWidth >= 0 && x + halfWidth <= o.width && (o.labelBound?.(value) ?? true);
    parts.push(`<line x1="${r(x)}" x2="${r(x)}" y1="${m.top + h}" y2="${m.top + h + (fits ? 4 : 2)}" stroke="${AXIS}"/>`);
    if (fits) {
      parts.push(text(x, m.top + h + fs + 4, label, `text-anchor="middle" fill="${TEXT}"`));
      lastX = x;
    }
  }

  // CDF
  if (o.cdf) {
    const before = o.countBefore ?? 0;
    const total = o.total ?? before + bins.reduce((a, b) => a + b.count, 0);
    if (total > 0) {
      const Yc = (f: number) => m.top + h - h * f;
      let cum = before;
      const pts = [`${r(X(0))},${r(Yc(cum / total))}`];
      bins.forEach((b, i) => { cum += b.count; pts.push(`${r(X(i + 1))},${r(Yc(cum / total))}`); });
      for (const f of [0, 0.5, 1]) parts.push(text(m.left + w + 6, Yc(f) + fs * 0.35, `${f * 100}%`, `fill="${TEXT}"`));
      parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${CDF}" stroke-width="2" stroke-linejoin="round"/>`);
    }
  }

  // quantile markers; labels in two rows when they would collide
  const placed: { x: number; row: number; w: number }[] = [];
  for (const mk of o.markers ?? []) {
    const pos = bucketPosition(bins, mk.value);
    if (!Number.isFinite(pos)) continue;
    const x = X(pos);
    const label = mk.label;
    const lw = label.length * fs * 0.58;
    let row = 0;
    while (placed.some((p) => p.row === row && Math.abs(p.x - x) < (p.w + lw) / 2 + 6)) row++;
    placed.push({ x, row, w: lw });
    const ly = m.top - 6 - Math.min(row, 1) * (fs + 2); // row 0 just above the plot, row 1 above it
    parts.push(`<line x1="${r(x)}" x2="${r(x)}" y1="${m.top - 2}" y2="${m.top + h}" stroke="${mk.color}" stroke-width="1.5" stroke-dasharray="4 3"/>`);
    const anchor = x + lw / 2 > o.width ? 'end' : x - lw / 2 < 0 ? 'start' : 'middle';
    parts.push(text(x, ly, label, `text-anchor="${anchor}" fill="${mk.color}" font-weight="600"`));
  }
  parts.push('</svg>');
  return parts.join('');
}

export interface BarItem { label: string; value: number; color: string; note?: string }

/** Horizontal bars, one per row: label, bar, value (and note). */
export function barList(items: readonly BarItem[], o: { width: number; labelWidth?: number; row?: number; fontSize?: number; valueText?: (v: number) => string; empty?: string }): string {
  const fs = o.fontSize ?? 13;
  const row = o.row ?? 26;
  const lw = o.labelWidth ?? 120;
  const valueW = 130;
  const height = Math.max(row, items.length * row) + 4;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${height}" viewBox="0 0 ${o.width} ${height}" font-size="${fs}" role="img">`];
  if (items.length === 0) {
    parts.push(text(0, row * 0.65, o.empty ?? 'none', `fill="${TEXT}"`), '</svg>');
    return parts.join('');
  }
  const max = Math.max(...items.map((i) => i.value), 0);
  const bw = o.width - lw - valueW;
  items.forEach((it, i) => {
    const y = i * row + 2;
    const len = max > 0 ? (bw * it.value) / max : 0;
    parts.push(text(lw - 10, y + row * 0.62, it.label, `text-anchor="end" fill="#1f2937"`));
    parts.push(`<rect x="${lw}" y="${r(y + row * 0.18)}" width="${r(bw)}" height="${r(row * 0.64)}" fill="#f1f3f6" rx="3"/>`);
    if (len > 0) parts.push(`<rect x="${lw}" y="${r(y + row * 0.18)}" width="${r(Math.max(2, len))}" height="${r(row * 0.64)}" fill="${it.color}" rx="3"/>`);
    const v = (o.valueText ?? ((n: number) => n.toLocaleString('en-US')))(it.value);
    parts.push(`<text x="${r(lw + bw + 10)}" y="${r(y + row * 0.62)}" fill="#1f2937"><tspan font-weight="600">${esc(v)}</tspan>${it.note ? `<tspan fill="${TEXT}" dx="6">${esc(it.note)}</tspan>` : ''}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export interface Segment { label: string; value: number; color: string; text?: string }

/** One bar split into segments proportional to their values, labelled inside where they fit. */
export function stackedBar(segments: readonly Segment[], o: { width: number; height?: number; fontSize?: number }): string {
  const fs = o.fontSize ?? 12;
  const height = o.height ?? 34;
  const total = segments.reduce((a, s) => a + Math.max(0, s.value), 0);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${height}" viewBox="0 0 ${o.width} ${height}" font-size="${fs}" role="img">`];
  if (!(total > 0)) {
    parts.push(`<rect width="${o.width}" height="${height}" fill="#f1f3f6" rx="4"/>`, '</svg>');
    return parts.join('');
  }
  let x = 0;
  for (const s of segments) {
    const w = (o.width * Math.max(0, s.value)) / total;
    if (w <= 0) continue;
    parts.push(`<rect x="${r(x)}" y="0" width="${r(Math.max(w, 1.5))}" height="${height}" fill="${s.color}"><title>${esc(`${s.label}: ${s.text ?? sig(s.value)}`)}</title></rect>`);
    const label = [`${s.label} ${s.text ?? ''}`.trim(), s.label].find((l) => w > l.length * fs * 0.6 + 10);
    if (label) parts.push(text(x + w / 2, height / 2 + fs * 0.35, label, 'text-anchor="middle" fill="#fff" font-weight="600"'));
    x += w;
  }
  parts.push('</svg>');
  return parts.join('');
}
