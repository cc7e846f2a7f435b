/**
 * The monitor's metrics at /metrics, read at collection from the newest computation. Closed
 * label sets: metric, window, anchor, role, measure, the model versions served and their input
 * features (the manifest's names) — never a card or a transaction.
 */
import type { Meter } from '@opentelemetry/api';
import type { FeedStats } from './feed.js';
import { PERFORMANCE_METRICS } from './performance.js';
import type { Reference } from './references.js';
import type { ModelKey, Store } from './store.js';
import type { Computation } from './windows.js';

export interface MonitorSources {
  store: Store;
  /** The newest computation. */
  computation(): Computation;
  expired(): number;
  records(): FeedStats | undefined;
  reference(m: ModelKey): Reference | undefined;
}

/** The figures of a model's manifest the alerts compare with (validation split). */
const REFERENCE_METRICS = [['ap', 'average_precision'], ['rocAuc', 'auc_roc'], ['cardPrecision100', 'cp100']] as const;

export function registerMonitorMetrics(meter: Meter, src: MonitorSources): void {
  meter.createObservableGauge('fraudscore_monitor_performance', { description: 'Realized performance per model version and role over the window of event time ending at the label frontier: metric is ap, rocAuc, precisionReview, recallReview, precisionBlock, recallBlock, cardPrecision100, flagRate or labelCoverage' })
    .addCallback((r) => {
      for (const w of src.computation().performance) {
        for (const metric of PERFORMANCE_METRICS) {
          const v = w.performance[metric];
          if (Number.isFinite(v)) r.observe(v, { metric, window: w.window, model: w.model.name, version: w.model.version, role: w.role });
        }
      }
    });
  const ESTIMATED = ['ap', 'precisionReview', 'recallReview', 'precisionBlock', 'recallBlock'] as const;
  meter.createObservableGauge('fraudscore_monitor_estimated', { description: 'Performance estimated from the scores alone (CBPE, with the manifest calibration): anchor latest is the window ending at the newest decision (labels not mature), matured the one ending at the label frontier' })
    .addCallback((r) => {
      for (const e of src.computation().estimates) {
        for (const metric of ESTIMATED) {
          const v = e.estimate[metric];
          if (Number.isFinite(v)) r.observe(v, { metric, window: e.window, anchor: e.anchor, model: e.model.name, version: e.model.version, role: e.role });
        }
      }
    });
  meter.createObservableGauge('fraudscore_monitor_estimate_error', { description: 'Estimated minus realized, on the matured windows: how far CBPE was off once the labels came' })
    .addCallback((r) => {
      for (const e of src.computation().estimates) {
        if (e.anchor !== 'matured') continue;
        const real = src.computation().performance.find((w) => w.window === e.window && w.role === e.role && w.model.digest === e.model.digest)?.performance;
        if (!real) continue;
        for (const metric of ESTIMATED) {
          const v = e.estimate[metric] - real[metric];
          if (Number.isFinite(v)) r.observe(v, { metric, window: e.window, model: e.model.name, version: e.model.version, role: e.role });
        }
      }
    });
  meter.createObservableGauge('fraudscore_monitor_drift', { description: "Drift of each model version's inputs and score from its training data (the manifest's reference histograms) over the window of whole days ending at the newest decision: measure psi, js (Jensen–Shannon, base 2) or out_of_range (share of values outside the training rows' range)" })
    .addCallback((r) => {
      for (const d of src.computation().drift) {
        const attrs = { window: d.window, model: d.model.name, version: d.model.version, feature: d.feature };
        r.observe(d.psi, { ...attrs, measure: 'psi' });
        r.observe(d.js, { ...attrs, measure: 'js' });
        if (Number.isFinite(d.outOfRange)) r.observe(d.outOfRange, { ...attrs, measure: 'out_of_range' });
      }
    });
  meter.createObservableGauge('fraudscore_monitor_window_decisions', { description: 'Decisions in each window, and how many of them have their label' })
    .addCallback((r) => {
      for (const w of src.computation().performance) {
        const attrs = { window: w.window, model: w.model.name, version: w.model.version, role: w.role };
        r.observe(w.performance.decisions, { ...attrs, labelled: 'all' });
        r.observe(w.performance.labelled, { ...attrs, labelled: 'yes' });
      }
    });
  meter.createObservableGauge('fraudscore_monitor_decision_shift', { description: "The newest day's mix of decisions against the 7 days before it, per model version and role: outcome flagged (REVIEW or BLOCK) or block; measure share_1d, share_prev7d, ratio, or z (two-proportion z statistic)" })
    .addCallback((r) => {
      for (const s of src.computation().shifts) {
        const attrs = { outcome: s.outcome, model: s.model.name, version: s.model.version, role: s.role };
        for (const [measure, v] of [['share_1d', s.share1d], ['share_prev7d', s.sharePrev7d], ['ratio', s.ratio], ['z', s.z]] as const) {
          if (Number.isFinite(v)) r.observe(v, { ...attrs, measure });
        }
      }
    });
  meter.createObservableCounter('fraudscore_monitor_expired_decisions', { description: 'Decisions that left the store past the label horizon (FRAUD_LABEL_HORIZON_DAYS) plus the longest window' })
    .addCallback((r) => r.observe(src.expired()));
  meter.createObservableGauge('fraudscore_monitor_store', { description: 'The store: decisions and labels held, and its size on disk in bytes' })
    .addCallback((r) => {
      const s = src.store.size();
      r.observe(s.decisions, { what: 'decisions' });
      r.observe(s.labels, { what: 'labels' });
      r.observe(s.bytes, { what: 'bytes' });
    });
  meter.createObservableGauge('fraudscore_monitor_frontier_seconds', { description: 'Event time (epoch s) of the newest decision, and of the newest decision with its label' })
    .addCallback((r) => {
      const f = src.store.frontiers();
      r.observe(f.decided / 1000, { frontier: 'decided' });
      r.observe(f.labelled / 1000, { frontier: 'labelled' });
    });

  meter.createObservableCounter('fraudscore_monitor_records', { description: 'Records read into the store since start, by kind (decision, shadow, outcome, unreadable)' })
    .addCallback((r) => {
      const s = src.records();
      if (!s) return;
      r.observe(s.decisions, { kind: 'decision' });
      r.observe(s.shadowDecisions, { kind: 'shadow' });
      r.observe(s.outcomes, { kind: 'outcome' });
      r.observe(s.unreadable, { kind: 'unreadable' });
    });
  meter.createObservableGauge('fraudscore_monitor_reference', { description: "A model version's own figures on its validation split (its manifest): what realized performance is compared with" })
    .addCallback((r) => {
      for (const model of src.store.models().values()) {
        const metrics = src.reference(model)?.validation;
        if (!metrics) continue;
        for (const [metric, key] of REFERENCE_METRICS) {
          const v = metrics[key];
          if (typeof v === 'number') r.observe(v, { metric, model: model.name, version: model.version });
        }
      }
    });
}
