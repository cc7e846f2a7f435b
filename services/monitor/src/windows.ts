/**
 * What the monitor computes every interval, from the store: realized performance per model
 * version and role over the windows ending at the label frontier, and drift per model version
 * over the windows ending at the newest decision (drift needs no labels).
 */
import { DAY_MS, byModelAndRole, performanceOf, type Performance } from './performance.js';
import { estimate, type Estimate } from './cbpe.js';
import { jensenShannon, psi } from './drift.js';
import type { Reference } from './references.js';
import { SCORE_FEATURE, type DecisionRow, type ModelKey, type Store } from './store.js';
import { WEEKLY_CYCLE_FEATURES } from '../../scorer/src/features/feature-set.js';

export const WINDOWS = { '1d': DAY_MS, '7d': 7 * DAY_MS } as const;

/** Everything the monitor computes at one time. */
export interface Computation {
  performance: readonly WindowResult[];
  drift: readonly DriftResult[];
  estimates: readonly EstimateResult[];
  shifts: readonly DecisionShift[];
}

/** The whole computation, now or (`asOf`, epoch ms) as it was then. */
export function computeAll(store: Store, referenceOf: (m: ModelKey) => Reference | undefined, asOf?: number): Computation {
  // Realized windows and matured estimates read the same rows: read them once.
  const rows = windowReader(store, asOf);
  return {
    performance: computeWindows(store, asOf, rows),
    drift: computeDrift(store, referenceOf, asOf),
    estimates: computeEstimates(store, referenceOf, asOf, rows),
    shifts: computeDecisionShift(store, asOf),
  };
}

/** The rows of each window ending at `end` (an event time, included). */
export type WindowReader = (end: number) => Record<WindowName, DecisionRow[]>;

/** Reads the 7-day window once per end and filters the 1-day one out of it; remembers each end. */
export function windowReader(store: Store, asOf?: number): WindowReader {
  const cache = new Map<number, Record<WindowName, DecisionRow[]>>();
  return (end) => {
    let rows = cache.get(end);
    if (!rows) {
      const to = end + 1;
      const week = store.decisionsBetween(to - WINDOWS['7d'], to, asOf);
      cache.set(end, (rows = { '7d': week, '1d': week.filter((r) => r.eventTime >= to - WINDOWS['1d']) }));
    }
    return rows;
  };
}
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
export function computeWindows(store: Store, asOf?: number, read: WindowReader = windowReader(store, asOf)): WindowResult[] {
  const { labelled } = store.frontiers(asOf);
  if (!labelled) return [];
  const to = labelled + 1;
  const models = store.models();
  const out: WindowResult[] = [];
  for (const [window, length] of Object.entries(WINDOWS) as [WindowName, number][]) {
    const from = to - length;
    for (const g of byModelAndRole(read(labelled)[window]).values()) {
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
  /** Share of the decisions whose value lies outside the training rows' range (NaN when the manifest has no range). */
  outOfRange: number;
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
      for (const [feature, { bins: c, outOfRange }] of counts) {
        const fractions = feature === SCORE_FEATURE ? ref.scoreFractions : ref.featureFractions[feature];
        const name = feature === SCORE_FEATURE ? 'score' : ref.names[feature]!;
        if (!fractions || (window !== '7d' && WEEKLY_CYCLE_FEATURES.has(name))) continue;
        const n = c.reduce((a, b) => a + b, 0);
        const hasRange = feature === SCORE_FEATURE ? ref.scoreRange !== undefined : ref.featureRanges?.[feature] !== undefined;
        out.push({ window, model, feature: name, psi: psi(fractions, c), js: jensenShannon(fractions, c), outOfRange: hasRange && n ? outOfRange / n : Number.NaN, n });
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
export function computeEstimates(store: Store, referenceOf: (m: ModelKey) => Reference | undefined, asOf?: number, read: WindowReader = windowReader(store, asOf)): EstimateResult[] {
  const { decided, labelled } = store.frontiers(asOf);
  const models = store.models();
  const out: EstimateResult[] = [];
  const anchors: ['latest' | 'matured', number][] = [['latest', decided], ['matured', labelled]];
  for (const [anchor, end] of anchors) {
    if (!end) continue;
    for (const window of Object.keys(WINDOWS) as WindowName[]) {
      for (const g of byModelAndRole(read(end)[window]).values()) {
        const model = models.get(g.model)!;
        const ref = referenceOf(model);
        if (!ref?.calibration) continue;
        out.push({ window, anchor, model, role: g.role.toLowerCase(), estimate: estimate(g.rows.map((r) => r.score), ref.calibration, ref.thresholds) });
      }
    }
  }
  return out;
}

export interface DecisionShift {
  model: ModelKey;
  role: string;
  /** flagged: REVIEW or BLOCK; block: BLOCK alone. */
  outcome: 'flagged' | 'block';
  /** Share of the newest day's decisions, and of the 7 days before it. */
  share1d: number;
  sharePrev7d: number;
  /** share1d / sharePrev7d. */
  ratio: number;
  /** Two-proportion z statistic of the difference (pooled variance): how surely it is not noise. */
  z: number;
  /** Decisions of the newest day. */
  n: number;
}

/**
 * The mix of decisions of the newest day (the one holding the newest decision) against the 7
 * days before it, per model and role: needs no label and no reference, so it sees within a
 * day what shifts the scores' tail without moving the inputs' deciles — e.g. card testers'
 * cash-outs doubling the blocks while the probes hide in the small amounts.
 */
export function computeDecisionShift(store: Store, asOf?: number): DecisionShift[] {
  const { decided } = store.frontiers(asOf);
  if (!decided) return [];
  const dayStart = Math.floor(decided / DAY_MS) * DAY_MS;
  const models = store.models();
  type Tally = { n: number; flagged: number; block: number };
  const tally = (from: number, to: number) => {
    const out = new Map<string, Tally>();
    for (const r of store.outcomeCounts(from, to)) {
      const key = `${r.model}|${r.role}`;
      const t = out.get(key) ?? { n: 0, flagged: 0, block: 0 };
      t.n += r.n;
      if (r.outcome !== 'ALLOW') t.flagged += r.n;
      if (r.outcome === 'BLOCK') t.block += r.n;
      out.set(key, t);
    }
    return out;
  };
  const newest = tally(dayStart, Math.min(decided, asOf ?? decided) + 1);
  const before = tally(dayStart - 7 * DAY_MS, dayStart);
  const out: DecisionShift[] = [];
  for (const [key, a] of newest) {
    const b = before.get(key);
    if (!b || b.n === 0) continue;
    const [model, role] = key.split('|') as [string, string];
    for (const outcome of ['flagged', 'block'] as const) {
      const p1 = a[outcome] / a.n;
      const p0 = b[outcome] / b.n;
      const pooled = (a[outcome] + b[outcome]) / (a.n + b.n);
      const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
      out.push({ model: models.get(Number(model))!, role: role.toLowerCase(), outcome, share1d: p1, sharePrev7d: p0, ratio: p0 > 0 ? p1 / p0 : Number.NaN, z: se > 0 ? (p1 - p0) / se : 0, n: a.n });
    }
  }
  return out;
}
