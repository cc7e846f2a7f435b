/**
 * `fraudscore features --from-kafka` on the real broker: a simulated world is published to
 * fresh topics (as `fraudscore publish --simulate` does), then replayed from them
 *
 *   - by the CLI, as an operator runs it, with --since at the world's first day: the CSV is
 *     byte-identical to the simulation path's for the same world (`features --seed ...`);
 *   - in-process with --since/--until in the middle: the rows of that window, with the same
 *     (warm) values as the whole history gives them;
 *
 * and the replay is read-only: the topics' end offsets are unchanged, no consumer group holds
 * offsets on them, and the replay's throwaway group is gone. A topic written by a
 * transactional producer (one committed, one aborted, one still open transaction) is read
 * committed: the aborted records are not rows and the open transaction does not hold the
 * replay up.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners, type Admin, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFeatureTable } from '../../services/cli/src/commands/features.js';
import { openKafkaTopicSource } from '../../services/cli/src/history/kafka-source.js';
import { writeKafkaFeatureTable } from '../../services/cli/src/history/replay.js';
import { createCodecs, type Transaction } from '../../services/common/src/contracts.js';
import { publishSimulation } from '../../services/simulator/src/index.js';
import { brokers, deleteTopics, freshTopics, testKafka, type TestTopics } from '../helpers/kafka.js';

const WORLD = { seed: 7, customers: 200, terminals: 400, days: 40 };
const START = Date.UTC(2018, 3, 1);
const DAY = 86_400_000;
const codecs = createCodecs('confluent');
const rules = { limits: { maxAmountMinor: 100_000_000, maxFutureSkewMs: 300_000 }, wireFormat: 'confluent' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** End offsets of a topic, partition by partition. */
async function ends(admin: Admin, topic: string): Promise<string[]> {
  return (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((p) => `${p.partition}:${p.low}-${p.high}`);
}

/** Every group with a committed offset on any of `topics`. */
async function groupsWithOffsets(admin: Admin, topics: string[]): Promise<string[]> {
  const { groups } = await admin.listGroups();
  const holding: string[] = [];
  for (const { groupId } of groups) {
    const offsets = await admin.fetchOffsets({ groupId, topics });
    if (offsets.some((t) => t.partitions.some((p) => p.offset !== '-1'))) holding.push(groupId);
  }
  return holding;
}

const replayGroups = async (admin: Admin): Promise<string[]> => (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith('fraudscore-features-'));

/** The CSV's header and the lines with since <= TX_DATETIME_MS < until. */
function linesIn(csv: string, since: number, until: number): string {
  const [header, ...rows] = csv.trimEnd().split('\n');
  return `${[header, ...rows.filter((l) => Number(l.split(',')[1]) >= since && Number(l.split(',')[1]) < until)].join('\n')}\n`;
}

describe('features --from-kafka on a real broker', () => {
  const kafka: Kafka = testKafka('fraudscore-test-features');
  let admin: Admin;
  let topics: TestTopics;
  let dir: string;
  let expected: Buffer;
  let before: { tx: string[]; outcomes: string[]; groups: string[]; replayGroups: string[] };
  const created: TestTopics[] = [];

  function cli(...args: string[]): Promise<Run> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_BROKERS: brokers(),
      FRAUD_KAFKA_BROKERS: brokers(),
      FRAUD_TOPIC_TRANSACTIONS: topics.transactions,
      FRAUD_TOPIC_OUTCOMES: topics.outcomes,
    };
    delete env.FRAUD_WIRE_FORMAT;
    delete env.FRAUD_MAX_FUTURE_SKEW_MS;
    delete env.FRAUD_MAX_AMOUNT_MINOR;
    return new Promise((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'services/cli/src/main.ts', 'features', ...args], { env, timeout: 150_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      });
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'features-from-kafka-'));
    admin = kafka.admin();
    await admin.connect();
    topics = await freshTopics(kafka, 3);
    created.push(topics);
    const stats = await publishSimulation(kafka, { ...WORLD, topics: { transactions: topics.transactions, outcomes: topics.outcomes } });
    expect(stats.transactions).toBeGreaterThan(10_000);
    await writeFeatureTable(WORLD, join(dir, 'simulation.csv'));
    expected = await readFile(join(dir, 'simulation.csv'));
    before = {
      tx: await ends(admin, topics.transactions),
      outcomes: await ends(admin, topics.outcomes),
      groups: await groupsWithOffsets(admin, [topics.transactions, topics.outcomes]),
      replayGroups: await replayGroups(admin),
    };
    expect(before.groups).toEqual([]);
  });

  afterAll(async () => {
    for (const t of created) await deleteTopics(kafka, t);
    await admin?.disconnect();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the CLI with --since at the first day writes the simulation path\'s table byte for byte', async () => {
    const out = join(dir, 'replay.csv');
    const run = await cli('--from-kafka', '--since', '2018-04-01', '--out', out);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('warning:');
    const rows = expected.toString().trimEnd().split('\n').length - 1;
    expect(run.stdout).toContain(`features: ${rows} rows (eventTime from 2018-04-01T00:00:00.000Z) → ${out}`);
    expect(run.stdout).toContain('0 transactions before --since fed the windows');
    expect((await readFile(out)).equals(expected)).toBe(true);
  });

  it('--since/--until in the middle: the window\'s rows, with the whole history\'s values', async () => {
    const since = START + 38 * DAY;
    const until = START + 39 * DAY;
    const out = join(dir, 'window.csv');
    const source = await openKafkaTopicSource(kafka);
    try {
      const r = await writeKafkaFeatureTable({
        source, topics: { transactions: topics.transactions, outcomes: topics.outcomes }, window: { since, until }, codecs, rules, out, progress: null,
      });
      expect(r).toMatchObject({ written: true, badLines: 0, unlabelledRows: 0 });
      expect(r.context).toBeGreaterThan(1000);
    } finally {
      await source.close();
    }
    const got = await readFile(out, 'utf8');
    expect(got).toBe(linesIn(expected.toString(), since, until));
    expect(got.split('\n').length).toBeGreaterThan(100);
  });

  it('is read-only: end offsets unchanged, no group holds offsets on the topics, the throwaway group is gone', async () => {
    expect(await ends(admin, topics.transactions)).toEqual(before.tx);
    expect(await ends(admin, topics.outcomes)).toEqual(before.outcomes);
    expect(await groupsWithOffsets(admin, [topics.transactions, topics.outcomes])).toEqual([]);
    const left = (await replayGroups(admin)).filter((g) => !before.replayGroups.includes(g));
    expect(left).toEqual([]);
  });

  it('reads committed records only, and an open transaction does not hold the replay up', async () => {
    const plan = await freshTopics(kafka, 1);
    created.push(plan);
    const producer = kafka.producer({ transactionalId: `${plan.group}-features`, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const tx = (id: string, hour: number): Transaction => ({
      transactionId: id, cardToken: 'card-000001', terminalId: 'term-000001', amountMinor: 1000, currency: 'EUR', eventTime: START + hour * 3_600_000,
      merchantId: null, merchantCategoryCode: null, merchantCountry: null, channel: 'POS', entryMode: 'CHIP', cardPresent: true,
    });
    const write = async (ids: [string, number][], end: 'commit' | 'abort' | 'open') => {
      const t = await producer.transaction();
      await t.send({ topic: plan.transactions, messages: ids.map(([id, hour]) => ({ key: 'card-000001', value: codecs.transaction.encode(tx(id, hour)) })) });
      if (end === 'commit') await t.commit();
      else if (end === 'abort') await t.abort();
      return t;
    };
    await write([['tx-a', 1], ['tx-b', 2]], 'commit');
    await write([['tx-aborted', 3]], 'abort');
    await write([['tx-c', 4]], 'commit');
    const open = await write([['tx-open', 5]], 'open');
    try {
      const out = join(dir, 'committed.csv');
      const source = await openKafkaTopicSource(kafka);
      let r;
      try {
        r = await writeKafkaFeatureTable({
          source, topics: { transactions: plan.transactions, outcomes: plan.outcomes }, window: { since: START }, codecs, rules, out, progress: null,
        });
      } finally {
        await source.close();
      }
      expect(r).toMatchObject({ written: true, rows: 3, badLines: 0 });
      const ids = (await readFile(out, 'utf8')).trimEnd().split('\n').slice(1).map((l) => l.split(',')[0]);
      expect(ids).toEqual(['tx-a', 'tx-b', 'tx-c']);
    } finally {
      await open.abort();
      await producer.disconnect();
    }
  });
});
