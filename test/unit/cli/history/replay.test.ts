/**
 * `features --from-kafka`: which records a replay reads (offsets by record timestamp, end
 * offsets captured first), which rows it writes (since <= eventTime < until; the 37 days
 * before since feed the windows but are not rows), the order it feeds the engine whatever the
 * partitions' interleaving, and its bad records; on an in-memory fake of the topics
 * (fake-topics.ts). The real broker: test/integration/features-from-kafka.test.ts.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerFeatures, writeFeatureTable } from '../../../../services/cli/src/commands/features.js';
import type { HistoryTransactionEvent } from '../../../../services/cli/src/history/merge.js';
import {
  describeKafkaResult, LOOKBACK_MS, orderTies, parseReplayTime, planReplay, readFromTimestamp, replayConfig, writeKafkaFeatureTable,
  type KafkaTableResult, type ReplayWindow,
} from '../../../../services/cli/src/history/replay.js';
import { partialPathOf } from '../../../../services/cli/src/history/table.js';
import { createCodecs, type Transaction, type TransactionOutcome } from '../../../../services/common/src/contracts.js';
import { batchFeatures, CSV_COLUMNS, writeFeaturesCsv, type BatchEvent } from '../../../../services/scorer/src/features/index.js';
import { simulate, type SimulationOptions } from '../../../../services/simulator/src/index.js';
import { FakeTopics, partitionOf } from './fake-topics.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const TX = 'transactions-topic';
const OUT = 'outcomes-topic';
const codecs = createCodecs('confluent');
const rules = { limits: { maxAmountMinor: 100_000_000, maxFutureSkewMs: 300_000 }, wireFormat: 'confluent' };
const START = Date.UTC(2018, 3, 1);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'replay-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A simulated world on fake topics, keyed as the publisher keys it (card / terminal).
 * `published`: record timestamps of a publish done today, long after the events; `live`:
 * each record published as it happened (transactions at eventTime, outcomes at knownAt).
 * Every 997th record leaves an offset unused before it, as a transaction marker would.
 */
function publish(sim: SimulationOptions, clock: 'published' | 'live', seed: number): FakeTopics {
  const topics = new FakeTopics(seed).create(TX, 3).create(OUT, 2);
  let now = Date.UTC(2025, 0, 1);
  let n = 0;
  for (const e of simulate(sim)) {
    const skip = ++n % 997 === 0 ? 1 : 0;
    if (e.kind === 'transaction') topics.append(TX, partitionOf(e.tx.cardToken, 3), clock === 'live' ? e.tx.eventTime + 50 : now++, codecs.transaction.encode(e.tx), skip);
    else topics.append(OUT, partitionOf(e.outcome.terminalId, 2), clock === 'live' ? e.outcome.knownAt + 50 : now++, codecs.outcome.encode(e.outcome), skip);
  }
  return topics;
}

async function replay(source: FakeTopics, window: ReplayWindow, name: string, maxBad = 0, topics = { transactions: TX, outcomes: OUT }): Promise<{ result: KafkaTableResult; out: string }> {
  const out = join(dir, `${name}.csv`);
  const result = await writeKafkaFeatureTable({ source, topics, window, codecs, rules, out, maxBad, progress: null });
  return { result, out };
}

/** The CSV's header and the lines with since <= TX_DATETIME_MS < until. */
function linesIn(csv: string, window: ReplayWindow): string {
  const [header, ...rows] = csv.trimEnd().split('\n');
  const kept = rows.filter((line) => {
    const t = Number(line.split(',')[1]);
    return t >= window.since && t < (window.until ?? Infinity);
  });
  return `${[header, ...kept].join('\n')}\n`;
}

