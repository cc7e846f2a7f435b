/** Number and text formatting for the run report. */

/** Escapes text for HTML and SVG (element content and attribute values). */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function trimNumber(v: number, digits: number): string {
  return v.toFixed(digits).replace(/\.?0+$/, '') || '0';
}

/** 3 significant digits at most, trailing zeros dropped: 46.3, 189, 2.45, 0.005. */
export function sig(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? '–' : v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toString();
  const digits = Math.max(0, 2 - Math.floor(Math.log10(a)));
  return trimNumber(v, digits);
}

/** A duration in seconds with a readable unit: "46.3 ms", "4.1 µs", "1.25 s". */
export function duration(seconds: number, space = ' '): string {
  if (!Number.isFinite(seconds)) return Number.isNaN(seconds) ? '–' : seconds > 0 ? '+Inf' : '−Inf';
  const a = Math.abs(seconds);
  if (a === 0) return `0${space}s`;
  if (a < 1e-3) return `${sig(seconds * 1e6)}${space}µs`;
  if (a < 1) return `${sig(seconds * 1e3)}${space}ms`;
  return `${sig(seconds)}${space}s`;
}

/** A histogram bound on an axis: durations without a space ("250µs"), or a plain number. */
export function bound(v: number, unit: 'seconds' | 'plain'): string {
  if (v === Infinity) return '+Inf';
  return unit === 'seconds' ? duration(v, '') : trimNumber(v, 6);
}

export function count(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return Math.round(n).toLocaleString('en-US');
}

/** A compact count for axes: 950, 1.2k, 18k, 2.5M. */
export function shortCount(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e6) return `${sig(n / 1e6)}M`;
  if (a >= 1e3) return `${sig(n / 1e3)}k`;
  return sig(n);
}

export function percent(part: number, whole: number): string {
  if (!(whole > 0)) return '–';
  const p = (100 * part) / whole;
  if (p === 0) return '0%';
  if (p < 0.1) return '<0.1%';
  return `${p >= 10 ? p.toFixed(1) : p.toFixed(2)}%`;
}
