/**
 * A small parser for the Prometheus text exposition format (version 0.0.4, plus the `# UNIT`
 * and `# EOF` lines of OpenMetrics that the OTel exporter writes), and the histogram helpers the
 * run report needs: series grouped into histograms, merged, and quantiles estimated from their
 * buckets the way PromQL's histogram_quantile does (linear interpolation inside a bucket).
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'gaugehistogram' | 'info' | 'stateset' | 'unknown';

export type Labels = Record<string, string>;

export interface Sample {
  /** The series name as written (e.g. `x_bucket`, `x_total`). */
  name: string;
  labels: Labels;
  value: number;
  /** Milliseconds since the epoch, when the line carries one. */
  timestamp?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  unit?: string;
  samples: Sample[];
}

export class ExpositionError extends Error {
  constructor(message: string, readonly line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'ExpositionError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'gaugehistogram', 'info', 'stateset', 'unknown']);
/** Suffixes a sample may carry beyond its family's name, by family type. */
const SUFFIXES: Partial<Record<MetricType, string[]>> = {
  counter: ['_total', '_created'],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  gaugehistogram: ['_bucket', '_gsum', '_gcount'],
  summary: ['_sum', '_count', '_created'],
  info: ['_info'],
};

/** Parses a float as Prometheus writes it (`+Inf`, `-Inf`, `NaN` included). */
export function parseValue(s: string): number {
  switch (s) {
    case '+Inf': case 'Inf': case '+inf': case 'inf': return Infinity;
    case '-Inf': case '-inf': return -Infinity;
    case 'NaN': case 'nan': return NaN;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s) && !/^[-+]?0x[0-9a-fA-F]+$/.test(s)) throw new Error(`not a number: ${JSON.stringify(s)}`);
  return Number(s);
}

function unescapeHelp(s: string): string {
  return s.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Parses `{a="x",b="y\"z"}` starting at text[0] === '{'; returns the labels and the rest of the line. */
function parseLabels(text: string, lineNo: number): { labels: Labels; rest: string } {
  const labels: Labels = {};
  let i = 1;
  const skipSpace = () => { while (text[i] === ' ' || text[i] === '\t') i++; };
  for (;;) {
    skipSpace();
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const m = LABEL_NAME.exec(text.slice(i));
    if (!m) throw new ExpositionError(`bad label name at ${JSON.stringify(text.slice(i, i + 20))}`, lineNo);
    const name = m[0];
    i += name.length;
    skipSpace();
    if (text[i] !== '=') throw new ExpositionError(`expected = after label ${name}`, lineNo);
    i++;
    skipSpace();
    if (text[i] !== '"') throw new ExpositionError(`expected " to open the value of label ${name}`, lineNo);
    i++;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new ExpositionError(`unterminated value of label ${name}`, lineNo);
      if (c === '"') { i++; break; }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'n') value += '\n';
        else if (e === '\\' || e === '"') value += e;
        else throw new ExpositionError(`bad escape \\${e ?? ''} in label ${name}`, lineNo);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    if (Object.hasOwn(labels, name)) throw new ExpositionError(`label ${name} given twice`, lineNo);
    labels[name] = value;
    skipSpace();
    if (text[i] === ',') { i++; continue; }
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    throw new ExpositionError(`expected , or } after label ${name}`, lineNo);
  }
}

/**
 * Parses an exposition into metric families keyed by family name. Samples are attached to the
 * family whose `# TYPE` declares them (`x_bucket` to histogram `x`, `x_total` to counter `x` or
 * `x_total`); samples with no declared family become `untyped` families of their own.
 * Throws ExpositionError (with the line number) on a malformed line.
 */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const family = (name: string): MetricFamily => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', samples: [] }));
    return f;
  };
  const typed = new Set<string>();
  const owner = (sample: string): MetricFamily => {
    const exact = families.get(sample);
    if (exact && typed.has(sample)) return exact;
    for (const f of families.values()) {
      if (!typed.has(f.name)) continue;
      for (const suffix of SUFFIXES[f.type] ?? []) if (sample === f.name + suffix) return f;
    }
    return exact ?? family(sample);
  };

  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const line = lines[n]!.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE|UNIT)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line);
      if (!m) continue; // an ordinary comment, or # EOF
      const [, kind, name, arg = ''] = m as unknown as [string, string, string, string | undefined];
      const f = family(name);
      if (kind === 'HELP') f.help = unescapeHelp(arg);
      else if (kind === 'UNIT') f.unit = arg;
      else {
        const type = arg.trim().toLowerCase() as MetricType;
        if (!TYPES.has(type)) throw new ExpositionError(`unknown type ${JSON.stringify(arg)} for ${name}`, lineNo);
        if (typed.has(name) && f.type !== type) throw new ExpositionError(`${name} typed twice`, lineNo);
        f.type = type;
        typed.add(name);
      }
      continue;
    }
    const nm = NAME.exec(line);
    if (!nm) throw new ExpositionError(`expected a metric name: ${JSON.stringify(line.slice(0, 40))}`, lineNo);
    const name = nm[0];
    let rest = line.slice(name.length);
    let labels: Labels = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, lineNo));
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 1 || parts[0] === '' || parts.length > 2) throw new ExpositionError(`expected a value (and optional timestamp) after ${name}`, lineNo);
    let value: number;
    let timestamp: number | undefined;
    try {
      value = parseValue(parts[0]!);
      if (parts[1] !== undefined) timestamp = parseValue(parts[1]);
    } catch (err) {
      throw new ExpositionError((err as Error).message, lineNo);
    }
    const sample: Sample = { name, labels, value };
    if (timestamp !== undefined) sample.timestamp = timestamp;
    owner(name).samples.push(sample);
  }
  return families;
}

