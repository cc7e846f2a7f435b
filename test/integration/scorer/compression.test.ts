/**
 * Every compression codec, written by the clients other services use, on the real broker: the
 * Python confluent-kafka producer (librdkafka) and the Java kafka-clients producer each publish
 * transactions with gzip, snappy, lz4 and zstd (linger long enough that a batch holds many
 * records); the scorer must give every one exactly one decision, at the position the producer
 * reported, and dead-letter nothing. Before kafkajs had these codecs registered, the first lz4
 * batch crashed the consumer (KafkaJSNotImplemented) and the scorer exited 1, again and again.
 *
 * The Avro values are encoded here, in TypeScript, with the project's codec; the external
 * producers only move bytes (test/fixtures/external-producers). Batches are checked in the
 * broker's own log segments (when the broker runs on this machine): each case's records sit in
 * batches of its codec, many records per batch.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_KAFKA_CLIENT } from '../../../services/scorer/src/config.js';
import { ConfigResourceTypes, Partitioners, type Kafka } from 'kafkajs';
import { createCodecs, type Decision, type Transaction } from '../../../services/common/src/contracts.js';
import { CODEC_NAMES } from '../../../services/common/src/kafka-codecs.js';
import { simulate } from '../../../services/simulator/src/index.js';
import { brokers, deleteTopics, freshTopics, readTopic, testKafka, type TestTopics } from '../../helpers/kafka.js';
import { scorerEnv, spawnScorer, type ChildScorer } from '../../helpers/scorer.js';

/**
 * The scorer's Kafka client for this run (FRAUD_KAFKA_CLIENT of the test run, as everywhere in
 * the suite: npm test runs the Kafka suites once per client).
 */
const CLIENTS = [process.env.FRAUD_KAFKA_CLIENT ?? DEFAULT_KAFKA_CLIENT] as const;
const PRODUCERS = ['python-confluent-kafka', 'java-kafka-clients'] as const;
const EVENTS_PER_CASE = 300;
const PARTITIONS = 2;
const LINGER_MS = 5_000; // both producers flush at the end, so a long linger costs nothing and fills batches

type Producer = (typeof PRODUCERS)[number];
type CodecName = (typeof CODEC_NAMES)[number];
interface Case {
  producer: Producer;
  codec: CodecName;
  txs: Transaction[];
  /** Where each transaction landed, as its producer reported it. */
  positions: { partition: number; offset: number }[];
  publishMs: number;
}

const FIXTURES = 'test/fixtures/external-producers';
const codecs = createCodecs('confluent');

const pythonBase = process.env.FRAUDSCORE_PYTHON ?? 'python3';
const missing = [
  spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0 ? null : 'java (Java 17+)',
  spawnSync(pythonBase, ['--version'], { stdio: 'ignore' }).status === 0 ? null : `${pythonBase} (Python 3.10–3.13; or set FRAUDSCORE_PYTHON)`,
].filter((m): m is string => m !== null);
if (missing.length) console.warn(`compression.test.ts: SKIPPED: ${missing.join(' and ')} not found on PATH; the external producers need them`);

