import { describe, expect, it } from 'vitest';
import { createCodecs, type Transaction } from '../../../services/common/src/contracts.js';
import type { Policy } from '../../../services/scorer/src/decision/policy.js';
import { containsPanLike } from '../../../services/scorer/src/decode/pan.js';
import { InputError } from '../../../services/scorer/src/errors.js';
import type { Model } from '../../../services/scorer/src/model/load.js';
import { createPipeline, type FeatureComputer, type InputRecord, type PipelineResult } from '../../../services/scorer/src/pipeline.js';
import { inCanary } from '../../../services/scorer/src/deployment/canary.js';
import type { Serving } from '../../../services/scorer/src/deployment/serving.js';
import { EXPECTED_CODE, POISON_KINDS, poisonRecord, TEST_PAN } from '../../../services/simulator/src/poison.js';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);
const TOPIC = 'transactions';
const WIDTH = 3;
const codec = createCodecs('confluent').transaction;

const baseTx: Transaction = {
  transactionId: 'tx-000000001', cardToken: 'card-000001', terminalId: 'term-000001', amountMinor: 1_234, currency: 'EUR', eventTime: NOW - 60_000,
  merchantId: null, merchantCategoryCode: null, merchantCountry: null, channel: 'POS', entryMode: 'CHIP', cardPresent: true,
};
const pad = (n: number, w: number): string => String(n).padStart(w, '0');
const txN = (n: number, over: Partial<Transaction> = {}): Transaction =>
  ({ ...baseTx, transactionId: `tx-${pad(n, 9)}`, cardToken: `card-${pad(n % 7, 6)}`, amountMinor: 1_000 + 37 * n, ...over });
/** What the fake feature computer writes for a transaction, in float64. */
const rowOf = (tx: Transaction): number[] => [tx.amountMinor / 100, 0.1 + tx.amountMinor / 1e6, Number(tx.cardToken.slice(5))];

/** Features: [amount in units, a fraction not exact in float32, the card's number]. */
function fakeFeatures(fail?: (tx: Transaction) => boolean) {
  const seen: { tx: string; offset: number }[] = [];
  const fc: FeatureComputer = {
    width: WIDTH,
    featureSetVersion: 'fake-3-v1',
    compute(tx, out, offset) {
      seen.push({ tx: tx.transactionId, offset });
      const row = rowOf(tx);
      out[offset] = row[0]!;
      out[offset + 1] = row[1]!;
      // a refusal after a half-written row: the next transaction must overwrite it
      if (fail?.(tx)) throw new InputError('INVALID_AMOUNT', 'feature computer refused it');
      out[offset + 2] = row[2]!;
    },
  };
  return { fc, seen };
}

/** Score: a deterministic function of the float32 row (rounded again to float32 on return). */
const scoreOf = (row: ArrayLike<number>): number => Math.min(1, (row[0]! * 0.01 + row[1]!) % 1);

function fakeModel() {
  const calls: { n: number; rows: number[] }[] = [];
  const model: Model = {
    ref: { name: 'fake', version: '7', digest: 'd'.repeat(64) },
    manifest: {} as Model['manifest'],
    async score(rows, n) {
      expect(rows).toBeInstanceOf(Float32Array);
      calls.push({ n, rows: Array.from(rows.subarray(0, n * WIDTH)) });
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = scoreOf(rows.subarray(i * WIDTH, (i + 1) * WIDTH));
      return out;
    },
    dispose: async () => {},
  };
  return { model, calls };
}

function fakePolicy() {
  const calls: { score: number; row: number[] }[] = [];
  const policy: Policy = {
    version: 'policy-test-1',
    decide(score, f, o) {
      calls.push({ score, row: Array.from(f.subarray(o, o + WIDTH)) });
      if (score >= 0.8) return { decision: 'BLOCK', reasons: ['B'] };
      return score >= 0.5 ? { decision: 'REVIEW', reasons: ['R'] } : { decision: 'ALLOW', reasons: [] };
    },
  };
  return { policy, calls };
}

