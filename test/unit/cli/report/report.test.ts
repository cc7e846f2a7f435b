import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bound, duration, esc, percent, sig } from '../../../../services/cli/src/report/format.js';
import { renderReportHtml } from '../../../../services/cli/src/report/html.js';
import { loadMetrics, writeRunReport } from '../../../../services/cli/src/report/index.js';
import { summarize } from '../../../../services/cli/src/report/summary.js';
import { bucketPosition, histogramChart, niceTicks, visibleRange } from '../../../../services/cli/src/report/svg.js';

const SCRAPE = readFileSync(new URL('./scorer-metrics.prom', import.meta.url), 'utf8');
const NOW = new Date('2026-01-02T03:04:05Z');

/** Open/close tags balance in every <svg> and in the page (void elements and self-closing aside). */
function unbalancedTags(html: string): string[] {
  const VOID = new Set(['meta', 'br', 'img', 'link', 'input', 'hr']);
  const stack: string[] = [];
  const problems: string[] = [];
  for (const m of html.replace(/<!doctype[^>]*>/i, '').matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , self] = m as unknown as [string, string, string, string, string];
    if (self || VOID.has(name.toLowerCase())) continue;
    if (!close) stack.push(name);
    else if (stack.pop() !== name) problems.push(`</${name}> at ${m.index}`);
  }
  return [...problems, ...stack.map((n) => `<${n}> never closed`)];
}

describe('summarize (a real scorer scrape)', () => {
  const s = summarize(SCRAPE);

  it('counts events by decision, flagged and dead-lettered', () => {
    expect(s.decisions).toEqual([
      { decision: 'ALLOW', count: 18150 }, { decision: 'REVIEW', count: 714 }, { decision: 'BLOCK', count: 47 }, { decision: 'DLQ', count: 37 },
    ]);
    expect(s.totals).toEqual({ events: 18948, decided: 18911, flagged: 761, deadLettered: 37 });
    expect(s.deadLetters[0]).toEqual({ code: 'MALFORMED_AVRO', count: 6 });
    expect(s.deadLetters.reduce((a, d) => a + d.count, 0)).toBe(37);
    expect(s.missing).toEqual([]);
  });

  it('orders stages as the pipeline runs them and estimates their quantiles', () => {
    expect(s.stages.map((x) => x.stage)).toEqual(['decode', 'features', 'inference', 'decide', 'produce']);
    const produce = s.stages.at(-1)!.summary;
    expect(produce.count).toBe(18948);
    expect(produce.mean).toBeCloseTo(222.6691987304686 / 18948, 12);
    // rank 9474 is past the 9423 events ≤ 10 ms, so in (0.01, 0.025], which takes the count to 18394
    expect(produce.quantiles.p50).toBeCloseTo(0.01 + 0.015 * ((9474 - 9423) / (18394 - 9423)), 12);
    expect(s.e2e!.quantiles.p99).toBeCloseTo(0.1 + 0.15 * ((18758.52 - 16569) / (18827 - 16569)), 12);
  });

  it('reads the model, the service, lag per partition and the score histogram', () => {
    expect(s.models).toEqual([{ role: 'champion', name: 'fraud-lgbm', version: '1.0.0', digest: 'dce885ae4ab691021905c3cf3e0d723c815eaa808e74c90a2b082477b4ab42ee' }]);
    expect(s.service).toEqual({ name: 'fraudscore-scorer', version: '0.1.0' });
    expect(s.lag).toEqual(['0', '1', '2', '3'].map((partition) => ({ partition, lag: 0 })));
    expect(s.score!.count).toBe(18911);
    expect(s.score!.histogram.buckets).toHaveLength(18);
  });

  it('adds up two scorers\' scrapes concatenated (lag: the larger per partition)', () => {
    const two = summarize(`${SCRAPE}\n${SCRAPE.replace('{partition="2",', '{partition="2",x="y",').replace(/(fraudscore_consumer_lag\{partition="2"[^}]*\}) 0/, '$1 40')}`);
    expect(two.totals.events).toBe(2 * 18948);
    expect(two.e2e!.count).toBe(2 * 18948);
    expect(two.e2e!.quantiles.p99).toBeCloseTo(s.e2e!.quantiles.p99, 12);
    expect(two.lag.find((l) => l.partition === '2')!.lag).toBe(40);
    expect(two.models).toHaveLength(1);
  });

  it('reports outcomes by result only when the scorer reads outcomes', () => {
    expect(s.outcomes).toEqual([]);
    expect(renderReportHtml(s, { generatedAt: NOW })).not.toContain('Outcomes read');
    const withOutcomes = summarize(`${SCRAPE}# TYPE fraudscore_outcomes_total counter\nfraudscore_outcomes_total{result="late",otel_scope_name="fraudscore"} 2\nfraudscore_outcomes_total{result="applied",otel_scope_name="fraudscore"} 40\n`);
    expect(withOutcomes.outcomes).toEqual([{ result: 'applied', count: 40 }, { result: 'late', count: 2 }]);
    const page = renderReportHtml(withOutcomes, { generatedAt: NOW });
    expect(page).toContain('Outcomes read');
    expect(page).toContain('42 delayed fraud labels');
    expect(unbalancedTags(page)).toEqual([]);
  });

  it('copes with a scrape that has none of it', () => {
    const empty = summarize('# HELP up x\n# TYPE up gauge\nup 1\n');
    expect(empty.e2e).toBeUndefined();
    expect(empty.stages).toEqual([]);
    expect(empty.totals.events).toBe(0);
    expect(empty.missing).toContain('fraudscore_e2e_latency_seconds');
  });
});

