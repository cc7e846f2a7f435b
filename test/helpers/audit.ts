/**
 * "Nothing lost, nothing duplicated", proven by set algebra over source offsets (KAFKA-NOTES,
 * "Proving nothing lost"). After a run:
 *
 *   inputs    = every (partition, offset) of the transactions topic in [start, end)
 *   outputs   = decisions ∪ dead letters, read COMMITTED from the earliest offset up to the
 *               last stable offset, each mapped to its source (partition, offset)
 *   lost      = inputs without an output
 *   duplicate = inputs with more than one output
 *   aborted   = outputs the read-committed reader returned although their transaction was
 *               aborted (or is still open)
 *
 * Which transaction an output belongs to, and how it ended, is established independently of
 * the read-committed reader: a READ-UNCOMMITTED reader sees every data record and every
 * control record (commit / abort marker) and replays the markers per producer id. Its view
 * also counts the aborted copies a crash left behind, so a test can demand they exist where
 * a crash must have left some (otherwise an audit that never sees aborted data proves
 * nothing). The flags topic is held to the same rules: exactly the non-ALLOW decisions.
 */
import { randomUUID } from 'node:crypto';
import type { Batch, Kafka, KafkaMessage } from 'kafkajs';
import type { Codecs, Decision, DeadLetter } from '../../services/common/src/contracts.js';
import { HEADERS, parseSourceHeader } from '../../services/scorer/src/sink/messages.js';

export interface AuditTopics {
  transactions: string;
  decisions: string;
  dlq: string;
  flags?: string;
}

/** Where a record sits. */
export interface Position {
  topic: string;
  partition: number;
  offset: string;
}

/** An input position: partition and offset of the transactions topic. */
export interface SourcePosition {
  partition: number;
  offset: string;
}

export type TxnOutcome = 'committed' | 'aborted' | 'open' | 'non-transactional';

export interface OutputRecord extends Position {
  kind: 'decision' | 'flag' | 'dead-letter';
  source: SourcePosition & { topic: string };
  decision?: Decision;
  deadLetter?: DeadLetter;
  /** How its transaction ended, from the read-uncommitted replay of markers. */
  txn: TxnOutcome;
}

export interface Range {
  partition: number;
  /** Inclusive. */
  from: string;
  /** Inclusive. */
  to: string;
  count: number;
}

export interface AuditReport {
  /** [start, end) of the transactions topic, per partition. */
  inputRanges: Record<number, { start: string; end: string }>;
  inputs: number;
  decisions: number;
  deadLetters: number;
  flags: number;
  /** Inputs with no decision or dead letter; consecutive offsets merged into ranges. */
  lost: Range[];
  lostCount: number;
  /** Inputs with more than one decision/dead letter. */
  duplicate: { source: SourcePosition; outputs: Position[] }[];
  /** Outputs the read-committed reader returned whose transaction was aborted or is open. */
  abortedRead: (Position & { source: SourcePosition; txn: TxnOutcome })[];
  /** Outputs whose source is not an input of [start, end), or names another topic. */
  foreign: (Position & { source: SourcePosition & { topic: string } })[];
  /** Outputs whose fs-source header disagrees with the source in their value. */
  headerMismatch: Position[];
  /** Committed outputs (per the markers) that the read-committed reader did not return. */
  committedUnread: Position[];
  /** Flags that are not exactly the committed non-ALLOW decisions (missing, extra, doubled). */
  flagProblems: string[];
  /** Copies the read-uncommitted reader saw in aborted transactions, per output topic. */
  abortedCopies: number;
  abortedCopiesByTopic: Record<string, number>;
  /** Records in transactions with no marker yet (should be 0 once scorers are stopped). */
  openRecords: number;
  /** Per output topic and partition: offset the committed reader stopped at (the LSO). */
  lastStable: Record<string, Record<number, string>>;
  /** The committed decisions, one per input (the first when duplicated), for feature checks. */
  committedDecisions: Decision[];
  committedDeadLetters: DeadLetter[];
  ok: boolean;
}

/** kafkajs's Batch holds the records before it filters control and aborted ones. */
type RawRecord = KafkaMessage & { isControlRecord?: boolean; batchContext?: { producerId: string; inTransaction: boolean; isControlBatch?: boolean } };
const rawRecordsOf = (batch: Batch): RawRecord[] => (batch as unknown as { messagesWithinOffset?: RawRecord[] }).messagesWithinOffset ?? (batch.messages as RawRecord[]);

