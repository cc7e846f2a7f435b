import type { SimEvent } from '../../services/simulator/src/index.js';

/**
 * The simulated stream re-ordered so that each outcome (label) is published `leadMs` of
 * simulated time before its knownAt; transactions keep their order. The terminal table
 * applies an outcome only once scoring reaches its knownAt, so reading labels early changes
 * no feature. Without a lead, a label and the first transaction it informs are published in
 * the same send, and two independent consumers (the outcomes feed and the scoring loop) race:
 * when the feed lags, that transaction's terminal features miss the label. In a replay that
 * compresses days into seconds the race is hit often (see the report of the fault suite);
 * the lead keeps the terminal features of a fault scenario deterministic, so they can be
 * compared exactly.
 */
export function withOutcomeLead(events: readonly SimEvent[], leadMs: number): SimEvent[] {
  const at = (e: SimEvent) => (e.kind === 'transaction' ? e.tx.eventTime : e.outcome.knownAt - leadMs);
  const out = events
    .map((e, i) => ({ e, i, t: at(e) }))
    .sort((a, b) => a.t - b.t || (a.e.kind === b.e.kind ? a.i - b.i : a.e.kind === 'outcome' ? -1 : 1))
    .map((x) => x.e);
  const txs = (list: readonly SimEvent[]) => list.flatMap((e) => (e.kind === 'transaction' ? [e.tx.transactionId] : []));
  if (txs(out).join() !== txs(events).join()) throw new Error('withOutcomeLead changed the order of transactions');
  return out;
}

/** Two simulated days: far more than the outcomes feed lags behind the scoring loop. */
export const OUTCOME_LEAD_MS = 2 * 86_400_000;
