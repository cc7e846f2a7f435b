/**
 * The monitor's alerting rules can only use what the monitor exposes: every expression in
 * deploy/prometheus/rules/fraudscore-monitor.yml is checked against the series, labels and
 * label values that the monitor's own metrics code writes (run here over a store holding a
 * small simulated world, with the real fraud-lgbm manifest as the reference). A broken twin
 * of a rule must be caught.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseExposition } from '../../../services/cli/src/report/prometheus.js';
import type { Decision } from '../../../services/common/src/contracts.js';
import { registerMonitorMetrics } from '../../../services/monitor/src/metrics.js';
import { referenceLoader } from '../../../services/monitor/src/references.js';
import { openStore } from '../../../services/monitor/src/store.js';
import { computeAll } from '../../../services/monitor/src/windows.js';
import { ALERT_THRESHOLDS } from '../../../services/monitor/src/alerts.js';
import { problems, type Catalog } from '../cli/report/promql-refs.js';
import { readJson, readYaml, type Obj } from './support.js';

const RULES = 'deploy/prometheus/rules/fraudscore-monitor.yml';
const manifest = readJson('models/fraud-lgbm/1.0.0/manifest.json') as { name: string; version: string; sha256: string; features: string[] };
const MODEL = { name: manifest.name, version: manifest.version, digest: manifest.sha256 };

let catalog: Catalog;

beforeAll(async () => {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const reference = referenceLoader('models', (msg) => {
    throw new Error(msg);
  });
  const decisions: Decision[] = [];
  const DAY = 86_400_000;
  for (let i = 0; i < 600; i++) {
    const score = ((i * 37) % 100) / 100;
    decisions.push({
      transactionId: `tx-${i}`, cardToken: `card-${i % 50}`, score, decision: score > 0.9 ? 'BLOCK' : score > 0.6 ? 'REVIEW' : 'ALLOW', reasons: [], model: MODEL, policyVersion: 'p',
      eventTime: Date.UTC(2024, 5, 1) + Math.floor(i / 60) * DAY, scoredAt: 0, source: { topic: 't', partition: 0, offset: i }, featureSetVersion: 'f',
      features: manifest.features.map((_, f) => (i * (f + 1)) % 17), role: i % 2 ? 'CHAMPION' : 'SHADOW', deploymentRevision: 0,
    });
  }
  const labels = decisions.filter((_, i) => i < 400 && i % 2).map((d) => ({ transactionId: d.transactionId, terminalId: 't', cardToken: d.cardToken, eventTime: d.eventTime, isFraud: d.score > 0.8, fraudScenario: 0, knownAt: d.eventTime + 1 }));
  const withEdges = openStore(':memory:', reference);
  withEdges.write({ decisions, labels, offsets: [] });
  registerMonitorMetrics(provider.getMeter('fraudscore-monitor'), {
    store: withEdges,
    computation: () => computeAll(withEdges, reference),
    expired: () => 0,
    records: () => ({ decisions: 300, shadowDecisions: 300, outcomes: 200, unreadable: 0 }),
    reference,
  });
  const text = await new Promise<string>((resolve) => {
    const res = { statusCode: 0, setHeader: () => undefined, end: (body: string) => resolve(body) };
    exporter.getMetricsRequestHandler({} as IncomingMessage, res as unknown as ServerResponse);
  });
  const series = new Map<string, Set<string>>();
  const values = new Map<string, Set<string>>();
  for (const f of parseExposition(text).values()) {
    for (const s of f.samples) {
      const labelsOf = series.get(s.name) ?? new Set<string>();
      for (const [k, v] of Object.entries(s.labels)) {
        labelsOf.add(k);
        if (['metric', 'window', 'measure', 'role', 'kind', 'anchor', 'outcome'].includes(k)) values.set(k, (values.get(k) ?? new Set()).add(v));
      }
      series.set(s.name, labelsOf);
    }
  }
  catalog = { series, targetLabels: new Set(['job', 'instance']), values };
  await provider.shutdown();
});

const rules = () => ((readYaml(RULES).groups as Obj[]).flatMap((g) => g.rules as Obj[]));

describe('deploy/grafana/dashboards/fraudscore-monitor.json', () => {
  it('queries only series, labels and values the monitor exposes', () => {
    const dashboard = readJson('deploy/grafana/dashboards/fraudscore-monitor.json');
    const exprs = (dashboard.panels as Obj[]).flatMap((p) => ((p.targets as Obj[]) ?? []).map((t) => ({ where: `panel ${String(p.title)}`, expr: String(t.expr) })));
    expect(exprs.length).toBeGreaterThan(8);
    expect(exprs.flatMap(({ where, expr }) => problems(expr, catalog).map((p) => `${where}: ${p}`))).toEqual([]);
  });
});

describe(RULES, () => {
  it('has the five alerts, each with a severity, a summary and a duration', () => {
    expect(rules().map((r) => r.alert)).toEqual(['FraudscoreInputDrift', 'FraudscoreDecisionMixShift', 'FraudscoreChampionAccuracyDrop', 'FraudscoreEstimateOff', 'FraudscoreLabelsStalled']);
    for (const r of rules()) {
      expect(r.for, String(r.alert)).toMatch(/^\d+[smh]$/);
      expect((r.labels as Obj).severity).toMatch(/^(warning|critical)$/);
      expect(String((r.annotations as Obj).summary).length).toBeGreaterThan(10);
    }
  });

  it('queries only series, labels and values the monitor exposes', () => {
    expect(catalog.series.has('fraudscore_monitor_drift')).toBe(true);
    expect(catalog.values.get('window')).toEqual(new Set(['1d', '7d', 'prev1d']));
    expect(rules().flatMap((r) => problems(String(r.expr), catalog).map((p) => `${String(r.alert)}: ${p}`))).toEqual([]);
  });

  it('uses the thresholds the monitor evaluates itself (monitor/alerts.ts: drift scenario, report)', () => {
    const expr = (name: string) => String(rules().find((r) => r.alert === name)!.expr);
    const t = ALERT_THRESHOLDS;
    expect(expr('FraudscoreInputDrift').match(/> ([\d.]+)/g)).toEqual([`> ${t.psi}`, `> ${t.psi}`]);
    expect(expr('FraudscoreChampionAccuracyDrop')).toContain(`${t.apShareOfValidation} * max`);
    expect(expr('FraudscoreEstimateOff')).toMatch(new RegExp(`\\) > ${t.estimateError}\\s*$`));
    const mix = expr('FraudscoreDecisionMixShift');
    expect(mix).toContain(`>= ${t.decisionShiftZ}\n`);
    expect(mix).toContain(`>= ${t.decisionShareRatio}\n`);
    expect(mix).toContain(`<= 1 / ${t.decisionShareRatio}\n`);
    expect(catalog.values.get('outcome')).toEqual(new Set(['flagged', 'block']));
  });

  it('catches a broken twin (a misspelt metric, a label value that never occurs)', () => {
    expect(problems('fraudscore_monitor_drift{measure="kl"} > 0.2', catalog)).not.toEqual([]);
    expect(problems('fraudscore_monitor_performace{metric="ap"} < 0.5', catalog)).not.toEqual([]);
  });
});
