/**
 * The Grafana dashboard can only query what the scorer exposes. The metric names come from
 * services/scorer/src/telemetry/metrics.ts and deployment-metrics.ts (their createHistogram/createCounter/createGauge
 * calls, with the suffixes Prometheus adds); the labels and their values from running that
 * same code through the OTel Prometheus exporter the scorer uses. Every PromQL expression in
 * deploy/grafana/dashboards/fraudscore.json is checked against both, and broken twins of the
 * dashboard must be rejected.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseExposition } from '../../../../services/cli/src/report/prometheus.js';
import type { ChunkTiming, PipelineResult } from '../../../../services/scorer/src/pipeline.js';
import { createScorerMetrics } from '../../../../services/scorer/src/telemetry/metrics.js';
import { createDeploymentMetrics } from '../../../../services/scorer/src/telemetry/deployment-metrics.js';
import type { Serving } from '../../../../services/scorer/src/deployment/serving.js';
import { REPO, readYaml, type Obj } from '../../deploy/support.js';
import { problems, references, type Catalog } from './promql-refs.js';

const METRICS_TS = ['services/scorer/src/telemetry/metrics.ts', 'services/scorer/src/telemetry/deployment-metrics.ts'];
const DASHBOARD = 'deploy/grafana/dashboards/fraudscore.json';
const read = (rel: string) => readFileSync(join(REPO, rel), 'utf8');

type Kind = 'histogram' | 'counter' | 'gauge';
/** Instruments created in a metrics module: `meter.createHistogram('name', …)` and the like. */
function instrumentsIn(source: string): { kind: Kind; name: string }[] {
  const kinds: Record<string, Kind> = {
    Histogram: 'histogram', Counter: 'counter', ObservableCounter: 'counter',
    Gauge: 'gauge', ObservableGauge: 'gauge', UpDownCounter: 'gauge', ObservableUpDownCounter: 'gauge',
  };
  return [...source.matchAll(/\.create(Histogram|Counter|Gauge|UpDownCounter|ObservableCounter|ObservableGauge|ObservableUpDownCounter)\(\s*['"`]([a-zA-Z_:][a-zA-Z0-9_:]*)['"`]/g)]
    .map((m) => ({ kind: kinds[m[1]!]!, name: m[2]! }));
}

/** The series Prometheus stores for an instrument. Monotonic counters gain _total. */
function seriesOf(i: { kind: Kind; name: string }): string[] {
  if (i.kind === 'histogram') return [`${i.name}_bucket`, `${i.name}_sum`, `${i.name}_count`];
  if (i.kind === 'counter') return [i.name.endsWith('_total') ? i.name : `${i.name}_total`];
  return [i.name];
}

/** What the scorer's metrics code exposes, through the exporter configured as in telemetry/otel.ts. */
async function exposition(): Promise<string> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const meter = provider.getMeter('fraudscore', '0.1.0');
  const m = createScorerMetrics(meter);
  const arm = (role: string, name: string) => ({ role, model: { ref: { name, version: '1', digest: 'd' } } });
  const serving = { revision: 3, champion: arm('CHAMPION', 'a'), canary: { ...arm('CANARY', 'b'), sharePercent: 5 }, shadow: arm('SHADOW', 'c') } as unknown as Serving;
  const lifecycle = createDeploymentMetrics(meter, () => serving);
  const record = { timestamp: String(Date.now() - 50) };
  const decision = (d: string, score = 0.3, role = 'CHAMPION'): PipelineResult => ({
    kind: 'decision', record, decision: { decision: d, score, role, deploymentRevision: 3 }, shadow: { decision: 'ALLOW', score: score / 2, role: 'SHADOW', deploymentRevision: 3 },
  }) as unknown as PipelineResult;
  const results = [
    decision('ALLOW', 0.1), decision('REVIEW', 0.6, 'CANARY'), decision('BLOCK', 0.9),
    { kind: 'dead-letter', record, deadLetter: { errorCode: 'MALFORMED_AVRO' }, safeKey: null } as unknown as PipelineResult,
  ];
  const timing: ChunkTiming = { startedAt: Date.now(), decodeMs: [0.01, 0.01, 0.01, 0.01], featuresMs: [0.01, 0.01, 0.01, 0], inferenceMs: 1, decideMs: 0.1 };
  m.chunkDelivered(results, timing, 5, Date.now());
  lifecycle.chunkDelivered(results);
  lifecycle.refused('digest_mismatch');
  m.lag(0, 3);
  m.observeOutcomes(() => ({ applied: 2, late: 1 }));
  const text = await new Promise<string>((resolve) => {
    const res = { statusCode: 0, setHeader: () => undefined, end: (body: string) => resolve(body) };
    exporter.getMetricsRequestHandler({} as IncomingMessage, res as unknown as ServerResponse);
  });
  await provider.shutdown();
  return text;
}

const instruments = METRICS_TS.flatMap((file) => instrumentsIn(read(file)));
let catalog: Catalog;
let exposed: Map<string, Set<string>>;

beforeAll(async () => {
  const families = parseExposition(await exposition());
  exposed = new Map();
  const values = new Map<string, Set<string>>();
  for (const f of families.values()) {
    for (const s of f.samples) {
      const labels = exposed.get(s.name) ?? new Set<string>();
      for (const [k, v] of Object.entries(s.labels)) {
        labels.add(k);
        if (k === 'decision' || k === 'stage') values.set(k, (values.get(k) ?? new Set()).add(v));
      }
      exposed.set(s.name, labels);
    }
  }
  const series = new Map<string, Set<string>>();
  for (const i of instruments) for (const name of seriesOf(i)) series.set(name, exposed.get(name) ?? new Set());
  // Prometheus's own series for every target.
  series.set('up', new Set());
  const jobs = (readYaml('deploy/prometheus/prometheus.yml').scrape_configs as Obj[]).map((j) => String(j.job_name));
  values.set('job', new Set(jobs));
  catalog = { series, targetLabels: new Set(['job', 'instance']), values };
});

/** Every PromQL expression of a dashboard, with where it is. */
function expressions(dashboard: Obj): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: Obj[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of (p.targets as Obj[] | undefined) ?? []) {
        if (typeof t.expr === 'string') out.push({ where: `panel ${String(p.id)} "${String(p.title)}" ${String(t.refId)}`, expr: t.expr });
      }
      walk(p.panels as Obj[] | undefined);
    }
  };
  walk(dashboard.panels as Obj[]);
  for (const v of ((dashboard.templating as Obj | undefined)?.list as Obj[] | undefined) ?? []) {
    const q = typeof v.query === 'string' ? v.query : (v.query as Obj | undefined)?.query;
    if (typeof q === 'string' && q.trim()) out.push({ where: `variable ${String(v.name)}`, expr: q.replace(/^label_values\((.*)\)$/, '$1') });
  }
  return out;
}

