/**
 * One chunk of input records in, one output per record out: decode → features → model →
 * decide. Every input yields exactly one result, a decision or a dead letter, in input order;
 * that is what lets "nothing lost" be proven by set algebra over source offsets.
 *
 * No kafkajs here: records come in as plain values and results go out as plain values. The
 * only effect is the feature state update inside `features.compute` (and the model call).
 */
import type { ReplyAddress } from './sink/messages.js';
import type { Codec } from '../../common/src/avro.js';
import type { Decision, DeadLetter, SourceRef, Transaction } from '../../common/src/contracts.js';
import { decodeTransaction, type DecodeLimits } from './decode/transaction.js';
import { bytesContainPanLike, redactPanLike } from './decode/pan.js';
import { InputError } from './errors.js';
import type { Model } from './model/load.js';
import { inCanary } from './deployment/canary.js';
import type { Arm, Serving } from './deployment/serving.js';

/** A consumed record, independent of the Kafka client. */
export interface InputRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Producer CreateTime, epoch ms as text (kafkajs's form). */
  timestamp: string;
  /** W3C traceparent header of the input, if any (untrusted: parsed by the propagator only). */
  traceparent?: string;
  /** Where a synchronous caller waits for this input's outcome (sink/messages.ts parseReplyHeaders). */
  reply?: ReplyAddress;
  /**
   * Set when the record stands for one of a compressed batch the client could not decompress
   * (the `fs-undecodable-batch` header of services/common/src/kafka-codecs.ts): the reason.
   * Such a record has no key or value; it is dead-lettered as UNDECODABLE_BATCH.
   */
  undecodable?: string;
}

/** Computes the model-input vector for one transaction, updating whatever state it keeps. */
export interface FeatureComputer {
  readonly width: number;
  readonly featureSetVersion: string;
  /** Writes `width` values for tx at out[offset…]; called once per transaction, in input order. */
  compute(tx: Transaction, out: Float64Array, offset: number): void;
}

export type PipelineResult =
  | { kind: 'decision'; record: InputRecord; decision: Decision; /** The shadow model's decision, when one is deployed. */ shadow?: Decision }
  | { kind: 'dead-letter'; record: InputRecord; deadLetter: DeadLetter; safeKey: Buffer | null };

export interface PipelineDeps {
  topic: string;
  codec: Codec<Transaction>;
  /**
   * With a schema registry: fetches the writer schemas the chunk's records name that are not
   * cached yet (within a bound), so the synchronous decode below finds them; undefined when
   * every one is cached. Without one, absent.
   */
  prepare?(records: readonly InputRecord[]): Promise<void> | undefined;
  limits: DecodeLimits;
  /** Features for a partition: card state is partition-local. */
  featuresFor(partition: number): FeatureComputer;
  /** The deployment revision in force: read once per chunk, so a chunk is scored by one revision. */
  serving: () => Serving;
  clock: () => number;
  /** Put the model-input vector into each Decision (default true; false: an empty array). */
  decisionFeatures?: boolean;
}

/**
 * Where a chunk's time went, filled in by `process` when the caller passes one (telemetry
 * reuses a single instance, so timing costs no allocation per chunk).
 */
export interface ChunkTiming {
  /** Epoch ms when processing began. */
  startedAt: number;
  /** Per record, in input order: ms spent decoding and computing features. */
  decodeMs: number[];
  featuresMs: number[];
  /** Chunk-wide: the model calls (champion, canary, shadow), and the decision policy over the chunk. */
  inferenceMs: number;
  decideMs: number;
}

export function newChunkTiming(): ChunkTiming {
  return { startedAt: 0, decodeMs: [], featuresMs: [], inferenceMs: 0, decideMs: 0 };
}

export interface Pipeline {
  process(records: readonly InputRecord[], timing?: ChunkTiming): Promise<PipelineResult[]>;
}

const NO_FEATURES: number[] = [];