describe('replaying a simulated world from (fake) topics', () => {
  const small = { seed: 7, customers: 200, terminals: 400, days: 40 };

  it('--since at the first day: the simulation path\'s table byte for byte, whatever the interleaving', async () => {
    const expectedFile = join(dir, 'simulation-small.csv');
    await writeFeatureTable(small, expectedFile);
    const expected = await readFile(expectedFile);
    for (const seed of [1, 2]) {
      const topics = publish(small, 'published', seed);
      const { result, out } = await replay(topics, { since: START }, `published-${seed}`);
      expect((await readFile(out)).equals(expected)).toBe(true);
      const txCount = topics.count(TX);
      expect(result).toMatchObject({ written: true, badLines: 0, rows: txCount, context: 0, unlabelledRows: 0, droppedOutcomes: 0 });
      expect(result.read).toEqual({ transactions: txCount, outcomes: topics.count(OUT) });
    }
  }, 60_000);

  describe('--since in the middle of a live topic', () => {
    const sim = { seed: 11, customers: 200, terminals: 400, days: 60 };
    const window = { since: START + 45 * DAY, until: START + 55 * DAY };
    let full: string;
    let topics: FakeTopics;
    let run: { result: KafkaTableResult; out: string };

    beforeAll(async () => {
      await writeFeatureTable(sim, join(dir, 'simulation-60.csv'));
      full = await readFile(join(dir, 'simulation-60.csv'), 'utf8');
      topics = publish(sim, 'live', 3);
      run = await replay(topics, window, 'live-window');
    }, 60_000);

    it('starts each partition at the first record published at or after since - 37 days - the future skew', () => {
      const from = readFromTimestamp(window, rules.limits.maxFutureSkewMs);
      expect(from).toBe(window.since - LOOKBACK_MS - 300_000);
      expect(run.result.fromTimestamp).toBe(from);
      for (const range of topics.ranges) {
        const records = topics.topics.get(range.topic)![range.partition]!.records;
        const first = records.findIndex((r) => r.offset >= range.start);
        expect(records[first]!.timestamp).toBeGreaterThanOrEqual(from);
        expect(first).toBeGreaterThan(0);
        expect(records[first - 1]!.timestamp).toBeLessThan(from);
        expect(range.end).toBe(records.at(-1)!.offset + 1n);
      }
      expect(run.result.read.transactions).toBeLessThan(topics.count(TX));
      expect(topics.delivered).toBe(run.result.read.transactions + run.result.read.outcomes);
    });

    it('writes the rows with since <= eventTime < until, equal to the whole history\'s rows (warm windows)', async () => {
      const got = await readFile(run.out, 'utf8');
      const expected = linesIn(full, window);
      expect(got).toBe(expected);
      expect(run.result.rows).toBe(expected.trimEnd().split('\n').length - 1);
      expect(run.result.rows).toBeGreaterThan(1000);
    });

    it('the 30 days before since fed the windows but are not rows; a replay from since alone would be cold', async () => {
      const before = full.trimEnd().split('\n').slice(1).filter((l) => {
        const t = Number(l.split(',')[1]);
        return t >= window.since - 30 * DAY && t < window.since;
      });
      expect(run.result.context).toBe(before.length);
      expect(run.result.context).toBeGreaterThan(1000);
      const got = await readFile(run.out, 'utf8');
      expect(got).not.toContain(before[0]!.split(',')[0] + ',');

      // The same rows computed from the events at or after since only: different values.
      const events: BatchEvent[] = [];
      for (const e of simulate(sim)) {
        if (e.kind === 'transaction' ? e.tx.eventTime >= window.since : e.outcome.knownAt >= window.since) events.push(e);
      }
      const cold = join(dir, 'cold.csv');
      await writeFeaturesCsv(batchFeatures(events), cold);
      expect(linesIn(await readFile(cold, 'utf8'), window)).not.toBe(got);
    });
  });
});

describe('planReplay', () => {
  const window = { since: START + 60 * DAY };
  const from = readFromTimestamp(window, 300_000);

  it('captures the end offsets first: a record written while planning is left for the next replay', async () => {
    const topics = new FakeTopics().create(TX, 2).create(OUT, 1);
    topics.append(TX, 0, from - DAY, Buffer.from('old'));
    topics.append(TX, 0, from + DAY, Buffer.from('new'));
    topics.append(TX, 1, from - DAY, Buffer.from('old'));
    topics.betweenLookups = (topic) => {
      if (topic === TX) topics.append(TX, 1, from + 2 * DAY, Buffer.from('late'));
    };
    const plan = await planReplay(topics, { transactions: TX, outcomes: OUT }, from);
    expect(plan.ranges).toEqual([
      { topic: TX, partition: 0, start: 1n, end: 2n },
      { topic: TX, partition: 1, start: 1n, end: 1n },
      { topic: OUT, partition: 0, start: 0n, end: 0n },
    ]);
    expect(plan.truncated).toEqual([]);
  });

  it('names partitions whose history before the start was deleted (retention)', async () => {
    const topics = new FakeTopics().create(TX, 1).create(OUT, 1);
    for (let i = 0; i < 10; i++) topics.append(TX, 0, from + i * HOUR, Buffer.from('x'));
    topics.deleteBefore(TX, 0, 4n);
    topics.append(OUT, 0, from - DAY, Buffer.from('x'));
    topics.append(OUT, 0, from + DAY, Buffer.from('x'));
    const plan = await planReplay(topics, { transactions: TX, outcomes: OUT }, from);
    expect(plan.ranges).toEqual([{ topic: TX, partition: 0, start: 4n, end: 10n }, { topic: OUT, partition: 0, start: 1n, end: 2n }]);
    expect(plan.truncated).toEqual([{ topic: TX, partition: 0, low: 4n }]);
  });
});

