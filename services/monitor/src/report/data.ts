/**
 * The data of `fraudscore monitor report`: what the monitor showed at the end of each UTC day
 * of a period (history.ts's dailyHistory), reshaped into a plain JSON-able object. No figure
 * is recomputed here: every number is one of the day view's, so the report and the monitor
 * (and its alerts) cannot disagree. Non-finite values (no labels, no flagged decision) become
 * null, as JSON has no NaN.
 */
import { ALERT_THRESHOLDS, estimateErrors, type AlertRule } from '../alerts.js';
import { dailyHistory, type DayView } from '../history.js';
import { DAY_MS, PERFORMANCE_METRICS, type Performance } from '../performance.js';
import type { Reference } from '../references.js';
import type { ModelKey, Store } from '../store.js';
import type { WindowName } from '../windows.js';

export type Figure = number | null;
export type Figures = Record<(typeof PERFORMANCE_METRICS)[number], Figure> & { decisions: number; labelled: number; frauds: number; from: string; to: string };

export interface ModelSeen extends ModelKey {
  roles: string[];
  validationAp: Figure;
}

export interface PerformanceEntry {
  model: ModelKey;
  role: string;
  validationAp: Figure;
  /** Realized, over the windows ending at the label frontier as of the day. */
  realized: Record<WindowName, Figures | null>;
  /** CBPE estimated AP of the 7d windows: ending at the newest decision, and at the label frontier. */
  estimatedAp7d: { latest: Figure; matured: Figure };
  /** Estimated − realized AP of the matured 7d window (the FraudscoreEstimateOff figure). */
  maturedError7d: Figure;
}

export interface DriftEntry {
  model: ModelKey;
  /** One per feature and the score, in the reference's order then "score". */
  /** outOfRange1d: share of the day's values outside the training range (null: no range in the manifest). */
  features: { feature: string; psi1d: Figure; js1d: Figure; psi7d: Figure; js7d: Figure; outOfRange1d: Figure }[];
}

export interface AlertEntry {
  rule: AlertRule;
  model: ModelKey;
  subject: string;
  value: Figure;
}

export interface DayReport {
  /** UTC date, YYYY-MM-DD. */
  date: string;
  performance: PerformanceEntry[];
  drift: DriftEntry[];
  alerts: AlertEntry[];
}

export interface FirstFired extends AlertEntry {
  date: string;
  /** Days of the period on which the rule fired (for any model or subject). */
  days: number;
  /** Every subject it fired for, first occurrence order. */
  subjects: string[];
}

export interface MonitorReport {
  period: { from: string; to: string; days: number };
  thresholds: typeof ALERT_THRESHOLDS;
  models: ModelSeen[];
  days: DayReport[];
  /** First day each rule fired, in order of that day. */
  firstFired: FirstFired[];
}

export const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
export const modelLabel = (m: ModelKey): string => `${m.name}/${m.version}`;
const keyOf = (m: ModelKey): string => `${m.name}/${m.version}@${m.digest}`;
const finite = (x: unknown): Figure => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const plainModel = (m: ModelKey): ModelKey => ({ name: m.name, version: m.version, digest: m.digest });

function figuresOf(p: Performance, from: number, to: number): Figures {
  const out = { decisions: p.decisions, labelled: p.labelled, frauds: p.frauds, from: new Date(from).toISOString(), to: new Date(to).toISOString() } as Figures;
  for (const k of PERFORMANCE_METRICS) out[k] = finite(p[k]);
  return out;
}

