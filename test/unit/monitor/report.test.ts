/**
 * `fraudscore monitor report` on a store of synthetic decisions of the real models: 12 days of
 * fraud-lgbm (champion) and fraud-lr (shadow) decisions whose inputs are drawn from the
 * models' own reference histograms, labels known 7 days after the event, and TX_AMOUNT
 * shifted up for the last 3 days. The report must carry dailyHistory's figures unchanged,
 * show the shift as drift from its first day, and be one page without scripts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision, ModelRole, TransactionOutcome } from '../../../services/common/src/contracts.js';
import { dailyHistory } from '../../../services/monitor/src/history.js';
import { DAY_MS } from '../../../services/monitor/src/performance.js';
import { referenceLoader } from '../../../services/monitor/src/references.js';
import type { MonitorReport } from '../../../services/monitor/src/report/data.js';
import { parseDay, ReportInputError, writeMonitorReport } from '../../../services/monitor/src/report/index.js';
import { openStore } from '../../../services/monitor/src/store.js';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../services/scorer/src/features/feature-set.js';

interface Hist {
  edges: number[];
  fractions: number[];
}
interface Manifest {
  name: string;
  version: string;
  sha256: string;
  thresholds: { review: number; block: number };
  reference_histograms: { features: Record<string, Hist>; score: Hist };
}
const manifestOf = (name: string): Manifest => JSON.parse(readFileSync(join('models', name, '1.0.0', 'manifest.json'), 'utf8')) as Manifest;

const START = Date.UTC(2018, 7, 1);
const DAYS = 12;
const SHIFTED_FROM = DAYS - 3;
const PER_DAY = 500;
const dir = mkdtempSync(join(tmpdir(), 'fraudscore-monitor-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** mulberry32: a seeded uniform [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A value in a bin drawn with the reference's shares (bin i: edges[i-1] < x ≤ edges[i]), so live ≈ reference. */
function sample(h: Hist, u: () => number): number {
  let r = u();
  let bin = 0;
  while (bin < h.fractions.length - 1 && r >= h.fractions[bin]!) r -= h.fractions[bin++]!;
  const { edges } = h;
  const integer = edges.every(Number.isInteger);
  if (bin === 0) return integer || edges[0]! <= 0 ? edges[0]! : u() * edges[0]!;
  // The open top bin gets a long tail (scores: some genuine ones pass the REVIEW threshold).
  if (bin >= edges.length) return integer ? edges.at(-1)! + 1 + Math.floor(3 * u()) : edges.at(-1)! * Math.exp(3 * u());
  const [lo, hi] = [edges[bin - 1]!, edges[bin]!];
  return integer ? hi : hi - (hi - lo) * u();
}

function buildStore(path: string) {
  const champion = manifestOf('fraud-lgbm');
  const shadow = manifestOf('fraud-lr');
  const u = rng(42);
  const store = openStore(path, referenceLoader('models', (msg) => { throw new Error(msg); }));
  for (let day = 0; day < DAYS; day++) {
    const decisions: Decision[] = [];
    const labels: TransactionOutcome[] = [];
    for (let i = 0; i < PER_DAY; i++) {
      const tx = `tx-${day}-${i}`;
      const eventTime = START + day * DAY_MS + Math.floor((i / PER_DAY) * DAY_MS);
      const fraud = u() < 0.02;
      const cardToken = `card-${Math.floor(u() * 300)}`;
      const features = FEATURE_NAMES.map((f) => sample(champion.reference_histograms.features[f]!, u));
      if (day >= SHIFTED_FROM) features[0] = features[0]! * 3; // TX_AMOUNT: a price rise the model never saw
      const decide = (m: Manifest, role: ModelRole): Decision => {
        // Frauds mostly score high; the rest as the training data did: a useful, imperfect model.
        const score = fraud && u() < 0.7 ? 0.2 + 0.75 * u() : sample(m.reference_histograms.score, u);
        const decision = score >= m.thresholds.block ? 'BLOCK' : score >= m.thresholds.review ? 'REVIEW' : 'ALLOW';
        return {
          transactionId: tx, cardToken, score, decision, reasons: [], model: { name: m.name, version: m.version, digest: m.sha256 }, policyVersion: 'test',
          eventTime, scoredAt: eventTime, source: { topic: 'transactions', partition: 0, offset: day * PER_DAY + i }, featureSetVersion: FEATURE_SET_VERSION, features, role, deploymentRevision: 1,
        };
      };
      decisions.push(decide(champion, 'CHAMPION'), decide(shadow, 'SHADOW'));
      labels.push({ transactionId: tx, terminalId: 't', cardToken, eventTime, isFraud: fraud, fraudScenario: fraud ? 1 : 0, knownAt: eventTime + 7 * DAY_MS });
    }
    store.write({ decisions, labels, offsets: [] });
  }
  store.close();
}

