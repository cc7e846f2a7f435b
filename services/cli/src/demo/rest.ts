/**
 * `demo --scenario rest`: the standard demo's traffic on Kafka, plus a steady stream of
 * synchronous requests to the REST gateway (`fraudscore gateway`, a child process) at
 * REST_RATE per second, as an acquirer's authorisation calls would come. Its own cards and
 * terminals (rest-card-*, rest-term-*), and the simulated stream's clock for their event times
 * (the newest simulated event's time): one stream has one event-time clock, and a request
 * stamped with today's date amid a simulated 2018 would move the terminal table's watermark
 * years ahead of the traffic.
 *
 * At the end the decisions topic is read back (committed) and every answer is checked against
 * it: a non-degraded answer must be the decision the stream holds for its transaction, and
 * every transaction must have exactly one decision there. Ends with one line:
 *   rest: <N> requests, p50 <a> ms, p99 <b> ms, <d> degraded, <e> errors, reasons on <r>% of flags
 * where errors are answers that are not 200, or disagree with the stream, or transactions
 * whose decision count on the stream is not one; reasons: the share of this run's flags (all
 * traffic) that carry the model's feature reasons beside the threshold reason.
 */
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { createCodecs, type Decision } from '../../../common/src/contracts.js';
import { hashKey, newApiKey } from '../../../gateway/src/api-keys.js';
import { TOPICS } from '../../../common/src/kafka.js';
import type { DemoEnd, DemoScenario } from '../commands/demo.js';
import { openKafkaTopicSource, type PartitionRange } from '../history/kafka-source.js';
import { freePort, startGatewayChild, type ScorerChild } from '../scorer-child.js';
import { say, sleep } from './console.js';
import { percentile } from './monitor.js';

const REST_RATE = 20;
const DEADLINE_MS = 150;
const CARDS = 200;

interface Answer {
  transactionId: string;
  status: number;
  ms: number;
  body?: { decision?: string; degraded?: boolean; reasons?: string[] };
}

