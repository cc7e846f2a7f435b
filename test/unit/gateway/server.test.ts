/**
 * The gateway's HTTP contract (services/gateway/src/server.ts), with fastify's inject and a
 * stand-in for the Kafka side (the reply channel); the real broker and scorer:
 * test/integration/gateway.test.ts. Bad bodies get the dead-letter codes and publish nothing;
 * keys are checked in constant time and every failure looks the same; the deadline answers
 * with the manifest's fallback policy.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCodecs, type Decision, type Transaction } from '../../../services/common/src/contracts.js';
import { hashKey, loadApiKeys } from '../../../services/gateway/src/api-keys.js';
import { readFallbackPolicy } from '../../../services/gateway/src/fallback.js';
import type { Reply, Submitted } from '../../../services/gateway/src/replies.js';
import { buildGateway, type Outcome } from '../../../services/gateway/src/server.js';
import { createLogger } from '../../../services/scorer/src/telemetry/log.js';

const codecs = createCodecs('confluent');
const KEY = 'k'.repeat(20) + '-test-key-0001';
const NOW = Date.UTC(2026, 10, 1, 12);
const manifest = JSON.parse(readFileSync('models/fraud-lgbm/1.0.0/manifest.json', 'utf8')) as Record<string, unknown>;
const fallback = readFallbackPolicy(manifest, 'fraud-lgbm/1.0.0');
const BLOCK_AT = fallback.rules.find((r) => r.decision === 'BLOCK')!.when.value as number;

const tx = (over: Partial<Transaction> = {}): Transaction => ({
  transactionId: 'tx-1', cardToken: 'card-000001', terminalId: 'term-000001', amountMinor: 1234, currency: 'EUR', eventTime: NOW - 1000,
  merchantId: null, merchantCategoryCode: null, merchantCountry: null, channel: 'POS', entryMode: 'CHIP', cardPresent: true, ...over,
});

function decisionFor(t: Transaction): Decision {
  return {
    transactionId: t.transactionId, cardToken: t.cardToken, score: 0.91, decision: 'BLOCK', reasons: ['SCORE_ABOVE_BLOCK_THRESHOLD', 'AMOUNT'],
    model: { name: 'fraud-lgbm', version: '1.0.0', digest: 'a'.repeat(64) }, policyVersion: 'p', eventTime: t.eventTime, scoredAt: NOW,
    source: { topic: 'transactions', partition: 0, offset: 1 }, featureSetVersion: 'f', features: [], role: 'CHAMPION', deploymentRevision: -1,
  };
}

/** The Kafka side as the server sees it: what was published, and a reply after `replyMs` (or never). */
function channel(replyMs: number | undefined, kind: Reply['kind'] = 'decision') {
  const published: Transaction[] = [];
  const seen = new Set<string>();
  return {
    published,
    async submit(t: Transaction, encoded: Buffer): Promise<Submitted> {
      expect(codecs.transaction.decode(encoded)).toEqual(t);
      const first = !seen.has(t.transactionId);
      seen.add(t.transactionId);
      if (first) published.push(t);
      return {
        transactionId: t.transactionId,
        published: first,
        wait: (timeoutMs) =>
          new Promise((resolve) => {
            if (replyMs === undefined || replyMs > timeoutMs) setTimeout(() => resolve(undefined), timeoutMs);
            else setTimeout(() => resolve(kind === 'decision' ? { kind, decision: decisionFor(t) } : { kind, deadLetter: { errorCode: 'INVALID_EVENT_TIME', reason: 'eventTime is too far in the future', retryable: false, source: { topic: 'transactions', partition: 0, offset: 1 }, payload: null, failedAt: NOW } }), replyMs);
          }),
      };
    },
  };
}

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

