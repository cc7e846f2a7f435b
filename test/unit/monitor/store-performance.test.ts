/**
 * The monitor's store and window metrics against a batch computation: decisions and labels of
 * a simulation go in in shuffled batches, some twice (a replay after a crash); the realized
 * metrics per model and role must equal the ones computed straight from the arrays.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Decision, ModelRole, Outcome, TransactionOutcome } from '../../../services/common/src/contracts.js';
import { averagePrecision, aucRoc, cardPrecisionAtK } from '../../../services/common/src/ranking-metrics.js';
import { DAY_MS, performanceOf } from '../../../services/monitor/src/performance.js';
import { computeWindows } from '../../../services/monitor/src/windows.js';
import { openStore } from '../../../services/monitor/src/store.js';
import { simulate } from '../../../services/simulator/src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'fraudscore-monitor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MODEL_A = { name: 'a', version: '1', digest: 'a'.repeat(64) };
const MODEL_B = { name: 'b', version: '2', digest: 'b'.repeat(64) };

/** A deterministic score that knows something about fraud, so the metrics are not trivial. */
const scoreOf = (tx: string, fraud: boolean, salt: number) => {
  let h = salt;
  for (let i = 0; i < tx.length; i++) h = Math.imul(h ^ tx.charCodeAt(i), 0x01000193);
  const u = (h >>> 0) / 2 ** 32;
  return Math.min(1, fraud ? 0.3 + 0.7 * u : 0.6 * u * u);
};
const outcomeOf = (s: number): Outcome => (s >= 0.8 ? 'BLOCK' : s >= 0.4 ? 'REVIEW' : 'ALLOW');

function world() {
  const events = [...simulate({ seed: 5, customers: 300, terminals: 600, days: 16 })];
  const labels: TransactionOutcome[] = [];
  const decisions: Decision[] = [];
  const fraudOf = new Map<string, boolean>();
  for (const e of events) if (e.kind === 'outcome') fraudOf.set(e.outcome.transactionId, e.outcome.isFraud);
  for (const e of events) {
    if (e.kind === 'outcome') labels.push(e.outcome);
    else {
      const fraud = fraudOf.get(e.tx.transactionId) ?? false;
      const make = (model: typeof MODEL_A, role: ModelRole, salt: number): Decision => {
        const score = scoreOf(e.tx.transactionId, fraud, salt);
        return {
          transactionId: e.tx.transactionId, cardToken: e.tx.cardToken, score, decision: outcomeOf(score), reasons: [], model, policyVersion: 'p',
          eventTime: e.tx.eventTime, scoredAt: e.tx.eventTime, source: { topic: 't', partition: 0, offset: 0 }, featureSetVersion: 'f', features: [], role, deploymentRevision: 0,
        };
      };
      decisions.push(make(MODEL_A, 'CHAMPION', 7), make(MODEL_B, 'SHADOW', 11));
    }
  }
  return { decisions, labels, fraudOf };
}

