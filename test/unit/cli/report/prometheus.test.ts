import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ExpositionError, bucketCounts, bucketQuantile, histogramsOf, mergeHistograms, parseExposition, parseValue, valuesOf,
  type Bucket,
} from '../../../../services/cli/src/report/prometheus.js';

const SCRAPE = readFileSync(new URL('./scorer-metrics.prom', import.meta.url), 'utf8');

describe('parseExposition', () => {
  it('reads HELP, TYPE and UNIT lines, with HELP escapes', () => {
    const f = parseExposition([
      '# HELP req_seconds Request time \\\\ with a\\nnewline',
      '# UNIT req_seconds seconds',
      '# TYPE req_seconds histogram',
      'req_seconds_bucket{le="0.5"} 1',
      '# an ordinary comment',
      'req_seconds_bucket{le="+Inf"} 3',
      'req_seconds_sum 2.5',
      'req_seconds_count 3',
      '# EOF',
    ].join('\n'));
    expect([...f.keys()]).toEqual(['req_seconds']);
    const h = f.get('req_seconds')!;
    expect(h).toMatchObject({ type: 'histogram', unit: 'seconds', help: 'Request time \\ with a\nnewline' });
    expect(h.samples.map((s) => s.name)).toEqual(['req_seconds_bucket', 'req_seconds_bucket', 'req_seconds_sum', 'req_seconds_count']);
  });

  it('unescapes quotes, backslashes and newlines in label values, and keeps commas and braces inside them', () => {
    const f = parseExposition('# TYPE x gauge\nx{a="say \\"hi\\"",b="c:\\\\dir",c="1\\n2", d = "{x,y}" ,} 7\n');
    expect(f.get('x')!.samples).toEqual([{ name: 'x', labels: { a: 'say "hi"', b: 'c:\\dir', c: '1\n2', d: '{x,y}' }, value: 7 }]);
  });

  it('attaches _total to its counter whether TYPE names the family with or without the suffix', () => {
    const otel = parseExposition('# TYPE a_total counter\na_total{k="v"} 2\n');
    expect(otel.get('a_total')!.samples[0]).toMatchObject({ name: 'a_total', value: 2 });
    const om = parseExposition('# TYPE b counter\nb_total 5\nb_created 1700000000\n');
    expect([...om.keys()]).toEqual(['b']);
    expect(valuesOf(om.get('b'))).toEqual([{ labels: {}, value: 5 }]);
  });

  it('reads special values and timestamps; untyped samples get a family of their own', () => {
    const f = parseExposition('x +Inf\ny -Inf 1700000000000\nz NaN\nw 1.5e-3\nv -0.25\n');
    expect(f.get('x')!.samples[0]!.value).toBe(Infinity);
    expect(f.get('y')!.samples[0]).toMatchObject({ value: -Infinity, timestamp: 1700000000000 });
    expect(f.get('z')!.samples[0]!.value).toBeNaN();
    expect(f.get('w')!.samples[0]!.value).toBe(0.0015);
    expect(f.get('v')).toMatchObject({ type: 'untyped', samples: [{ value: -0.25 }] });
    expect(parseValue('0x1F')).toBe(31);
    expect(() => parseValue('1,5')).toThrow(/not a number/);
  });

  it('rejects malformed lines with their line number', () => {
    const bad: [string, RegExp][] = [
      ['ok 1\nx{a="b} 1', /line 2: unterminated value of label a/],
      ['x{a="b"', /line 1: expected , or \}/],
      ['x{a=b} 1', /expected " to open/],
      ['x{a="1",a="2"} 1', /label a given twice/],
      ['x{a="\\q"} 1', /bad escape/],
      ['x', /expected a value/],
      ['x 1 2 3', /expected a value/],
      ['x one', /not a number/],
      ['9x 1', /expected a metric name/],
      ['# TYPE x histogramm', /unknown type/],
      ['# TYPE x gauge\n# TYPE x counter', /x typed twice/],
    ];
    for (const [text, msg] of bad) {
      expect(() => parseExposition(text), text).toThrow(msg);
      expect(() => parseExposition(text)).toThrow(ExpositionError);
    }
  });

  it('parses a real scorer scrape (OTel exporter: UNIT lines, otel_scope labels, target_info)', () => {
    const f = parseExposition(SCRAPE);
    expect([...f.keys()].sort()).toEqual([
      'fraudscore_consumer_lag', 'fraudscore_dead_letters_total', 'fraudscore_e2e_latency_seconds', 'fraudscore_events_total',
      'fraudscore_model_info', 'fraudscore_score', 'fraudscore_stage_latency_seconds', 'target_info',
    ]);
    expect(f.get('fraudscore_e2e_latency_seconds')).toMatchObject({ type: 'histogram', unit: 's' });
    expect(f.get('fraudscore_events_total')!.type).toBe('counter');
    const stages = histogramsOf(f.get('fraudscore_stage_latency_seconds'));
    expect(stages.map((h) => h.labels.stage)).toEqual(['decode', 'produce', 'features', 'inference', 'decide']);
    for (const h of stages) {
      expect(h.buckets).toHaveLength(16);
      expect(h.buckets.at(-1)).toEqual({ le: Infinity, count: h.count });
      expect(h.labels).not.toHaveProperty('le');
    }
  });
});