function setup(opts: { fail?: (tx: Transaction) => boolean; decisionFeatures?: boolean } = {}) {
  const features = fakeFeatures(opts.fail);
  const model = fakeModel();
  const policy = fakePolicy();
  const partitions: number[] = [];
  let tick = 0;
  const pipeline = createPipeline({
    topic: TOPIC,
    codec,
    limits: { maxFutureSkewMs: 300_000, maxAmountMinor: 100_000_000 },
    featuresFor: (p) => (partitions.push(p), features.fc),
    serving: () => ({ revision: 7, champion: { role: 'CHAMPION', model: model.model, policy: policy.policy } }),
    clock: () => NOW + 5 * tick++,
    decisionFeatures: opts.decisionFeatures,
  });
  return { pipeline, features, model, policy, partitions };
}

let nextOffset = 100;
const rec = (value: Buffer | null, key: string | null = 'card-000001'): InputRecord =>
  ({ partition: 3, offset: String(nextOffset++), key: key === null ? null : Buffer.from(key), value, timestamp: String(NOW - 1_000) });

const decisionOf = (r: PipelineResult) => (r.kind === 'decision' ? r.decision : expect.fail(`expected a decision, got ${r.kind}`));
const deadLetterOf = (r: PipelineResult) => (r.kind === 'dead-letter' ? r : expect.fail(`expected a dead letter, got ${r.kind}`));

describe('pipeline: one result per input, in input order', () => {
  it('interleaves decisions and dead letters exactly as the inputs came', async () => {
    const { pipeline } = setup();
    const good = (n: number) => rec(codec.encode(txN(n)));
    const records = [good(1), rec(poisonRecord('bad-magic', txN(2), NOW).value), good(3), rec(null), rec(poisonRecord('future-time', txN(4), NOW).value), good(5)];
    const results = await pipeline.process(records);
    expect(results).toHaveLength(records.length);
    expect(results.map((r) => r.kind)).toEqual(['decision', 'dead-letter', 'decision', 'dead-letter', 'dead-letter', 'decision']);
    results.forEach((r, i) => expect(r.record).toBe(records[i]));
    expect([0, 2, 5].map((i) => decisionOf(results[i]!).transactionId)).toEqual(['tx-000000001', 'tx-000000003', 'tx-000000005']);
  });

  it('an empty chunk gives no results and calls neither features nor the model', async () => {
    const { pipeline, model, partitions } = setup();
    expect(await pipeline.process([])).toEqual([]);
    expect(partitions).toEqual([]);
    expect(model.calls).toEqual([]);
  });

  it('a chunk of only poison never calls the model', async () => {
    const { pipeline, model } = setup();
    const results = await pipeline.process([rec(Buffer.from('junk')), rec(null)]);
    expect(results.map((r) => r.kind)).toEqual(['dead-letter', 'dead-letter']);
    expect(model.calls).toEqual([]);
  });
});

