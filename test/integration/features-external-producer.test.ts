/**
 * `fraudscore features --from-kafka` on topics nothing of ours wrote: an independent world
 * (test/fixtures/external-producers/independent_world.py) drawn with numpy, its Avro values
 * encoded by hand in the Confluent wire format, produced by librdkafka (confluent-kafka: lz4
 * batches, keyed by card, headers on some records and none on others). The CLI replays the
 * topics as an operator would, and its table must equal the reference features the script
 * computed from the handbook's definitions with sorted arrays: the same rows in the same
 * order, labels and counts exactly, amounts and ratios to 1e-9 (the reference sums in another
 * order than the scorer's windows).
 *
 * The replay reads with kafkajs whatever FRAUD_KAFKA_CLIENT says, so this runs in each client's
 * integration suite identically; it is small (about 10 s).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_COLUMNS } from '../../services/scorer/src/features/index.js';
import { brokers, deleteTopics, freshTopics, testKafka, type TestTopics } from '../helpers/kafka.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeout = 300_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const table = (csv: string): string[][] => csv.trimEnd().split('\n').map((l) => l.split(','));

describe('features --from-kafka on a world an independent librdkafka producer wrote', () => {
  const kafka: Kafka = testKafka('fraudscore-test-external-features');
  let topics: TestTopics;
  let dir: string;
  let world: { transactions: number; outcomes: number; since: number; rows: number };
  let reference: string[][];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'features-external-'));
    topics = await freshTopics(kafka, 4);
    const python = (await run('bash', ['services/trainer/setup.sh'], process.env, 600_000)).stdout.trim().split('\n').at(-1) as string;
    const published = await run(python, [
      'test/fixtures/external-producers/independent_world.py',
      '--brokers', brokers(),
      '--transactions-topic', topics.transactions,
      '--outcomes-topic', topics.outcomes,
      '--reference', join(dir, 'reference.csv'),
    ]);
    expect(published.code, published.stderr).toBe(0);
    world = JSON.parse(published.stdout.trim().split('\n').at(-1) as string) as typeof world;
    reference = table(await readFile(join(dir, 'reference.csv'), 'utf8'));
  }, 600_000);

  afterAll(async () => {
    if (topics) await deleteTopics(kafka, topics);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has a world worth comparing: thousands of rows, frauds of both kinds, warm windows', () => {
    expect(world.transactions).toBeGreaterThan(5_000);
    expect(world.rows).toBeGreaterThan(1_000);
    const scenarios = new Set(reference.slice(1).map((r) => r[5]));
    expect([...scenarios].sort()).toEqual(['0', '1', '2']);
    // Terminal risk is non-zero somewhere: the outcomes fed the terminal windows.
    const risk30 = reference[0]!.indexOf('TERMINAL_ID_RISK_30DAY_WINDOW');
    expect(reference.slice(1).some((r) => Number(r[risk30]) > 0)).toBe(true);
  });

  it('the CLI replays it into the reference table: same rows and order, labels and counts exact, values to 1e-9', async () => {
    const out = join(dir, 'replay.csv');
    const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_BROKERS: brokers(), FRAUD_TOPIC_TRANSACTIONS: topics.transactions, FRAUD_TOPIC_OUTCOMES: topics.outcomes };
    delete env.FRAUD_WIRE_FORMAT;
    const since = new Date(world.since).toISOString();
    const r = await run(process.execPath, ['--import', 'tsx', 'services/cli/src/main.ts', 'features', '--from-kafka', '--since', since, '--out', out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`features: ${world.rows} rows`);
    expect(r.stdout).not.toMatch(/skipped|dropped/);

    const got = table(await readFile(out, 'utf8'));
    expect(got[0]).toEqual([...CSV_COLUMNS]);
    expect(reference[0]).toEqual([...CSV_COLUMNS]);
    expect(got.length).toBe(reference.length);
    const mismatches: string[] = [];
    for (let i = 1; i < got.length; i++) {
      const [g, want] = [got[i]!, reference[i]!];
      // Ids, time, card, terminal, labels: as written.
      if (g.slice(0, 6).join(',') !== want.slice(0, 6).join(',')) mismatches.push(`row ${i}: ${g.slice(0, 6).join(',')} != ${want.slice(0, 6).join(',')}`);
      for (let c = 6; c < g.length; c++) {
        const [a, b] = [Number(g[c]), Number(want[c])];
        if (!(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)))) mismatches.push(`row ${i} ${CSV_COLUMNS[c]}: ${a} != ${b}`);
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
  }, 300_000);
});
