/**
 * Card-state changelog: bytes written per scored event, format 1 (before: one record per
 * touched card per commit, value = the card's whole history) against format 2 (now: one
 * record per changed (card, day), tombstones for days leaving the retention). Events go
 * through a CardStore the way the scorer's partition does (observe, a commit every N events,
 * idle eviction every 20,000 events) and both writers are measured on the same state.
 *
 * Worlds: the simulator's default world (5,000 customers, 183 days) in one partition, and
 * 1,000,000 cards paying Poisson(2) a day (31 days of warm-up, then 3 days measured; events
 * in time order across cards). Commits: 1,000 events (100 ms at 10,000 ev/s, exactly-once)
 * and 10,000 (1 s, at-least-once).
 *
 * Restore (5,000-customer world, in process): the whole uncompacted log applied as it is
 * written, and the compacted log at the end; with --kafka also the compacted log produced to
 * a one-partition topic on the broker (KAFKA_BROKERS, default 127.0.0.1:9092) and read back
 * by restoreCardState.
 *
 *   npm exec -- node --import tsx test/bench/changelog-bytes.ts [--skip-1m | --only-1m] [--kafka]
 */
import { Kafka, logLevel } from 'kafkajs';
import { CardStore } from '../../services/scorer/src/features/index.js';
import { simulate } from '../../services/simulator/src/generator.js';
import { cardTokenOf } from '../../services/simulator/src/world.js';
import { applyRecord, changelogMessages } from '../../services/scorer/src/state/changelog-records.js';

const DAY = 86_400_000;
const EVICT_EVERY = 20_000;
const args = new Set(process.argv.slice(2));

/** Bytes of a Kafka v2 record around key and value (batch header excluded: one per commit either way). */
function framed(keyBytes: number, valueBytes: number | null, offsetDelta: number): number {
  const varint = (n: number) => {
    let z = n >= 0 ? 2 * n : -2 * n - 1;
    let size = 1;
    for (; z >= 128; size++) z = Math.floor(z / 128);
    return size;
  };
  const body = 1 + 1 + varint(offsetDelta) + varint(keyBytes) + keyBytes + varint(valueBytes ?? -1) + (valueBytes ?? 0) + 1;
  return varint(body) + body;
}

class Tally {
  records = 0;
  tombstones = 0;
  keyValue = 0;
  framed = 0;
  add(key: string, value: Uint8Array | null, index: number): void {
    const k = Buffer.byteLength(key);
    this.records++;
    if (value === null) this.tombstones++;
    this.keyValue += k + (value?.byteLength ?? 0);
    this.framed += framed(k, value?.byteLength ?? null, index);
  }
  line(events: number): string {
    return `${(this.keyValue / events).toFixed(1).padStart(6)} B/event key+value, ${(this.framed / events).toFixed(1).padStart(6)} framed, ` +
      `${(this.records / events).toFixed(3)} records/event (${((100 * this.tombstones) / Math.max(1, this.records)).toFixed(0)}% tombstones)`;
  }
}

interface Record {
  key: string;
  value: Buffer | null;
}

interface RunOptions {
  name: string;
  commitEvery: number;
  /** Events before this time are warm-up: written, not counted. */
  measureFrom: number;
  evictEvery: number;
  /** Keep and time the restore of both logs (small worlds only). */
  restore: boolean;
}

interface RunResult {
  events: number;
  before: Tally;
  after: Tally;
  compacted?: { before: Record[]; after: Record[] };
  restoreMs?: { before: number; after: number };
  live: CardStore;
}

