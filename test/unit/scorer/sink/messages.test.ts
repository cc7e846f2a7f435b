import { describe, expect, it } from 'vitest';
import { createCodecs, type DeadLetter, type Decision, type Outcome } from '../../../../services/common/src/contracts.js';
import { containsPanLike } from '../../../../services/scorer/src/decode/pan.js';
import { createPipeline, type InputRecord, type PipelineResult } from '../../../../services/scorer/src/pipeline.js';
import { HEADERS, parseReplyHeaders, parseSourceHeader, toMessages, type OutMessage, type TopicMessages } from '../../../../services/scorer/src/sink/messages.js';
import { TEST_PAN } from '../../../../services/simulator/src/poison.js';

const TOPICS = { decisions: 'out-decisions', flags: 'out-flags', dlq: 'out-dlq', shadowDecisions: 'out-shadow' };
const codecs = createCodecs('confluent');
const T = Date.UTC(2024, 5, 1);

const record = (offset: number, key: string | null = 'card-000001'): InputRecord =>
  ({ partition: 2, offset: String(offset), key: key === null ? null : Buffer.from(key), value: Buffer.from([0, 0, 0, 0, 1]), timestamp: String(T + offset) });

function decided(offset: number, decision: Outcome, cardToken = `card-${offset}`): PipelineResult {
  const d: Decision = {
    transactionId: `tx-${offset}`, cardToken, score: decision === 'ALLOW' ? 0.1 : 0.9, decision, reasons: decision === 'ALLOW' ? [] : ['X'],
    model: { name: 'm', version: '1', digest: 'a'.repeat(64) }, policyVersion: 'p1', eventTime: T, scoredAt: T + 1,
    source: { topic: 'transactions', partition: 2, offset }, featureSetVersion: 'f1', features: [1, 2], role: 'CHAMPION', deploymentRevision: 4,
  };
  return { kind: 'decision', record: record(offset), decision: d };
}

function deadLettered(offset: number, errorCode: string, safeKey: Buffer | null): PipelineResult {
  const dl: DeadLetter = { errorCode, reason: 'r', retryable: false, source: { topic: 'transactions', partition: 2, offset }, payload: null, failedAt: T };
  return { kind: 'dead-letter', record: record(offset, TEST_PAN), deadLetter: dl, safeKey };
}

/** Our outputs are never tombstones. */
const valueOf = (m: OutMessage): Buffer => m.value ?? expect.fail('unexpected null value');
const topicOf = (out: TopicMessages[], topic: string): OutMessage[] => out.find((t) => t.topic === topic)?.messages ?? [];
const txIds = (msgs: OutMessage[]): string[] => msgs.map((m) => codecs.decision.decode(valueOf(m)).transactionId);

describe('toMessages routing', () => {
  const results = [decided(10, 'ALLOW'), decided(11, 'REVIEW'), deadLettered(12, 'MALFORMED_AVRO', Buffer.from('card-12')), decided(13, 'BLOCK'), decided(14, 'ALLOW')];
  const out = toMessages(results, TOPICS, codecs);

  it('every decision goes to decisions, in input order', () => {
    expect(txIds(topicOf(out, TOPICS.decisions))).toEqual(['tx-10', 'tx-11', 'tx-13', 'tx-14']);
  });

  it('only REVIEW and BLOCK also go to flags, with the same key, value and headers', () => {
    const flags = topicOf(out, TOPICS.flags);
    expect(txIds(flags)).toEqual(['tx-11', 'tx-13']);
    const decisions = topicOf(out, TOPICS.decisions);
    expect(flags[0]).toEqual(decisions[1]);
    expect(flags[1]).toEqual(decisions[2]);
    expect(flags.map((m) => m.headers[HEADERS.decision])).toEqual(['REVIEW', 'BLOCK']);
  });

  it('dead letters go only to the DLQ', () => {
    const dlq = topicOf(out, TOPICS.dlq);
    expect(dlq).toHaveLength(1);
    expect(codecs.deadLetter.decode(valueOf(dlq[0]!)).source.offset).toBe(12);
    expect(out.map((t) => t.messages.length).reduce((a, b) => a + b)).toBe(4 + 2 + 1);
  });

  it('lists topics decisions, flags, dlq and leaves out empty ones', () => {
    expect(out.map((t) => t.topic)).toEqual([TOPICS.decisions, TOPICS.flags, TOPICS.dlq]);
    expect(toMessages([decided(1, 'ALLOW')], TOPICS, codecs).map((t) => t.topic)).toEqual([TOPICS.decisions]);
    expect(toMessages([deadLettered(1, 'INVALID_ID', null)], TOPICS, codecs).map((t) => t.topic)).toEqual([TOPICS.dlq]);
    expect(toMessages([], TOPICS, codecs)).toEqual([]);
  });
});