interface ReadResult {
  /** Data records returned to the application (control records excluded). */
  records: (KafkaMessage & { partition: number; txn: TxnOutcome })[];
  /** Where reading stopped per partition (next offset). */
  positions: Map<number, bigint>;
}

/** End offsets per partition as the admin client reports them (read-committed: the LSO). */
export async function stableEndOffsets(kafka: Kafka, topic: string): Promise<Map<number, { low: bigint; high: bigint }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await retry(() => admin.fetchTopicOffsets(topic));
    return new Map(offsets.map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads a whole topic from the beginning. read-committed: until every partition reached its
 * last stable offset. read-uncommitted: until every partition reached its high watermark
 * (taken from the fetch responses), replaying transaction markers to classify each record.
 */
export async function readAll(kafka: Kafka, topic: string, opts: { readUncommitted: boolean; timeoutMs?: number }): Promise<ReadResult> {
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const stable = await stableEndOffsets(kafka, topic);
  const targets = new Map<number, bigint>();
  for (const [p, { high }] of stable) targets.set(p, high);
  const positions = new Map<number, bigint>();
  for (const [p, { low }] of stable) positions.set(p, low);
  const records: ReadResult['records'] = [];
  // Per partition: producer id -> records of its open transaction (replayed by markers).
  const pendingByPartition = new Map<number, Map<string, ReadResult['records']>>();

  const done = () => [...targets].every(([p, target]) => (positions.get(p) ?? 0n) >= target);
  // read-committed: the LSO is known up front. read-uncommitted: the high watermark is learnt
  // from fetch responses, so reaching the targets counts only after a quiet spell.
  if (!opts.readUncommitted && done()) return { records, positions };
  let lastBatchAt = Date.now();
  let closed = false;

  const consumer = kafka.consumer({ groupId: `audit-${randomUUID()}`, readUncommitted: opts.readUncommitted, maxWaitTimeInMs: 250 });
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const partition = batch.partition;
        if (opts.readUncommitted) {
          // The high watermark can only have grown since the admin call: follow it.
          const hw = BigInt(batch.highWatermark);
          if (hw > (targets.get(partition) ?? 0n)) targets.set(partition, hw);
          let pending = pendingByPartition.get(partition);
          if (!pending) pendingByPartition.set(partition, (pending = new Map()));
          for (const m of rawRecordsOf(batch)) {
            const ctx = m.batchContext;
            if (m.isControlRecord) {
              const type = m.key && m.key.length >= 4 ? m.key.readInt16BE(2) : -1;
              const open = ctx ? pending.get(ctx.producerId) : undefined;
              if (open) for (const r of open) r.txn = type === 1 ? 'committed' : 'aborted';
              if (ctx) pending.delete(ctx.producerId);
              continue;
            }
            const rec = { ...m, partition, txn: (ctx?.inTransaction ? 'open' : 'non-transactional') as TxnOutcome };
            records.push(rec);
            if (ctx?.inTransaction) {
              const list = pending.get(ctx.producerId) ?? [];
              list.push(rec);
              pending.set(ctx.producerId, list);
            }
          }
        } else {
          for (const m of batch.messages) records.push({ ...m, partition, txn: 'committed' });
        }
        const next = BigInt(batch.lastOffset()) + 1n;
        if (next > (positions.get(partition) ?? 0n)) positions.set(partition, next);
        lastBatchAt = Date.now();
        if (!opts.readUncommitted && done()) finish();
      },
    });
    if (opts.readUncommitted) {
      void (async () => {
        while (!closed && !(done() && Date.now() - lastBatchAt > 1_000)) await sleep(200);
        finish();
      })();
    }
    const timedOut = await Promise.race([finished.then(() => false), sleep(timeoutMs).then(() => true)]);
    if (timedOut) {
      const behind = [...targets].filter(([p, t]) => (positions.get(p) ?? 0n) < t).map(([p, t]) => `p${p}: at ${positions.get(p)} of ${t}`);
      throw new Error(`audit reader (${opts.readUncommitted ? 'read-uncommitted' : 'read-committed'}) of ${topic} did not reach the end in ${timeoutMs} ms: ${behind.join(', ')}`);
    }
  } finally {
    closed = true;
    await consumer.disconnect();
  }
  return { records, positions };
}