/** Runs (token, time, amount) events through the store with both writers at every commit. */
function run(events: Iterable<[string, number, number]>, o: RunOptions): RunResult {
  const live = new CardStore({ trackChanges: true });
  const touched = new Set<string>();
  const before = new Tally();
  const after = new Tally();
  const latest = { before: new Map<string, Buffer | null>(), after: new Map<string, Buffer | null>() };
  const restored = { before: new CardStore(), after: new CardStore({ trackChanges: true }) };
  const restoreMs = { before: 0, after: 0 };
  let n = 0;
  let measured = 0;
  let counting = false;
  let newest = -Infinity;

  const keep = (which: 'before' | 'after', records: Record[]) => {
    const started = performance.now();
    for (const r of records) applyRecord(restored[which], r.key, r.value);
    restoreMs[which] += performance.now() - started;
    for (const r of records) {
      latest[which].delete(r.key); // re-insert: Map order = order of each key's last record
      latest[which].set(r.key, r.value);
    }
  };
  const commit = () => {
    const old: Record[] = [];
    for (const token of touched) {
      const bytes = live.serializeWhole(token);
      old.push({ key: token, value: bytes ? Buffer.from(bytes) : null });
    }
    touched.clear();
    const now = (changelogMessages('cl', 0, live, live.takeChanges())?.messages ?? []).map((m) => ({ key: m.key as string, value: m.value }));
    if (counting) {
      old.forEach((r, i) => before.add(r.key, r.value, i));
      now.forEach((r, i) => after.add(r.key, r.value, i));
    }
    if (o.restore) {
      keep('before', old);
      keep('after', now);
    }
  };

  for (const [token, time, amount] of events) {
    if (!counting && time >= o.measureFrom) {
      commit(); // the warm-up's last commit is not counted
      counting = true;
    }
    live.observe(token, time, amount);
    touched.add(token);
    if (time > newest) newest = time;
    n++;
    if (counting) measured++;
    if (n % o.evictEvery === 0) live.evictIdle(newest, (token) => touched.add(token));
    if (n % o.commitEvery === 0) commit();
  }
  commit();
  const result: RunResult = { events: measured, before, after, live };
  if (o.restore) {
    const compact = (m: Map<string, Buffer | null>) => [...m].filter(([, v]) => v !== null).map(([key, value]) => ({ key, value }));
    result.compacted = { before: compact(latest.before), after: compact(latest.after) };
    result.restoreMs = restoreMs;
    check(restored.before, live, 'raw format-1 log');
    check(restored.after, live, 'raw format-2 log');
  }
  return result;
}

/** The restored store must hold exactly the live store's entries. */
function check(restored: CardStore, live: CardStore, what: string): void {
  if (restored.size !== live.size) throw new Error(`${what}: ${restored.size} cards restored, ${live.size} live`);
  for (let i = 0; i < 5000; i++) {
    const token = cardTokenOf(i);
    const a = restored.serializeWhole(token);
    const b = live.serializeWhole(token);
    const same = a === undefined || b === undefined ? a === b : entriesOf(a) === entriesOf(b);
    if (!same) throw new Error(`${what}: ${token} differs after restore`);
  }
}

/** Entries of a format-1 value as text, base-independent. */
function entriesOf(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const base = view.getFloat64(8, true);
  const out: string[] = [];
  for (let k = 0; k < view.getUint32(4, true); k++) out.push(`${base + view.getUint32(16 + 8 * k, true)}:${view.getInt32(20 + 8 * k, true)}`);
  return out.join(',');
}

function timeRestore(records: Record[], format: string): number {
  const store = new CardStore({ trackChanges: true });
  const started = performance.now();
  for (const r of records) applyRecord(store, r.key, r.value);
  const ms = performance.now() - started;
  console.log(`    compacted ${format} log: ${records.length} records, ${(records.reduce((s, r) => s + r.key.length + (r.value?.byteLength ?? 0), 0) / 1e6).toFixed(2)} MB, applied in ${ms.toFixed(0)} ms`);
  return ms;
}

async function kafkaRestore(records: Record[], format: string): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench-changelog', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `bench-changelog-${format}-${Date.now()}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }], waitForLeaders: true });
  try {
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    // Requests under the broker's 1 MB message limit.
    for (let i = 0, j = 0; i < records.length; i = j) {
      for (let bytes = 0; j < records.length && bytes < 500_000; j++) bytes += records[j]!.key.length + (records[j]!.value?.byteLength ?? 0);
      await producer.send({ topic, acks: -1, messages: records.slice(i, j).map((r) => ({ ...r, partition: 0 })) });
    }
    await producer.disconnect();
    const store = new CardStore({ trackChanges: true });
    const started = performance.now();
    // Imported here: only this measurement needs the Kafka side.
    const { restoreCardState } = await import('../../services/scorer/src/state/changelog.js');
    const cards = await restoreCardState(kafka, topic, `bench-changelog-${Date.now()}`, new Map([[0, store]]));
    console.log(`    broker, compacted ${format} log: ${records.length} records read back by restoreCardState in ${(performance.now() - started).toFixed(0)} ms (${cards} cards)`);
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}

