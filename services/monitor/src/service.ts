/**
 * The monitor: reads decisions and delayed labels into its store (feed.ts) and, every
 * interval, computes each model version's realized performance per role over the 1-day and
 * 7-day windows of event time that end at the label frontier (the newest decision that has its
 * label: what is mature), exposed at /metrics. Labels never reach the scorers' decisions, so
 * this is the only place the model's real accuracy in production shows.
 */
import { createCodecs } from '../../common/src/contracts.js';
import { createKafka } from '../../common/src/kafka.js';
import { startAdminServer } from '../../scorer/src/http/admin.js';
import type { Logger } from '../../scorer/src/telemetry/log.js';
import type { Telemetry } from '../../scorer/src/telemetry/otel.js';
import type { MonitorConfig } from './config.js';
import { startFeed, type Feed } from './feed.js';
import { PERFORMANCE_METRICS } from './performance.js';
import { referenceLoader } from './references.js';
import { openStore, type Store } from './store.js';
import { computeDrift, computeEstimates, computeWindows, WINDOWS, type DriftResult, type EstimateResult, type WindowResult } from './windows.js';

export interface RunningMonitor {
  readonly adminUrl: string;
  readonly feed: Feed;
  readonly store: Store;
  /** The newest computation. */
  results(): { performance: readonly WindowResult[]; drift: readonly DriftResult[] };
  /** Recomputes now (also runs every interval). */
  compute(): { performance: readonly WindowResult[]; drift: readonly DriftResult[] };
  stop(): Promise<void>;
}