describe('histograms', () => {
  const text = [
    '# TYPE h histogram',
    'h_bucket{s="a",le="1"} 2', 'h_bucket{s="a",le="+Inf"} 5', 'h_bucket{s="a",le="0.5"} 1', 'h_sum{s="a"} 4', 'h_count{s="a"} 5',
    'h_bucket{s="b",le="0.5"} 0', 'h_bucket{s="b",le="1"} 3', 'h_bucket{s="b",le="+Inf"} 3', 'h_sum{s="b"} 2', 'h_count{s="b"} 3',
  ].join('\n');

  it('groups series by labels (le aside) and sorts buckets by bound', () => {
    const [a, b] = histogramsOf(parseExposition(text).get('h'));
    expect(a).toEqual({ labels: { s: 'a' }, buckets: [{ le: 0.5, count: 1 }, { le: 1, count: 2 }, { le: Infinity, count: 5 }], sum: 4, count: 5 });
    expect(b!.labels).toEqual({ s: 'b' });
  });

  it('adds up a series given twice (several scorers\' scrapes concatenated)', () => {
    const [a] = histogramsOf(parseExposition(`${text}\n${text}`).get('h'));
    expect(a).toEqual({ labels: { s: 'a' }, buckets: [{ le: 0.5, count: 2 }, { le: 1, count: 4 }, { le: Infinity, count: 10 }], sum: 8, count: 10 });
  });

  it('merges histograms bucket by bucket', () => {
    const m = mergeHistograms(histogramsOf(parseExposition(text).get('h')))!;
    expect(m.buckets).toEqual([{ le: 0.5, count: 1 }, { le: 1, count: 5 }, { le: Infinity, count: 8 }]);
    expect([m.sum, m.count]).toEqual([6, 8]);
    expect(mergeHistograms([])).toBeUndefined();
  });

  it('turns cumulative buckets into per-bucket counts with bounds', () => {
    expect(bucketCounts([{ le: 0.5, count: 1 }, { le: 1, count: 5 }, { le: Infinity, count: 8 }])).toEqual([
      { lo: 0, hi: 0.5, count: 1 }, { lo: 0.5, hi: 1, count: 4 }, { lo: 1, hi: Infinity, count: 3 },
    ]);
  });
});

