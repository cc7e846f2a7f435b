/**
 * The alert conditions of deploy/prometheus/rules/fraudscore-monitor.yml, evaluated on one
 * computation of the monitor, for whoever watches without a Prometheus (the drift scenario,
 * `fraudscore monitor report`, the drift tests). Prometheus stays the alerting path of a
 * deployment; test/unit/deploy/monitor-rules.test.ts checks the rules use these thresholds.
 * FraudscoreLabelsStalled is about wall-clock rates and has no counterpart here.
 */
import type { Reference } from './references.js';
import type { ModelKey } from './store.js';
import type { Computation } from './windows.js';

export const ALERT_THRESHOLDS = {
  /** FraudscoreInputDrift: PSI above this in the newest day and the day before. */
  psi: 0.2,
  /** FraudscoreChampionAccuracyDrop: 7-day realized AP of the champion below this share of its validation AP. */
  apShareOfValidation: 0.75,
  /** FraudscoreEstimateOff: |estimated − realized| AP over the matured 7-day window above this. */
  estimateError: 0.1,
  /** FraudscoreDecisionMixShift: the newest day's share of flags or blocks this many times that of the 7 days before (or as many times less)… */
  decisionShareRatio: 1.5,
  /** …and a two-proportion z statistic at least this far from 0 (not noise). */
  decisionShiftZ: 4,
} as const;

export type AlertRule = 'FraudscoreInputDrift' | 'FraudscoreDecisionMixShift' | 'FraudscoreChampionAccuracyDrop' | 'FraudscoreEstimateOff';

export interface Alert {
  rule: AlertRule;
  model: ModelKey;
  /** The input (or "score") for drift, "<role> <flagged|block>" for the decision mix, the role for the others. */
  subject: string;
  /** PSI of the newest day, the decision share's ratio, realized AP, or the estimate's error. */
  value: number;
}

export type { Computation };

const sameModel = (a: ModelKey, b: ModelKey) => a.name === b.name && a.version === b.version && a.digest === b.digest;

/** The alerts whose condition holds in this computation, strongest drift first. */
export function firingAlerts(c: Computation, referenceOf: (m: ModelKey) => Reference | undefined): Alert[] {
  const out: Alert[] = [];
  for (const d of c.drift) {
    if (d.window !== '1d' || !(d.psi > ALERT_THRESHOLDS.psi)) continue;
    const before = c.drift.find((p) => p.window === 'prev1d' && p.feature === d.feature && sameModel(p.model, d.model));
    if (before && before.psi > ALERT_THRESHOLDS.psi) out.push({ rule: 'FraudscoreInputDrift', model: d.model, subject: d.feature, value: d.psi });
  }
  out.sort((a, b) => b.value - a.value);
  for (const s of c.shifts) {
    const { decisionShareRatio: r, decisionShiftZ: z } = ALERT_THRESHOLDS;
    if (Math.abs(s.z) >= z && (s.ratio >= r || s.ratio <= 1 / r)) out.push({ rule: 'FraudscoreDecisionMixShift', model: s.model, subject: `${s.role} ${s.outcome}`, value: s.ratio });
  }
  for (const w of c.performance) {
    if (w.window !== '7d' || w.role !== 'champion') continue;
    const validation = referenceOf(w.model)?.validation?.average_precision;
    if (typeof validation === 'number' && w.performance.ap < ALERT_THRESHOLDS.apShareOfValidation * validation) {
      out.push({ rule: 'FraudscoreChampionAccuracyDrop', model: w.model, subject: w.role, value: w.performance.ap });
    }
  }
  for (const e of estimateErrors(c)) {
    if (e.window === '7d' && Math.abs(e.apError) > ALERT_THRESHOLDS.estimateError) out.push({ rule: 'FraudscoreEstimateOff', model: e.model, subject: e.role, value: e.apError });
  }
  return out;
}

/** Estimated minus realized AP on the matured windows (what fraudscore_monitor_estimate_error shows). */
export function estimateErrors(c: Computation): { window: string; model: ModelKey; role: string; estimated: number; realized: number; apError: number }[] {
  const out = [];
  for (const e of c.estimates) {
    if (e.anchor !== 'matured') continue;
    const real = c.performance.find((w) => w.window === e.window && w.role === e.role && sameModel(w.model, e.model))?.performance;
    if (!real || !Number.isFinite(real.ap) || !Number.isFinite(e.estimate.ap)) continue;
    out.push({ window: e.window, model: e.model, role: e.role, estimated: e.estimate.ap, realized: real.ap, apError: e.estimate.ap - real.ap });
  }
  return out;
}
