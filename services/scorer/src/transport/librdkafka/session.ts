/**
 * The scoring session (source/scoring-session.ts) on librdkafka's native API: one poll loop.
 * librdkafka fetches, heartbeats and acknowledges in its own threads; the loop takes what has
 * arrived (`consume`), scores it partition by partition in bounded chunks, enqueues the
 * outputs, and commits every partition's position when the commit schedule says one is due.
 * A batch's broker round trips (its acknowledgement at-least-once, or a commit) run while the
 * next batch is consumed and scored: the event loop does not sit idle waiting for the broker.
 *
 * Exactly-once uses one transaction for the whole instance: a commit ends it for every
 * partition with outputs in it (their positions and changelog records go in together).
 *
 * Rebalances (eager protocol) are served inside `consume`, so they never interleave with a
 * chunk: on revocation everything scored is committed while this member still holds the
 * generation, then the partitions are released; kept partitions keep their card state. When
 * the partitions were lost instead (the group evicted this member, e.g. a long pause), their
 * state may have moved on elsewhere: with uncommitted exactly-once work the instance has been
 * fenced and exits (the supervisor restarts it from the committed state); otherwise their
 * state is reloaded from the changelog if they come back.
 */
import type { InputRecord } from '../../pipeline.js';
import { createChunkScoring, type ScoredChunk } from '../../source/chunk-scoring.js';
import { createCommitSchedule } from '../../source/commit-schedule.js';
import type { ScoringSession, ScoringSessionOptions } from '../../source/scoring-session.js';
import { nowMs } from '../../telemetry/chunk-tracing.js';
import { createRdkafkaDelivery, deliveryProducerConfig } from './delivery.js';
import { librdkafkaClientErrors } from '../../../../common/src/kafka-logs.js';
import { call, classifyClientError, codes, commonConfig, connect, disconnect, extras, loadRdkafka, routeEvents, toError, type Rdkafka, type RdkafkaError } from './native.js';
import { HEADERS, parseReplyHeaders } from '../../sink/messages.js';

/** How long one `consume` waits for a first record: also how often an idle loop checks its commits. */
const CONSUME_WAIT_MS = 100;
/** Transaction calls (init, offsets, commit, abort) give up after this; the process then restarts. */
const TRANSACTION_CALL_TIMEOUT_MS = 30_000;