export function restScenario(): DemoScenario {
  const codecs = createCodecs('confluent');
  const answers: Answer[] = [];
  let kafka: Kafka;
  let brokers = '';
  let gateway: ScorerChild | undefined;
  let decisionsFrom = new Map<number, bigint>();
  let stop = false;
  let runDir = 'runs';
  /** The simulated stream's clock: the newest event time handed to the publisher. */
  let streamTime = 0;
  const key = newApiKey('demo');

  async function requests(url: string): Promise<void> {
    while (streamTime === 0 && !stop) await sleep(50); // the stream's first event sets the clock
    let n = 0;
    const started = performance.now();
    const inFlight = new Set<Promise<void>>();
    while (!stop) {
      // A fixed rate whatever the answers take: request i leaves at i / REST_RATE seconds.
      await sleep(started + (n * 1000) / REST_RATE - performance.now());
      const i = n++;
      const tx = {
        transactionId: `rest-${Date.now().toString(36)}-${i}`, cardToken: `rest-card-${String(i % CARDS).padStart(4, '0')}`, terminalId: `rest-term-${String(i % 97).padStart(4, '0')}`,
        amountMinor: i % 25 === 0 ? 25_000 + i : 300 + ((i * 7919) % 12_000), currency: 'EUR', eventTime: streamTime, merchantId: null, merchantCategoryCode: null,
        merchantCountry: null, channel: 'POS', entryMode: 'CHIP', cardPresent: true,
      };
      const t0 = performance.now();
      const p = fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` }, body: JSON.stringify(tx) })
        .then(async (r) => answers.push({ transactionId: tx.transactionId, status: r.status, ms: performance.now() - t0, body: (await r.json()) as Answer['body'] }))
        .catch(() => answers.push({ transactionId: tx.transactionId, status: 0, ms: performance.now() - t0 }))
        .then(() => void inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  }

  let running: Promise<void> | undefined;
  return {
    async prepare(k, stamp, scorerEnv) {
      kafka = k;
      runDir = join('runs', `demo-${stamp}`);
      brokers = scorerEnv.FRAUD_KAFKA_BROKERS ?? '';
      return { topics: [], env: {} };
    },
    async publishing() {
      const admin = kafka.admin();
      await admin.connect();
      decisionsFrom = new Map((await admin.fetchTopicOffsets(TOPICS.decisions)).map((p) => [p.partition, BigInt(p.high)]));
      await admin.disconnect();
      const port = await freePort();
      gateway = await startGatewayChild({
        FRAUD_KAFKA_BROKERS: brokers, FRAUD_GATEWAY_HOST: '127.0.0.1', FRAUD_GATEWAY_PORT: String(port), FRAUD_GATEWAY_API_KEYS: `demo ${hashKey(key.key)}`,
        FRAUD_DECISION_DEADLINE_MS: String(DEADLINE_MS), FRAUD_GATEWAY_INSTANCE_ID: `demo-${process.pid}`, FRAUD_LOG_LEVEL: 'info',
      }, join(runDir, 'gateway.log'));
      say(`demo: REST gateway ready at http://127.0.0.1:${port} (deadline ${DEADLINE_MS} ms); ${REST_RATE} requests/s while traffic flows`);
      running = requests(`http://127.0.0.1:${port}`);
    },
    progress() {
      const recent = answers.slice(-500).map((a) => a.ms);
      return answers.length ? ` | rest ${answers.length} (p99 ${percentile(recent, 0.99).toFixed(0)} ms, ${answers.filter((a) => a.body?.degraded).length} degraded)` : '';
    },
    observe(event) {
      const t = event.kind === 'transaction' ? event.tx.eventTime : event.outcome.knownAt;
      if (t > streamTime) streamTime = t;
    },
    published() {
      stop = true;
    },
    async finish(run: DemoEnd) {
      await running;
      // The last requests' decisions reach the stream: wait a moment beyond the deadline.
      await sleep(2000);
      await gateway?.stop();
      const admin = kafka.admin();
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(TOPICS.decisions);
      await admin.disconnect();
      const ranges: PartitionRange[] = ends.map((e) => ({ topic: TOPICS.decisions, partition: e.partition, start: decisionsFrom.get(e.partition) ?? 0n, end: BigInt(e.high) }));
      const source = await openKafkaTopicSource(kafka, { groupPrefix: 'fraudscore-demo-rest' });
      const onStream = new Map<string, Decision[]>();
      let flags = 0;
      let explained = 0;
      try {
        await source.read(ranges, (_range, records) => {
          for (const r of records) {
            if (!r.value) continue;
            const d = codecs.decision.decode(r.value);
            if (d.decision !== 'ALLOW') {
              flags++;
              if (d.reasons.length > 1) explained++;
            }
            if (d.transactionId.startsWith('rest-')) onStream.set(d.transactionId, [...(onStream.get(d.transactionId) ?? []), d]);
          }
        });
      } finally {
        await source.close();
      }
      let errors = 0;
      for (const a of answers) {
        const ds = onStream.get(a.transactionId) ?? [];
        const agrees = a.body?.degraded === true || ds[0]?.decision === a.body?.decision;
        if (a.status !== 200 || ds.length !== 1 || !agrees) errors++;
      }
      const ms = answers.map((a) => a.ms);
      const degraded = answers.filter((a) => a.body?.degraded).length;
      say(`demo: ${answers.length} REST requests; ${onStream.size} of their transactions decided on ${TOPICS.decisions}; scorer exit ${run.scorerExit}`);
      const share = flags ? (100 * explained) / flags : 0;
      console.log(`rest: ${answers.length} requests, p50 ${percentile(ms, 0.5).toFixed(1)} ms, p99 ${percentile(ms, 0.99).toFixed(1)} ms, ${degraded} degraded, ${errors} errors, reasons on ${share.toFixed(1)}% of flags`);
      return errors === 0 && answers.length > 0 && run.drained && run.scorerExit === 0 ? 0 : 1;
    },
  };
}
