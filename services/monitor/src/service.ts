/**
 * The monitor: reads decisions and delayed labels into its store (feed.ts) and, every
 * interval, computes each model version's realized performance per role over the 1-day and
 * 7-day windows of event time that end at the label frontier (the newest decision that has its
 * label: what is mature), exposed at /metrics. Labels never reach the scorers' decisions, so
 * this is the only place the model's real accuracy in production shows.
 */
import { openCodecs } from '../../common/src/registry-codecs.js';
import { createKafka } from '../../common/src/kafka.js';
import { startAdminServer } from '../../scorer/src/http/admin.js';
import type { Logger } from '../../scorer/src/telemetry/log.js';
import type { Telemetry } from '../../scorer/src/telemetry/otel.js';
import type { MonitorConfig } from './config.js';
import { startFeed, type Feed, type FeedStats } from './feed.js';
import { registerMonitorMetrics } from './metrics.js';
import { referenceLoader } from './references.js';
import { openStore, type Store } from './store.js';
import { computeAll, WINDOWS, type Computation } from './windows.js';

export interface RunningMonitor {
  readonly adminUrl: string;
  readonly feed: Feed;
  readonly store: Store;
  /** The newest computation. */
  results(): Computation;
  /** Recomputes now (also runs every interval). */
  compute(): Computation;
  stop(): Promise<void>;
}

export async function startMonitor(config: MonitorConfig, log: Logger, telemetry: Telemetry): Promise<RunningMonitor> {
  const referenceOf = referenceLoader(config.modelsDir, (msg) => log.warn(msg));
  const store = openStore(config.dbPath, referenceOf);
  const kafka = createKafka({ brokers: [...config.brokers], clientId: 'fraudscore-monitor' });
  let latest: Computation = { performance: [], drift: [], estimates: [], shifts: [] };
  let pruned = 0;
  // Filled once the feed runs: metrics are registered before, to serve /metrics meanwhile.
  const feedStats: { current?: FeedStats } = {};
  const compute = () => {
    const started = performance.now();
    latest = computeAll(store, referenceOf);
    // Decisions past the label horizon leave the store (with any label): they count as "no label".
    const { decided } = store.frontiers();
    if (decided) pruned += store.prune(decided - config.labelHorizonMs - WINDOWS['7d']);
    log.debug({ ms: Math.round(performance.now() - started), groups: latest.performance.length }, 'windows computed');
    return latest;
  };

  registerMonitorMetrics(telemetry.meter, {
    store,
    computation: () => latest,
    expired: () => pruned,
    records: () => feedStats.current,
    reference: referenceOf,
  });

  let ready = false;
  const admin = await startAdminServer({
    host: config.admin.host,
    port: config.admin.port,
    health: { liveness: () => null, readiness: () => ({ store: true, consuming: ready }) },
    metrics: telemetry.serveMetrics,
  });
  // With FRAUD_SCHEMA_REGISTRY_URL: what the scorers wrote with the registry's ids is read by them.
  const { codecs, prepare } = await openCodecs({ format: config.wireFormat, registry: config.schemaRegistry, clientId: 'fraudscore-monitor', writes: {}, log });
  const running = await startFeed({ kafka, groupId: config.groupId, topics: config.topics, codecs, prepare, store, log });
  feedStats.current = running.stats;
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
    results: () => latest,
    compute,
    async stop() {
      clearInterval(timer);
      await running.stop().catch(() => {});
      await admin.close().catch(() => {});
      store.close();
    },
  };
}