export function createPipeline(deps: PipelineDeps): Pipeline {
  const withFeatures = deps.decisionFeatures ?? true;
  let rows64 = new Float64Array(0);
  let rows32 = new Float32Array(0);
  let subRows = new Float32Array(0);

  /** Scores rows `idx` (of rows32) with `model` into scores[idx]; one model call. */
  async function scoreRows(model: Model, idx: readonly number[], width: number, n: number, scores: Float32Array): Promise<void> {
    if (idx.length === 0) return;
    if (idx.length === n) {
      scores.set(await model.score(rows32, n));
      return;
    }
    if (subRows.length < idx.length * width) subRows = new Float32Array(rows32.length);
    for (let j = 0; j < idx.length; j++) subRows.set(rows32.subarray(idx[j]! * width, (idx[j]! + 1) * width), j * width);
    const out = await model.score(subRows, idx.length);
    for (let j = 0; j < idx.length; j++) scores[idx[j]!] = out[j]!;
  }

  return {
    async process(records, timing) {
      const fetching = deps.prepare?.(records);
      if (fetching) await fetching;
      const now = deps.clock();
      if (timing) {
        timing.startedAt = performance.timeOrigin + performance.now();
        timing.decodeMs.length = records.length;
        timing.featuresMs.length = records.length;
        timing.inferenceMs = 0;
        timing.decideMs = 0;
      }
      const results: PipelineResult[] = new Array(records.length);
      const scoredIdx: number[] = [];
      const txs: Transaction[] = [];
      // A chunk may hold several partitions' records (one model call for all of them); each
      // record's features come from its own partition's state.
      let partition = records.length ? records[0]!.partition : -1;
      let features = records.length ? deps.featuresFor(partition) : undefined;
      const width = features?.width ?? 0;
      const featureSetVersion = features?.featureSetVersion ?? '';
      if (rows64.length < records.length * width) {
        rows64 = new Float64Array(records.length * width);
        rows32 = new Float32Array(records.length * width);
      }

      for (let i = 0; i < records.length; i++) {
        const record = records[i]!;
        if (record.partition !== partition) features = deps.featuresFor((partition = record.partition));
        const t0 = performance.now();
        let t1 = t0;
        try {
          if (record.undecodable !== undefined) throw new InputError('UNDECODABLE_BATCH', `record batch could not be decompressed: ${record.undecodable}`);
          const tx = decodeTransaction(record.value, deps.codec, deps.limits, now);
          t1 = performance.now();
          features!.compute(tx, rows64, txs.length * width);
          if (timing) {
            timing.decodeMs[i] = t1 - t0;
            timing.featuresMs[i] = performance.now() - t1;
          }
          scoredIdx.push(i);
          txs.push(tx);
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          results[i] = deadLetter(deps.topic, record, err, now);
          if (timing) {
            timing.decodeMs[i] = performance.now() - t0;
            timing.featuresMs[i] = 0;
          }
        }
      }
      if (txs.length === 0) return results;

      const n = txs.length;
      for (let j = 0; j < n * width; j++) rows32[j] = rows64[j]!;
      const serving = deps.serving();
      const { champion, canary, shadow } = serving;
      const tInference = performance.now();
      // Which arm decides each event: the canary for the cards in its share, else the champion.
      const scores = new Float32Array(n);
      const byCanary = canary ? new Uint8Array(n) : undefined;
      if (canary && byCanary) {
        const championIdx: number[] = [];
        const canaryIdx: number[] = [];
        for (let k = 0; k < n; k++) {
          if (inCanary(txs[k]!.cardToken, canary.sharePercent)) {
            byCanary[k] = 1;
            canaryIdx.push(k);
          } else championIdx.push(k);
        }
        await scoreRows(champion.model, championIdx, width, n, scores);
        await scoreRows(canary.model, canaryIdx, width, n, scores);
      } else {
        scores.set(await champion.model.score(rows32, n));
      }
      const shadowScores = shadow ? await shadow.model.score(rows32, n) : undefined;
      const tDecide = performance.now();
      const scoredAt = deps.clock();
      const decisionOf = (arm: Arm, k: number, tx: Transaction, record: InputRecord, score: number, features: number[]): Decision => {
        const verdict = arm.policy.decide(score, rows32, k * width);
        return {
          transactionId: tx.transactionId,
          cardToken: tx.cardToken,
          score,
          decision: verdict.decision,
          reasons: verdict.reasons,
          model: arm.model.ref,
          policyVersion: arm.policy.version,
          eventTime: tx.eventTime,
          scoredAt,
          source: sourceOf(deps.topic, record),
          featureSetVersion,
          features,
          role: arm.role,
          deploymentRevision: serving.revision,
        };
      };
      for (let k = 0; k < n; k++) {
        const tx = txs[k]!;
        const record = records[scoredIdx[k]!]!;
        const features = withFeatures ? Array.from(rows64.subarray(k * width, (k + 1) * width)) : NO_FEATURES;
        const arm = byCanary?.[k] ? canary! : champion;
        const decision = decisionOf(arm, k, tx, record, scores[k]!, features);
        results[scoredIdx[k]!] = shadow && shadowScores
          ? { kind: 'decision', record, decision, shadow: decisionOf(shadow, k, tx, record, shadowScores[k]!, features) }
          : { kind: 'decision', record, decision };
      }
      if (timing) {
        timing.inferenceMs = tDecide - tInference;
        timing.decideMs = performance.now() - tDecide;
      }
      return results;
    },
  };
}

function sourceOf(topic: string, record: InputRecord): SourceRef {
  return { topic, partition: record.partition, offset: Number(record.offset) };
}

/**
 * The original bytes travel with the dead letter so it can be replayed after a fix, unless
 * they hold a PAN-like digit run: then they are withheld, and the source reference still
 * points at the original record.
 */
function deadLetter(topic: string, record: InputRecord, err: InputError, now: number): PipelineResult {
  const unsafePayload = record.value !== null && bytesContainPanLike(record.value);
  const safeKey = record.key && !bytesContainPanLike(record.key) ? record.key : null;
  return {
    kind: 'dead-letter',
    record,
    safeKey,
    deadLetter: {
      errorCode: err.code,
      reason: redactPanLike(err.message) + (unsafePayload ? ' (payload withheld: it contains a PAN-like digit run)' : ''),
      retryable: err.retryable,
      source: sourceOf(topic, record),
      payload: unsafePayload ? null : record.value,
      failedAt: now,
    },
  };
}
