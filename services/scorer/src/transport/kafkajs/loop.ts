/**
 * The consumer loop on kafkajs: eachBatch, split into bounded chunks, each chunk scored
 * (source/chunk-scoring.ts) and its outputs handed to the delivery; the commit schedule says
 * when a partition also commits its position (with its changelog). Offsets are never
 * auto-committed: a position is committed only with (or after) the outputs it produced.
 *
 * Several partitions are consumed concurrently, so one partition's broker round trips
 * overlap another's scoring; scoring itself runs one chunk at a time (the pipeline reuses
 * its row buffers, and it is CPU-bound anyway). Everything a partition does (chunks, timed
 * commits, the final commit at stop) runs in that partition's lane, one thing at a time.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { UNDECODABLE_BATCH_HEADER } from '../../../../common/src/kafka-codecs.js';
import type { CrashPoints } from '../../crash-points.js';
import type { InputRecord } from '../../pipeline.js';
import { HEADERS, parseReplyHeaders, type TopicMessages } from '../../sink/messages.js';
import type { ChunkScoring, LoopStats, ScoredChunk } from '../../source/chunk-scoring.js';
import type { CommitSchedule, NextOffset } from '../../source/commit-schedule.js';
import { nowMs } from '../../telemetry/chunk-tracing.js';
import type { Delivery } from './delivery.js';

export interface ScoringLoopDeps {
  consumer: Consumer;
  topic: string;
  fromBeginning: boolean;
  maxBatch: number;
  /** Partitions whose batches are handled at the same time (kafkajs partitionsConsumedConcurrently). */
  concurrentPartitions: number;
  commits: CommitSchedule;
  chunks: ChunkScoring;
  delivery: Delivery;
  /** Awaited before a partition's batch is processed (its state must be restored). */
  beforeBatch?(partition: number, keepAlive?: () => Promise<void>): Promise<void>;
  /** State records (changelog) to deliver with a chunk's outputs. */
  stateUpdates?(partition: number): TopicMessages | undefined;
  crash?: CrashPoints;
  /**
   * Called once when a chunk fails after its features were computed (pipeline, encoding or
   * delivery). In-memory card state is then ahead of what committed, and kafkajs would retry
   * the chunk in-process against that state (double-counting its events), so the process must
   * exit and restart from the committed state. From then on every batch is refused.
   */
  onFatal?(err: Error): void;
}

/** Set once a chunk failed mid-way: the loop refuses all further work. */
interface Guard {
  failed?: Error;
}

export interface ScoringLoop {
  readonly stats: LoopStats;
  /** Stops taking batches and commits what was scored; call before the consumer leaves its group. */
  drain(): Promise<void>;
}

export async function runScoringLoop(deps: ScoringLoopDeps): Promise<ScoringLoop> {
  const loop: Loop = { deps, guard: {}, lanes: new Lanes(), draining: false };
  await deps.consumer.subscribe({ topic: deps.topic, fromBeginning: deps.fromBeginning });
  await deps.consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: deps.concurrentPartitions,
    eachBatch: (payload) => loop.lanes.run(payload.batch.partition, () => handleBatch(loop, payload)),
  });
  // A partition that stops receiving batches before its interval is up still commits.
  const timer = deps.commits.intervalMs > 0 ? setInterval(() => void commitOverdue(loop), Math.max(10, deps.commits.intervalMs / 2)) : undefined;
  timer?.unref();
  return {
    stats: deps.chunks.stats,
    async drain() {
      loop.draining = true;
      if (timer) clearInterval(timer);
      await Promise.all([...deps.commits.pending().keys()].map((p) => loop.lanes.run(p, () => commitPartition(loop, p))));
    },
  };
}

interface Loop {
  deps: ScoringLoopDeps;
  guard: Guard;
  lanes: Lanes;
  draining: boolean;
}

/** One promise chain per key: work queued on a key runs after the work before it settles. */
class Lanes {
  private readonly tails = new Map<number, Promise<unknown>>();
  run<T>(key: number, work: () => Promise<T>): Promise<T> {
    const run = (this.tails.get(key) ?? Promise.resolve()).then(work);
    this.tails.set(key, run.catch(() => {}));
    return run;
  }
}

/** A heartbeat refused because the group is rebalancing (not a failure of the chunk). */
class Rejoin extends Error {
  constructor(override readonly cause: unknown) {
    super('the group is rebalancing');
  }
}

/** Lane key of the pipeline: one chunk is scored at a time, whatever its partition. */
const SCORING = -1;

