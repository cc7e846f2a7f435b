/**
 * Per-card history for the customer windows: the (eventTime, amountMinor) of each of the
 * card's transactions over the last 30 days, packed 8 bytes per transaction into a
 * SeriesSlab (no object per transaction, no typed array per card).
 *
 * The store is partition-local: the transactions topic is keyed by card token, so one scorer
 * instance sees all of a card's events, in partition order. A card's state is also kept in a
 * compacted changelog topic, one record per (card, UTC day) (card-record.ts): with
 * `trackChanges` the store records which (card, day) pairs changed (takeChanges), the
 * changelog writes those days' records (dayRecord) or tombstones, and a restart or a
 * rebalance merges them back (restoreDay) to exactly the same feature values.
 */
import { dayOf, encodeDay, encodeWhole, readDay, readWhole, type RecordEntries } from './card-record.js';
import { DAY_MS, MAX_WINDOW_MS } from './feature-set.js';
import { MAX_SPAN_MS, SeriesSlab } from './series-slab.js';

export { CARD_STATE_FORMAT, WHOLE_HISTORY_FORMAT, dayOf } from './card-record.js';

/**
 * How far behind a card's newest transaction a query may be and still be exact. A card's
 * events are in partition order but their event times need not be (store-and-forward
 * terminals upload late); entries are kept for 30 days + this margin behind the card's
 * newest event time. One day costs ~2 entries (16 bytes) at 2 tx/day.
 */
export const DEFAULT_CARD_MARGIN_MS = DAY_MS;

/** Amounts are stored as int32 minor units; the decoder should reject anything larger. */
export const MAX_AMOUNT_MINOR = 2 ** 31 - 1;
export const MIN_AMOUNT_MINOR = -(2 ** 31);

export interface CardStoreOptions {
  /** See DEFAULT_CARD_MARGIN_MS; at most 19 days so a card fits the slab's span. */
  marginMs?: number;
  /** Record which (card, day) pairs changed, for the changelog (takeChanges). Default false. */
  trackChanges?: boolean;
}

/**
 * What changed in one card since the last takeChanges(). At a commit the changelog writes, in
 * this order: a tombstone for the card's format-1 whole-history key if `wholeKey`; for each
 * day of `days`, the day's current record (dayRecord), or a tombstone when it has no entries
 * left; for each day of `expired`, a tombstone if the day has no entries left (a partly
 * expired day keeps its record: restore drops the expired entries again).
 */
export interface CardChange {
  days: number[];
  expired: number[];
  wholeKey: boolean;
}

/** Changed cards by token (an evicted card is listed; dayRecord() then answers undefined). */
export type CardChanges = ReadonlyMap<string, CardChange>;

export class CardStore {
  private readonly slab = new SeriesSlab(2);
  private readonly ids = new Map<string, number>();
  private readonly retainMs: number;
  private dropped = 0;
  private changes: Map<string, CardChange> | undefined;
  /** Cards restored from a format-1 record and not yet rewritten as days (tracking only). */
  private readonly wholeHistory = new Set<string>();

  constructor(options: CardStoreOptions = {}) {
    const margin = options.marginMs ?? DEFAULT_CARD_MARGIN_MS;
    if (!(margin >= 0) || MAX_WINDOW_MS + margin > MAX_SPAN_MS) {
      throw new RangeError(`card margin must be within [0, ${MAX_SPAN_MS - MAX_WINDOW_MS}] ms, got ${margin}`);
    }
    this.retainMs = MAX_WINDOW_MS + margin;
    if (options.trackChanges) this.changes = new Map();
  }

  /** Number of cards with state. */
  get size(): number {
    return this.ids.size;
  }

  /** Transactions not stored: older than 30 days + margin behind their card's newest. */
  get lateDropped(): number {
    return this.dropped;
  }

  has(cardToken: string): boolean {
    return this.ids.has(cardToken);
  }

  /** Newest event time stored for the card, or undefined for an unknown card. */
  newestTime(cardToken: string): number | undefined {
    const id = this.ids.get(cardToken);
    return id === undefined ? undefined : this.slab.newestTime(id);
  }