describe.skipIf(missing.length > 0)(`compressed batches from external clients${missing.length ? ` (skipped: no ${missing.join(', no ')})` : ''}`, () => {
  let kafka: Kafka;
  let input: TestTopics;
  const created: TestTopics[] = [];
  const cases: Case[] = [];
  let publishedIn = 0;
  let classes: string | undefined;

  beforeAll(async () => {
    kafka = testKafka();
    input = await freshTopics(kafka, PARTITIONS);
    created.push(input);

    const python = await run('bash', ['services/trainer/setup.sh'], '', 600_000).then((out) => out.trim().split('\n').at(-1)!);
    const libs = join(process.env.FRAUDSCORE_CACHE ?? join(homedir(), '.cache', 'fraudscore'), `kafka-${process.env.KAFKA_VERSION ?? '4.4.0'}`, 'libs');
    if (!existsSync(libs) || !readdirSync(libs).some((f) => f.startsWith('kafka-clients-'))) {
      throw new Error(`no kafka-clients jar in ${libs}: run \`npm run kafka:up\` once (it caches the broker's jars, kafka-clients among them)`);
    }
    // Compiled once when a JDK is there (a JVM compiling the source on every run costs seconds);
    // a JRE runs the single source file. A short-lived JVM: C1 only, fewer cycles spent on JIT.
    let java = ['-XX:TieredStopAtLevel=1', '-cp', `${libs}/*`, `${FIXTURES}/Producer.java`];
    if (spawnSync('javac', ['-version'], { stdio: 'ignore' }).status === 0) {
      classes = mkdtempSync(join(tmpdir(), 'fraudscore-producer-'));
      await run('javac', ['-cp', `${libs}/*`, '-d', classes, `${FIXTURES}/Producer.java`], '');
      java = ['-XX:TieredStopAtLevel=1', '-cp', `${classes}:${libs}/*`, 'Producer'];
    }

    // Distinct simulated transactions per case.
    const all = [...simulate({ seed: 31, customers: 300, terminals: 600, days: 30 })].flatMap((e) => (e.kind === 'transaction' ? [e.tx] : []));
    let next = 0;
    for (const producer of PRODUCERS) {
      for (const codec of CODEC_NAMES) {
        const txs = all.slice(next, (next += EVENTS_PER_CASE));
        expect(txs).toHaveLength(EVENTS_PER_CASE);
        cases.push({ producer, codec, txs, positions: [], publishMs: 0 });
      }
    }

    const started = Date.now();
    // Two at a time: a starting JVM keeps a core busy.
    await inParallel(cases, 2, async (c) => {
      const lines = c.txs.map((tx) => JSON.stringify({ key: tx.cardToken, value: codecs.transaction.encode(tx).toString('base64'), partition: partitionByKey(tx.cardToken) })).join('\n');
      const t0 = Date.now();
      const out =
        c.producer === 'python-confluent-kafka'
          ? await run(python, [`${FIXTURES}/publish_raw.py`, '--brokers', brokers(), '--topic', input.transactions, '--compression', c.codec, '--linger-ms', String(LINGER_MS)], lines)
          : await run('java', [...java, brokers(), input.transactions, c.codec, String(LINGER_MS)], lines);
      c.publishMs = Date.now() - t0;
      const rows = out.trim().split('\n').map((l) => JSON.parse(l) as { i?: number; partition?: number; offset?: number; done?: number });
      expect(rows.at(-1)).toEqual({ done: EVENTS_PER_CASE });
      c.positions = rows.slice(0, -1).map((r, i) => (expect(r.i).toBe(i), { partition: r.partition!, offset: r.offset! }));
    });
    publishedIn = Date.now() - started;
  }, 900_000);

  afterAll(async () => {
    for (const t of created) await deleteTopics(kafka, t).catch(() => {});
    if (classes) rmSync(classes, { recursive: true, force: true });
  });

  it('each case is in batches of its codec, many records to a batch, as the broker stored them', async () => {
    for (const c of cases) {
      expect(new Set(c.positions.map((p) => `${p.partition}@${p.offset}`)).size).toBe(EVENTS_PER_CASE);
      expect(c.positions.every((p, i) => p.partition === partitionByKey(c.txs[i]!.cardToken))).toBe(true);
    }
    const batches = await brokerBatches(kafka, input.transactions);
    if (!batches) {
      console.warn('compression: the broker is not on this machine (KAFKA_BROKERS): batch codecs not checked in its log');
      return;
    }
    const rows: string[] = [];
    for (const c of cases) {
      const mine = batches.filter((b) => c.positions.some((p) => p.partition === b.partition && p.offset >= b.baseOffset && p.offset <= b.lastOffset));
      expect(new Set(mine.map((b) => b.codec)), `${c.producer} ${c.codec}`).toEqual(new Set([c.codec]));
      const records = mine.reduce((s, b) => s + b.count, 0);
      expect(records).toBe(EVENTS_PER_CASE); // its batches hold its records and nobody else's
      expect(records / mine.length, `${c.producer} ${c.codec}: records per batch`).toBeGreaterThanOrEqual(50);
      rows.push(`${c.producer}/${c.codec}: ${mine.length} batches (${mine.map((b) => b.count).join('+')}), published in ${c.publishMs} ms`);
    }
    console.log(`compression: ${cases.length} cases × ${EVENTS_PER_CASE} events published in ${publishedIn} ms\n  ${rows.join('\n  ')}`);
  });

  // The scorer runs as its own process, through the CLI, as deployed: module loading differs
  // from vitest's (Node's ESM named imports of kafkajs, a CommonJS package, for one).
  describe.each(CLIENTS)('scorer on %s', (client) => {
    let scorer: ChildScorer | undefined;
    const logName = `compression-${client}`;
    afterAll(async () => {
      scorer?.child.kill('SIGTERM');
      await scorer?.exited;
    });

    it('gives every published event exactly one decision at its source position, and dead-letters nothing', async () => {
      // Outputs of their own, the same input topic.
      const own = await freshTopics(kafka, PARTITIONS);
      created.push(own);
      const topics: TestTopics = { ...own, transactions: input.transactions };
      const total = cases.length * EVENTS_PER_CASE;
      const t0 = Date.now();
      rmSync(join('runs/test-logs', `${logName}.log`), { force: true });
      scorer = await spawnScorer(scorerEnv(topics, { FRAUD_KAFKA_CLIENT: client, FRAUD_LOG_LEVEL: 'info' }), logName);
      const exited = scorer.exited.then((code) => {
        throw new Error(`the scorer exited (${code}) while scoring; see runs/test-logs/${logName}.log`);
      });
      const decisions = await Promise.race([readTopic(kafka, topics.decisions, total, 120_000), exited]);
      const elapsed = Date.now() - t0;
      const dlq = await readTopic(kafka, topics.dlq, 1, 3_000);

      const byTx = new Map<string, Decision[]>();
      for (const r of decisions) {
        const d = codecs.decision.decode(r.value!);
        byTx.set(d.transactionId, [...(byTx.get(d.transactionId) ?? []), d]);
      }
      const failures: string[] = [];
      for (const c of cases) {
        let missingDecisions = 0;
        let duplicated = 0;
        let misplaced = 0;
        c.txs.forEach((tx, i) => {
          const got = byTx.get(tx.transactionId) ?? [];
          if (got.length === 0) missingDecisions++;
          if (got.length > 1) duplicated++;
          const want = c.positions[i]!;
          if (got.some((d) => d.source.topic !== input.transactions || d.source.partition !== want.partition || d.source.offset !== want.offset)) misplaced++;
        });
        if (missingDecisions + duplicated + misplaced) failures.push(`${c.producer}/${c.codec}: ${missingDecisions} without a decision, ${duplicated} with several, ${misplaced} at another position`);
      }
      console.log(`compression on ${client}: ${total} events (${cases.length} producer×codec cases) → ${decisions.length} decisions, ${dlq.length} dead letters, in ${elapsed} ms from scorer start`);
      expect(failures).toEqual([]);
      expect(decisions.length).toBe(total);
      expect(byTx.size).toBe(total);
      expect(dlq.map((r) => r.headers['fs-error-code'])).toEqual([]);

      const metrics = await (await fetch(`${scorer.adminUrl}/metrics`)).text();
      const undecodable = [...metrics.matchAll(/^fraudscore_undecodable_batches_total\{[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
      expect(undecodable).toBe(0);
      const retries = [...metrics.matchAll(/^fraudscore_kafka_client_retries_total\{[^}]*reason="(\w+)"[^}]*\} (\d+)/gm)].filter((m) => m[2] !== '0').map((m) => `${m[1]} ${m[2]}`);
      // A healthy run logs nothing at ERROR: routine retries are counted, not shouted.
      const log = readFileSync(join('runs/test-logs', `${logName}.log`), 'utf8');
      const errors = log.split('\n').filter((l) => /"level":(?:"ERROR"|50|60)\b/.test(l));
      console.log(`  kafka client retries: ${retries.join(', ') || 'none'}; ERROR lines in the scorer log: ${errors.length}`);
      expect(errors).toEqual([]);
    });
  });
});

/**
 * The partition the test asks each producer for (in the JSON line): murmur2 of the card token,
 * as kafkajs and Java choose it (librdkafka's default partitioner would hash differently).
 */
const keyPartitioner = Partitioners.DefaultPartitioner();
function partitionByKey(key: string): number {
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, p) => ({ partitionErrorCode: 0, partitionId: p, leader: 1, replicas: [1], isr: [1], offlineReplicas: [] }));
  return keyPartitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}