describe('renderReportHtml', () => {
  const html = renderReportHtml(summarize(SCRAPE), { title: 'Demo run', generatedAt: NOW, source: 'http://127.0.0.1:9464/metrics' });

  it('is one self-contained page: inline SVG, no scripts, nothing fetched', () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|\ssrc=|\shref=/i);
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://127.0.0.1:9464/metrics'])); // namespace, and the source named in the header
    expect(unbalancedTags(html)).toEqual([]);
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(10);
  });

  it('shows the time it was made, the title, the model and the numbers', () => {
    expect(html).toContain('<title>Demo run</title>');
    expect(html).toContain('2026-01-02 03:04:05 UTC');
    expect(html).toContain('dce885ae4ab691021905c3cf3e0d723c815eaa808e74c90a2b082477b4ab42ee');
    expect(html).toContain('18,948');
    expect(html).toContain('p99 245 ms'); // e2e marker
    expect(html).toContain('4.02% of decisions');
    for (const stage of ['decode', 'features', 'inference', 'decide', 'produce']) expect(html).toContain(`${stage} latency histogram`);
    for (const code of ['MALFORMED_AVRO', 'PAN_LIKE_VALUE']) expect(html).toContain(code);
  });

  it('escapes whatever the scrape says', () => {
    const evil = `${SCRAPE}\nfraudscore_dead_letters_total{code="<script>alert(\\"x\\")</script>"} 1\n`
      + 'fraudscore_model_info{name="<i>m</i>",version="<u>2</u>",digest="d\\"x"} 1\n';
    const page = renderReportHtml(summarize(evil), { title: '<b>&', generatedAt: NOW, source: 'file"<x>' });
    expect(page).not.toMatch(/<script>|<i>|<u>|<x>/);
    expect(page).toContain('&lt;i&gt;m&lt;/i&gt;');
    expect(page).toContain('d&quot;x');
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(page).toContain('<title>&lt;b&gt;&amp;</title>');
    expect(unbalancedTags(page)).toEqual([]);
  });

  it('renders an empty scrape with placeholders and a warning, not an error', () => {
    const page = renderReportHtml(summarize(''), { generatedAt: NOW });
    expect(page).toContain('No observations in this scrape');
    expect(page).toContain('Not in this scrape');
    expect(page).toContain('fraudscore run report');
    expect(unbalancedTags(page)).toEqual([]);
  });
});