describe('monitor report', () => {
  const db = join(dir, 'monitor.db');
  const out = join(dir, 'report');
  let report: MonitorReport;
  let html: string;

  beforeAll(async () => {
    buildStore(db);
    const files = await writeMonitorReport({ db, modelsDir: 'models', out, warn: (msg) => { throw new Error(msg); } });
    report = JSON.parse(readFileSync(files.json, 'utf8')) as MonitorReport;
    html = readFileSync(files.html, 'utf8');
    expect(files.summary).toMatch(/^12 days \(2018-08-01 to 2018-08-12\), 2 models/);
  });

  it('defaults the period to the days with decisions', () => {
    expect(report.period).toEqual({ from: '2018-08-01', to: '2018-08-12', days: DAYS });
    expect(report.models.map((m) => `${m.name} ${m.roles.join()} ${m.validationAp}`)).toEqual(['fraud-lgbm champion 0.68', 'fraud-lr shadow 0.6316']);
  });

  it("carries dailyHistory's realized figures exactly", () => {
    const store = openStore(db, referenceLoader('models', () => {}));
    const views = dailyHistory(store, referenceLoader('models', () => {}), START, START + (DAYS - 1) * DAY_MS);
    store.close();
    let compared = 0;
    views.forEach((v, i) => {
      const day = report.days[i]!;
      expect(day.date).toBe(new Date(v.day * DAY_MS).toISOString().slice(0, 10));
      const inJson = day.performance.flatMap((p) => (['1d', '7d'] as const).filter((w) => p.realized[w]));
      expect(inJson).toHaveLength(v.performance.length);
      for (const w of v.performance) {
        const p = day.performance.find((x) => x.role === w.role && x.model.digest === w.model.digest)!;
        expect(p.realized[w.window]!.ap).toBe(Number.isFinite(w.performance.ap) ? w.performance.ap : null);
        if (Number.isFinite(w.performance.ap)) compared++;
      }
    });
    // Labels arrive after 7 days: days 8–12 have windows, 2 roles × 2 windows each.
    expect(compared).toBe(5 * 4);
  });

  it('shows the TX_AMOUNT shift above the PSI threshold from its first day, and alerts from its second', () => {
    const psi = report.days.map((d) => d.drift.find((e) => e.model.name === 'fraud-lgbm')!.features.find((f) => f.feature === 'TX_AMOUNT')!.psi1d!);
    expect(psi.slice(SHIFTED_FROM).every((p) => p > 0.2)).toBe(true);
    expect(psi.slice(0, SHIFTED_FROM).every((p) => p < 0.1)).toBe(true);
    const drift = report.firstFired.find((f) => f.rule === 'FraudscoreInputDrift')!;
    expect(drift).toMatchObject({ date: '2018-08-11', subject: 'TX_AMOUNT', days: 2 });
  });

  it('is one page with an inline SVG per chart and no script', () => {
    // Per (model, role): AP and REVIEW charts; per model version: a PSI heat map.
    expect(html.match(/<svg /g)).toHaveLength(2 * 2 + 2);
    expect(html).not.toMatch(/<script/i);
    // Nothing fetched: the only references are to the SVGs' own clip paths (url(#…)) …
    expect(html).not.toMatch(/\b(?:src|href)=["'](?!#)|<link|@import|url\((?!#)/i);
    // … and those ids must be unique across the page, or one chart would clip with another's path.
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    expect(html).toContain('fraud-lgbm/1.0.0: PSI per input, 1-day windows');
  });

  it('refuses a missing store without creating it', async () => {
    const missing = join(dir, 'nope', 'monitor.db');
    await expect(writeMonitorReport({ db: missing, modelsDir: 'models', out: join(dir, 'nope-out') })).rejects.toThrow(ReportInputError);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(join(dir, 'nope'))).toBe(false);
  });

  it('parses strict calendar dates only', () => {
    expect(parseDay('2018-08-01')).toBe(START);
    expect(parseDay('2018-02-30')).toBeUndefined();
    expect(parseDay('2018-8-1')).toBeUndefined();
  });
});