/** Runs a command with `stdin`, resolving to its stdout; rejects with its stderr on failure. */
function run(cmd: string, args: string[], stdin: string, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => (clearTimeout(timer), reject(e)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.slice(0, 2).join(' ')}… exited ${code ?? signal}:\n${err.slice(-3000)}`));
    });
    child.stdin.end(stdin);
  });
}

async function inParallel<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

interface StoredBatch {
  partition: number;
  baseOffset: number;
  lastOffset: number;
  count: number;
  codec: CodecName | 'none';
}

const CODEC_BY_ID: Record<number, CodecName | 'none'> = { 0: 'none', 1: 'gzip', 2: 'snappy', 3: 'lz4', 4: 'zstd' };

/**
 * The record batches of a topic as the broker stored them, read from its log segments (the
 * on-disk format is the wire format: baseOffset int64, length int32, epoch, magic, crc,
 * attributes int16 @21, lastOffsetDelta int32 @23, …, record count int32 @57). Null when the
 * broker's log directory is not on this machine.
 */
async function brokerBatches(kafka: Kafka, topic: string): Promise<StoredBatch[] | null> {
  const admin = kafka.admin();
  await admin.connect();
  let dirs: string[];
  try {
    const { brokers: nodes } = await admin.describeCluster();
    const config = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.BROKER, name: String(nodes[0]!.nodeId), configNames: ['log.dirs', 'log.dir'] }],
    });
    dirs = config.resources[0]!.configEntries.flatMap((e) => (e.configValue ? e.configValue.split(',') : []));
  } finally {
    await admin.disconnect();
  }
  const partitionDirs = dirs.flatMap((d) => Array.from({ length: PARTITIONS }, (_, p) => ({ p, dir: join(d, `${topic}-${p}`) }))).filter((x) => existsSync(x.dir));
  if (partitionDirs.length === 0) return null;
  const out: StoredBatch[] = [];
  for (const { p, dir } of partitionDirs) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.log')).sort()) {
      const buf = readFileSync(join(dir, file));
      for (let pos = 0; pos + 61 <= buf.length; ) {
        const length = buf.readInt32BE(pos + 8);
        if (length <= 0) break;
        const baseOffset = Number(buf.readBigInt64BE(pos));
        out.push({
          partition: p,
          baseOffset,
          lastOffset: baseOffset + buf.readInt32BE(pos + 23),
          count: buf.readInt32BE(pos + 57),
          codec: CODEC_BY_ID[buf.readInt16BE(pos + 21) & 0x07] ?? 'none',
        });
        pos += 12 + length;
      }
    }
  }
  return out;
}
