/**
 * What a run report shows, taken from one scrape of a scorer's /metrics: the latency
 * histograms (end to end and per stage), the score histogram, events by decision, dead
 * letters by code, consumer lag per partition and the model being served. Metric names are
 * the scorer's (services/scorer/src/telemetry/metrics.ts) as the OTel Prometheus exporter
 * writes them; several scorers' scrapes concatenated add up.
 */
import {
  bucketQuantile, histogramsOf, mergeHistograms, parseExposition, valuesOf,
  type Histogram, type MetricFamily,
} from './prometheus.js';

export const METRIC = {
  e2e: 'fraudscore_e2e_latency_seconds',
  stage: 'fraudscore_stage_latency_seconds',
  events: 'fraudscore_events',
  deadLetters: 'fraudscore_dead_letters',
  score: 'fraudscore_score',
  lag: 'fraudscore_consumer_lag',
  model: 'fraudscore_model_info',
} as const;
/** Reported when present: only scorers that read the outcomes topic have it. */
export const OUTCOMES = 'fraudscore_outcomes';

/** The pipeline's stages in processing order (services/scorer/src/telemetry/attributes.ts). */
export const STAGES = ['decode', 'features', 'inference', 'decide', 'produce'] as const;
export const DECISIONS = ['ALLOW', 'REVIEW', 'BLOCK', 'DLQ'] as const;

export interface Quantiles { p50: number; p90: number; p99: number }

export interface HistogramSummary {
  histogram: Histogram;
  count: number;
  mean: number;
  quantiles: Quantiles;
}

export interface RunSummary {
  e2e?: HistogramSummary;
  /**
   * Per stage in pipeline order (stages the scrape has, unknown ones after): the histogram of
   * a chunk's time in the stage, and the stage's time per event on average (sum ÷ events).
   */
  stages: { stage: string; summary: HistogramSummary; perEvent: number }[];
  score?: HistogramSummary;
  decisions: { decision: string; count: number }[];
  deadLetters: { code: string; count: number }[];
  lag: { partition: string; lag: number }[];
  /** Outcomes (delayed labels) by what became of them; empty when the scrape has none. */
  outcomes: { result: string; count: number }[];
  /** The models serving, champion first (role: champion, canary or shadow; older scorers report none: champion). */
  models: { role: string; name: string; version: string; digest: string }[];
  /** From target_info: service name and version, when present. */
  service?: { name?: string; version?: string };
  totals: { events: number; decided: number; flagged: number; deadLettered: number };
  /** Families the report looked for and did not find. */
  missing: string[];
  /** HELP text of the families found, by family name (as in METRIC). */
  help: Record<string, string>;
}

export function summarizeHistogram(h: Histogram | undefined): HistogramSummary | undefined {
  if (!h || h.buckets.length === 0) return undefined;
  const count = h.count;
  return {
    histogram: h,
    count,
    mean: count > 0 ? h.sum / count : NaN,
    quantiles: {
      p50: bucketQuantile(0.5, h.buckets),
      p90: bucketQuantile(0.9, h.buckets),
      p99: bucketQuantile(0.99, h.buckets),
    },
  };
}

const find = (families: Map<string, MetricFamily>, name: string): MetricFamily | undefined =>
  families.get(name) ?? families.get(`${name}_total`);

export function summarize(metricsText: string): RunSummary {
  const families = parseExposition(metricsText);
  const missing = Object.values(METRIC).filter((n) => !find(families, n));

  const e2e = summarizeHistogram(mergeHistograms(histogramsOf(families.get(METRIC.e2e))));

  const byStage = new Map<string, Histogram[]>();
  for (const h of histogramsOf(families.get(METRIC.stage))) {
    const stage = h.labels.stage ?? '(none)';
    byStage.set(stage, [...(byStage.get(stage) ?? []), h]);
  }
  const order = (s: string) => { const i = (STAGES as readonly string[]).indexOf(s); return i === -1 ? STAGES.length : i; };
  const stages = [...byStage.keys()]
    .sort((a, b) => order(a) - order(b) || a.localeCompare(b))
    .map((stage) => ({ stage, summary: summarizeHistogram(mergeHistograms(byStage.get(stage)!, { stage }))!, perEvent: NaN }));

  const score = summarizeHistogram(mergeHistograms(histogramsOf(families.get(METRIC.score))));

  const byLabel = (family: MetricFamily | undefined, label: string) => {
    const m = new Map<string, number>();
    for (const { labels, value } of valuesOf(family)) {
      const k = labels[label] ?? '(none)';
      m.set(k, (m.get(k) ?? 0) + value);
    }
    return m;
  };
  const decisionCounts = byLabel(find(families, METRIC.events), 'decision');
  const decisions = [
    ...DECISIONS.map((decision) => ({ decision, count: decisionCounts.get(decision) ?? 0 })),
    ...[...decisionCounts].filter(([d]) => !(DECISIONS as readonly string[]).includes(d)).map(([decision, count]) => ({ decision, count })),
  ];
  const deadLetters = [...byLabel(find(families, METRIC.deadLetters), 'code')]
    .map(([code, count]) => ({ code, count }))
    .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  // Lag is a gauge: several scorers never own the same partition at once, so the largest wins.
  const lagBy = new Map<string, number>();
  for (const { labels, value } of valuesOf(families.get(METRIC.lag))) {
    const p = labels.partition ?? '?';
    lagBy.set(p, Math.max(lagBy.get(p) ?? -Infinity, value));
  }
  const lag = [...lagBy].map(([partition, l]) => ({ partition, lag: l })).sort((a, b) => Number(a.partition) - Number(b.partition) || a.partition.localeCompare(b.partition));

  const outcomes = [...byLabel(find(families, OUTCOMES), 'result')]
    .map(([result, n]) => ({ result, count: n }))
    .sort((a, b) => b.count - a.count || a.result.localeCompare(b.result));

  const seen = new Set<string>();
  const models: RunSummary['models'] = [];
  for (const s of families.get(METRIC.model)?.samples ?? []) {
    if (s.value !== 1) continue;
    const m = { role: s.labels.role ?? 'champion', name: s.labels.name ?? '?', version: s.labels.version ?? '?', digest: s.labels.digest ?? '?' };
    const key = `${m.role}\u0000${m.name}\u0000${m.version}\u0000${m.digest}`;
    if (!seen.has(key)) { seen.add(key); models.push(m); }
  }
  const ROLES = ['champion', 'canary', 'shadow'];
  models.sort((a, b) => ROLES.indexOf(a.role) - ROLES.indexOf(b.role));

  const target = families.get('target_info')?.samples[0]?.labels;
  const service = target ? { name: target.service_name, version: target.service_version } : undefined;

  const count = (d: string) => decisions.find((x) => x.decision === d)?.count ?? 0;
  const events = decisions.reduce((a, d) => a + d.count, 0);
  // Stage time is recorded per chunk (summed over its events): per event, divide by events.
  for (const st of stages) st.perEvent = events > 0 ? st.summary.histogram.sum / events : NaN;
  const totals = {
    events,
    decided: count('ALLOW') + count('REVIEW') + count('BLOCK'),
    flagged: count('REVIEW') + count('BLOCK'),
    deadLettered: count('DLQ'),
  };
  const help: Record<string, string> = {};
  for (const n of Object.values(METRIC)) {
    const h = find(families, n)?.help;
    if (h) help[n] = h;
  }
  const out: RunSummary = { stages, decisions, deadLetters, lag, outcomes, models, totals, missing, help };
  if (e2e) out.e2e = e2e;
  if (score) out.score = score;
  if (service) out.service = service;
  return out;
}
