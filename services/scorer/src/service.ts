/**
 * The composition root of the scorer: the only module that wires kafkajs, onnxruntime-node
 * and avsc to the pure stages. `startScorer` is used by main.ts (the process) and by tests
 * (in-process); it resolves once the scorer has joined its group and is consuming.
 */
import type { Kafka } from 'kafkajs';
import { createCodecs } from '../../common/src/contracts.js';
import { openCodecs } from '../../common/src/registry-codecs.js';
import { createKafka } from '../../common/src/kafka.js';
import type { ScorerConfig } from './config.js';
import { createCrashPoints } from './crash-points.js';
import { createPolicy, type Policy } from './decision/policy.js';
import { createDeployer, type Deployer } from './deployment/deployer.js';
import { startDeploymentFeed, type DeploymentFeed } from './deployment/deployment-feed.js';
import type { Serving } from './deployment/serving.js';
import { startStatusReporter, type StatusReporter } from './deployment/status-report.js';
import { FEATURE_NAMES, FEATURE_SET_VERSION, TerminalTable } from './features/index.js';
import { startAdminServer } from './http/admin.js';
import { loadModel, resolveModelDir, type Model } from './model/load.js';
import { createPipeline } from './pipeline.js';
import { startOutcomesFeed, type OutcomesFeed } from './source/outcomes-table.js';
import type { LoopStats } from './source/chunk-scoring.js';
import { startScoringSession, type ScoringSession } from './source/scoring-session.js';
import { changelogMessages, restoreCardState } from './state/changelog.js';
import { createPartitionFeatures } from './state/partition-features.js';
import { createChunkTracer } from './telemetry/chunk-tracing.js';
import type { Logger } from './telemetry/log.js';
import { createDeploymentMetrics } from './telemetry/deployment-metrics.js';
import { createScorerMetrics, type ScorerMetrics } from './telemetry/metrics.js';
import type { Telemetry } from './telemetry/otel.js';
import { assertTopicsExist, partitionCount } from './source/topics.js';

/**
 * Scoring waits while the outcomes feed has not been current for this long: labels it has not
 * read yet would be missing from terminal features (idle, the feed hears from the broker every
 * 200 ms).
 */
const OUTCOMES_MAX_AGE_MS = 2_000;

export interface RunningScorer {
  readonly stats: LoopStats;
  /** The fallback model (served while no deployment spec applies). */
  readonly model: Model;
  /** The deployment revision in force. */
  serving(): Serving;
  readonly adminUrl: string;
  /** Resolves when the consumer crashed for good; the process should exit non-zero. */
  readonly crashed: Promise<Error>;
  stop(): Promise<void>;
}

/** Loads (and verifies) the model the config names; throws ModelError when refused. */
export async function loadServingModel(config: ScorerConfig): Promise<Model> {
  return scorerModelLoader(config)(await resolveModelDir(config.modelsDir, config.model));
}

/** How the scorer loads a model, at start and on every hot swap: the same contract, the same keys (FRAUD_MODEL_PUBLIC_KEYS). */
export function scorerModelLoader(config: Pick<ScorerConfig, 'modelPublicKeys'>, log?: Logger): (dir: string) => Promise<Model> {
  return async (dir) => {
    const model = await loadModel(dir, SCORER_CONTRACT, { publicKeys: config.modelPublicKeys });
    if (model.signedBy) log?.info({ model: model.ref, keyId: model.signedBy }, 'model signature verified');
    return model;
  };
}

/** What every model must have been trained on: the features this scorer computes, in order. */
export const SCORER_CONTRACT = { features: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION };

export interface ScorerDeps {
  model: Model;
  telemetry: Telemetry;
}