function performanceOfDay(v: DayView, validationOf: (m: ModelKey) => Figure): PerformanceEntry[] {
  const entries = new Map<string, PerformanceEntry>();
  const entry = (model: ModelKey, role: string): PerformanceEntry => {
    const key = `${keyOf(model)}/${role}`;
    let e = entries.get(key);
    if (!e) {
      e = { model: plainModel(model), role, validationAp: validationOf(model), realized: { '1d': null, '7d': null }, estimatedAp7d: { latest: null, matured: null }, maturedError7d: null };
      entries.set(key, e);
    }
    return e;
  };
  for (const w of v.performance) entry(w.model, w.role).realized[w.window] = figuresOf(w.performance, w.from, w.to);
  for (const e of v.estimates) if (e.window === '7d') entry(e.model, e.role).estimatedAp7d[e.anchor] = finite(e.estimate.ap);
  for (const e of estimateErrors(v)) if (e.window === '7d') entry(e.model, e.role).maturedError7d = finite(e.apError);
  return [...entries.values()].sort((a, b) => keyOf(a.model).localeCompare(keyOf(b.model)) || a.role.localeCompare(b.role));
}

function driftOfDay(v: DayView, referenceOf: (m: ModelKey) => Reference | undefined): DriftEntry[] {
  const byModel = new Map<string, { model: ModelKey; rows: Map<string, DriftEntry['features'][number]> }>();
  for (const d of v.drift) {
    if (d.window === 'prev1d') continue; // it is the day before's 1d, already in that day's view
    let m = byModel.get(keyOf(d.model));
    if (!m) byModel.set(keyOf(d.model), (m = { model: plainModel(d.model), rows: new Map() }));
    let row = m.rows.get(d.feature);
    if (!row) m.rows.set(d.feature, (row = { feature: d.feature, psi1d: null, js1d: null, psi7d: null, js7d: null, outOfRange1d: null }));
    if (d.window === '1d') Object.assign(row, { psi1d: finite(d.psi), js1d: finite(d.js), outOfRange1d: finite(d.outOfRange) });
    else Object.assign(row, { psi7d: finite(d.psi), js7d: finite(d.js) });
  }
  return [...byModel.values()].map(({ model, rows }) => {
    const order = [...(referenceOf(model)?.names ?? []), 'score'];
    const rank = (f: string) => (order.includes(f) ? order.indexOf(f) : order.length);
    return { model, features: [...rows.values()].sort((a, b) => rank(a.feature) - rank(b.feature)) };
  });
}

/** The report of the UTC days from the day of `from` to the day of `to` (epoch ms), both included. */
export function buildReport(store: Store, referenceOf: (m: ModelKey) => Reference | undefined, from: number, to: number, progress?: (done: number, total: number) => void): MonitorReport {
  const validationOf = (m: ModelKey) => finite(referenceOf(m)?.validation?.average_precision);
  const views = dailyHistory(store, referenceOf, from, to, progress);
  const days: DayReport[] = views.map((v) => ({
    date: isoDay(v.day * DAY_MS),
    performance: performanceOfDay(v, validationOf),
    drift: driftOfDay(v, referenceOf),
    alerts: v.alerts.map((a) => ({ rule: a.rule, model: plainModel(a.model), subject: a.subject, value: finite(a.value) })),
  }));

  const models = new Map<string, ModelSeen>();
  const see = (m: ModelKey, role?: string) => {
    let s = models.get(keyOf(m));
    if (!s) models.set(keyOf(m), (s = { ...plainModel(m), roles: [], validationAp: validationOf(m) }));
    if (role && !s.roles.includes(role)) s.roles.push(role);
  };
  for (const d of days) {
    for (const p of d.performance) see(p.model, p.role);
    for (const x of d.drift) see(x.model);
  }

  const firstFired = new Map<AlertRule, FirstFired>();
  for (const d of days) {
    for (const a of d.alerts) {
      const f = firstFired.get(a.rule);
      if (!f) firstFired.set(a.rule, { ...a, date: d.date, days: 0, subjects: [a.subject] });
      else if (!f.subjects.includes(a.subject)) f.subjects.push(a.subject);
    }
    for (const rule of new Set(d.alerts.map((a) => a.rule))) firstFired.get(rule)!.days++;
  }

  return {
    period: { from: days[0]?.date ?? isoDay(from), to: days.at(-1)?.date ?? isoDay(to), days: days.length },
    thresholds: ALERT_THRESHOLDS,
    models: [...models.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b))),
    days,
    firstFired: [...firstFired.values()],
  };
}