// ---- histograms -------------------------------------------------------------------------------

export interface Bucket {
  /** Upper bound (`le`), Infinity for the last. */
  le: number;
  /** Cumulative count of observations ≤ le. */
  count: number;
}

export interface Histogram {
  /** The series' labels, without `le`. */
  labels: Labels;
  /** Cumulative buckets sorted by le; the last is +Inf when the exposition had it. */
  buckets: Bucket[];
  sum: number;
  count: number;
}

/** Labels that identify where a series came from rather than what it measures. */
export const SCOPE_LABELS = /^otel_scope_/;

export function labelKey(labels: Labels, ignore: (name: string) => boolean = () => false): string {
  return Object.keys(labels).filter((k) => !ignore(k)).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',');
}

/** The histograms of a family, one per label set (le aside); a series given twice is added up. */
export function histogramsOf(family: MetricFamily | undefined): Histogram[] {
  if (!family) return [];
  const byKey = new Map<string, Histogram>();
  const get = (labels: Labels): Histogram => {
    const { le: _le, ...rest } = labels;
    const key = labelKey(rest);
    let h = byKey.get(key);
    if (!h) byKey.set(key, (h = { labels: rest, buckets: [], sum: NaN, count: NaN }));
    return h;
  };
  for (const s of family.samples) {
    const h = get(s.labels);
    // Repeated series (scrapes of several scorers concatenated) add up.
    if (s.name.endsWith('_bucket')) {
      const le = s.labels.le;
      if (le === undefined) continue;
      const bound = parseValue(le);
      const same = h.buckets.find((b) => b.le === bound);
      if (same) same.count += s.value;
      else h.buckets.push({ le: bound, count: s.value });
    } else if (s.name.endsWith('_sum')) h.sum = (Number.isNaN(h.sum) ? 0 : h.sum) + s.value;
    else if (s.name.endsWith('_count')) h.count = (Number.isNaN(h.count) ? 0 : h.count) + s.value;
  }
  const out = [...byKey.values()];
  for (const h of out) {
    h.buckets.sort((a, b) => a.le - b.le);
    const inf = h.buckets.at(-1);
    if (Number.isNaN(h.count) && inf && inf.le === Infinity) h.count = inf.count;
  }
  return out;
}

/** Adds histograms up bucket by bucket (like `sum by (le)`), e.g. across instances or scopes. */
export function mergeHistograms(hs: readonly Histogram[], labels: Labels = {}): Histogram | undefined {
  if (hs.length === 0) return undefined;
  const counts = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const h of hs) {
    for (const b of h.buckets) counts.set(b.le, (counts.get(b.le) ?? 0) + b.count);
    sum += h.sum;
    count += h.count;
  }
  const buckets = [...counts].map(([le, c]) => ({ le, count: c })).sort((a, b) => a.le - b.le);
  return { labels, buckets, sum, count };
}

/**
 * The q-quantile estimated from cumulative buckets, as PromQL's histogram_quantile computes it:
 * the bucket holding rank q·total is found and the value interpolated linearly between its
 * bounds (the first bucket starts at 0 when its bound is positive). A rank in the +Inf bucket
 * gives the highest finite bound. NaN without a +Inf bucket, with fewer than two buckets or no
 * observations; −Inf for q < 0 and +Inf for q > 1.
 */
export function bucketQuantile(q: number, input: readonly Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  // Sort, add up buckets with the same bound, and force the counts to be monotonic.
  const merged = new Map<number, number>();
  for (const b of input) merged.set(b.le, (merged.get(b.le) ?? 0) + b.count);
  const buckets = [...merged].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  if (buckets.length < 2 || buckets.at(-1)!.le !== Infinity) return NaN;
  for (let i = 1; i < buckets.length; i++) buckets[i]!.count = Math.max(buckets[i]!.count, buckets[i - 1]!.count);
  const total = buckets.at(-1)!.count;
  if (!(total > 0)) return NaN;
  let rank = q * total;
  let b = buckets.findIndex((x, i) => i < buckets.length - 1 && x.count >= rank);
  if (b === -1) b = buckets.length - 1;
  if (b === buckets.length - 1) return buckets[b - 1]!.le;
  if (b === 0 && buckets[0]!.le <= 0) return buckets[0]!.le;
  let start = 0;
  const end = buckets[b]!.le;
  let count = buckets[b]!.count;
  if (b > 0) {
    start = buckets[b - 1]!.le;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  if (count === 0) return start; // only for q = 0 on an empty first bucket
  return start + (end - start) * (rank / count);
}

/** Per-bucket (not cumulative) counts, each with its lower and upper bound. */
export function bucketCounts(buckets: readonly Bucket[]): { lo: number; hi: number; count: number }[] {
  let prevLe = 0;
  let prev = 0;
  return buckets.map((b, i) => {
    const lo = i === 0 ? Math.min(0, b.le) : prevLe;
    const out = { lo, hi: b.le, count: Math.max(0, b.count - prev) };
    prevLe = b.le;
    prev = Math.max(prev, b.count);
    return out;
  });
}

/** Plain samples of a counter or gauge family, scope labels dropped, equal label sets added up. */
export function valuesOf(family: MetricFamily | undefined): { labels: Labels; value: number }[] {
  if (!family) return [];
  const byKey = new Map<string, { labels: Labels; value: number }>();
  for (const s of family.samples) {
    if (/_created$/.test(s.name)) continue;
    const labels = Object.fromEntries(Object.entries(s.labels).filter(([k]) => !SCOPE_LABELS.test(k)));
    const key = labelKey(labels);
    const hit = byKey.get(key);
    if (hit) hit.value += s.value;
    else byKey.set(key, { labels, value: s.value });
  }
  return [...byKey.values()];
}