describe('bucketQuantile (as histogram_quantile)', () => {
  const b = (...pairs: [number, number][]): Bucket[] => pairs.map(([le, count]) => ({ le, count }));
  const h = b([1, 10], [2, 20], [4, 40], [Infinity, 40]);

  it('interpolates linearly inside the bucket that holds the rank; the first bucket starts at 0', () => {
    expect(bucketQuantile(0.25, h)).toBe(1); // rank 10: top of the first bucket
    expect(bucketQuantile(0.125, h)).toBe(0.5); // rank 5: halfway through [0, 1]
    expect(bucketQuantile(0.375, h)).toBe(1.5); // rank 15: halfway through (1, 2]
    expect(bucketQuantile(0.5, h)).toBe(2);
    expect(bucketQuantile(0.75, h)).toBe(3); // rank 30: halfway through (2, 4]
    expect(bucketQuantile(0.99, h)).toBeCloseTo(2 + 2 * (19.6 / 20), 12);
    expect(bucketQuantile(1, h)).toBe(4);
    expect(bucketQuantile(0, h)).toBe(0);
  });

  it('gives the highest finite bound when the rank falls in +Inf', () => {
    expect(bucketQuantile(0.9, b([1, 10], [2, 20], [Infinity, 40]))).toBe(2);
  });

  it('gives the first bound when it is not positive', () => {
    expect(bucketQuantile(0.1, b([-1, 5], [Infinity, 10]))).toBe(-1);
    expect(bucketQuantile(0.1, b([0, 5], [Infinity, 10]))).toBe(0);
  });

  it('is NaN without +Inf, with one bucket or no observations; ±Inf outside [0, 1]', () => {
    expect(bucketQuantile(0.5, b([1, 10], [2, 20]))).toBeNaN();
    expect(bucketQuantile(0.5, b([Infinity, 10]))).toBeNaN();
    expect(bucketQuantile(0.5, b([1, 0], [Infinity, 0]))).toBeNaN();
    expect(bucketQuantile(0.5, [])).toBeNaN();
    expect(bucketQuantile(NaN, h)).toBeNaN();
    expect(bucketQuantile(-0.1, h)).toBe(-Infinity);
    expect(bucketQuantile(1.1, h)).toBe(Infinity);
  });

  it('sorts buckets, adds up equal bounds and forces counts to be monotonic', () => {
    expect(bucketQuantile(0.75, [...h].reverse())).toBe(3);
    expect(bucketQuantile(0.5, b([1, 5], [1, 5], [2, 20], [Infinity, 20]))).toBe(1); // [1, 10], [2, 20]
    expect(bucketQuantile(0.5, b([1, 10], [2, 8], [Infinity, 20]))).toBe(1); // 8 read as 10
  });

  it('matches the scorer scrape worked by hand: e2e p50 and p99', () => {
    const [e2e] = histogramsOf(parseExposition(SCRAPE).get('fraudscore_e2e_latency_seconds'));
    // 18948 events; p50 rank 9474 in (0.05, 0.1] holding 6825 → 16569; p99 rank 18758.52 in (0.1, 0.25] holding 16569 → 18827
    expect(bucketQuantile(0.5, e2e!.buckets)).toBeCloseTo(0.05 + 0.05 * ((9474 - 6825) / (16569 - 6825)), 12);
    expect(bucketQuantile(0.99, e2e!.buckets)).toBeCloseTo(0.1 + 0.15 * ((18758.52 - 16569) / (18827 - 16569)), 12);
  });

  it('lands in the same bucket as the exact quantile of the observations bucketed', () => {
    let seed = 42; // mulberry32
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    const bounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Infinity];
    const values = Array.from({ length: 5000 }, () => Math.exp(Math.log(0.04) + 1.2 * Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand())));
    const sorted = [...values].sort((x, y) => x - y);
    const buckets = bounds.map((le) => ({ le, count: values.filter((v) => v <= le).length }));
    for (const q of [0.1, 0.5, 0.9, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      const est = bucketQuantile(q, buckets);
      const i = bounds.findIndex((le) => exact <= le);
      const lo = i === 0 ? 0 : bounds[i - 1]!;
      expect(est, `q=${q}`).toBeGreaterThanOrEqual(lo);
      expect(est, `q=${q}`).toBeLessThanOrEqual(bounds[i]!);
    }
  });
});