describe('pipeline: dead letters', () => {
  it.each(POISON_KINDS)('%s carries its code and the source topic/partition/offset', async (kind) => {
    const { pipeline } = setup();
    const record = { ...rec(poisonRecord(kind, txN(9), NOW).value), offset: '9007199254' };
    const [r] = await pipeline.process([record]);
    const { deadLetter } = deadLetterOf(r!);
    expect(deadLetter.errorCode).toBe(EXPECTED_CODE[kind]);
    expect(deadLetter.source).toEqual({ topic: TOPIC, partition: 3, offset: 9_007_199_254 });
    expect(deadLetter.retryable).toBe(false);
    expect(deadLetter.failedAt).toBe(NOW);
    expect(containsPanLike(deadLetter.reason)).toBe(false);
    expect(deadLetter.reason).not.toContain('card-000002');
    if (kind !== 'pan-token') expect(deadLetter.payload).toBe(record.value);
  });

  it('withholds a PAN-bearing payload and says so without the PAN', async () => {
    const { pipeline } = setup();
    const value = poisonRecord('pan-token', txN(1), NOW).value;
    expect(value.toString('latin1')).toContain(TEST_PAN);
    const [r] = await pipeline.process([rec(value, 'withheld')]);
    const dl = deadLetterOf(r!);
    expect(dl.deadLetter.errorCode).toBe('PAN_LIKE_VALUE');
    expect(dl.deadLetter.payload).toBeNull();
    expect(dl.deadLetter.reason).toMatch(/withheld/);
    expect(dl.deadLetter.reason).not.toContain(TEST_PAN);
    expect(containsPanLike(dl.deadLetter.reason)).toBe(false);
    expect(dl.deadLetter.source.partition).toBe(3);
    expect(dl.safeKey?.toString()).toBe('withheld');
  });

  it('withholds a PAN in undecodable bytes too, and drops a PAN-like key', async () => {
    const { pipeline } = setup();
    const values = [`{"pan":"${TEST_PAN}"}`, '{"pan":"none"}', '{"x":1}'].map((v) => Buffer.from(v));
    const [a, b, c] = await pipeline.process([rec(values[0]!, TEST_PAN), rec(values[1]!, '4111 1111 1111 1111'), rec(values[2]!, null)]);
    expect(deadLetterOf(a!).deadLetter.payload).toBeNull();
    expect(deadLetterOf(a!).safeKey).toBeNull();
    expect(deadLetterOf(b!).deadLetter.payload?.toString()).toBe('{"pan":"none"}');
    expect(deadLetterOf(b!).deadLetter.reason).not.toMatch(/withheld/);
    expect(deadLetterOf(b!).safeKey).toBeNull();
    expect(deadLetterOf(c!).safeKey).toBeNull();
  });

  it('a record of an undecodable batch becomes an UNDECODABLE_BATCH dead letter with the reason, never decoded', async () => {
    const { pipeline, model, features } = setup();
    const lost = { ...rec(null, null), offset: '4242', undecodable: 'lz4: frame checksum mismatch' };
    const [a, b] = await pipeline.process([lost, rec(codec.encode(txN(1)))]);
    const dl = deadLetterOf(a!);
    expect(dl.deadLetter).toMatchObject({ errorCode: 'UNDECODABLE_BATCH', retryable: false, payload: null, source: { topic: TOPIC, partition: 3, offset: 4242 } });
    expect(dl.deadLetter.reason).toBe('record batch could not be decompressed: lz4: frame checksum mismatch');
    expect(dl.safeKey).toBeNull();
    expect(decisionOf(b!).transactionId).toBe('tx-000000001');
    expect(features.seen.map((s) => s.tx)).toEqual(['tx-000000001']);
    expect(model.calls[0]!.n).toBe(1);
    // even with bytes present, the flag wins: the bytes are not what the producer sent
    const [c] = await pipeline.process([{ ...rec(codec.encode(txN(2))), undecodable: 'zstd: x' }]);
    expect(deadLetterOf(c!).deadLetter.errorCode).toBe('UNDECODABLE_BATCH');
  });

  it('an InputError from the feature computer dead-letters only that record', async () => {
    const { pipeline, model } = setup({ fail: (tx) => tx.transactionId === 'tx-000000002' });
    const results = await pipeline.process([1, 2, 3].map((n) => rec(codec.encode(txN(n)))));
    expect(results.map((r) => r.kind)).toEqual(['decision', 'dead-letter', 'decision']);
    expect(model.calls[0]!.n).toBe(2);
    // tx 3's row overwrote the half-written row of tx 2
    expect(decisionOf(results[2]!).features).toEqual(rowOf(txN(3)));
  });

  it('an unexpected error is not dead-lettered: the chunk fails', async () => {
    const { pipeline, model } = setup();
    model.model.score = async () => {
      throw new Error('onnx exploded');
    };
    await expect(pipeline.process([rec(codec.encode(txN(1)))])).rejects.toThrow('onnx exploded');
  });
});

