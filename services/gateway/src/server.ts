/**
 * The REST gateway's HTTP side: `POST /v1/score` takes a Transaction as JSON and answers with
 * the decision the streaming scorer makes for it (one scoring path, one card state, one audit
 * trail), or, past the deadline, with the model's fallback policy marked `degraded`.
 *
 *   200 {transactionId, decision, reasons, degraded: false, score, model, policyVersion}
 *   200 {transactionId, decision, reasons: [DEADLINE_EXCEEDED, ...], degraded: true}
 *   400 {error: <dead-letter code>, message}   a body the scorer would dead-letter (nothing published)
 *   401 {error: "unauthorized"}                 no, malformed or unknown key: one answer for all
 *   413 {error: "BODY_TOO_LARGE"}               over FRAUD_GATEWAY_MAX_BODY_BYTES
 *   429                                         over the caller's rate limit (@fastify/rate-limit)
 *   503 {error: "unavailable"}                  the transaction could not be published
 *
 * Bodies are never logged (a body holds a card token and an amount); a request's log line has
 * its outcome, status, latency and the caller's key name.
 */
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Codec } from '../../common/src/avro.js';
import type { Transaction } from '../../common/src/contracts.js';
import type { DecodeLimits } from '../../scorer/src/decode/transaction.js';
import type { Logger } from '../../scorer/src/telemetry/log.js';
import type { ApiKeys } from './api-keys.js';
import { degradedDecision, type FallbackPolicy } from './fallback.js';
import type { ReplyChannel } from './replies.js';
import { parseTransaction } from './request.js';

export type Outcome = 'decided' | 'degraded' | 'rejected';

export interface GatewayDeps {
  keys: ApiKeys;
  channel: Pick<ReplyChannel, 'submit'>;
  codec: Codec<Transaction>;
  limits: DecodeLimits;
  deadlineMs: number;
  fallback: FallbackPolicy;
  maxBodyBytes: number;
  /** Requests per minute per API key. */
  rateLimitPerMinute: number;
  log: Logger;
  /** Told of every request: its outcome and seconds. */
  observe?: (outcome: Outcome, seconds: number) => void;
  https?: { cert: Buffer; key: Buffer };
  clock?: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: string;
  }
}

const UNAUTHORIZED = { error: 'unauthorized' } as const;

export async function buildGateway(d: GatewayDeps): Promise<FastifyInstance> {
  const clock = d.clock ?? Date.now;
  // One instance type for both: fastify types an https server apart, and nothing here differs.
  const app = (d.https ? Fastify({ logger: false, bodyLimit: d.maxBodyBytes, https: d.https }) : Fastify({ logger: false, bodyLimit: d.maxBodyBytes })) as unknown as FastifyInstance;
  const started = new WeakMap<FastifyRequest, number>();
  const outcomeOf = new WeakMap<FastifyRequest, Outcome>();

  app.addHook('onRequest', async (req, reply) => {
    started.set(req, performance.now());
    if (req.url === '/v1/score' || req.url.startsWith('/v1/score?')) {
      const caller = d.keys.check(req.headers.authorization);
      if (!caller) {
        outcomeOf.set(req, 'rejected');
        return reply.code(401).header('www-authenticate', 'Bearer').send(UNAUTHORIZED);
      }
      req.caller = caller;
    }
  });
  // After authentication, so a limit is per key (an unknown caller is refused before it counts).
  await app.register(rateLimit, {
    hook: 'preHandler',
    max: d.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (req) => req.caller ?? req.ip,
    onExceeded: (req) => void outcomeOf.set(req, 'rejected'),
  });
  app.addHook('onResponse', async (req, reply) => {
    const seconds = (performance.now() - (started.get(req) ?? performance.now())) / 1000;
    const outcome = outcomeOf.get(req) ?? (reply.statusCode >= 400 ? 'rejected' : undefined);
    if (outcome === undefined) return;
    d.observe?.(outcome, seconds);
    d.log.debug({ outcome, status: reply.statusCode, ms: Math.round(seconds * 1000), caller: req.caller }, 'request');
  });
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    outcomeOf.set(req, 'rejected');
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: 'BODY_TOO_LARGE', message: `the body is over ${d.maxBodyBytes} bytes` });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send({ error: 'UNSUPPORTED_MEDIA_TYPE', message: 'send application/json' });
    if (err.statusCode === 429) return reply.code(429).send({ error: 'RATE_LIMITED', message: 'over this key\'s request rate; retry later' });
    if (err.statusCode === 400 || (err as SyntaxError).name === 'SyntaxError') return reply.code(400).send({ error: 'MALFORMED_AVRO', message: 'the body is not JSON' });
    d.log.error({ err: err.message }, 'request failed');
    return reply.code(500).send({ error: 'internal' });
  });

  app.post('/v1/score', async (req, reply) => {
    const t0 = clock();
    const parsed = parseTransaction(req.body, d.limits, t0);
    if (!parsed.ok) {
      outcomeOf.set(req, 'rejected');
      return reply.code(400).send({ error: parsed.code, message: parsed.message });
    }
    const tx = parsed.tx;
    let submitted;
    try {
      submitted = await d.channel.submit(tx, d.codec.encode(tx));
    } catch (err) {
      outcomeOf.set(req, 'rejected');
      d.log.warn({ err: (err as Error).message }, 'could not publish a transaction');
      return reply.code(503).send({ error: 'unavailable', message: 'the transaction could not be published; retry with the same transactionId' });
    }
    const answer = await submitted.wait(d.deadlineMs - (clock() - t0));
    if (answer?.kind === 'decision') {
      outcomeOf.set(req, 'decided');
      const { decision: dd } = answer;
      return { transactionId: dd.transactionId, decision: dd.decision, reasons: dd.reasons, degraded: false, score: dd.score, model: { name: dd.model.name, version: dd.model.version }, policyVersion: dd.policyVersion };
    }
    if (answer?.kind === 'dead-letter') {
      outcomeOf.set(req, 'rejected');
      return reply.code(400).send({ error: answer.deadLetter.errorCode, message: answer.deadLetter.reason });
    }
    outcomeOf.set(req, 'degraded');
    const degraded = degradedDecision(d.fallback, tx);
    return { transactionId: tx.transactionId, decision: degraded.decision, reasons: degraded.reasons, degraded: true };
  });
  return app;
}
