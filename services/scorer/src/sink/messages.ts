/**
 * Pipeline results → Kafka messages. Every decision goes to the decisions topic; REVIEW and
 * BLOCK also go to the flags topic; dead letters go to the DLQ; a shadow model's decision goes
 * to the shadow-decisions topic only (never to flags). Keys keep the card's order
 * (card token); headers carry the source position and the input's publish time so that
 * latency and audits need no join.
 *
 * Two headers per output (three when traced): every header costs the Kafka client per
 * record (librdkafka: ~0.7 µs each, more than the rest of a produce call), so the source
 * position and publish time travel as one `fs-source` header, `<topic>/<partition>/<offset>@<ms>`
 * (topic names cannot hold '/' or '@'), read with `parseSourceHeader`.
 *
 * Request-reply (the REST gateway, services/gateway/): an input carrying `fs-reply-partition`
 * and `fs-correlation-id` also gets its decision, or its dead letter, on the replies topic at
 * that partition, keyed and headed by the correlation id, in the same produce (the same
 * transaction under exactly-once) as its other outputs. The topic is the scorer's own setting,
 * never a header's: a producer can only pick one of its partitions.
 */
import type { Decision, DeadLetter } from '../../../common/src/contracts.js';
import type { Codec } from '../../../common/src/avro.js';
import type { PipelineResult } from '../pipeline.js';

export interface OutMessage {
  key: Buffer | string | null;
  /** null is a tombstone (compacted changelog). */
  value: Buffer | null;
  headers: Record<string, string>;
  partition?: number;
}

export interface TopicMessages {
  topic: string;
  messages: OutMessage[];
}

export interface OutputTopics {
  decisions: string;
  flags: string;
  dlq: string;
  shadowDecisions: string;
  /** Where replies go, and how many partitions it has; absent: no replies (the topic is missing). */
  replies?: { topic: string; partitions: number };
}

export interface OutputCodecs {
  decision: Codec<Decision>;
  deadLetter: Codec<DeadLetter>;
}

/** Header names shared by every producer and consumer of our topics. */
export const HEADERS = {
  /** `<topic>/<partition>/<offset>@<CreateTime ms>` of the input: end-to-end latency starts at that time. */
  source: 'fs-source',
  decision: 'fs-decision',
  errorCode: 'fs-error-code',
  traceparent: 'traceparent',
  /** On an input: which partition of the replies topic its caller reads. */
  replyPartition: 'fs-reply-partition',
  /** On an input and its reply: the caller's id for the request. */
  correlationId: 'fs-correlation-id',
  /** On a reply: `decision` or `dead-letter` (the value's schema). */
  replyKind: 'fs-reply-kind',
} as const;

/** Where a caller waits for an input's outcome (InputRecord.reply). */
export interface ReplyAddress {
  partition: number;
  correlationId: string;
}

const CORRELATION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The reply address of an input from its two headers; undefined when either is absent or not
 * well formed (a partition number, an id of 1-64 characters of [A-Za-z0-9_-]): such an input
 * is scored as any other, without a reply.
 */
export function parseReplyHeaders(partition: string | undefined, correlationId: string | undefined): ReplyAddress | undefined {
  if (partition === undefined || correlationId === undefined || !/^\d{1,6}$/.test(partition) || !CORRELATION_ID.test(correlationId)) return undefined;
  return { partition: Number(partition), correlationId };
}

/** The input an output came from, as its `fs-source` header says. */
export interface SourceHeader {
  topic: string;
  partition: number;
  offset: string;
  /** The input's CreateTime, epoch ms. */
  timestamp: number;
}

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

const SOURCE_HEADER = /^([^/@]+)\/(\d+)\/(\d+)@(-?\d+)$/;

/** Reads an `fs-source` header; undefined when absent or malformed. */
export function parseSourceHeader(text: string | undefined): SourceHeader | undefined {
  const m = text ? SOURCE_HEADER.exec(text) : null;
  return m ? { topic: m[1]!, partition: Number(m[2]), offset: m[3]!, timestamp: Number(m[4]) } : undefined;
}

/**
 * @param traceparentOf the W3C traceparent for result i's outputs (its scoring span), if any.
 */
export function toMessages(
  results: readonly PipelineResult[],
  topics: OutputTopics,
  codecs: OutputCodecs,
  traceparentOf?: (i: number) => string | undefined,
): TopicMessages[] {
  const decisions: OutMessage[] = [];
  const flags: OutMessage[] = [];
  const dlq: OutMessage[] = [];
  const shadow: OutMessage[] = [];
  const replies: OutMessage[] = [];
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    const topic = r.kind === 'decision' ? r.decision.source.topic : r.deadLetter.source.topic;
    const headers: Record<string, string> = { [HEADERS.source]: `${topic}/${r.record.partition}/${r.record.offset}@${r.record.timestamp}` };
    const traceparent = traceparentOf?.(i);
    if (traceparent) headers[HEADERS.traceparent] = traceparent;
    const reply = r.record.reply && topics.replies && r.record.reply.partition < topics.replies.partitions ? r.record.reply : undefined;
    if (r.kind === 'decision') {
      headers[HEADERS.decision] = r.decision.decision;
      const msg: OutMessage = { key: r.decision.cardToken, value: codecs.decision.encode(r.decision), headers };
      if (reply) replies.push(replyOf(reply, msg.value, 'decision', headers));
      decisions.push(msg);
      if (r.decision.decision !== 'ALLOW') flags.push(msg);
      // A shadow decision carries no header: each header costs the client per record (the
      // shadow doubles the records written), and its readers (analysis, the monitor) find the
      // source position and the decision in the value; latency is the real decision's.
      if (r.shadow) shadow.push({ key: r.shadow.cardToken, value: codecs.decision.encode(r.shadow), headers: NO_HEADERS });
    } else {
      headers[HEADERS.errorCode] = r.deadLetter.errorCode;
      const msg: OutMessage = { key: r.safeKey, value: codecs.deadLetter.encode(r.deadLetter), headers };
      dlq.push(msg);
      if (reply) replies.push(replyOf(reply, msg.value, 'dead-letter', headers));
    }
  }
  const out: TopicMessages[] = [];
  if (decisions.length) out.push({ topic: topics.decisions, messages: decisions });
  if (flags.length) out.push({ topic: topics.flags, messages: flags });
  if (dlq.length) out.push({ topic: topics.dlq, messages: dlq });
  if (shadow.length) out.push({ topic: topics.shadowDecisions, messages: shadow });
  if (replies.length && topics.replies) out.push({ topic: topics.replies.topic, messages: replies });
  return out;
}

/** A reply: the output's own bytes, at the caller's partition, keyed by its correlation id. */
function replyOf(to: ReplyAddress, value: Buffer | null, kind: 'decision' | 'dead-letter', headers: Record<string, string>): OutMessage {
  return { key: to.correlationId, value, partition: to.partition, headers: { ...headers, [HEADERS.correlationId]: to.correlationId, [HEADERS.replyKind]: kind } };
}