describe('pipeline: decisions', () => {
  it('carry model ref, policy version, feature set, features, times and source', async () => {
    const { pipeline, features, model, policy, partitions } = setup();
    const records = [rec(codec.encode(txN(1))), rec(codec.encode(txN(2)))];
    const results = await pipeline.process(records);
    expect(partitions).toEqual([3]);
    expect(features.seen).toEqual([{ tx: 'tx-000000001', offset: 0 }, { tx: 'tx-000000002', offset: WIDTH }]);
    results.forEach((r, k) => {
      const d = decisionOf(r);
      const tx = txN(k + 1);
      const f64 = rowOf(tx);
      expect(d).toMatchObject({ transactionId: tx.transactionId, cardToken: tx.cardToken, eventTime: tx.eventTime, policyVersion: 'policy-test-1', featureSetVersion: 'fake-3-v1', scoredAt: NOW + 5 });
      expect(d.model).toEqual({ name: 'fake', version: '7', digest: 'd'.repeat(64) });
      expect(d.source).toEqual({ topic: TOPIC, partition: 3, offset: Number(records[k]!.offset) });
      // the decision keeps the float64 features; the model sees them as float32
      expect(d.features).toEqual(f64);
      expect(model.calls[0]!.rows.slice(k * WIDTH, (k + 1) * WIDTH)).toEqual(f64.map(Math.fround));
      // the score is the model's float32 output, and the policy decided on exactly that score
      const expected = Math.fround(scoreOf(f64.map(Math.fround)));
      expect(d.score).toBe(expected);
      expect(d.score).not.toBe(scoreOf(f64));
      // ...on the row the model saw (float32), which is what the explainer explains
      expect(policy.calls[k]).toEqual({ score: d.score, row: f64.map(Math.fround) });
      expect(d.decision).toBe(expected >= 0.8 ? 'BLOCK' : expected >= 0.5 ? 'REVIEW' : 'ALLOW');
    });
    expect(model.calls).toHaveLength(1);
    expect(model.calls[0]!.n).toBe(2);
  });

  it("score a chunk that mixes partitions with one model call, each record on its own partition's state", async () => {
    const { pipeline, partitions, model } = setup();
    const at = (partition: number, n: number): InputRecord => ({ ...rec(codec.encode(txN(n))), partition });
    const results = await pipeline.process([at(1, 1), at(1, 2), at(2, 3), at(1, 4), at(2, 5)]);
    expect(partitions).toEqual([1, 2, 1, 2]);
    expect(model.calls.map((c) => c.n)).toEqual([5]);
    expect(results.map((r) => decisionOf(r).source.partition)).toEqual([1, 1, 2, 1, 2]);
    expect(results.map((r) => decisionOf(r).transactionId)).toEqual([1, 2, 3, 4, 5].map((n) => txN(n).transactionId));
  });

  it('leave the feature vector out when told to (FRAUD_DECISION_FEATURES=false), scoring the same', async () => {
    const full = setup();
    const bare = setup({ decisionFeatures: false });
    const records = [rec(codec.encode(txN(1))), rec(codec.encode(txN(2)))];
    const [a, b] = await Promise.all([full.pipeline.process(records), bare.pipeline.process(records)]);
    expect(a.map((r) => decisionOf(r).features.length)).toEqual([WIDTH, WIDTH]);
    expect(b.map((r) => decisionOf(r).features)).toEqual([[], []]);
    expect(b.map((r) => decisionOf(r).score)).toEqual(a.map((r) => decisionOf(r).score));
  });

  it('carries the policy verdict: ALLOW, REVIEW and BLOCK with their reasons', async () => {
    const { pipeline } = setup();
    // score = amountMinor × 1.01e-4 + 0.1: 1000 → 0.201, 5000 → 0.605, 8000 → 0.908
    const amounts = [1_000, 5_000, 8_000];
    const results = await pipeline.process(amounts.map((a, i) => rec(codec.encode(txN(i, { amountMinor: a })))));
    expect(results.map((r) => [decisionOf(r).decision, decisionOf(r).reasons])).toEqual([['ALLOW', []], ['REVIEW', ['R']], ['BLOCK', ['B']]]);
  });

  it('reuses its buffers safely: a big chunk, then a small one, then a bigger one', async () => {
    const { pipeline, model } = setup();
    const chunk = (from: number, n: number) => Array.from({ length: n }, (_, i) => rec(codec.encode(txN(from + i))));
    const big = await pipeline.process(chunk(0, 20));
    const small = await pipeline.process(chunk(100, 2));
    const bigger = await pipeline.process(chunk(200, 50));
    expect(model.calls.map((c) => c.n)).toEqual([20, 2, 50]);
    for (const [results, from] of [[big, 0], [small, 100], [bigger, 200]] as const) {
      results.forEach((r, i) => expect(decisionOf(r).features).toEqual(rowOf(txN(from + i))));
    }
    // a decision's features are a copy, not a view of the reused buffer
    expect(decisionOf(big[0]!).features).toEqual([10, 0.1 + 0.001, 0]);
  });

  it('asks for the model and policy per chunk, so a swap applies to the next chunk', async () => {
    const { pipeline, model } = setup();
    const first = await pipeline.process([rec(codec.encode(txN(1)))]);
    (model.model as { ref: Model['ref'] }).ref = { name: 'fake', version: '8', digest: 'e'.repeat(64) };
    const second = await pipeline.process([rec(codec.encode(txN(2)))]);
    expect(decisionOf(first[0]!).model.version).toBe('7');
    expect(decisionOf(second[0]!).model.version).toBe('8');
  });
});