describe('the fs-source header', () => {
  it('round-trips, and anything else reads as absent', () => {
    expect(parseSourceHeader('my.topic_v2/11/9007199254740993@1764370000000')).toEqual({ topic: 'my.topic_v2', partition: 11, offset: '9007199254740993', timestamp: 1764370000000 });
    for (const bad of [undefined, '', 'transactions/1/2', 'transactions/x/2@3', 'a/b/1/2@3', 'transactions/1/2@']) expect(parseSourceHeader(bad)).toBeUndefined();
  });
});

describe('toMessages keys, values and headers', () => {
  it('a decision is keyed by card token, carries source headers and its outcome, no error code', () => {
    const [decisions] = toMessages([decided(42, 'BLOCK', 'card-000777')], TOPICS, codecs);
    const m = decisions!.messages[0]!;
    expect(m.key).toBe('card-000777');
    expect(m.headers).toEqual({
      [HEADERS.source]: `transactions/2/42@${T + 42}`,
      [HEADERS.decision]: 'BLOCK',
    });
    expect(parseSourceHeader(m.headers[HEADERS.source])).toEqual({ topic: 'transactions', partition: 2, offset: '42', timestamp: T + 42 });
    expect(valueOf(m)[0]).toBe(0);
    expect(valueOf(m).readUInt32BE(1)).toBe(5); // Decision version 2 (schemas/ids.json)
    expect(codecs.decision.decode(valueOf(m)).cardToken).toBe('card-000777');
  });

  it('a dead letter carries fs-error-code and source headers, no decision header', () => {
    const [dlq] = toMessages([deadLettered(7, 'PAN_LIKE_VALUE', null)], TOPICS, codecs);
    const m = dlq!.messages[0]!;
    expect(m.headers).toEqual({
      'fs-source': `transactions/2/7@${T + 7}`,
      'fs-error-code': 'PAN_LIKE_VALUE',
    });
    expect(valueOf(m).readUInt32BE(1)).toBe(4);
    expect(codecs.deadLetter.decode(valueOf(m))).toMatchObject({ errorCode: 'PAN_LIKE_VALUE', source: { topic: 'transactions', partition: 2, offset: 7 } });
  });

  it('a dead letter uses the safe key, never the raw input key', () => {
    const [withKey] = toMessages([deadLettered(1, 'INVALID_ID', Buffer.from('card-000001'))], TOPICS, codecs);
    expect(withKey!.messages[0]!.key?.toString()).toBe('card-000001');
    const [withheld] = toMessages([deadLettered(2, 'PAN_LIKE_VALUE', null)], TOPICS, codecs);
    expect(withheld!.messages[0]!.key).toBeNull();
  });

  it('end to end from the pipeline: a PAN-like key is not copied and nothing sent holds the PAN', async () => {
    const pipeline = createPipeline({
      topic: 'transactions',
      codec: codecs.transaction,
      limits: { maxFutureSkewMs: 0, maxAmountMinor: 1 },
      featuresFor: () => ({ width: 0, featureSetVersion: 'f', compute: () => {} }),
      serving: () => expect.fail('no model call expected'),
      clock: () => T,
    });
    const input: InputRecord[] = [
      { partition: 0, offset: '5', key: Buffer.from(`4111-1111-1111-1111`), value: Buffer.from(`pan=${TEST_PAN}`), timestamp: '1' },
      { partition: 0, offset: '6', key: Buffer.from('card-000009'), value: Buffer.from('junk'), timestamp: '2' },
    ];
    const results = await pipeline.process(input);
    const [dlq] = toMessages(results, TOPICS, codecs);
    expect(dlq!.topic).toBe(TOPICS.dlq);
    const [first, second] = dlq!.messages;
    expect(first!.key).toBeNull();
    expect(second!.key?.toString()).toBe('card-000009');
    expect(first!.headers[HEADERS.errorCode]).toBe('BAD_MAGIC_BYTE');
    for (const m of dlq!.messages) {
      expect(containsPanLike(valueOf(m).toString('latin1'))).toBe(false);
      expect(Object.values(m.headers).some(containsPanLike)).toBe(false);
    }
    expect(codecs.deadLetter.decode(valueOf(second!)).payload?.toString()).toBe('junk');
  });
});

