/**
 * End to end on the real broker: simulated traffic plus one poison record of every kind goes
 * in; every input position comes out exactly once, as a decision or a dead letter with the
 * expected code; flags are exactly the REVIEW/BLOCK decisions; nothing written holds a PAN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Partitioners, type Kafka } from 'kafkajs';
import { createCodecs, type Decision, type DeadLetter } from '../../../services/common/src/contracts.js';
import { bytesContainPanLike } from '../../../services/scorer/src/decode/pan.js';
import type { RunningScorer } from '../../../services/scorer/src/service.js';
import { simulate, publishEvents, type SimEvent } from '../../../services/simulator/src/index.js';
import { EXPECTED_CODE, POISON_KINDS, poisonRecord } from '../../../services/simulator/src/poison.js';
import { deleteTopics, freshTopics, readTopic, testKafka, type TestTopics } from '../../helpers/kafka.js';
import { scorerConfig, startInProcessScorer } from '../../helpers/scorer.js';

const codecs = createCodecs('confluent');

/** Any 13–19 digit window, inside any digit run, that passes Luhn. */
function strictLuhnRun(text: string): boolean {
  for (const run of text.match(/\d{13,}/g) ?? []) {
    for (let len = 13; len <= Math.min(19, run.length); len++) {
      for (let i = 0; i + len <= run.length; i++) {
        let sum = 0;
        for (let k = 0; k < len; k++) {
          let d = run.charCodeAt(i + len - 1 - k) - 48;
          if (k % 2 === 1 && (d *= 2) > 9) d -= 9;
          sum += d;
        }
        if (sum % 10 === 0) return true;
      }
    }
  }
  return false;
}

