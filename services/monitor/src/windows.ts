/**
 * What the monitor computes every interval, from the store: realized performance per model
 * version and role over the windows ending at the label frontier, and drift per model version
 * over the windows ending at the newest decision (drift needs no labels).
 */
import { DAY_MS, byModelAndRole, performanceOf, type Performance } from './performance.js';
import { estimate, type Estimate } from './cbpe.js';
import { jensenShannon, psi } from './drift.js';
import type { Reference } from './references.js';
import { SCORE_FEATURE, type ModelKey, type Store } from './store.js';
import { WEEKLY_CYCLE_FEATURES } from '../../scorer/src/features/feature-set.js';

export const WINDOWS = { '1d': DAY_MS, '7d': 7 * DAY_MS } as const;
export type WindowName = keyof typeof WINDOWS;

export interface WindowResult {
  window: WindowName;
  /** [from, to) in event time, epoch ms. */
  from: number;
  to: number;
  model: { name: string; version: string; digest: string };
  role: string;
  performance: Performance;
}

/**
 * Realized performance per (model, role) over each window ending at the label frontier.
 * `asOf` (epoch ms): as the monitor saw it then — decisions made and labels known by then.
 */
export function computeWindows(store: Store, asOf?: number): WindowResult[] {
  const { labelled } = store.frontiers(asOf);
  if (!labelled) return [];
  const to = labelled + 1;
  const models = store.models();
  const out: WindowResult[] = [];
  for (const [window, length] of Object.entries(WINDOWS) as [WindowName, number][]) {
    const from = to - length;
    for (const g of byModelAndRole(store.decisionsBetween(from, to, asOf)).values()) {
      out.push({ window, from, to, model: models.get(g.model)!, role: g.role.toLowerCase(), performance: performanceOf(g.rows) });
    }
  }
  return out;
}

export type DriftWindow = WindowName | 'prev1d';

export interface DriftResult {
  window: DriftWindow;
  model: ModelKey;
  /** Feature name, or "score". */
  feature: string;
  psi: number;
  js: number;
  /** Decisions counted. */
  n: number;
}

/** PSI and Jensen–Shannon per feature and for the score, per model, over whole UTC days up to the newest decision's. */
export function computeDrift(store: Store, referenceOf: (m: ModelKey) => Reference | undefined, asOf?: number): DriftResult[] {
  const { decided } = store.frontiers(asOf);
  if (!decided) return [];
  const toDay = Math.floor(decided / DAY_MS) + 1;
  const out: DriftResult[] = [];
  for (const [id, model] of store.models()) {
    const ref = referenceOf(model);
    if (!ref) continue;
    // 1d and 7d end with the newest day; prev1d is the day before 1d, so an alert can ask for
    // drift in two consecutive windows.
    const spans: [DriftWindow, number, number][] = [['1d', toDay - 1, toDay], ['prev1d', toDay - 2, toDay - 1], ['7d', toDay - 7, toDay]];
    for (const [window, fromDay, untilDay] of spans) {
      const counts = store.binCounts(id, fromDay, untilDay);
      for (const [feature, c] of counts) {
        const fractions = feature === SCORE_FEATURE ? ref.scoreFractions : ref.featureFractions[feature];
        const name = feature === SCORE_FEATURE ? 'score' : ref.names[feature]!;
        if (!fractions || (window !== '7d' && WEEKLY_CYCLE_FEATURES.has(name))) continue;
        out.push({ window, model, feature: name, psi: psi(fractions, c), js: jensenShannon(fractions, c), n: c.reduce((a, b) => a + b, 0) });
      }
    }
  }
  return out;
}

export interface EstimateResult {
  window: WindowName;
  /** latest: the window ending at the newest decision (labels not mature); matured: the one ending at the label frontier, where the realized value is known. */
  anchor: 'latest' | 'matured';
  model: ModelKey;
  role: string;
  estimate: Estimate;
}

/** CBPE estimates per (model, role), for the newest windows and for the matured ones (to compare with the realized). */
export function computeEstimates(store: Store, referenceOf: (m: ModelKey) => Reference | undefined, asOf?: number): EstimateResult[] {
  const { decided, labelled } = store.frontiers(asOf);
  const models = store.models();
  const out: EstimateResult[] = [];
  const anchors: ['latest' | 'matured', number][] = [['latest', decided], ['matured', labelled]];
  for (const [anchor, end] of anchors) {
    if (!end) continue;
    for (const [window, length] of Object.entries(WINDOWS) as [WindowName, number][]) {
      for (const g of byModelAndRole(store.decisionsBetween(end + 1 - length, end + 1, asOf)).values()) {
        const model = models.get(g.model)!;
        const ref = referenceOf(model);
        if (!ref?.calibration) continue;
        out.push({ window, anchor, model, role: g.role.toLowerCase(), estimate: estimate(g.rows.map((r) => r.score), ref.calibration, ref.thresholds) });
      }
    }
  }
  return out;
}