describe('pipeline: deployments (canary, shadow, revision)', () => {
  /** A model that scores every row `constant` and records the rows it saw. */
  const constantModel = (name: string, constant: number) => {
    const seen: number[][] = [];
    const model: Model = {
      ref: { name, version: '1', digest: name[0]!.repeat(64) },
      manifest: {} as Model['manifest'],
      async score(rows, n) {
        for (let i = 0; i < n; i++) seen.push(Array.from(rows.subarray(i * WIDTH, (i + 1) * WIDTH)));
        return new Float32Array(n).fill(constant);
      },
      dispose: async () => {},
    };
    return { model, seen };
  };

  it('the canary decides the cards in its share, the champion the others; the shadow scores every row apart', async () => {
    const champion = constantModel('champion', 0.1);
    const canary = constantModel('canary', 0.6);
    const shadow = constantModel('shadow', 0.9);
    const { policy } = fakePolicy();
    let serving: Serving = { revision: 4, champion: { role: 'CHAMPION', model: champion.model, policy }, canary: { role: 'CANARY', model: canary.model, policy, sharePercent: 50 }, shadow: { role: 'SHADOW', model: shadow.model, policy } };
    const pipeline = createPipeline({
      topic: TOPIC, codec, limits: { maxFutureSkewMs: 300_000, maxAmountMinor: 100_000_000 },
      featuresFor: () => fakeFeatures().fc, serving: () => serving, clock: () => NOW,
    });
    const txs = Array.from({ length: 40 }, (_, i) => txN(i, { cardToken: `card-${pad(i, 6)}` }));
    const results = await pipeline.process(txs.map((tx) => rec(codec.encode(tx))));
    const inShare = txs.map((tx) => inCanary(tx.cardToken, 50));
    expect(inShare.filter(Boolean).length).toBeGreaterThan(5);
    expect(inShare.filter((x) => !x).length).toBeGreaterThan(5);
    results.forEach((r, k) => {
      const d = decisionOf(r);
      expect(d.deploymentRevision).toBe(4);
      expect([d.role, d.model.name, d.score, d.decision]).toEqual(inShare[k] ? ['CANARY', 'canary', Math.fround(0.6), 'REVIEW'] : ['CHAMPION', 'champion', Math.fround(0.1), 'ALLOW']);
      const s = (r as Extract<PipelineResult, { kind: 'decision' }>).shadow!;
      expect([s.role, s.model.name, s.score, s.decision, s.deploymentRevision, s.source]).toEqual(['SHADOW', 'shadow', Math.fround(0.9), 'BLOCK', 4, d.source]);
    });
    // each model saw exactly its rows (the same feature rows), in order
    expect(canary.seen).toEqual(txs.filter((_, k) => inShare[k]).map((tx) => rowOf(tx).map(Math.fround)));
    expect(champion.seen).toEqual(txs.filter((_, k) => !inShare[k]).map((tx) => rowOf(tx).map(Math.fround)));
    expect(shadow.seen).toEqual(txs.map((tx) => rowOf(tx).map(Math.fround)));

    // The next chunk reads the next revision: no shadow, no canary.
    serving = { revision: 5, champion: { role: 'CHAMPION', model: canary.model, policy } };
    const next = await pipeline.process([rec(codec.encode(txs[0]!))]);
    expect(decisionOf(next[0]!)).toMatchObject({ role: 'CHAMPION', deploymentRevision: 5, model: { name: 'canary' } });
    expect((next[0] as { shadow?: unknown }).shadow).toBeUndefined();
  });
});