describe('order of transactions at the same millisecond', () => {
  const at = (cardToken: string, transactionId: string, line: number): HistoryTransactionEvent => ({
    kind: 'transaction', tx: { transactionId, cardToken, terminalId: 'term-1', amountMinor: 100, eventTime: START }, line,
  });

  it('keeps each card\'s topic order and otherwise orders by transaction id', () => {
    const list = [at('card-2', 'tx-9', 0), at('card-1', 'tx-5', 0), at('card-1', 'tx-3', 1), at('card-3', 'tx-4', 0)];
    orderTies(list);
    expect(list.map((e) => e.tx.transactionId)).toEqual(['tx-4', 'tx-5', 'tx-3', 'tx-9']);
    const increasing = [at('card-2', 'tx-2', 0), at('card-1', 'tx-1', 0), at('card-1', 'tx-3', 1)];
    orderTies(increasing);
    expect(increasing.map((e) => e.tx.transactionId)).toEqual(['tx-1', 'tx-2', 'tx-3']);
  });
});

describe('bad records', () => {
  const PAN = '4111111111111111';
  const T0 = Date.UTC(2018, 5, 1);
  const window = { since: T0 };
  const tx = (transactionId: string, over: Partial<Transaction> = {}): Transaction => ({
    transactionId, cardToken: 'card-1', terminalId: 'term-1', amountMinor: 1000, currency: 'EUR', eventTime: T0 + HOUR,
    merchantId: null, merchantCategoryCode: null, merchantCountry: null, channel: 'POS', entryMode: 'CHIP', cardPresent: true, ...over,
  });
  const outcome = (transactionId: string, over: Partial<TransactionOutcome> = {}): TransactionOutcome => ({
    transactionId, terminalId: 'term-1', cardToken: 'card-1', eventTime: T0 + HOUR, isFraud: false, fraudScenario: 0, knownAt: T0 + 3 * HOUR, ...over,
  });
  let topics: FakeTopics;

  beforeAll(() => {
    topics = new FakeTopics().create('t', 1).create('o', 1);
    const putTx = (t: Transaction | Buffer | null, timestamp = typeof t === 'object' && t !== null && !Buffer.isBuffer(t) ? t.eventTime : T0): void => {
      topics.append('t', 0, timestamp, t === null || Buffer.isBuffer(t) ? t : codecs.transaction.encode(t));
    };
    putTx(tx('tx-ancient', { eventTime: T0 - 45 * DAY })); // 0: published before since - 37 d: not read
    putTx(tx('tx-old', { eventTime: T0 - 12 * HOUR })); // 1: before since: feeds the card's windows, not a row
    putTx(tx('tx-a')); // 2
    putTx(null); // 3: tombstone
    putTx(createCodecs('plain').transaction.encode(tx('tx-plain'))); // 4: another wire format
    putTx(tx('tx-p', { cardToken: PAN })); // 5: PAN-like
    putTx(tx('tx-f', { eventTime: T0 + 2 * HOUR }), T0); // 6: 2 h after its publish time
    putTx(tx('tx-a', { amountMinor: 5 })); // 7: duplicate
    putTx(tx('tx-b', { eventTime: T0 + 2 * HOUR })); // 8
    const putOutcome = (o: TransactionOutcome): void => void topics.append('o', 0, Math.max(o.knownAt, o.eventTime) + 1000, codecs.outcome.encode(o));
    putOutcome(outcome('tx-out', { eventTime: T0 - 40 * DAY, knownAt: T0 - 33 * DAY })); // 0: before since - 37 d: read, not used
    putOutcome(outcome('tx-gone', { eventTime: T0 - 33 * DAY, knownAt: T0 - 26 * DAY, isFraud: true })); // 1: its transaction is before the kept ones: terminal windows only
    putOutcome(outcome('tx-a', { isFraud: true, fraudScenario: 2 })); // 2
    putOutcome(outcome('tx-unknown')); // 3
    putOutcome(outcome('tx-p', { cardToken: 'card-9' })); // 4: its transaction was bad: dropped with it
    putOutcome(outcome('tx-b', { eventTime: T0 + 2 * HOUR, knownAt: T0 + HOUR })); // 5: known before it happened
  });

  const SEVEN = [
    't/0:3: no value (a tombstone or an empty record)',
    't/0:4: not in the Confluent wire format (magic byte 0 + schema id): is the topic written plain? (FRAUD_WIRE_FORMAT, --wire-format)',
    't/0:5: cardToken: looks like a card number (PAN); only tokens are accepted',
    't/0:6: eventTime: is more than 300000 ms in the future',
    't/0:7: transactionId: the same id as t/0:2 (each transaction appears once)',
    'o/0:3: transactionId: names no transaction of topic t',
    "o/0:5: knownAt: is before the transaction's eventTime (a label known before the payment)",
  ];
  const BY_KIND = '2 malformed line, 1 bad time, 1 PAN-like value, 1 duplicate transaction, 1 outcome for an unknown transaction, 1 out-of-order outcome';

  it('are counted by kind and named by topic/partition:offset and field, never by value; above --max-bad no table', async () => {
    const { result, out } = await replay(topics, window, 'bad-over', 6, { transactions: 't', outcomes: 'o' });
    expect(result).toMatchObject({ written: false, badLines: 7, fatal: false, droppedOutcomes: 1 });
    expect(result.errorLines).toEqual(SEVEN);
    expect(result.byKind).toBe(BY_KIND);
    expect(result.errorLines.join('\n')).not.toContain(PAN);
    expect(describeKafkaResult(result, { out, maxBad: 6 }).failure).toBe(`7 bad records (${BY_KIND}), more than --max-bad 6: no feature table written`);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(partialPathOf(out))).toBe(false);
  });

  it('at --max-bad: the good records make the table; the rows before --since only warm the windows', async () => {
    const { result, out } = await replay(topics, window, 'bad-at', 7, { transactions: 't', outcomes: 'o' });
    expect(result).toMatchObject({ written: true, rows: 2, context: 1, unlabelledRows: 1, unjoinedOutcomes: 1, droppedOutcomes: 1 });
    expect(result.read).toEqual({ transactions: 8, outcomes: 6 });
    expect(result.outside).toEqual({ transactions: 0, outcomes: 1 });
    const [header, ...rows] = (await readFile(out, 'utf8')).trimEnd().split('\n');
    expect(header).toBe(CSV_COLUMNS.join(','));
    const col = (row: string, name: (typeof CSV_COLUMNS)[number]): string => row.split(',')[CSV_COLUMNS.indexOf(name)]!;
    expect(rows.map((r) => col(r, 'TRANSACTION_ID'))).toEqual(['tx-a', 'tx-b']);
    // tx-old (12 h before since) counts in tx-a's 1-day card window.
    expect(col(rows[0]!, 'CUSTOMER_ID_NB_TX_1DAY_WINDOW')).toBe('2');
    expect(col(rows[0]!, 'CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW')).toBe('10');
    expect(col(rows[1]!, 'CUSTOMER_ID_NB_TX_1DAY_WINDOW')).toBe('3');
    // The fraud on term-1 33 days back (an unjoined outcome) is in the 30-day terminal window.
    expect(col(rows[0]!, 'TERMINAL_ID_NB_TX_30DAY_WINDOW')).toBe('1');
    expect(col(rows[0]!, 'TERMINAL_ID_RISK_30DAY_WINDOW')).toBe('1');
    expect([col(rows[0]!, 'TX_FRAUD'), col(rows[0]!, 'TX_FRAUD_SCENARIO')]).toEqual(['1', '2']);
    expect([col(rows[1]!, 'TX_FRAUD'), col(rows[1]!, 'TX_FRAUD_SCENARIO')]).toEqual(['', '']);
    const { notes, failure } = describeKafkaResult(result, { out, maxBad: 7 });
    expect(failure).toBeUndefined();
    expect(notes).toContain(`features: skipped 7 bad records (--max-bad 7): ${BY_KIND}`);
    expect(notes).toContain('features: 1 row(s) without an outcome on the topic yet: TX_FRAUD empty');
    expect(notes[1]).toContain('1 transactions before --since fed the windows but are not rows');
  });

  it('--until: rows before it only; a window with no rows says the times are event times', async () => {
    const { result } = await replay(topics, { since: T0, until: T0 + 90 * 60_000 }, 'until', 7, { transactions: 't', outcomes: 'o' });
    expect(result).toMatchObject({ written: true, rows: 1, context: 1 });
    const later = await replay(topics, { since: T0 + 10 * DAY }, 'empty', 7, { transactions: 't', outcomes: 'o' });
    expect(later.result.rows).toBe(0);
    expect(describeKafkaResult(later.result, { out: later.out, maxBad: 7 }).notes.at(-1)).toContain('--since and --until are event times');
  });
});