describe('writeRunReport and loadMetrics', () => {
  let dir: string;
  let server: Server;
  let url: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fraudscore-report-'));
    server = createServer((req, res) => {
      if (req.url === '/metrics') res.end(SCRAPE);
      else { res.statusCode = 404; res.end('no'); }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the HTML into a folder it creates', async () => {
    const out = join(dir, 'nested/run/report.html');
    await writeRunReport(SCRAPE, out, 'Run 7', { now: NOW });
    const page = await readFile(out, 'utf8');
    expect(page).toContain('<title>Run 7</title>');
    expect(page).toContain('2026-01-02 03:04:05 UTC');
  });

  it('reads a /metrics URL or a saved file, and fails on an HTTP error or a malformed exposition', async () => {
    expect(await loadMetrics(`${url}/metrics`)).toBe(SCRAPE);
    const file = join(dir, 'saved.prom');
    await writeFile(file, SCRAPE);
    expect(await loadMetrics(file)).toBe(SCRAPE);
    await expect(loadMetrics(`${url}/nope`)).rejects.toThrow(/HTTP 404/);
    await expect(loadMetrics(join(dir, 'missing.prom'))).rejects.toThrow(/ENOENT/);
    await expect(writeRunReport('x{a="b} 1', join(dir, 'bad.html'))).rejects.toThrow(/line 1/);
  });
});

describe('chart helpers and formatting', () => {
  const bins = [{ lo: 0, hi: 1, count: 0 }, { lo: 1, hi: 2, count: 5 }, { lo: 2, hi: 4, count: 5 }, { lo: 4, hi: 8, count: 0 }, { lo: 8, hi: Infinity, count: 0 }];

  it('places a value in bucket space the way quantiles interpolate', () => {
    expect(bucketPosition(bins, 0)).toBe(0);
    expect(bucketPosition(bins, 1)).toBe(1);
    expect(bucketPosition(bins, 1.5)).toBe(1.5);
    expect(bucketPosition(bins, 3)).toBe(2.5);
    expect(bucketPosition(bins, 100)).toBe(4);
    expect(bucketPosition([], 1)).toBeNaN();
  });

  it('shows the buckets with observations plus one either side, dropping an empty +Inf', () => {
    expect(visibleRange([bins])).toEqual([0, 4]);
    expect(visibleRange([[...bins.slice(0, 4), { lo: 8, hi: Infinity, count: 1 }]])).toEqual([0, 5]);
    expect(visibleRange([bins.map((b) => ({ ...b, count: 0 }))])).toEqual([0, 4]);
    const late = [{ lo: 0, hi: 1, count: 0 }, { lo: 1, hi: 2, count: 0 }, { lo: 2, hi: 3, count: 0 }, { lo: 3, hi: 4, count: 7 }, { lo: 4, hi: 5, count: 0 }, { lo: 5, hi: 6, count: 0 }];
    expect(visibleRange([late])).toEqual([2, 5]);
    expect(visibleRange([late, bins])).toEqual([0, 5]);
  });

  it('draws markers where the CDF line reaches their quantile', () => {
    const svg = histogramChart({ bins: bins.slice(0, 4), width: 412, height: 200, color: '#000', tick: String, cdf: true, markers: [{ label: 'p50', value: 2, color: '#f00' }] });
    // plot from x=46 to 412-44=368: 4 bands of 80.5 px; value 2 is edge 2 → x = 46 + 161 = 207
    expect(svg).toMatch(/<line x1="207" x2="207"[^>]*stroke="#f00"/);
    expect(svg).toContain('207,'); // a CDF vertex at the same x
    expect(unbalancedTags(svg)).toEqual([]);
  });

  it('formats durations, bounds, percentages and ticks', () => {
    expect([duration(0.0463), duration(0.245), duration(4.1e-6), duration(1.25), duration(NaN)]).toEqual(['46.3 ms', '245 ms', '4.1 µs', '1.25 s', '–']);
    expect([bound(0.00025, 'seconds'), bound(2.5, 'seconds'), bound(Infinity, 'seconds'), bound(0.0025, 'plain')]).toEqual(['250µs', '2.5s', '+Inf', '0.0025']);
    expect([percent(761, 18911), percent(37, 18948), percent(18150, 18948), percent(1, 5000), percent(1, 0)]).toEqual(['4.02%', '0.20%', '95.8%', '<0.1%', '–']);
    expect([sig(0.00644), sig(1234.5), sig(0)]).toEqual(['0.00644', '1235', '0']);
    expect(niceTicks(9746)).toEqual([0, 2500, 5000, 7500, 10000]);
    expect(esc(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