describe('toMessages: shadow decisions', () => {
  it('go to the shadow topic only (never to flags), keyed by card, without headers (the source is in the value)', () => {
    const real = decided(20, 'ALLOW', 'card-20');
    const shadow = { ...(real as Extract<PipelineResult, { kind: 'decision' }>).decision, decision: 'BLOCK' as const, role: 'SHADOW' as const, score: 0.99 };
    const out = toMessages([{ ...real, shadow } as PipelineResult], TOPICS, codecs);
    expect(out.map((t) => [t.topic, t.messages.length])).toEqual([[TOPICS.decisions, 1], [TOPICS.shadowDecisions, 1]]);
    const m = topicOf(out, TOPICS.shadowDecisions)[0]!;
    expect(m.key).toBe('card-20');
    expect(m.headers).toEqual({});
    expect(codecs.decision.decode(valueOf(m)).source).toEqual({ topic: 'transactions', partition: 2, offset: 20 });
    expect(codecs.decision.decode(valueOf(m))).toMatchObject({ role: 'SHADOW', decision: 'BLOCK', transactionId: 'tx-20' });
  });
});

describe('toMessages: replies to synchronous callers (request-reply)', () => {
  const REPLIES = { ...TOPICS, replies: { topic: 'out-replies', partitions: 4 } };
  const withReply = (r: PipelineResult, partition: number, correlationId: string): PipelineResult => ({ ...r, record: { ...r.record, reply: { partition, correlationId } } });

  it('a decision and a dead letter with a reply address also go to the replies topic, at that partition, keyed and headed by the correlation id', () => {
    const out = toMessages([withReply(decided(1, 'BLOCK'), 3, 'req-a'), decided(2, 'ALLOW'), withReply(deadLettered(3, 'MALFORMED_AVRO', null), 0, 'req-b')], REPLIES, codecs);
    const replies = topicOf(out, 'out-replies');
    expect(replies.map((m) => [m.partition, m.key, m.headers[HEADERS.correlationId], m.headers[HEADERS.replyKind]])).toEqual([
      [3, 'req-a', 'req-a', 'decision'],
      [0, 'req-b', 'req-b', 'dead-letter'],
    ]);
    // The same bytes as the decision and the dead letter on their own topics.
    expect(replies[0]!.value).toEqual(topicOf(out, TOPICS.decisions)[0]!.value);
    expect(replies[1]!.value).toEqual(topicOf(out, TOPICS.dlq)[0]!.value);
    expect(replies[0]!.headers[HEADERS.source]).toBe(topicOf(out, TOPICS.decisions)[0]!.headers[HEADERS.source]);
  });

  it('no replies topic, or a partition it does not have: no reply, the decision as ever', () => {
    const r = withReply(decided(1, 'REVIEW'), 4, 'req-a');
    expect(toMessages([r], TOPICS, codecs).map((t) => t.topic)).toEqual([TOPICS.decisions, TOPICS.flags]);
    expect(toMessages([r], REPLIES, codecs).map((t) => t.topic)).toEqual([TOPICS.decisions, TOPICS.flags]);
  });

  it('reply headers: a partition number and an id of 1-64 [A-Za-z0-9_-], else no reply address', () => {
    expect(parseReplyHeaders('2', 'abc-DEF_09')).toEqual({ partition: 2, correlationId: 'abc-DEF_09' });
    for (const [p, id] of [[undefined, 'a'], ['1', undefined], ['-1', 'a'], ['1.5', 'a'], ['x', 'a'], ['1', ''], ['1', 'a b'], ['1', 'x'.repeat(65)], ['1', 'a/b']] as const) {
      expect(parseReplyHeaders(p, id), `${p} ${id}`).toBeUndefined();
    }
  });
});