function dashboardProblems(dashboard: Obj): string[] {
  return expressions(dashboard).flatMap(({ where, expr }) => problems(expr, catalog).map((p) => `${where}: ${p}`));
}

const dashboard = JSON.parse(read(DASHBOARD)) as Obj;

describe('metric names from metrics.ts', () => {
  it('finds the instruments the scorer creates', () => {
    expect(instruments).toEqual(expect.arrayContaining([
      { kind: 'histogram', name: 'fraudscore_e2e_latency_seconds' },
      { kind: 'histogram', name: 'fraudscore_stage_latency_seconds' },
      { kind: 'counter', name: 'fraudscore_events' },
      { kind: 'counter', name: 'fraudscore_dead_letters' },
      { kind: 'histogram', name: 'fraudscore_score' },
      { kind: 'gauge', name: 'fraudscore_consumer_lag' },
      { kind: 'gauge', name: 'fraudscore_model_info' },
      { kind: 'counter', name: 'fraudscore_outcomes' },
    ]));
    expect(instrumentsIn(`meter.createUpDownCounter("a_b"); m.createObservableGauge('c', {});`)).toEqual([
      { kind: 'gauge', name: 'a_b' }, { kind: 'gauge', name: 'c' },
    ]);
  });

  it('derives exactly the series the OTel exporter writes for them', () => {
    const derived = instruments.flatMap(seriesOf).sort();
    const written = [...exposed.keys()].filter((n) => n !== 'target_info').sort();
    expect(written).toEqual(derived);
  });

  it('derives the series a live scorer exposed (the saved scrape) by the same rule', () => {
    const families = parseExposition(read('test/unit/cli/report/scorer-metrics.prom'));
    const names = new Set([...families.values()].flatMap((f) => f.samples.map((s) => s.name)));
    for (const f of families.values()) {
      if (f.name === 'target_info') continue;
      const kind = f.type as Kind;
      const base = kind === 'counter' ? f.name.replace(/_total$/, '') : f.name;
      for (const s of seriesOf({ kind, name: base })) expect(names, f.name).toContain(s);
    }
  });

  it('knows the labels and their closed values', () => {
    expect([...catalog.series.get('fraudscore_events_total')!].filter((l) => !l.startsWith('otel_'))).toEqual(['decision']);
    expect(catalog.series.get('fraudscore_stage_latency_seconds_bucket')).toContain('le');
    expect(catalog.series.get('fraudscore_stage_latency_seconds_sum')).not.toContain('le');
    expect([...catalog.values.get('decision')!].sort()).toEqual(['ALLOW', 'BLOCK', 'DLQ', 'REVIEW']);
    expect([...catalog.values.get('stage')!].sort()).toEqual(['decide', 'decode', 'features', 'inference', 'produce']);
  });
});