describe('scorer on a real broker', () => {
  let kafka: Kafka;
  let topics: TestTopics;
  let scorer: RunningScorer;
  let transactions = 0;

  beforeAll(async () => {
    kafka = testKafka();
    topics = await freshTopics(kafka, 2);
    const events: SimEvent[] = [...simulate({ seed: 7, customers: 400, terminals: 800, days: 25 })];
    const stats = await publishEvents(kafka, events, { topics });
    transactions = stats.transactions;

    const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const sample = events.find((e) => e.kind === 'transaction')!;
    if (sample.kind !== 'transaction') throw new Error('no transaction');
    await producer.send({
      topic: topics.transactions,
      acks: -1,
      messages: POISON_KINDS.map((kind) => ({ ...poisonRecord(kind, { ...sample.tx, transactionId: `poison-${kind}` }), headers: { 'poison-kind': kind } })),
    });
    await producer.disconnect();

    scorer = await startInProcessScorer(scorerConfig(topics));
  });

  afterAll(async () => {
    await scorer?.stop();
    if (topics) await deleteTopics(kafka, topics);
  });

  it('gives every input exactly one output, dead-letters poison with the right code, and flags REVIEW/BLOCK only', async () => {
    const inputs = transactions + POISON_KINDS.length;
    const [decisions, dlq] = await Promise.all([
      readTopic(kafka, topics.decisions, transactions),
      readTopic(kafka, topics.dlq, POISON_KINDS.length),
    ]);
    expect(decisions.length).toBe(transactions);
    expect(dlq.length).toBe(POISON_KINDS.length);

    // Set equality: the input positions, read back from the transactions topic, are exactly
    // the source positions of the outputs, each output position appearing once.
    const input = (await readTopic(kafka, topics.transactions, inputs)).map((r) => `${r.partition}@${r.offset}`);
    expect(new Set(input).size).toBe(inputs);
    const decoded: Decision[] = decisions.map((r) => codecs.decision.decode(r.value!));
    const letters: DeadLetter[] = dlq.map((r) => codecs.deadLetter.decode(r.value!));
    const outputs = [...decoded.map((d) => d.source), ...letters.map((l) => l.source)].map((src) => `${src.partition}@${src.offset}`);
    expect(new Set(outputs).size).toBe(outputs.length);
    expect(new Set(outputs)).toEqual(new Set(input));
    console.log(`scoring: ${transactions} transactions + ${POISON_KINDS.length} poison records → ${decoded.length} decisions + ${letters.length} dead letters, set-equal to the inputs`);

    const codes = letters.map((l) => l.errorCode).sort();
    expect(codes).toEqual(POISON_KINDS.map((k) => EXPECTED_CODE[k]).sort());
    for (const l of letters) expect(l.source.topic).toBe(topics.transactions);

    const flagged = decoded.filter((d) => d.decision !== 'ALLOW');
    expect(flagged.length).toBeGreaterThan(0);
    const flags = await readTopic(kafka, topics.flags, flagged.length);
    expect(flags.length).toBe(flagged.length);
    const flagIds = new Set(flags.map((r) => codecs.decision.decode(r.value!).transactionId));
    expect(flagIds).toEqual(new Set(flagged.map((d) => d.transactionId)));

    for (const d of decoded) {
      expect(d.features).toHaveLength(15);
      expect(d.model.digest).toBe(scorer.model.ref.digest);
      expect(d.score).toBeGreaterThanOrEqual(0);
      expect(d.score).toBeLessThanOrEqual(1);
    }
    // Every output topic, the changelog included: no 13–19 digit Luhn-valid run in any key or
    // value (strict: whatever the first digit), and no PAN-like header value.
    const changelog = await readTopic(kafka, topics.cardState, 1, 5_000);
    expect(changelog.length).toBeGreaterThan(0);
    for (const r of [...decisions, ...dlq, ...flags, ...changelog]) {
      for (const bytes of [r.value, r.key]) if (bytes) expect(strictLuhnRun(bytes.toString('latin1'))).toBe(false);
      for (const h of Object.values(r.headers)) expect(bytesContainPanLike(Buffer.from(h))).toBe(false);
    }
  });

  it('serves health, readiness and per-event metrics that add up to what was written', async () => {
    expect((await fetch(`${scorer.adminUrl}/healthz`)).status).toBe(200);
    const ready = (await (await fetch(`${scorer.adminUrl}/readyz`)).json()) as { ready: boolean; checks: Record<string, boolean> };
    expect(ready).toEqual({ ready: true, checks: { model: true, deployment: true, terminalTable: true, partitionsAssigned: true, producersReady: true, cardStateRestored: true } });
    const text = await (await fetch(`${scorer.adminUrl}/metrics`)).text();
    const sample = (re: RegExp) => [...text.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0);
    expect(sample(/^fraudscore_events_total\{decision="(?:ALLOW|REVIEW|BLOCK)"[^}]*\} (\d+)/gm)).toBe(transactions);
    expect(sample(/^fraudscore_events_total\{decision="DLQ"[^}]*\} (\d+)/gm)).toBe(POISON_KINDS.length);
    expect(sample(/^fraudscore_dead_letters_total\{code="MISSING_FIELD"[^}]*\} (\d+)/gm)).toBe(1);
    expect(sample(/^fraudscore_e2e_latency_seconds_count(?:\{[^}]*\})? (\d+)/gm)).toBe(transactions + POISON_KINDS.length);
    expect(text).toMatch(/^fraudscore_stage_latency_seconds_bucket\{stage="inference"/m);
    expect(text).toMatch(/^fraudscore_model_info\{[^}]*digest="[0-9a-f]{64}"/m);
    expect(text).toMatch(/^fraudscore_consumer_lag\{partition="0"/m);
    expect(sample(/^fraudscore_outcomes_total\{result="applied"[^}]*\} (\d+)/gm)).toBeGreaterThan(0);
    // Labels are closed sets: never a card token, a transaction id or an amount.
    expect(text).not.toMatch(/card-\d|tx-\d|poison-/);
  });
});