export async function startLibrdkafkaSession(o: ScoringSessionOptions): Promise<ScoringSession> {
  const { config, log } = o;
  const Kafka = loadRdkafka();
  const ERR = codes();
  const t = config.topics;
  const exactlyOnce = config.delivery === 'exactly-once';
  const settings = { brokers: config.brokers, clientId: config.clientId, security: config.security, log };
  const commits = createCommitSchedule({ intervalMs: config.commitIntervalMs, commitWhenCaughtUp: exactlyOnce });
  const chunks = createChunkScoring({ pipeline: o.pipeline, topics: { decisions: t.decisions, flags: t.flags, dlq: t.dlq, shadowDecisions: t.shadowDecisions, replies: o.replies }, codecs: o.codecs, tracer: o.tracer, metrics: o.metrics });
  const maxMessages = config.maxBatch * 4;

  let failure: Error | undefined;
  const fatal = (reason: string, err: Error) => {
    if (failure) return;
    failure = err;
    o.onFatal(reason, err);
  };
  const onClientError = (role: string) => (err: RdkafkaError) => {
    const { name, fatal: isFatal } = classifyClientError(err);
    if (isFatal) fatal(`librdkafka ${role}: ${name === 'ERR__FENCED' ? 'fenced' : 'fatal error'}`, toError(err));
    else {
      librdkafkaClientErrors.set(name, (librdkafkaClientErrors.get(name) ?? 0) + 1);
      log.warn({ kafka: `librdkafka.${role}`, code: name, err: err.message }, 'kafka client error (retried by the client)');
    }
  };

  let assigned = new Set<number>();
  /** Partitions whose card state must be rebuilt if they are assigned again. */
  let reloadNext: number[] = [];
  let producersReady = false;
  let stopping = false;
  /** Rebalance callbacks, one after another; the loop waits for them after each consume. */
  let rebalancing: Promise<void> = Promise.resolve();

  const consumer = new Kafka.KafkaConsumer(
    {
      ...commonConfig(settings),
      'group.id': config.groupId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'isolation.level': 'read_committed',
      'session.timeout.ms': config.sessionTimeoutMs,
      'heartbeat.interval.ms': Math.min(3_000, Math.floor(config.sessionTimeoutMs / 3)),
      'enable.partition.eof': false,
      rebalance_cb: (err: RdkafkaError, assignment: Rdkafka.TopicPartition[]) => {
        rebalancing = rebalancing.then(() => onRebalance(err, assignment)).catch((e: Error) => fatal('rebalance failed', e));
      },
    },
    { 'auto.offset.reset': config.fromBeginning ? 'earliest' : 'latest' },
  );
  const producer = new Kafka.Producer({
    ...commonConfig(settings),
    ...deliveryProducerConfig(exactlyOnce),
    acks: -1,
    'enable.idempotence': true,
    // Java's (and kafkajs's default) partitioner: a card's decisions land where a Java client would put them.
    partitioner: 'murmur2_random',
    // Transaction calls answered CONCURRENT_TRANSACTIONS (the previous commit's markers are
    // still being written) are retried after retry.backoff.ms, 100 ms by default: a stall of
    // every output behind it. Java retries them after 20 ms; so does librdkafka for
    // AddPartitionsToTxn, but not for AddOffsetsToTxn or EndTxn. Measured (2,000 ev/s):
    // read_committed p99 142 → 100 ms.
    ...(exactlyOnce ? { 'retry.backoff.ms': 10, 'retry.backoff.max.ms': 100, 'transactional.id': `${config.groupId}.${config.instanceId}`, 'transaction.timeout.ms': config.transactionTimeoutMs } : {}),
  });
  routeEvents(consumer, settings, 'consumer', onClientError('consumer'));
  routeEvents(producer, settings, 'producer', onClientError('producer'));
  const delivery = createRdkafkaDelivery({
    producer,
    consumer,
    exactlyOnce,
    timeoutMs: TRANSACTION_CALL_TIMEOUT_MS,
    crash: o.crash,
  });

  /**
   * Chunks whose outputs were enqueued but not yet known to be delivered: at-least-once they
   * are acknowledged by the flush after their batch; exactly-once they count as delivered when
   * their transaction commits, since only then can a read_committed consumer see them.
   */
  let inFlight: { chunk: ScoredChunk; produceStart: number; lags: Map<number, number> }[] = [];
  const delivered = () => {
    const end = nowMs();
    for (const f of inFlight) chunks.delivered(f.chunk, f.produceStart, end, f.lags);
    inFlight = [];
  };

  /** Commits every partition with scored, uncommitted chunks (exactly-once: they share one transaction). */
  const commitAll = async (): Promise<void> => {
    const pending = commits.pending();
    if (pending.size === 0) return;
    const state = [...pending.keys()].flatMap((p) => o.stateUpdates?.(p) ?? []);
    const committed = await delivery.commit([...pending.values()], state);
    delivered(); // everything enqueued before the commit is acknowledged (exactly-once: visible)
    if (!committed) return;
    for (const p of pending.keys()) commits.committed(p);
    o.crash?.hit('after-commit');
  };

  async function onRebalance(err: RdkafkaError, assignment: Rdkafka.TopicPartition[]): Promise<void> {
    if (err.code === ERR.ERR__ASSIGN_PARTITIONS) {
      const mine = assignment.filter((a) => a.topic === t.transactions).map((a) => a.partition);
      const reload = reloadNext.filter((p) => mine.includes(p));
      reloadNext = [];
      assigned = new Set(mine);
      o.onAssigned?.(mine, reload);
      consumer.assign(assignment);
      if (producersReady) o.onProducersReady?.();
      log.info({ partitions: mine, reloaded: reload }, 'partitions assigned');
      return;
    }
    if (err.code !== ERR.ERR__REVOKE_PARTITIONS) throw toError(err);
    const lost = extras(consumer).assignmentLost();
    const previous = [...assigned];
    assigned = new Set();
    await io;
    if (!lost && !failure) {
      try {
        await commitAll();
      } catch (e) {
        if (exactlyOnce) throw e;
        log.warn({ err: (e as Error).message }, 'commit at revocation failed; the next owner re-scores from the last committed position');
      }
    }
    const uncommitted = commits.drop();
    inFlight = []; // never to be visible (aborted), or acknowledged already (at-least-once)
    if (exactlyOnce && uncommitted.length > 0) {
      await delivery.abort().catch(() => {});
      fatal('partitions lost with uncommitted work', new Error(`this instance was fenced by the group generation (KIP-447): it lost partitions [${uncommitted.join(',')}] (evicted from the group) before committing; its open transaction is aborted and nothing of it becomes visible`));
    }
    // Lost partitions may have been scored elsewhere meanwhile; uncommitted ones are read again.
    reloadNext = lost ? previous : uncommitted;
    consumer.unassign();
    log.info({ partitions: previous, lost }, 'partitions revoked');
  }

  const consumeBatch = (): Promise<Rdkafka.Message[]> =>
    new Promise((resolve) =>
      consumer.consume(maxMessages, (err, messages) => {
        if (err) {
          onClientError('consumer')(err);
          resolve([]);
        } else resolve(messages);
      }),
    );

  const highWatermark = (partition: number, fallback: number): number => {
    try {
      return consumer.getWatermarkOffsets(t.transactions, partition).highOffset;
    } catch {
      return fallback; // not known yet: count the partition as caught up
    }
  };

  /** A scored chunk waiting to be produced, with each of its partitions' next offset and end. */
  interface Scored {
    chunk: ScoredChunk;
    ends: Map<number, { next: number; high: number }>;
  }

  /**
   * Scores the records of assigned partitions in chunks of at most maxBatch, each chunk across
   * partitions: live traffic arrives a few records per partition at a time, and one model call
   * (and one of everything else per chunk) for all of them instead of one per partition is what
   * keeps the cost per event down when the loop is not draining a backlog.
   */
  const scoreBatch = async (messages: Rdkafka.Message[]): Promise<Scored[]> => {
    // Records of partitions revoked during this consume are left for their next owner.
    const mine = messages.filter((m) => m.topic === t.transactions && assigned.has(m.partition));
    for (const p of new Set(mine.map((m) => m.partition))) await o.beforeBatch?.(p);
    const out: Scored[] = [];
    for (let start = 0; start < mine.length; start += config.maxBatch) {
      const slice = mine.slice(start, start + config.maxBatch);
      const chunk = await chunks.score(slice.map(toInputRecord));
      o.crash?.hit('mid-batch');
      const ends = new Map<number, { next: number; high: number }>();
      for (const m of slice) ends.set(m.partition, { next: m.offset + 1, high: 0 }); // records of a partition come in offset order
      for (const [p, e] of ends) e.high = highWatermark(p, e.next);
      out.push({ chunk, ends });
    }
    return out;
  };

  /** Enqueues the scored chunks' outputs. True when a partition's commit is due. */
  const produceBatch = async (scored: Scored[]): Promise<boolean> => {
    let due = false;
    for (const { chunk, ends } of scored) {
      const produceStart = nowMs();
      const lags = new Map([...ends].map(([p, e]) => [p, Math.max(0, e.high - e.next)]));
      inFlight.push({ chunk, produceStart, lags });
      await delivery.send(chunk.outputs);
      const now = Date.now();
      for (const [partition, e] of ends) due = commits.scored({ topic: t.transactions, partition, offset: String(e.next) }, e.next >= e.high, now) || due;
    }
    return due;
  };

  /**
   * The broker round trips of the last batch (its acknowledgement at-least-once, or a commit),
   * left running while the next batch is consumed and scored, and awaited before that batch's
   * outputs are enqueued: outputs never join a transaction that is committing, and a flush
   * waits only for what came before it. Failures are fatal at once (never an unhandled rejection).
   */
  let io: Promise<void> | undefined;
  const background = (work: Promise<void>, what: string): Promise<void> => work.catch((err: Error) => fatal(what, withFencing(err)));

  const run = async (): Promise<void> => {
    while (!stopping && !failure) {
      const messages = await consumeBatch();
      await rebalancing;
      if (stopping || failure) break;
      const scored = await scoreBatch(messages);
      await io;
      io = undefined;
      if (failure) break;
      const due = await produceBatch(scored);
      if (due || commits.overdue(Date.now()).length > 0) io = background(commitAll(), exactlyOnce ? 'a commit failed (exactly-once)' : 'a commit failed');
      // At-least-once: decisions count as out once acknowledged (a flush: 0.4 ms on loopback).
      else if (!exactlyOnce && inFlight.length > 0) io = background(delivery.flush().then(delivered), 'outputs could not be delivered');
    }
    await io;
  };

  await connect(producer);
  // Serves the producer's events (logs, errors); there are no delivery reports (delivery.ts).
  producer.setPollInterval(100);
  if (exactlyOnce) await call((cb) => producer.initTransactions(TRANSACTION_CALL_TIMEOUT_MS, cb));
  producersReady = true;
  await connect(consumer);
  extras(consumer).setDefaultIsTimeoutOnlyForFirstMessage(true);
  consumer.setDefaultConsumeTimeout(CONSUME_WAIT_MS);
  consumer.subscribe([t.transactions]);
  const loop = run().catch((err: Error) => fatal('a chunk failed after its features were computed', withFencing(err)));

  return {
    stats: chunks.stats,
    async stop() {
      stopping = true;
      await loop;
      await rebalancing;
      if (!failure) await commitAll().catch((err: Error) => log.warn({ err: err.message }, 'final commit failed; the next owner re-scores from the last committed position'));
      await disconnect(consumer);
      await rebalancing;
      await delivery.close();
      await disconnect(producer);
    },
  };

  function fencing(code: number | undefined): boolean {
    return [ERR.ERR__FENCED, ERR.ERR_PRODUCER_FENCED, ERR.ERR_INVALID_PRODUCER_EPOCH, ERR.ERR_ILLEGAL_GENERATION, ERR.ERR_UNKNOWN_MEMBER_ID, ERR.ERR_FENCED_INSTANCE_ID].includes(code ?? 0);
  }

  /** A commit refused because this member's generation or producer epoch is stale says so. */
  function withFencing(err: Error & { code?: number }): Error {
    return fencing(err.code) ? new Error(`fenced: ${err.message}`) : err;
  }
}

function toInputRecord(m: Rdkafka.Message): InputRecord {
  return {
    partition: m.partition,
    offset: String(m.offset),
    key: (m.key as Buffer | null | undefined) ?? null,
    value: m.value,
    timestamp: String(m.timestamp ?? 0),
    traceparent: headerText(m.headers, 'traceparent'),
    reply: parseReplyHeaders(headerText(m.headers, HEADERS.replyPartition), headerText(m.headers, HEADERS.correlationId)),
  };
}

function headerText(headers: Rdkafka.MessageHeader[] | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  for (const h of headers) {
    const v = h[name];
    if (v !== undefined) return v.toString();
  }
  return undefined;
}