describe('PromQL references', () => {
  it('finds selectors, matchers, grouping labels and functions', () => {
    const r = references('sum by (decision) (rate(x_total{decision=~"REVIEW|BLOCK", a!="b"}[$__rate_interval] offset 5m)) / ignoring (decision) group_left sum(rate(x_total[1m])) > bool 0.5');
    expect(r.selectors).toEqual([
      { metric: 'x_total', matchers: [{ label: 'decision', op: '=~', value: 'REVIEW|BLOCK' }, { label: 'a', op: '!=', value: 'b' }] },
      { metric: 'x_total', matchers: [] },
    ]);
    expect(r.grouping).toEqual(['decision', 'decision']);
    expect(r.functions).toEqual(['sum', 'rate', 'sum', 'rate']);
    expect(references('{__name__="y", job="j"}').selectors).toEqual([{ metric: 'y', matchers: [{ label: 'job', op: '=', value: 'j' }] }]);
    expect(references('histogram_quantile(0.99, sum(rate(h_bucket[5m:1m])) by (le))').grouping).toEqual(['le']);
    expect(() => references('sum(rate(x[1m])')).toThrow(/unbalanced/);
    expect(() => references('x{a=}')).toThrow(/matcher/);
  });
});

describe(DASHBOARD, () => {
  it('queries only metrics, labels and values the scorer exposes', () => {
    expect(expressions(dashboard).length).toBeGreaterThanOrEqual(10);
    expect(dashboardProblems(dashboard)).toEqual([]);
  });

  it('puts every scorer metric on some panel', () => {
    const used = new Set(expressions(dashboard).flatMap(({ expr }) => references(expr).selectors.map((s) => s.metric)));
    const missing = instruments.filter((i) => !seriesOf(i).some((s) => used.has(s))).map((i) => i.name);
    expect(missing).toEqual([]);
  });

  it('has the panels operators look for', () => {
    const all = expressions(dashboard).map((e) => e.expr).join('\n');
    expect(all).toMatch(/sum by \(decision\) \(rate\(fraudscore_events_total/); // throughput by decision
    expect(all).toMatch(/decision=~"REVIEW\|BLOCK"/); // flagged rate
    expect(all).toMatch(/sum by \(code\) \(rate\(fraudscore_dead_letters_total/);
    expect(all).toMatch(/histogram_quantile\(0\.5, sum by \(le\) \(rate\(fraudscore_e2e_latency_seconds_bucket/);
    expect(all).toMatch(/histogram_quantile\(0\.99, sum by \(le, stage\) \(rate\(fraudscore_stage_latency_seconds_bucket/);
    expect(all).toMatch(/max by \(partition\) \(fraudscore_consumer_lag\)/);
    expect(all).toMatch(/fraudscore_model_info/);
    const panels = dashboard.panels as Obj[];
    expect(panels.find((p) => p.type === 'heatmap' && JSON.stringify(p.targets).includes('fraudscore_score_bucket'))).toBeDefined();
    expect(panels.find((p) => p.type === 'table' && JSON.stringify(p.targets).includes('fraudscore_model_info'))).toBeDefined();
  });

  it('lays panels out on the 24-column grid without overlaps, with unique ids and refIds', () => {
    const panels = dashboard.panels as Obj[];
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const boxes = panels.map((p) => p.gridPos as { x: number; y: number; w: number; h: number });
    for (const b of boxes) expect(b.x + b.w).toBeLessThanOrEqual(24);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i]!, boxes[j]!];
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `${String(panels[i]!.title)} overlaps ${String(panels[j]!.title)}`).toBe(false);
      }
    }
    for (const p of panels) {
      const refs = ((p.targets as Obj[] | undefined) ?? []).map((t) => t.refId);
      expect(new Set(refs).size, String(p.title)).toBe(refs.length);
    }
  });

  it('rejects broken twins: a guessed label, a missing suffix, an unknown value, le on _sum, a misspelt job', () => {
    const twin = (from: RegExp, to: string) => JSON.parse(JSON.stringify(dashboard).replace(from, to)) as Obj;
    // the first version's guess: `outcome` for what the scorer calls `decision`
    expect(dashboardProblems(twin(/sum by \(decision\)/g, 'sum by (outcome)')).join('\n')).toMatch(/groups by outcome/);
    expect(dashboardProblems(twin(/fraudscore_events_total\{decision/g, 'fraudscore_events_total{outcome')).join('\n')).toMatch(/has no label outcome/);
    expect(dashboardProblems(twin(/fraudscore_dead_letters_total/g, 'fraudscore_dead_letters')).join('\n')).toMatch(/unknown metric fraudscore_dead_letters\b/);
    expect(dashboardProblems(twin(/fraudscore_e2e_latency_seconds_bucket/g, 'fraudscore_e2e_latency_bucket')).join('\n')).toMatch(/unknown metric fraudscore_e2e_latency_bucket/);
    expect(dashboardProblems(twin(/REVIEW\|BLOCK/g, 'REVIEW|FLAGGED')).join('\n')).toMatch(/decision="FLAGGED" matches no value/);
    expect(dashboardProblems(twin(/job=\\"fraudscore-scorer\\"/g, 'job=\\"scorer\\"')).join('\n')).toMatch(/job="scorer"/);
    expect(dashboardProblems(twin(/\(rate\(fraudscore_e2e_latency_seconds_bucket/g, '(rate(fraudscore_e2e_latency_seconds_sum')).join('\n')).toMatch(/groups by le/);
    expect(dashboardProblems(twin(/histogram_quantile/g, 'histogram_quantil')).join('\n')).toMatch(/unknown function histogram_quantil/);
  });
});