function* simulatorEvents(): Generator<[string, number, number]> {
  for (const e of simulate({ seed: 42 })) if (e.kind === 'transaction') yield [e.tx.cardToken, e.tx.eventTime, e.tx.amountMinor];
}

/** 1M cards, Poisson(rate) payments a day at uniform times, in time order across cards. */
function* millionCards(cards: number, days: number, rate: number, t0: number): Generator<[string, number, number]> {
  let seed = 42;
  const random = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const limit = Math.exp(-rate);
  const tokens = Array.from({ length: cards }, (_, i) => cardTokenOf(i));
  const CARD_BITS = 2 ** 20;
  if (cards > CARD_BITS) throw new RangeError('at most 2^20 cards');
  for (let day = 0; day < days; day++) {
    const keys: number[] = [];
    for (let c = 0; c < cards; c++) {
      for (let p = random(); p > limit; p *= random()) keys.push(Math.floor(random() * DAY) * CARD_BITS + c);
    }
    const sorted = Float64Array.from(keys).sort();
    for (const key of sorted) {
      const card = key % CARD_BITS;
      yield [tokens[card]!, t0 + day * DAY + (key - card) / CARD_BITS, 500 + Math.floor(random() * 20_000)];
    }
  }
}

function report(label: string, r: RunResult): void {
  console.log(`  ${label}: ${r.events} events measured`);
  console.log(`    before (format 1): ${r.before.line(r.events)}`);
  console.log(`    after  (format 2): ${r.after.line(r.events)}`);
  console.log(`    ratio: ${(r.before.keyValue / r.after.keyValue).toFixed(1)}x fewer key+value bytes, ${(r.before.framed / r.after.framed).toFixed(1)}x framed`);
}

const SIM_T0 = Date.UTC(2018, 3, 1);
const ONLY_1M = args.has('--only-1m');
if (!ONLY_1M) console.log('simulator default world (5,000 customers, 183 days, seed 42), one partition');
for (const [label, commitEvery] of [['commit every 1,000 events (100 ms at 10k ev/s)', 1000], ['commit every 10,000 events (1 s at 10k ev/s)', 10_000]] as const) {
  if (ONLY_1M) break;
  const steady = run(simulatorEvents(), { name: label, commitEvery, measureFrom: SIM_T0 + 32 * DAY, evictEvery: EVICT_EVERY, restore: commitEvery === 1000 });
  report(`${label}, steady state (day 33 on)`, steady);
  if (steady.restoreMs && steady.compacted) {
    console.log(`    restore, whole uncompacted log applied in process: before ${steady.restoreMs.before.toFixed(0)} ms, after ${steady.restoreMs.after.toFixed(0)} ms`);
    timeRestore(steady.compacted.before, 'format-1');
    timeRestore(steady.compacted.after, 'format-2');
    if (args.has('--kafka')) {
      await kafkaRestore(steady.compacted.before, 'format-1');
      await kafkaRestore(steady.compacted.after, 'format-2');
    }
  }
}
if (!args.has('--skip-1m')) {
  console.log('1,000,000 cards, Poisson(2) payments a day, 31 days warm-up + 3 days measured, one partition');
  for (const [label, commitEvery] of [['commit every 1,000 events (100 ms at 10k ev/s)', 1000]] as const) {
    const started = performance.now();
    const r = run(millionCards(1_000_000, 34, 2, SIM_T0), { name: label, commitEvery, measureFrom: SIM_T0 + 31 * DAY, evictEvery: 2_000_000, restore: false });
    report(`${label}`, r);
    console.log(`    (${((performance.now() - started) / 1000).toFixed(0)} s; ${r.live.size} cards live, ${(r.live.bytesUsed() / r.live.size).toFixed(0)} B/card in the store)`);
  }
}
