/**
 * The global terminal table: for each terminal, the labelled transactions learnt from the
 * `transaction-outcomes` stream, for the terminal windows (t - (7 + n) days, t - 7 days].
 *
 * Watermark rule: an outcome may inform an event at time t only if its knownAt <= t. Every
 * scorer instance reads the whole outcomes stream; outcomes wait in a buffer ordered by
 * knownAt (pending-outcomes.ts) and are applied once the event-time watermark (the largest
 * event time passed to advanceTo) reaches their knownAt. Each stored entry keeps its own
 * knownAt, so a query at t < watermark (a partition lagging behind the others) still sees
 * exactly the outcomes with knownAt <= t: the answer does not depend on how partitions
 * interleave.
 *
 * Storage: 12 bytes per outcome in a SeriesSlab: time offset of the transaction's event time,
 * the label delay (knownAt - eventTime) and a 31-bit hash of the transaction id with the
 * fraud bit. The hash lets a redelivered outcome (at-least-once consumer, replay after a
 * restart) be recognised and skipped instead of counted twice.
 */
import { DAY_MS, MAX_WINDOW_MS, TERMINAL_DELAY_MS } from './feature-set.js';
import { PendingOutcomes } from './pending-outcomes.js';
import { MAX_SPAN_MS, SeriesSlab } from './series-slab.js';
import type { TransactionOutcome } from '../../../common/src/contracts.js';

/** The fields of an outcome the table uses. */
export type OutcomeInput = Pick<TransactionOutcome, 'transactionId' | 'terminalId' | 'eventTime' | 'isFraud' | 'knownAt'>;

/**
 * How far behind the watermark a query may be and still be exact: entries are kept while
 * their event time is within 7 + 30 days + margin of the watermark. It bounds the event-time
 * skew between the partitions one instance serves (e.g. one replaying after a rebalance
 * while the others are live). The whole table is small (one entry per transaction over
 * ~44 days, 12 bytes each), so the margin is generous; at most 12 days fit the slab's span.
 */
export const DEFAULT_TERMINAL_MARGIN_MS = 7 * DAY_MS;

const LOOKBACK_MS = TERMINAL_DELAY_MS + MAX_WINDOW_MS;

export interface TerminalTableOptions {
  /** See DEFAULT_TERMINAL_MARGIN_MS. */
  marginMs?: number;
}

/** Counters for metrics; all monotonic. */
export interface TerminalTableStats {
  /** addOutcome calls. */
  received: number;
  /** Outcomes stored (counted by queries from their knownAt on). */
  applied: number;
  /** Same transaction id (hash) and event time as a stored outcome: skipped, first wins. */
  duplicates: number;
  /** Arrived after the watermark had passed their knownAt: applied at once, but queries
   *  answered in between missed them (the outcomes consumer lagged the transactions). */
  late: number;
  /** Event time already out of every window at the watermark: skipped. */
  expired: number;
  /** Non-integer times, or knownAt before eventTime: skipped. */
  invalid: number;
}

export class TerminalTable {
  private readonly slab = new SeriesSlab(3);
  private readonly ids = new Map<string, number>();
  private readonly retainMs: number;
  private readonly pending = new PendingOutcomes();
  /** Pending rows per terminal series: sweep() must not free a series they point to. */
  private pendingRefs = new Int32Array(64);
  private mark = -Infinity;
  private readonly counters: TerminalTableStats = { received: 0, applied: 0, duplicates: 0, late: 0, expired: 0, invalid: 0 };

  constructor(options: TerminalTableOptions = {}) {
    const margin = options.marginMs ?? DEFAULT_TERMINAL_MARGIN_MS;
    if (!(margin >= 0) || LOOKBACK_MS + margin > MAX_SPAN_MS) {
      throw new RangeError(`terminal margin must be within [0, ${MAX_SPAN_MS - LOOKBACK_MS}] ms, got ${margin}`);
    }
    this.retainMs = LOOKBACK_MS + margin;
  }

  get stats(): Readonly<TerminalTableStats> {
    return this.counters;
  }

  /** The event-time watermark: the largest time passed to advanceTo (-Infinity before). */
  get watermark(): number {
    return this.mark;
  }

  /** Outcomes received whose knownAt the watermark has not reached. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Number of terminals known (with stored or pending outcomes, until sweep()). */
  get size(): number {
    return this.ids.size;
  }

  /** Bytes held in typed arrays (entries and pending buffer); excludes Map keys. */
  bytesUsed(): number {
    return this.slab.bytesUsed() + this.pending.bytes() + this.pendingRefs.byteLength;
  }

