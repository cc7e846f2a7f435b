/**
 * Issue 15: REST requests at 50 % of the sustainable rate. A gateway child (`fraudscore
 * gateway`) answers POST /v1/score from the latency run's scorer while the load generator
 * offers half the rate; this process sends REST_RATE requests per second (their own cards,
 * the stream's clock for their event times) and times each answer. The stream's own latency
 * in the same window comes from the live monitor, as for the other phases.
 */
import { join } from 'node:path';
import { hashKey, newApiKey } from '../../../services/gateway/src/api-keys.js';
import { freePort, startGatewayChild, type ScorerChild } from '../../../services/cli/src/scorer-child.js';
import type { TopicPlan } from '../../../services/scorer/src/source/topics.js';
import { percentileSorted, sortedCopy } from './stats.js';

export const REST_RATE = 20;
export const REST_DEADLINE_MS = 150;

export interface RestPhase {
  offeredEps: number;
  requests: number;
  p50: number;
  p99: number;
  degraded: number;
  /** Not 200, or no answer. */
  errors: number;
  /** The stream's own p50/p99 (decision CreateTime − input CreateTime) in the same window. */
  streamP50: number;
  streamP99: number;
  /**
   * The same as a read_committed consumer sees it (arrival here − input CreateTime): under
   * exactly-once a decision, and so a reply, is visible only once its transaction commits.
   */
  streamVisibleP99: number;
}

export interface RestProbe {
  stop(): Promise<{ ms: number[]; degraded: number; errors: number }>;
  close(): Promise<void>;
}

/** Starts a gateway on the plan's topics and sends requests until stop(). */
export async function startRestProbe(brokers: readonly string[], plan: TopicPlan, name: string, logDir: string, streamTime: () => number): Promise<RestProbe> {
  const key = newApiKey('bench');
  const port = await freePort();
  const gateway: ScorerChild = await startGatewayChild({
    FRAUD_KAFKA_BROKERS: brokers.join(','), FRAUD_TOPIC_TRANSACTIONS: plan.transactions, FRAUD_TOPIC_REPLIES: plan.replies,
    FRAUD_GATEWAY_HOST: '127.0.0.1', FRAUD_GATEWAY_PORT: String(port), FRAUD_GATEWAY_API_KEYS: `bench ${hashKey(key.key)}`,
    FRAUD_DECISION_DEADLINE_MS: String(REST_DEADLINE_MS), FRAUD_GATEWAY_INSTANCE_ID: `bench-${name}`, FRAUD_LOG_LEVEL: 'warn',
  }, join(logDir, `${name}-gateway.log`));
  const url = `http://127.0.0.1:${port}/v1/score`;
  const ms: number[] = [];
  let degraded = 0;
  let errors = 0;
  let stopping = false;
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    const started = performance.now();
    for (let i = 0; !stopping; i++) {
      const wait = started + (i * 1000) / REST_RATE - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (stopping) break;
      const body = JSON.stringify({
        transactionId: `bench-rest-${name}-${i}`, cardToken: `rest-card-${String(i % 500).padStart(4, '0')}`, terminalId: `rest-term-${String(i % 97).padStart(4, '0')}`,
        amountMinor: 500 + ((i * 7919) % 20_000), currency: 'EUR', eventTime: streamTime(), merchantId: null, merchantCategoryCode: null, merchantCountry: null,
        channel: 'POS', entryMode: 'CHIP', cardPresent: true,
      });
      const t0 = performance.now();
      const p: Promise<void> = fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` }, body })
        .then(async (r) => {
          const answer = (await r.json()) as { degraded?: boolean };
          ms.push(performance.now() - t0);
          if (r.status !== 200) errors++;
          else if (answer.degraded) degraded++;
        })
        .catch(() => void errors++)
        .finally(() => void inFlight.delete(p));
      inFlight.add(p);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      await Promise.all(inFlight);
      return { ms, degraded, errors };
    },
    async close() {
      await gateway.stop(10_000);
    },
  };
}

/** The phase's figures from the answers' times and the stream's latencies in the window. */
export function restPhase(offeredEps: number, answers: { ms: number[]; degraded: number; errors: number }, streamLatencies: number[], visibleLatencies: number[]): RestPhase {
  const a = sortedCopy(answers.ms);
  const s = sortedCopy(streamLatencies);
  return {
    offeredEps, requests: answers.ms.length, p50: percentileSorted(a, 0.5), p99: percentileSorted(a, 0.99), degraded: answers.degraded, errors: answers.errors,
    streamP50: percentileSorted(s, 0.5), streamP99: percentileSorted(s, 0.99), streamVisibleP99: percentileSorted(sortedCopy(visibleLatencies), 0.99),
  };
}