async function gateway(replyMs: number | undefined, opts: { kind?: Reply['kind']; rateLimit?: number } = {}) {
  const ch = channel(replyMs, opts.kind);
  const outcomes: Outcome[] = [];
  const app = await buildGateway({
    keys: loadApiKeys({ env: `caller-a ${hashKey(KEY)}` }), channel: ch, codec: codecs.transaction,
    limits: { maxFutureSkewMs: 300_000, maxAmountMinor: 100_000_000 }, deadlineMs: 60, fallback, maxBodyBytes: 2048,
    rateLimitPerMinute: opts.rateLimit ?? 1000, log: createLogger('silent'), observe: (o) => outcomes.push(o), clock: () => NOW,
  });
  apps.push(app);
  const post = (body: unknown, auth: string | null = `Bearer ${KEY}`) =>
    app.inject({ method: 'POST', url: '/v1/score', headers: { ...(auth ? { authorization: auth } : {}), 'content-type': 'application/json' }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  return { post, published: ch.published, outcomes };
}

describe('POST /v1/score', () => {
  it('answers with the scorer\'s decision when it comes within the deadline', async () => {
    const g = await gateway(5);
    const r = await g.post(tx());
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ transactionId: 'tx-1', decision: 'BLOCK', reasons: ['SCORE_ABOVE_BLOCK_THRESHOLD', 'AMOUNT'], degraded: false, score: 0.91, model: { name: 'fraud-lgbm', version: '1.0.0' }, policyVersion: 'p' });
    expect(g.published.map((t) => t.transactionId)).toEqual(['tx-1']);
    expect(g.outcomes).toEqual(['decided']);
  });

  it('past the deadline: the manifest\'s fallback policy, degraded, DEADLINE_EXCEEDED first', async () => {
    const g = await gateway(undefined);
    const small = await g.post(tx());
    expect(small.json()).toEqual({ transactionId: 'tx-1', decision: 'ALLOW', reasons: ['DEADLINE_EXCEEDED'], degraded: true });
    const big = await g.post(tx({ transactionId: 'tx-2', amountMinor: BLOCK_AT }));
    expect(big.json()).toMatchObject({ decision: 'BLOCK', degraded: true, reasons: ['DEADLINE_EXCEEDED', fallback.rules[0]!.reason] });
    expect(g.outcomes).toEqual(['degraded', 'degraded']);
    // The transactions were published: the real decisions are still made on the stream.
    expect(g.published).toHaveLength(2);
  });

  it('a retry of the same transaction id is not published again', async () => {
    const g = await gateway(5);
    await g.post(tx());
    const again = await g.post(tx());
    expect(again.json()).toMatchObject({ transactionId: 'tx-1', decision: 'BLOCK', degraded: false });
    expect(g.published).toHaveLength(1);
  });

  it('a body the scorer would dead-letter: 400 with its code, nothing published', async () => {
    const g = await gateway(5);
    const cases: [unknown, string][] = [
      [{ ...tx(), amountMinor: undefined }, 'MISSING_FIELD'],
      [{ ...tx(), cardToken: null }, 'MISSING_FIELD'],
      [{ ...tx(), amountMinor: '12' }, 'MALFORMED_AVRO'],
      [{ ...tx(), amountMinor: 1.5 }, 'MALFORMED_AVRO'],
      [{ ...tx(), channel: 'FAX' }, 'MALFORMED_AVRO'],
      [{ ...tx(), amountMinor: -5 }, 'INVALID_AMOUNT'],
      [{ ...tx(), eventTime: NOW + 3_600_000 }, 'INVALID_EVENT_TIME'],
      [{ ...tx(), cardToken: '4111111111111111' }, 'PAN_LIKE_VALUE'],
      [{ ...tx(), terminalId: 'has space' }, 'INVALID_ID'],
      [[tx()], 'MALFORMED_AVRO'],
      ['{"transactionId": ', 'MALFORMED_AVRO'],
    ];
    for (const [body, code] of cases) {
      const r = await g.post(body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json().error, JSON.stringify(body)).toBe(code);
      // Never the value back: a PAN in a body is not echoed.
      expect(r.body).not.toContain('4111111111111111');
    }
    expect(g.published).toEqual([]);
  });

  it('the scorer dead-lettered it after all: 400 with the scorer\'s code', async () => {
    const g = await gateway(5, { kind: 'dead-letter' });
    const r = await g.post(tx());
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toBe('INVALID_EVENT_TIME');
  });

  it('over the size limit: 413, nothing published', async () => {
    const g = await gateway(5);
    const r = await g.post({ ...tx(), merchantId: 'm'.repeat(4000) });
    expect(r.statusCode).toBe(413);
    expect(r.json().error).toBe('BODY_TOO_LARGE');
    expect(g.published).toEqual([]);
  });

  it('no key, a malformed one, a wrong one: the same 401, nothing published', async () => {
    const g = await gateway(5);
    const answers = await Promise.all([null, 'Basic abc', 'Bearer short', `Bearer ${KEY.slice(0, -1)}x`, `bearer ${KEY}`].map((a) => g.post(tx(), a)));
    for (const [i, r] of answers.entries()) {
      expect(r.statusCode, String(i)).toBe(401);
      expect(r.body).toBe('{"error":"unauthorized"}');
      expect(r.headers['www-authenticate']).toBe('Bearer');
    }
    expect(g.published).toEqual([]);
    expect(g.outcomes).toEqual(['rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
  });

  it('over the key\'s rate limit: 429, nothing more published', async () => {
    const g = await gateway(1, { rateLimit: 3 });
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await g.post(tx({ transactionId: `tx-${i}` }))).statusCode);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    expect(g.published).toHaveLength(3);
  });
});

describe('HTTPS (FRAUD_GATEWAY_TLS_CERT_FILE / _KEY_FILE)', () => {
  it('serves the API over TLS with the given certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-tls-'));
    try {
      const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
      expect(gen.status, gen.stderr).toBe(0);
      const cert = readFileSync(join(dir, 'cert.pem'));
      const app = await buildGateway({
        keys: loadApiKeys({ env: `caller-a ${hashKey(KEY)}` }), channel: channel(1), codec: codecs.transaction,
        limits: { maxFutureSkewMs: 300_000, maxAmountMinor: 100_000_000 }, deadlineMs: 60, fallback, maxBodyBytes: 2048,
        rateLimitPerMinute: 100, log: createLogger('silent'), clock: () => NOW, https: { cert, key: readFileSync(join(dir, 'key.pem')) },
      });
      apps.push(app);
      const url = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
      expect(url.protocol).toBe('https:');
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: url.port, path: '/v1/score', method: 'POST', ca: cert, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end(JSON.stringify(tx()));
      });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ transactionId: 'tx-1', degraded: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