  /**
   * Takes one outcome. It waits until the watermark reaches its knownAt, or is applied at
   * once if the watermark is already there.
   */
  addOutcome(outcome: OutcomeInput): void {
    this.counters.received++;
    const { eventTime, knownAt } = outcome;
    if (!Number.isSafeInteger(eventTime) || !Number.isSafeInteger(knownAt) || knownAt < eventTime) {
      this.counters.invalid++;
      return;
    }
    const id = this.seriesFor(outcome.terminalId);
    const tag = hash31(outcome.transactionId) * 2 + (outcome.isFraud ? 1 : 0);
    if (knownAt <= this.mark) {
      this.counters.late++;
      this.apply(id, eventTime, knownAt, tag);
      return;
    }
    if (id >= this.pendingRefs.length) {
      const grown = new Int32Array(Math.max(id + 1, this.pendingRefs.length * 2));
      grown.set(this.pendingRefs);
      this.pendingRefs = grown;
    }
    this.pendingRefs[id]++;
    this.pending.push(knownAt, eventTime, id, tag);
  }

  /** Moves the watermark to t (never back) and applies the outcomes it now covers. */
  advanceTo(t: number): void {
    if (!(t > this.mark)) return;
    this.mark = t;
    const pending = this.pending;
    while (pending.nextKnownAt() <= t) {
      pending.shift();
      this.pendingRefs[pending.shiftedSeries]--;
      this.apply(pending.shiftedSeries, pending.shiftedEventTime, pending.shiftedKnownAt, pending.shiftedTag);
    }
  }

  /**
   * Writes, from out[offset]: count and fraud ratio (0 with no outcomes) of the terminal's
   * outcomes with knownAt <= t and eventTime in (t - (7 + n) days, t - 7 days], n = 1, 7, 30.
   */
  windows(terminalId: string, t: number, out: Float64Array, offset: number): void {
    let c1 = 0, f1 = 0, c7 = 0, f7 = 0, c30 = 0, f30 = 0;
    const id = this.ids.get(terminalId);
    if (id !== undefined) {
      const words = this.slab.wordsOf(id);
      const first = this.slab.firstOffset(id);
      // Integer offsets relative to the series base: every boundary comparison is exact.
      const rel = t - this.slab.baseOf(id);
      const hi = rel - TERMINAL_DELAY_MS;
      const lo1 = hi - DAY_MS, lo7 = hi - 7 * DAY_MS, lo30 = hi - 30 * DAY_MS;
      for (let p = first + (this.slab.lengthOf(id) - 1) * 3; p >= first; p -= 3) {
        const x = words[p];
        if (x > hi) continue;
        if (x <= lo30) break; // sorted by event time: the rest is older still
        if (x + words[p + 1] > rel) continue; // knownAt > t: not known yet at t
        const fraud = words[p + 2] & 1;
        c30++;
        f30 += fraud;
        if (x > lo7) {
          c7++;
          f7 += fraud;
          if (x > lo1) {
            c1++;
            f1 += fraud;
          }
        }
      }
    }
    out[offset] = c1;
    out[offset + 1] = c1 === 0 ? 0 : f1 / c1;
    out[offset + 2] = c7;
    out[offset + 3] = c7 === 0 ? 0 : f7 / c7;
    out[offset + 4] = c30;
    out[offset + 5] = c30 === 0 ? 0 : f30 / c30;
  }

  /**
   * Drops entries that no exact query can need any more and terminals left empty. Inserts
   * already evict per terminal; this reaches terminals that stopped receiving outcomes.
   * Returns the number of terminals removed. O(terminals): call it now and then.
   */
  sweep(): number {
    const horizon = this.mark - this.retainMs;
    let removed = 0;
    for (const [terminalId, id] of this.ids) {
      this.slab.evictThrough(id, horizon);
      if (this.slab.lengthOf(id) > 0 || (this.pendingRefs[id] ?? 0) > 0) continue;
      this.slab.release(id);
      this.ids.delete(terminalId);
      removed++;
    }
    return removed;
  }

  private seriesFor(terminalId: string): number {
    let id = this.ids.get(terminalId);
    if (id === undefined) {
      id = this.slab.create();
      this.ids.set(terminalId, id);
    }
    return id;
  }

  /** tag = 31-bit transaction-id hash * 2 + fraud bit. */
  private apply(id: number, eventTime: number, knownAt: number, tag: number): void {
    const horizon = this.mark - this.retainMs;
    if (eventTime <= horizon) {
      this.counters.expired++;
      return;
    }
    this.slab.evictThrough(id, horizon);
    if (this.isStored(id, eventTime, tag >>> 1)) {
      this.counters.duplicates++;
      return;
    }
    // Fits: eventTime <= knownAt <= watermark and every entry is newer than the horizon.
    this.slab.insert(id, eventTime, knownAt - eventTime, tag);
    this.counters.applied++;
  }

  /** Whether an entry with this event time and id hash is stored (scans only equal times). */
  private isStored(id: number, eventTime: number, hash: number): boolean {
    const words = this.slab.wordsOf(id);
    const first = this.slab.firstOffset(id);
    const rel = eventTime - this.slab.baseOf(id);
    for (let p = first + (this.slab.lengthOf(id) - 1) * 3; p >= first; p -= 3) {
      const x = words[p];
      if (x < rel) return false;
      if (x === rel && words[p + 2] >>> 1 === hash) return true;
    }
    return false;
  }
}

/** FNV-1a over UTF-16 code units, folded to 31 bits (the 32nd holds the fraud bit). */
function hash31(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 1;
}