  /**
   * Records one transaction. Returns false (and counts it in lateDropped) when it is older
   * than 30 days + margin behind the card's newest: no exact query can need it any more.
   * Throws RangeError, changing nothing, on a non-integer time or an amount outside int32.
   */
  observe(cardToken: string, eventTime: number, amountMinor: number): boolean {
    if (!Number.isSafeInteger(eventTime)) throw new RangeError(`event time must be an integer ms, got ${eventTime}`);
    if (!Number.isInteger(amountMinor) || amountMinor > MAX_AMOUNT_MINOR || amountMinor < MIN_AMOUNT_MINOR) {
      throw new RangeError(`amount must be an int32 number of minor units, got ${amountMinor}`);
    }
    const id = this.idFor(cardToken);
    const horizon = Math.max(this.slab.newestTime(id), eventTime) - this.retainMs;
    if (this.changes && !this.wholeHistory.has(cardToken)) this.markExpiring(cardToken, id, horizon);
    this.slab.evictThrough(id, horizon);
    if (eventTime <= horizon) {
      this.dropped++;
      return false;
    }
    // Cannot fail: after eviction the card spans less than retainMs < MAX_SPAN_MS.
    this.slab.insert(id, eventTime, amountMinor);
    if (this.changes) {
      // A card restored from a whole-history record is rewritten as days at its first event.
      if (this.wholeHistory.delete(cardToken)) this.markRewrite(cardToken, id);
      else addDay(this.changeOf(cardToken).days, dayOf(eventTime));
    }
    return true;
  }

  /**
   * Writes, from out[offset]: count and mean amount (euros) over (t - n days, t] for
   * n = 1, 7, 30. Entries later than t are ignored, so a query is answered as of t whatever
   * arrived since. Means are sum(amountMinor) / (100 * count): an exact integer sum and one
   * correctly rounded division, so the value does not depend on the order of summation.
   */
  windows(cardToken: string, t: number, out: Float64Array, offset: number): void {
    let c1 = 0, s1 = 0, c7 = 0, s7 = 0, c30 = 0, s30 = 0;
    const id = this.ids.get(cardToken);
    if (id !== undefined) {
      const words = this.slab.wordsOf(id);
      const first = this.slab.firstOffset(id);
      // Compare in the series' offset space: integers, so every boundary test is exact.
      const rel = t - this.slab.baseOf(id);
      const lo1 = rel - DAY_MS, lo7 = rel - 7 * DAY_MS, lo30 = rel - 30 * DAY_MS;
      for (let p = first + (this.slab.lengthOf(id) - 1) * 2; p >= first; p -= 2) {
        const x = words[p];
        if (x > rel) continue;
        if (x <= lo30) break; // sorted: everything older is outside every window
        const amount = words[p + 1] | 0; // back to signed int32
        c30++;
        s30 += amount;
        if (x > lo7) {
          c7++;
          s7 += amount;
          if (x > lo1) {
            c1++;
            s1 += amount;
          }
        }
      }
    }
    out[offset] = c1;
    out[offset + 1] = c1 === 0 ? 0 : s1 / (100 * c1);
    out[offset + 2] = c7;
    out[offset + 3] = c7 === 0 ? 0 : s7 / (100 * c7);
    out[offset + 4] = c30;
    out[offset + 5] = c30 === 0 ? 0 : s30 / (100 * c30);
  }

  /**
   * The card's entries of UTC day `day` as a format-2 changelog value, or undefined when it
   * has none (unknown card, or nothing stored that day: the caller writes a tombstone).
   */
  dayRecord(cardToken: string, day: number): Uint8Array | undefined {
    const id = this.ids.get(cardToken);
    if (id === undefined) return undefined;
    const from = this.slab.lowerBound(id, day * DAY_MS);
    const to = this.slab.lowerBound(id, (day + 1) * DAY_MS);
    if (from === to) return undefined;
    const first = this.slab.firstOffset(id) + from * this.slab.width;
    return encodeDay(day, this.slab.baseOf(id), this.slab.wordsOf(id), first, to - from);
  }

  /**
   * The card's whole history as a format-1 value (what the changelog held before format 2;
   * for tests and measurements), or undefined for an unknown card.
   */
  serializeWhole(cardToken: string): Uint8Array | undefined {
    const id = this.ids.get(cardToken);
    if (id === undefined) return undefined;
    return encodeWhole(this.slab.baseOf(id), this.slab.wordsOf(id), this.slab.firstOffset(id), this.slab.lengthOf(id));
  }

  /**
   * Replaces the card's state with a format-1 whole-history value (older changelog topics
   * hold them). With trackChanges the card's next event or eviction rewrites it as days and
   * tombstones the whole-history key. Throws RangeError on a malformed value, changing nothing.
   */
  restore(cardToken: string, bytes: Uint8Array): void {
    const entries = readWhole(bytes);
    const id = this.idFor(cardToken);
    this.slab.removeRange(id, 0, this.slab.lengthOf(id));
    this.insertAll(id, entries, -Infinity);
    // A value written with a larger margin may hold entries this store would not keep.
    if (entries.count > 0) this.slab.evictThrough(id, this.slab.newestTime(id) - this.retainMs);
    if (this.changes) this.wholeHistory.add(cardToken);
    if (this.slab.lengthOf(id) === 0) this.forget(cardToken, id);
  }