async function commitOverdue(loop: Loop): Promise<void> {
  const due = loop.deps.commits.overdue(Date.now());
  await Promise.all(due.map((p) => loop.lanes.run(p, () => commitPartition(loop, p)))).catch(() => {});
}

/** Commits a partition's scored chunks (and its changelog) when any are still uncommitted. */
async function commitPartition(loop: Loop, partition: number): Promise<void> {
  const { deps, guard } = loop;
  const next = deps.commits.pending().get(partition);
  if (!next || guard.failed) return;
  try {
    await send(loop, partition, [], next);
  } catch (err) {
    fail(loop, err);
    throw err;
  }
}

/**
 * Delivers a partition's outputs; with `commitAt`, also its changelog and its position. The
 * one place a commit happens (after a chunk, on the timer, at drain). True when it committed.
 */
async function send(loop: Loop, partition: number, outputs: TopicMessages[], commitAt?: NextOffset): Promise<boolean> {
  const { deps } = loop;
  const state = commitAt ? deps.stateUpdates?.(partition) : undefined;
  if (state) outputs.push(state);
  const committed = await deps.delivery.deliver(partition, outputs, commitAt);
  if (committed) deps.commits.committed(partition);
  return committed;
}

function fail(loop: Loop, err: unknown): void {
  // Features were computed (state advanced) but nothing is known to have committed.
  if (loop.guard.failed) return;
  loop.guard.failed = err instanceof Error ? err : new Error(String(err));
  loop.deps.onFatal?.(loop.guard.failed);
}

async function handleBatch(loop: Loop, payload: EachBatchPayload): Promise<void> {
  const { deps, guard } = loop;
  const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
  const { partition } = batch;
  if (guard.failed) throw refused(guard.failed);
  // Draining: leave the batch unresolved; whoever owns the partition next reads it again.
  if (loop.draining) return;
  await deps.beforeBatch?.(partition, heartbeat);
  const end = BigInt(batch.highWatermark);
  for (let start = 0; start < batch.messages.length; start += deps.maxBatch) {
    if (!isRunning() || isStale() || loop.draining) return;
    const chunk = batch.messages.slice(start, start + deps.maxBatch);
    const records: InputRecord[] = chunk.map((m) => ({
      partition,
      offset: m.offset,
      key: m.key,
      value: m.value,
      timestamp: m.timestamp,
      traceparent: m.headers?.traceparent?.toString(),
      reply: parseReplyHeaders(m.headers?.[HEADERS.replyPartition]?.toString(), m.headers?.[HEADERS.correlationId]?.toString()),
      // A stand-in for a record of a batch that could not be decompressed (no key, no value:
      // a producer's own header of that name on a real record changes nothing).
      undecodable: m.key === null && m.value === null ? m.headers?.[UNDECODABLE_BATCH_HEADER]?.toString() : undefined,
    }));
    const last = chunk[chunk.length - 1]!.offset;
    const next = BigInt(last) + 1n;
    let scored: ScoredChunk;
    let produceStart: number;
    let committed: boolean;
    try {
      scored = await loop.lanes.run(SCORING, async () => {
        // Before taking the CPU: let pending I/O run (other partitions' deliveries), and
        // heartbeat: kafkajs heartbeats only when asked (at most once per interval), and a few
        // slow chunks of different partitions in a row could otherwise outlast the session.
        await new Promise(setImmediate);
        await heartbeat().catch((err: unknown) => Promise.reject(new Rejoin(err)));
        return deps.chunks.score(records);
      });
      const position = { topic: batch.topic, partition, offset: next.toString() };
      const due = deps.commits.scored(position, next >= end, Date.now());
      deps.crash?.hit('mid-batch');
      produceStart = nowMs();
      committed = await send(loop, partition, scored.outputs, due ? position : undefined);
    } catch (err) {
      // The group is rebalancing: nothing of this chunk was computed; kafkajs re-joins.
      if (err instanceof Rejoin) throw err.cause;
      fail(loop, err);
      throw err;
    }
    if (committed) deps.crash?.hit('after-commit');
    // kafkajs's in-memory position: the next fetch starts after this chunk, committed or not.
    resolveOffset(last);
    deps.chunks.delivered(scored, produceStart, nowMs(), [[partition, Math.max(0, Number(end - next))]]);
    await heartbeat();
  }
}

function refused(cause: Error): Error {
  return new Error(`scoring stopped: an earlier chunk failed after its features were computed (${cause.message}); the process must restart from the committed state`);
}