describe('monitor store and realized windows', () => {
  const w = world();

  it('equal a batch computation over the same window, after shuffled and replayed batches', () => {
    const path = join(dir, 'a.db');
    let store = openStore(path);
    const all = [...w.decisions.map((d) => ({ d })), ...w.labels.map((l) => ({ l }))];
    // Deterministic shuffle, batches of 97, every fifth batch written twice (a replay).
    let seed = 1;
    const rand = () => ((seed = Math.imul(seed, 48271) % 2147483647) & 0x7fffffff) / 2147483647;
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    for (let b = 0, k = 0; b < all.length; b += 97, k++) {
      const batch = all.slice(b, b + 97);
      const write = () => store.write({
        decisions: batch.flatMap((x) => ('d' in x ? [x.d] : [])),
        labels: batch.flatMap((x) => ('l' in x ? [x.l] : [])),
        offsets: [{ topic: 't', partition: 0, next: BigInt(b + batch.length) }],
      });
      write();
      if (k % 5 === 0) write();
      if (k === 40) {
        // A restart: the store reopens from its file with the offsets it had.
        store.close();
        store = openStore(path);
        expect(store.offsets().get('t/0')).toBe(BigInt(b + batch.length));
      }
    }
    expect(store.size()).toMatchObject({ decisions: w.decisions.length, labels: w.labels.length });

    const results = computeWindows(store);
    expect(results.map((r) => `${r.window} ${r.model.name} ${r.role}`).sort()).toEqual(['1d a champion', '1d b shadow', '7d a champion', '7d b shadow']);
    for (const r of results) {
      const rows = w.decisions.filter((d) => d.model.name === r.model.name && d.eventTime >= r.from && d.eventTime < r.to);
      const labelled = rows.filter((d) => w.fraudOf.has(d.transactionId));
      const scores = labelled.map((d) => d.score);
      const labels = labelled.map((d) => (w.fraudOf.get(d.transactionId) ? 1 : 0));
      const flagged = labelled.filter((d) => d.decision !== 'ALLOW');
      const blocked = labelled.filter((d) => d.decision === 'BLOCK');
      const frauds = labels.filter(Boolean).length;
      const cards = [...new Set(labelled.map((d) => d.cardToken))].sort();
      const p = r.performance;
      expect(p.decisions).toBe(rows.length);
      expect(p.labelled).toBe(labelled.length);
      expect(p.ap).toBeCloseTo(averagePrecision(scores, labels), 9);
      expect(p.rocAuc).toBeCloseTo(aucRoc(scores, labels), 9);
      expect(p.precisionReview).toBeCloseTo(flagged.filter((d) => w.fraudOf.get(d.transactionId)).length / flagged.length, 9);
      expect(p.recallReview).toBeCloseTo(flagged.filter((d) => w.fraudOf.get(d.transactionId)).length / frauds, 9);
      expect(p.precisionBlock).toBeCloseTo(blocked.filter((d) => w.fraudOf.get(d.transactionId)).length / blocked.length, 9);
      expect(p.recallBlock).toBeCloseTo(blocked.filter((d) => w.fraudOf.get(d.transactionId)).length / frauds, 9);
      expect(p.flagRate).toBeCloseTo(rows.filter((d) => d.decision !== 'ALLOW').length / rows.length, 9);
      expect(p.cardPrecision100).toBeCloseTo(cardPrecisionAtK({ scores, labels, cards: labelled.map((d) => cards.indexOf(d.cardToken)), days: labelled.map((d) => Math.floor(d.eventTime / DAY_MS)) }, 100).mean, 9);
      expect(frauds).toBeGreaterThan(0);
    }
    store.close();
  });

  it('the 1-day window ends at the label frontier: the newest decision with its label', () => {
    const store = openStore(':memory:');
    const labelled = w.labels.slice(0, Math.floor(w.labels.length / 2));
    store.write({ decisions: w.decisions, labels: labelled, offsets: [] });
    const newest = Math.max(...labelled.map((l) => l.eventTime));
    const r = computeWindows(store).find((x) => x.window === '1d')!;
    expect(r.to).toBe(newest + 1);
    expect(r.from).toBe(newest + 1 - DAY_MS);
    expect(r.performance.labelCoverage).toBeGreaterThan(0);
    expect(r.performance.labelCoverage).toBeLessThanOrEqual(1);
    store.close();
  });

  it('no labels: NaN metrics, no division by zero', () => {
    const p = performanceOf([{ model: 1, role: 'CHAMPION', score: 0.5, outcome: 'REVIEW', eventTime: 0, card: 'c', fraud: null }]);
    expect(p).toMatchObject({ decisions: 1, labelled: 0, flagRate: 1, labelCoverage: 0 });
    expect(p.ap).toBeNaN();
    expect(p.precisionReview).toBeNaN();
  });
});