export async function startMonitor(config: MonitorConfig, log: Logger, telemetry: Telemetry): Promise<RunningMonitor> {
  const referenceOf = referenceLoader(config.modelsDir, (msg) => log.warn(msg));
  const store = openStore(config.dbPath, referenceOf);
  const kafka = createKafka({ brokers: [...config.brokers], clientId: 'fraudscore-monitor' });
  let results: WindowResult[] = [];
  let drift: DriftResult[] = [];
  let estimates: EstimateResult[] = [];
  let pruned = 0;
  const compute = () => {
    const started = performance.now();
    results = computeWindows(store);
    drift = computeDrift(store, referenceOf);
    estimates = computeEstimates(store, referenceOf);
    // Decisions past the label horizon leave the store (with any label): they count as "no label".
    const { decided } = store.frontiers();
    if (decided) pruned += store.prune(decided - config.labelHorizonMs - WINDOWS['7d']);
    log.debug({ ms: Math.round(performance.now() - started), groups: results.length }, 'windows computed');
    return { performance: results, drift };
  };

  const meter = telemetry.meter;
  meter.createObservableGauge('fraudscore_monitor_performance', { description: 'Realized performance per model version and role over the window of event time ending at the label frontier: metric is ap, rocAuc, precisionReview, recallReview, precisionBlock, recallBlock, cardPrecision100, flagRate or labelCoverage' })
    .addCallback((r) => {
      for (const w of results) {
        for (const metric of PERFORMANCE_METRICS) {
          const v = w.performance[metric];
          if (Number.isFinite(v)) r.observe(v, { metric, window: w.window, model: w.model.name, version: w.model.version, role: w.role });
        }
      }
    });
  const ESTIMATED = ['ap', 'precisionReview', 'recallReview', 'precisionBlock', 'recallBlock'] as const;
  meter.createObservableGauge('fraudscore_monitor_estimated', { description: 'Performance estimated from the scores alone (CBPE, with the manifest calibration): anchor latest is the window ending at the newest decision (labels not mature), matured the one ending at the label frontier' })
    .addCallback((r) => {
      for (const e of estimates) {
        for (const metric of ESTIMATED) {
          const v = e.estimate[metric];
          if (Number.isFinite(v)) r.observe(v, { metric, window: e.window, anchor: e.anchor, model: e.model.name, version: e.model.version, role: e.role });
        }
      }
    });
  meter.createObservableGauge('fraudscore_monitor_estimate_error', { description: 'Estimated minus realized, on the matured windows: how far CBPE was off once the labels came' })
    .addCallback((r) => {
      for (const e of estimates) {
        if (e.anchor !== 'matured') continue;
        const real = results.find((w) => w.window === e.window && w.role === e.role && w.model.digest === e.model.digest)?.performance;
        if (!real) continue;
        for (const metric of ESTIMATED) {
          const v = e.estimate[metric] - real[metric];
          if (Number.isFinite(v)) r.observe(v, { metric, window: e.window, model: e.model.name, version: e.model.version, role: e.role });
        }
      }
    });
  meter.createObservableGauge('fraudscore_monitor_drift', { description: "Drift of each model version's inputs and score from its training data (the manifest's reference histograms) over the window of whole days ending at the newest decision: measure psi or js (Jensen–Shannon, base 2)" })
    .addCallback((r) => {
      for (const d of drift) {
        const attrs = { window: d.window, model: d.model.name, version: d.model.version, feature: d.feature };
        r.observe(d.psi, { ...attrs, measure: 'psi' });
        r.observe(d.js, { ...attrs, measure: 'js' });
      }
    });
  meter.createObservableGauge('fraudscore_monitor_window_decisions', { description: 'Decisions in each window, and how many of them have their label' })
    .addCallback((r) => {
      for (const w of results) {
        const attrs = { window: w.window, model: w.model.name, version: w.model.version, role: w.role };
        r.observe(w.performance.decisions, { ...attrs, labelled: 'all' });
        r.observe(w.performance.labelled, { ...attrs, labelled: 'yes' });
      }
    });
  meter.createObservableCounter('fraudscore_monitor_expired_decisions', { description: 'Decisions that left the store past the label horizon (FRAUD_LABEL_HORIZON_DAYS) plus the longest window' })
    .addCallback((r) => r.observe(pruned));
  meter.createObservableGauge('fraudscore_monitor_store', { description: 'The store: decisions and labels held, and its size on disk in bytes' })
    .addCallback((r) => {
      const s = store.size();
      r.observe(s.decisions, { what: 'decisions' });
      r.observe(s.labels, { what: 'labels' });
      r.observe(s.bytes, { what: 'bytes' });
    });
  meter.createObservableGauge('fraudscore_monitor_frontier_seconds', { description: 'Event time (epoch s) of the newest decision, and of the newest decision with its label' })
    .addCallback((r) => {
      const f = store.frontiers();
      r.observe(f.decided / 1000, { frontier: 'decided' });
      r.observe(f.labelled / 1000, { frontier: 'labelled' });
    });

  let ready = false;
  const admin = await startAdminServer({
    host: config.admin.host,
    port: config.admin.port,
    health: { liveness: () => null, readiness: () => ({ store: true, consuming: ready }) },
    metrics: telemetry.serveMetrics,
  });
  const running = await startFeed({ kafka, groupId: config.groupId, topics: config.topics, codecs: createCodecs(config.wireFormat), store, log });
  meter.createObservableCounter('fraudscore_monitor_records', { description: 'Records read into the store, by kind (decision, shadow, outcome, unreadable)' })
    .addCallback((r) => {
      r.observe(running.stats.decisions, { kind: 'decision' });
      r.observe(running.stats.shadowDecisions, { kind: 'shadow' });
      r.observe(running.stats.outcomes, { kind: 'outcome' });
      r.observe(running.stats.unreadable, { kind: 'unreadable' });
    });
  ready = true;
  const timer = setInterval(() => {
    try {
      compute();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'computing the windows failed');
    }
  }, config.intervalMs);
  log.info({ db: config.dbPath, admin: admin.url, topics: config.topics }, 'monitor running');
  return {
    adminUrl: admin.url,
    feed: running,
    store,
    results: () => ({ performance: results, drift }),
    compute,
    async stop() {
      clearInterval(timer);
      await running.stop().catch(() => {});
      await admin.close().catch(() => {});
      store.close();
    },
  };
}