describe('options', () => {
  it('--since/--until: a date is its UTC midnight; a date-time needs a zone; impossible dates are refused', () => {
    expect(parseReplayTime('2018-04-01', '--since')).toBe(START);
    expect(parseReplayTime('2018-04-01T08:00:00Z', '--since')).toBe(START + 8 * HOUR);
    expect(parseReplayTime('2018-04-01T10:00:00.250+02:00', '--since')).toBe(START + 8 * HOUR + 250);
    expect(parseReplayTime('2018-04-01T01:00-02:00', '--since')).toBe(START + 3 * HOUR);
    // <n>d: the UTC midnight n days before today, whatever the hour now.
    expect(parseReplayTime('42d', '--since', START + 42 * DAY + 23 * HOUR)).toBe(START);
    expect(parseReplayTime('0d', '--until', START + 5 * HOUR)).toBe(START);
    for (const bad of ['2018-04-01T08:00:00', '2018-02-30', '2018-13-01', 'yesterday', '1522540800000', '-3d', '4.5d', '42 d', '42h']) {
      expect(() => parseReplayTime(bad, '--since')).toThrow(/--since: expected a date/);
    }
  });

  it('topics, wire format and limits come from the scorer\'s variables', () => {
    expect(replayConfig({})).toEqual({ topics: { transactions: 'transactions', outcomes: 'transaction-outcomes' }, wireFormat: 'confluent', limits: { maxAmountMinor: 100_000_000, maxFutureSkewMs: 300_000 } });
    expect(replayConfig({ FRAUD_TOPIC_TRANSACTIONS: 'tx', FRAUD_TOPIC_OUTCOMES: 'labels', FRAUD_WIRE_FORMAT: 'plain', FRAUD_MAX_FUTURE_SKEW_MS: '1000' })).toMatchObject({
      topics: { transactions: 'tx', outcomes: 'labels' }, wireFormat: 'plain', limits: { maxFutureSkewMs: 1000 },
    });
    expect(() => replayConfig({ FRAUD_WIRE_FORMAT: 'json' })).toThrow(/FRAUD_WIRE_FORMAT/);
  });

  describe('the command', () => {
    afterEach(() => vi.restoreAllMocks());
    const cli = async (...args: string[]): Promise<void> => {
      const program = new Command('fraudscore').exitOverride();
      registerFeatures(program);
      await program.parseAsync(['node', 'fraudscore', 'features', '--out', join(dir, 'cli.csv'), ...args]);
    };

    it('one source; the Kafka options only with --from-kafka; checked before connecting', async () => {
      await expect(cli('--from-kafka')).rejects.toThrow('--from-kafka needs --since <date>');
      await expect(cli('--from-kafka', '--since', '2018-04-01', '--transactions', 'x.jsonl')).rejects.toThrow('give one source: --from-kafka or --transactions <file>, not both');
      await expect(cli('--from-kafka', '--since', '2018-04-01', '--days', '3')).rejects.toThrow('give one source: simulation options (--days) or --from-kafka, not both');
      await expect(cli('--from-kafka', '--since', '2018-04-01', '--outcomes', 'o.jsonl')).rejects.toThrow('--outcomes needs --transactions <file>');
      await expect(cli('--since', '2018-04-01')).rejects.toThrow('--since needs --from-kafka');
      await expect(cli('--transactions', 'x.jsonl', '--until', '2018-04-01', '--brokers', 'h:1')).rejects.toThrow('--until, --brokers need --from-kafka');
      await expect(cli('--max-bad', '2')).rejects.toThrow('--max-bad needs --transactions <file> or --from-kafka');
      await expect(cli('--from-kafka', '--since', '2018-04-31')).rejects.toThrow('--since: expected a date');
      await expect(cli('--from-kafka', '--since', '2018-04-02', '--until', '2018-04-01')).rejects.toThrow('--until must be after --since');
      await expect(cli('--from-kafka', '--since', '2018-04-01', '--wire-format', 'json')).rejects.toThrow('--wire-format must be confluent or plain, not json');
    });

    it('the help states the window semantics', async () => {
      let help = '';
      vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((help += String(s)), true));
      await expect(cli('--help')).rejects.toThrow();
      expect(help).toContain('--since and --until are EVENT times');
      expect(help).toContain('feed the windows but are not written');
      expect(help).toContain('up to its end offset when the replay began');
    });
  });
});
