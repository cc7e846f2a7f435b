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
} as const;

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
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    const topic = r.kind === 'decision' ? r.decision.source.topic : r.deadLetter.source.topic;
    const headers: Record<string, string> = { [HEADERS.source]: `${topic}/${r.record.partition}/${r.record.offset}@${r.record.timestamp}` };
    const traceparent = traceparentOf?.(i);
    if (traceparent) headers[HEADERS.traceparent] = traceparent;
    if (r.kind === 'decision') {
      headers[HEADERS.decision] = r.decision.decision;
      const msg: OutMessage = { key: r.decision.cardToken, value: codecs.decision.encode(r.decision), headers };
      decisions.push(msg);
      if (r.decision.decision !== 'ALLOW') flags.push(msg);
      // A shadow decision carries no header: each header costs the client per record (the
      // shadow doubles the records written), and its readers (analysis, the monitor) find the
      // source position and the decision in the value; latency is the real decision's.
      if (r.shadow) shadow.push({ key: r.shadow.cardToken, value: codecs.decision.encode(r.shadow), headers: NO_HEADERS });
    } else {
      headers[HEADERS.errorCode] = r.deadLetter.errorCode;
      dlq.push({ key: r.safeKey, value: codecs.deadLetter.encode(r.deadLetter), headers });
    }
  }
  const out: TopicMessages[] = [];
  if (decisions.length) out.push({ topic: topics.decisions, messages: decisions });
  if (flags.length) out.push({ topic: topics.flags, messages: flags });
  if (dlq.length) out.push({ topic: topics.dlq, messages: dlq });
  if (shadow.length) out.push({ topic: topics.shadowDecisions, messages: shadow });
  return out;
}
