/**
 * The feature engine: one transaction in, the 15 model inputs out (FEATURE_NAMES order).
 * The same engine runs online (one per scorer instance: card store per partition set,
 * global terminal table) and offline (batch.ts), so a model is trained on exactly the
 * values it will be served.
 */
import type { Transaction } from '../../../common/src/contracts.js';
import { CardStore } from './card-state.js';
import { DAY_MS, FEATURE_COUNT, HOUR_MS, OFFSET_CARD_WINDOWS, OFFSET_TERMINAL_WINDOWS } from './feature-set.js';
import { TerminalTable } from './terminal-table.js';

/** The fields of a transaction the features read. */
export type FeatureInput = Pick<Transaction, 'cardToken' | 'terminalId' | 'amountMinor' | 'eventTime'>;

export interface FeatureEngineDeps {
  cards?: CardStore;
  terminals?: TerminalTable;
}

export interface FeatureEngine {
  readonly cards: CardStore;
  readonly terminals: TerminalTable;
  /**
   * Records the transaction in its card's history, moves the terminal watermark to its
   * event time, and writes the 15 features into `out` (allocation-free when `out` is given).
   * Throws RangeError, changing no state, for a non-integer time or an amount beyond int32.
   */
  compute(tx: FeatureInput, out?: Float64Array): Float64Array;
}

/** 1970-01-01 was a Thursday: day 0 is weekday 4 when Sunday is 0. */
const EPOCH_WEEKDAY = 4;

/** Whether t (epoch ms) falls on a Saturday or Sunday, in UTC. */
export function isWeekendUtc(t: number): boolean {
  const weekday = (((Math.floor(t / DAY_MS) + EPOCH_WEEKDAY) % 7) + 7) % 7;
  return weekday === 0 || weekday === 6;
}

/** Whether t (epoch ms) falls between 00:00 and 06:59:59.999 UTC (hour <= 6). */
export function isNightUtc(t: number): boolean {
  const msOfDay = t - Math.floor(t / DAY_MS) * DAY_MS;
  return msOfDay < 7 * HOUR_MS;
}

export function createFeatureEngine(deps: FeatureEngineDeps = {}): FeatureEngine {
  const cards = deps.cards ?? new CardStore();
  const terminals = deps.terminals ?? new TerminalTable();

  function compute(tx: FeatureInput, out: Float64Array = new Float64Array(FEATURE_COUNT)): Float64Array {
    if (out.length < FEATURE_COUNT) throw new RangeError(`feature vector needs ${FEATURE_COUNT} slots, got ${out.length}`);
    const t = tx.eventTime;
    // Observe first, so the card windows include this transaction (the reference
    // definition). observe validates time and amount before it changes anything.
    cards.observe(tx.cardToken, t, tx.amountMinor);
    // Advancing here keeps the online and batch paths identical; it is safe whatever the
    // order of partitions, because terminal queries filter by knownAt <= t themselves.
    terminals.advanceTo(t);
    out[0] = tx.amountMinor / 100;
    out[1] = isWeekendUtc(t) ? 1 : 0;
    out[2] = isNightUtc(t) ? 1 : 0;
    cards.windows(tx.cardToken, t, out, OFFSET_CARD_WINDOWS);
    terminals.windows(tx.terminalId, t, out, OFFSET_TERMINAL_WINDOWS);
    return out;
  }

  return { cards, terminals, compute };
}