export async function startScorer(config: ScorerConfig, log: Logger, deps: ScorerDeps): Promise<RunningScorer> {
  const { telemetry } = deps;
  const delay = config.faults.modelDelayMs;
  const model = delay > 0 ? slowed(deps.model, delay) : deps.model;
  const crash = createCrashPoints(config.faults.crashPoint, config.faults.crashAfter);
  if (config.faults.crashPoint !== 'none') log.warn({ point: config.faults.crashPoint, after: config.faults.crashAfter }, 'crash point armed (fault testing)');
  log.info({ model: model.ref, thresholds: model.manifest.thresholds }, 'fallback model loaded');
  if (model.signedBy) log.info({ model: model.ref, keyId: model.signedBy }, 'model signature verified');
  if (!config.modelPublicKeys) log.warn('FRAUD_MODEL_PUBLIC_KEYS is not set: model signatures are not checked');

  const kafka: Kafka = createKafka({ brokers: [...config.brokers], clientId: config.clientId, security: config.security });
  const t = config.topics;
  await assertTopicsExist(kafka, [t.transactions, t.outcomes, t.decisions, t.flags, t.dlq, t.cardState, t.shadowDecisions, t.deployments, t.deploymentStatus]);
  // Replies are optional: without the topic (made by `fraudscore topics`), no synchronous
  // caller can be answered, and everything else works as before.
  const replyPartitions = await partitionCount(kafka, t.replies);
  if (replyPartitions === undefined) log.info({ topic: t.replies }, 'no replies topic: request-reply (the REST gateway) is off');
  const replies = replyPartitions === undefined ? undefined : { topic: t.replies, partitions: replyPartitions };
  // Deployment specs and status (the control plane, written by fraudscore's own CLI) stay on
  // schemas/ids.json; what producers and consumers outside fraudscore read and write (the data
  // plane) follows the schema registry when one is configured. A registry out of reach, refusing
  // the credentials or without our schemas fails start-up here, naming FRAUD_SCHEMA_REGISTRY_URL.
  const codecs = createCodecs(config.wireFormat);
  const data = await openCodecs({
    format: config.wireFormat,
    registry: config.schemaRegistry,
    clientId: config.clientId,
    writes: { decision: [t.decisions, t.flags, t.shadowDecisions, ...(replies ? [t.replies] : [])], deadLetter: [t.dlq] },
    log,
  });
  if (data.ids) log.info({ url: config.schemaRegistry?.url, writerIds: data.ids }, 'schema registry: writer schemas fetched by id, outputs written with the registry\'s ids');

  // The deployment in force is swapped between chunks by the deployer; everything that scores
  // or reports reads it through `serving()`.
  let status: StatusReporter | undefined;
  let deployments: DeploymentFeed | undefined;
  const lastSeen = () => deployments?.lastSeen() ?? -1;
  const loadSigned = scorerModelLoader(config, log);
  const deployer: Deployer = createDeployer({
    modelsDir: config.modelsDir,
    fallback: model,
    load: async (dir) => {
      // Held to the same keys as start-up: a refusal (unsigned, bad_signature) is counted in onRefused.
      const loaded = await loadSigned(dir);
      return delay > 0 ? slowed(loaded, delay) : loaded;
    },
    policyFor,
    log,
    onRefused(revision, err) {
      deploymentMetrics.refused(err.reason);
      status?.report(deployer.serving(), Math.max(revision, lastSeen()), `${err.reason}: ${err.message}`);
    },
    onApplied: (serving) => status?.report(serving, lastSeen(), null),
  });
  const serving = deployer.serving;
  const deploymentMetrics = createDeploymentMetrics(telemetry.meter, serving);
  const metrics = withDeploymentMetrics(createScorerMetrics(telemetry.meter), deploymentMetrics);

  // Ready = able to score and deliver at once: state restored and (exactly-once) every
  // partition's transactional producer initialised, not merely joined.
  const ready = { model: true, deployment: false, terminalTable: false, partitionsAssigned: false, producersReady: false };
  let failure: string | null = null;
  let allRestored = () => false;
  const admin = await startAdminServer({
    host: config.admin.host,
    port: config.admin.port,
    health: { liveness: () => failure, readiness: () => ({ ...ready, cardStateRestored: ready.partitionsAssigned && allRestored() }) },
    metrics: telemetry.serveMetrics,
  });
  log.info({ url: admin.url }, 'admin server listening');

  const terminals = new TerminalTable();
  let outcomes: OutcomesFeed | undefined;
  let session: ScoringSession | undefined;
  const closeAll = async () => {
    await session?.stop();
    await deployments?.stop().catch(() => {});
    await status?.stop().catch(() => {});
    await deployer.close();
    await outcomes?.stop().catch(() => {});
    await admin.close().catch(() => {});
  };

  try {
    status = await startStatusReporter({ kafka, topic: t.deploymentStatus, instance: config.instanceId, codec: codecs.deploymentStatus, log });
    deployments = await startDeploymentFeed({
      kafka,
      topic: t.deployments,
      groupPrefix: config.groupId,
      codec: codecs.deploymentSpec,
      deployer,
      log,
    });
    await deployments.restored;
    ready.deployment = true;
    status.report(serving(), lastSeen(), null);
    outcomes = await startOutcomesFeed({ kafka, topic: t.outcomes, groupPrefix: config.groupId, codec: data.codecs.outcome, prepare: data.prepare, table: terminals, log });
    await outcomes.restored;
    ready.terminalTable = true;
    const feed = outcomes;
    metrics.observeOutcomes(() => {
      const { applied, duplicates, late, expired, invalid } = terminals.stats;
      return { applied, duplicates, late, expired, invalid, unreadable: feed.stats.skipped };
    });
    log.info({ outcomes: outcomes.stats.read }, 'terminal table restored');

    let fatal: (err: Error) => void = () => {};
    const crashed = new Promise<Error>((resolve) => (fatal = resolve));
    const partitions = createPartitionFeatures(terminals, async (stores) => {
      const started = Date.now();
      const cards = await restoreCardState(kafka, t.cardState, config.groupId, stores);
      log.info({ partitions: [...stores.keys()], cards, ms: Date.now() - started }, 'card state restored');
      return cards;
    });
    allRestored = () => partitions.allRestored();

    const pipeline = createPipeline({
      topic: t.transactions,
      codec: data.codecs.transaction,
      prepare: data.prepare && ((records) => data.prepare!(records, (r) => r.value)),
      limits: { maxFutureSkewMs: config.maxFutureSkewMs, maxAmountMinor: config.maxAmountMinor },
      featuresFor: (p) => partitions.featuresFor(p),
      serving,
      clock: Date.now,
      decisionFeatures: config.decisionFeatures,
    });
    session = await startScoringSession({
      kafka,
      config,
      pipeline,
      codecs: data.codecs,
      tracer: createChunkTracer({ tracer: telemetry.tracer, enabled: telemetry.tracing, rootSampleRatio: telemetry.rootSampleRatio, topic: t.transactions, groupId: config.groupId, model: () => serving().champion.model.ref }),
      metrics,
      log,
      crash,
      replies,
      onAssigned(mine, reload) {
        partitions.assign(mine, reload);
        ready.partitionsAssigned = mine.length > 0;
        ready.producersReady = false;
      },
      onProducersReady: () => (ready.producersReady = true),
      async beforeBatch(p, keepAlive) {
        await partitions.ready(p);
        await feed.current(OUTCOMES_MAX_AGE_MS, keepAlive);
      },
      stateUpdates: (p) => changelogMessages(t.cardState, p, partitions.cardsOf(p)!, partitions.takeTouched(p)),
      onFatal(reason, err) {
        log.error({ err: err.message }, `${reason}; exiting to restart from the committed state`);
        failure = `${reason}: ${err.message}`;
        fatal(err);
      },
    });
    return {
      stats: session.stats,
      model,
      serving,
      adminUrl: admin.url,
      crashed,
      stop: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Fault testing: a model that takes `delayMs` longer per call, blocking like a heavy graph would. */
function slowed(model: Model, delayMs: number): Model {
  return {
    ...model,
    async score(rows, n) {
      const until = Date.now() + delayMs;
      while (Date.now() < until); // busy: inference blocks the event loop, and so must this
      return model.score(rows, n);
    },
  };
}

/** The scorer's metrics, with the lifecycle's per-chunk counts (roles, shadow agreement) added. */
function withDeploymentMetrics(metrics: ScorerMetrics, deployment: ReturnType<typeof createDeploymentMetrics>): ScorerMetrics {
  return {
    ...metrics,
    chunkDelivered(results, timing, produceMs, ackedAt) {
      metrics.chunkDelivered(results, timing, produceMs, ackedAt);
      deployment.chunkDelivered(results);
    },
  };
}

function policyFor(model: Model): Policy {
  return createPolicy(model.manifest.thresholds, `${model.ref.name}/${model.ref.version}`, model.explainer);
}