  /**
   * Merges a format-2 day record (from the changelog, in write order): the card's entries of
   * that day are replaced by the record's, or dropped when `bytes` is null (a tombstone).
   * Entries more than 30 days + margin behind the card's newest are dropped, as observe()
   * does. Throws RangeError on a malformed value, changing nothing.
   */
  restoreDay(cardToken: string, day: number, bytes: Uint8Array | null): void {
    const entries = bytes === null ? undefined : readDay(bytes, day);
    let id = this.ids.get(cardToken);
    if (id === undefined) {
      if (!entries?.count) return;
      id = this.idFor(cardToken);
    }
    const from = this.slab.lowerBound(id, day * DAY_MS);
    this.slab.removeRange(id, from, this.slab.lowerBound(id, (day + 1) * DAY_MS));
    if (entries?.count) {
      const horizon = Math.max(this.slab.newestTime(id), entries.time(entries.count - 1)) - this.retainMs;
      this.slab.evictThrough(id, horizon);
      this.insertAll(id, entries, horizon);
    }
    if (this.slab.lengthOf(id) === 0) this.forget(cardToken, id);
  }

  /** Changes since the last call (trackChanges only; otherwise always empty). */
  takeChanges(): CardChanges {
    const taken = this.changes ?? new Map<string, CardChange>();
    if (this.changes) this.changes = new Map();
    return taken;
  }

  /** Forgets a card (e.g. on a changelog tombstone or a revoked partition). */
  delete(cardToken: string): boolean {
    const id = this.ids.get(cardToken);
    if (id === undefined) return false;
    this.forget(cardToken, id);
    return true;
  }

  /**
   * Deletes cards whose newest transaction is more than 30 days + margin before
   * `watermark`: every window of every exact query (t >= watermark - margin) is empty for
   * them. With trackChanges each of their days is listed for a tombstone; `onEvict` gets
   * each token.
   */
  evictIdle(watermark: number, onEvict?: (cardToken: string) => void): number {
    const horizon = watermark - this.retainMs;
    let removed = 0;
    for (const [token, id] of this.ids) {
      if (this.slab.newestTime(id) > horizon) continue;
      if (this.changes) {
        if (this.wholeHistory.has(token)) this.markRewrite(token, id);
        else this.markExpiring(token, id, Infinity);
      }
      this.forget(token, id);
      onEvict?.(token);
      removed++;
    }
    return removed;
  }

  /** Bytes held in typed arrays (entries, free blocks, bookkeeping); excludes Map keys. */
  bytesUsed(): number {
    return this.slab.bytesUsed();
  }

  private idFor(cardToken: string): number {
    let id = this.ids.get(cardToken);
    if (id === undefined) {
      id = this.slab.create();
      this.ids.set(cardToken, id);
    }
    return id;
  }

  private forget(cardToken: string, id: number): void {
    this.slab.release(id);
    this.ids.delete(cardToken);
    this.wholeHistory.delete(cardToken);
  }

  /** Inserts a record's entries later than `horizon` (they are sorted: appends in the common case). */
  private insertAll(id: number, entries: RecordEntries, horizon: number): void {
    for (let k = 0; k < entries.count; k++) {
      const t = entries.time(k);
      if (t > horizon) this.slab.insert(id, t, entries.amount(k) >>> 0);
    }
  }

  private changeOf(cardToken: string): CardChange {
    let change = this.changes!.get(cardToken);
    if (change === undefined) {
      change = { days: [], expired: [], wholeKey: false };
      this.changes!.set(cardToken, change);
    }
    return change;
  }

  /** Lists for tombstones the days of the entries at or before `horizon` (about to be evicted). */
  private markExpiring(cardToken: string, id: number, horizon: number): void {
    if (this.slab.lengthOf(id) === 0) return;
    const first = this.slab.firstOffset(id);
    if (this.slab.baseOf(id) + this.slab.wordsOf(id)[first] > horizon) return; // the common case
    this.addDays(id, horizon, this.changeOf(cardToken).expired);
  }

  /** A whole-history card: tombstone that key and (re)write every stored day. */
  private markRewrite(cardToken: string, id: number): void {
    const change = this.changeOf(cardToken);
    change.wholeKey = true;
    this.addDays(id, Infinity, change.days);
  }

  /** Adds to `days` the day of each entry at or before `through`, oldest first. */
  private addDays(id: number, through: number, days: number[]): void {
    const words = this.slab.wordsOf(id);
    const base = this.slab.baseOf(id);
    const end = this.slab.firstOffset(id) + this.slab.lengthOf(id) * this.slab.width;
    for (let p = this.slab.firstOffset(id); p < end && base + words[p] <= through; p += this.slab.width) addDay(days, dayOf(base + words[p]));
  }
}

/** Adds a day to a short list unless present (entries come sorted, so check the last first). */
function addDay(days: number[], day: number): void {
  if (days.length > 0 && days[days.length - 1] === day) return;
  if (!days.includes(day)) days.push(day);
}