/** How the transactions of a topic's records ended, by a read-uncommitted replay of the markers. */
export async function transactionOutcomes(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<Record<TxnOutcome, number>> {
  const counts: Record<TxnOutcome, number> = { committed: 0, aborted: 0, open: 0, 'non-transactional': 0 };
  for (const r of (await readAll(kafka, topic, { readUncommitted: true, timeoutMs })).records) counts[r.txn]++;
  return counts;
}

const key = (p: { topic: string; partition: number; offset: string }) => `${p.topic}/${p.partition}/${p.offset}`;
const srcKey = (s: SourcePosition) => `${s.partition}/${s.offset}`;

function decodeOutputs(topic: string, kind: OutputRecord['kind'], read: ReadResult, codecs: Codecs): { outputs: OutputRecord[]; headerMismatch: Position[] } {
  const outputs: OutputRecord[] = [];
  const headerMismatch: Position[] = [];
  for (const r of read.records) {
    const pos = { topic, partition: r.partition, offset: r.offset };
    let source: SourcePosition & { topic: string };
    let decision: Decision | undefined;
    let deadLetter: DeadLetter | undefined;
    if (kind === 'dead-letter') {
      deadLetter = codecs.deadLetter.decode(r.value!);
      source = { topic: deadLetter.source.topic, partition: deadLetter.source.partition, offset: String(deadLetter.source.offset) };
    } else {
      decision = codecs.decision.decode(r.value!);
      source = { topic: decision.source.topic, partition: decision.source.partition, offset: String(decision.source.offset) };
    }
    const h = (name: string) => r.headers?.[name]?.toString();
    const header = parseSourceHeader(h(HEADERS.source));
    if (header?.partition !== source.partition || header.offset !== source.offset || header.topic !== source.topic) headerMismatch.push(pos);
    outputs.push({ ...pos, kind, source, decision, deadLetter, txn: r.txn });
  }
  return { outputs, headerMismatch };
}

/** Merges sorted offsets of one partition into inclusive ranges. */
function toRanges(partition: number, offsets: bigint[]): Range[] {
  const out: Range[] = [];
  for (const o of offsets.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const last = out.at(-1);
    if (last && BigInt(last.to) + 1n === o) {
      last.to = String(o);
      last.count++;
    } else out.push({ partition, from: String(o), to: String(o), count: 1 });
  }
  return out;
}

/**
 * The audit. Call it once every scorer has stopped (or at least finished the input): it
 * waits for nothing, it reads what is there.
 */
export async function auditRun(
  kafka: Kafka,
  topics: AuditTopics,
  codecs: Codecs,
  opts: {
    timeoutMs?: number;
    /** Self-test only: a "committed" reader that reads uncommitted, to show the audit catches it. */
    brokenCommittedReader?: boolean;
  } = {},
): Promise<AuditReport> {
  const inputOffsets = await stableEndOffsets(kafka, topics.transactions);
  const inputRanges: AuditReport['inputRanges'] = {};
  let inputs = 0;
  for (const [p, { low, high }] of inputOffsets) {
    inputRanges[p] = { start: String(low), end: String(high) };
    inputs += Number(high - low);
  }

  const outputTopics: [string, OutputRecord['kind']][] = [
    [topics.decisions, 'decision'],
    [topics.dlq, 'dead-letter'],
  ];
  if (topics.flags) outputTopics.push([topics.flags, 'flag']);

  const committed = new Map<string, OutputRecord[]>();
  const uncommitted = new Map<string, OutputRecord[]>();
  const lastStable: AuditReport['lastStable'] = {};
  const headerMismatch: Position[] = [];
  for (const [topic, kind] of outputTopics) {
    const rc = await readAll(kafka, topic, { readUncommitted: opts.brokenCommittedReader === true, timeoutMs: opts.timeoutMs });
    const ru = await readAll(kafka, topic, { readUncommitted: true, timeoutMs: opts.timeoutMs });
    lastStable[topic] = Object.fromEntries([...rc.positions].map(([p, o]) => [p, String(o)]));
    const c = decodeOutputs(topic, kind, rc, codecs);
    const u = decodeOutputs(topic, kind, ru, codecs);
    committed.set(topic, c.outputs);
    uncommitted.set(topic, u.outputs);
    headerMismatch.push(...c.headerMismatch);
  }

  // Ground truth per output position, from the markers.
  const truth = new Map<string, OutputRecord>();
  for (const list of uncommitted.values()) for (const o of list) truth.set(key(o), o);

  const abortedRead: AuditReport['abortedRead'] = [];
  const committedUnread: Position[] = [];
  const abortedCopiesByTopic: Record<string, number> = {};
  let abortedCopies = 0;
  let openRecords = 0;
  for (const [topic, list] of committed) {
    const seen = new Set(list.map(key));
    for (const o of list) {
      const t = truth.get(key(o));
      // Not in the uncommitted view at all would mean the two readers disagree on the log.
      const txn: TxnOutcome = t ? t.txn : 'open';
      if (txn === 'aborted' || txn === 'open') abortedRead.push({ topic, partition: o.partition, offset: o.offset, source: o.source, txn });
    }
    for (const o of uncommitted.get(topic)!) {
      if (o.txn === 'aborted') {
        abortedCopies++;
        abortedCopiesByTopic[topic] = (abortedCopiesByTopic[topic] ?? 0) + 1;
      } else if (o.txn === 'open') openRecords++;
      else if (!seen.has(key(o))) committedUnread.push({ topic, partition: o.partition, offset: o.offset });
    }
  }

  // Set algebra over sources: decisions ∪ dead letters against [start, end).
  const bySource = new Map<string, Position[]>();
  const foreign: AuditReport['foreign'] = [];
  const inRange = (s: SourcePosition) => {
    const r = inputRanges[s.partition];
    return r !== undefined && BigInt(s.offset) >= BigInt(r.start) && BigInt(s.offset) < BigInt(r.end);
  };
  const committedDecisions: Decision[] = [];
  const committedDeadLetters: DeadLetter[] = [];
  for (const [topic, kind] of outputTopics) {
    if (kind === 'flag') continue;
    for (const o of committed.get(topic)!) {
      if (o.source.topic !== topics.transactions || !inRange(o.source)) {
        foreign.push({ topic, partition: o.partition, offset: o.offset, source: o.source });
        continue;
      }
      const k = srcKey(o.source);
      const list = bySource.get(k) ?? [];
      list.push({ topic, partition: o.partition, offset: o.offset });
      bySource.set(k, list);
      if (list.length === 1) {
        if (o.decision) committedDecisions.push(o.decision);
        if (o.deadLetter) committedDeadLetters.push(o.deadLetter);
      }
    }
  }
  const lost: Range[] = [];
  let lostCount = 0;
  for (const [p, { low, high }] of inputOffsets) {
    const missing: bigint[] = [];
    for (let o = low; o < high; o++) if (!bySource.has(`${p}/${o}`)) missing.push(o);
    lostCount += missing.length;
    lost.push(...toRanges(p, missing));
  }
  const duplicate: AuditReport['duplicate'] = [];
  for (const [k, outputs] of bySource) {
    if (outputs.length < 2) continue;
    const [partition, offset] = k.split('/');
    duplicate.push({ source: { partition: Number(partition), offset: offset! }, outputs });
  }

  // Flags: exactly one per committed non-ALLOW decision, nothing else.
  const flagProblems: string[] = [];
  let flags = 0;
  if (topics.flags) {
    const flagList = committed.get(topics.flags)!;
    flags = flagList.length;
    const want = new Set(committed.get(topics.decisions)!.filter((o) => o.decision!.decision !== 'ALLOW').map((o) => srcKey(o.source)));
    const got = new Map<string, number>();
    for (const f of flagList) got.set(srcKey(f.source), (got.get(srcKey(f.source)) ?? 0) + 1);
    for (const k of want) if (!got.has(k)) flagProblems.push(`missing flag for input ${k}`);
    for (const [k, n] of got) {
      if (!want.has(k)) flagProblems.push(`flag for input ${k} without a non-ALLOW decision`);
      else if (n > 1) flagProblems.push(`input ${k} flagged ${n} times`);
    }
  }

  const decisions = committed.get(topics.decisions)!.length;
  const deadLetters = committed.get(topics.dlq)!.length;
  const ok =
    lostCount === 0 &&
    duplicate.length === 0 &&
    abortedRead.length === 0 &&
    foreign.length === 0 &&
    headerMismatch.length === 0 &&
    committedUnread.length === 0 &&
    flagProblems.length === 0 &&
    openRecords === 0;
  return {
    inputRanges,
    inputs,
    decisions,
    deadLetters,
    flags,
    lost,
    lostCount,
    duplicate,
    abortedRead,
    foreign,
    headerMismatch,
    committedUnread,
    flagProblems,
    abortedCopies,
    abortedCopiesByTopic,
    openRecords,
    lastStable,
    committedDecisions,
    committedDeadLetters,
    ok,
  };
}

/** A short, human-readable account of an audit's failures by class, with offsets. */
export function describeFailures(r: AuditReport, max = 10): string {
  const lines: string[] = [];
  const more = (n: number) => (n > max ? ` … and ${n - max} more` : '');
  if (r.lostCount) lines.push(`LOST ${r.lostCount} input(s): ${r.lost.slice(0, max).map((x) => `p${x.partition}[${x.from}..${x.to}]`).join(', ')}${more(r.lost.length)}`);
  if (r.duplicate.length) {
    lines.push(
      `DUPLICATE ${r.duplicate.length} input(s): ${r.duplicate
        .slice(0, max)
        .map((d) => `p${d.source.partition}@${d.source.offset} -> ${d.outputs.map((o) => `${o.topic}/${o.partition}@${o.offset}`).join(' + ')}`)
        .join('; ')}${more(r.duplicate.length)}`,
    );
  }
  if (r.abortedRead.length) lines.push(`ABORTED-READ ${r.abortedRead.length} output(s): ${r.abortedRead.slice(0, max).map((a) => `${a.topic}/${a.partition}@${a.offset} (${a.txn}, source p${a.source.partition}@${a.source.offset})`).join(', ')}${more(r.abortedRead.length)}`);
  if (r.foreign.length) lines.push(`FOREIGN ${r.foreign.length} output(s) with a source outside the inputs: ${r.foreign.slice(0, max).map((f) => `${f.topic}/${f.partition}@${f.offset} -> ${f.source.topic}/${f.source.partition}@${f.source.offset}`).join(', ')}`);
  if (r.headerMismatch.length) lines.push(`HEADER-MISMATCH ${r.headerMismatch.length}: ${r.headerMismatch.slice(0, max).map(key).join(', ')}`);
  if (r.committedUnread.length) lines.push(`COMMITTED-UNREAD ${r.committedUnread.length}: ${r.committedUnread.slice(0, max).map(key).join(', ')}`);
  if (r.openRecords) lines.push(`OPEN ${r.openRecords} record(s) in transactions without a marker (last stable offsets ${JSON.stringify(r.lastStable)})`);
  if (r.flagProblems.length) lines.push(`FLAGS ${r.flagProblems.length}: ${r.flagProblems.slice(0, max).join('; ')}`);
  return lines.join('\n') || 'no failures';
}

export interface FeatureComparison {
  compared: number;
  /** Decisions whose transaction id the reference run does not know. */
  unknown: string[];
  /** Decisions whose first differing feature is TX_AMOUNT, weekend, night or a card window (indices 0..8). */
  cardMismatches: { transactionId: string; index: number; got: number; want: number }[];
  /** Decisions whose card features are exact but a terminal-window feature (indices 9..14) differs. */
  terminalMismatches: { transactionId: string; index: number; got: number; want: number }[];
}

/** Exact equality of every decision's feature vector with a fault-free batch computation. */
export function compareFeatures(decisions: readonly Decision[], expected: ReadonlyMap<string, Float64Array>, firstTerminalIndex: number): FeatureComparison {
  const out: FeatureComparison = { compared: 0, unknown: [], cardMismatches: [], terminalMismatches: [] };
  for (const d of decisions) {
    const want = expected.get(d.transactionId);
    if (!want) {
      out.unknown.push(d.transactionId);
      continue;
    }
    out.compared++;
    const n = Math.max(want.length, d.features.length);
    for (let i = 0; i < n; i++) {
      const got = d.features[i] ?? NaN;
      const w = want[i] ?? NaN;
      if (got === w || (Number.isNaN(got) && Number.isNaN(w))) continue;
      const m = { transactionId: d.transactionId, index: i, got, want: w };
      if (i < firstTerminalIndex) out.cardMismatches.push(m);
      else out.terminalMismatches.push(m);
      break;
    }
  }
  return out;
}

async function retry<T>(call: () => Promise<T>, attempts = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await call();
    } catch (err) {
      if (i >= attempts) throw err;
      await sleep(500);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
