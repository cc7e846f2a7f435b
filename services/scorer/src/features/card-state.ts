/**
 * Per-card history for the customer windows: the (eventTime, amountMinor) of each of the
 * card's transactions over the last 30 days, packed 8 bytes per transaction into a
 * SeriesSlab (no object per transaction, no typed array per card).
 *
 * The store is partition-local: the transactions topic is keyed by card token, so one scorer
 * instance sees all of a card's events, in partition order. A card's state is also the value
 * of its record in the compacted changelog topic (serialize / restore), so a restart or a
 * rebalance resumes with exactly the same feature values.
 */
import { DAY_MS, MAX_WINDOW_MS } from './feature-set.js';
import { MAX_SPAN_MS, SeriesSlab } from './series-slab.js';

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

/** Changelog value format version (first byte of serialize()). */
export const CARD_STATE_FORMAT = 1;
const HEADER_BYTES = 16;
const ENTRY_BYTES = 8;

export interface CardStoreOptions {
  /** See DEFAULT_CARD_MARGIN_MS; at most 19 days so a card fits the slab's span. */
  marginMs?: number;
}

export class CardStore {
  private readonly slab = new SeriesSlab(2);
  private readonly ids = new Map<string, number>();
  private readonly retainMs: number;
  private dropped = 0;

  constructor(options: CardStoreOptions = {}) {
    const margin = options.marginMs ?? DEFAULT_CARD_MARGIN_MS;
    if (!(margin >= 0) || MAX_WINDOW_MS + margin > MAX_SPAN_MS) {
      throw new RangeError(`card margin must be within [0, ${MAX_SPAN_MS - MAX_WINDOW_MS}] ms, got ${margin}`);
    }
    this.retainMs = MAX_WINDOW_MS + margin;
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
    let id = this.ids.get(cardToken);
    if (id === undefined) {
      id = this.slab.create();
      this.ids.set(cardToken, id);
    }
    const horizon = Math.max(this.slab.newestTime(id), eventTime) - this.retainMs;
    this.slab.evictThrough(id, horizon);
    if (eventTime <= horizon) {
      this.dropped++;
      return false;
    }
    // Cannot fail: after eviction the card spans less than retainMs < MAX_SPAN_MS.
    this.slab.insert(id, eventTime, amountMinor);
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
   * The card's state as a changelog value, or undefined for an unknown card (the caller
   * writes a tombstone). Little-endian: u8 format, u8 words per entry (2), u16 0, u32 count,
   * f64 base time ms, then count x (u32 ms after base, i32 amountMinor), oldest first.
   */
  serialize(cardToken: string): Uint8Array | undefined {
    const id = this.ids.get(cardToken);
    if (id === undefined) return undefined;
    const n = this.slab.lengthOf(id);
    const bytes = new Uint8Array(HEADER_BYTES + n * ENTRY_BYTES);
    const view = new DataView(bytes.buffer);
    view.setUint8(0, CARD_STATE_FORMAT);
    view.setUint8(1, 2);
    view.setUint32(4, n, true);
    view.setFloat64(8, this.slab.baseOf(id), true);
    const words = this.slab.wordsOf(id);
    const first = this.slab.firstOffset(id);
    for (let k = 0; k < n; k++) {
      view.setUint32(HEADER_BYTES + k * ENTRY_BYTES, words[first + 2 * k], true);
      view.setUint32(HEADER_BYTES + k * ENTRY_BYTES + 4, words[first + 2 * k + 1], true);
    }
    return bytes;
  }

  /**
   * Replaces the card's state with a serialize() output (e.g. from the changelog). Throws
   * RangeError on a malformed value without touching the current state.
   */
  restore(cardToken: string, bytes: Uint8Array): void {
    // A Kafka Buffer is usually a slice of a larger pool: honour byteOffset.
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < HEADER_BYTES) throw new RangeError('card state: truncated header');
    if (view.getUint8(0) !== CARD_STATE_FORMAT || view.getUint8(1) !== 2) {
      throw new RangeError(`card state: unknown format ${view.getUint8(0)}/${view.getUint8(1)}`);
    }
    const n = view.getUint32(4, true);
    const base = view.getFloat64(8, true);
    if (bytes.byteLength !== HEADER_BYTES + n * ENTRY_BYTES) throw new RangeError('card state: length mismatch');
    if (!Number.isSafeInteger(base)) throw new RangeError('card state: bad base time');
    let previous = 0;
    for (let k = 0; k < n; k++) {
      const offset = view.getUint32(HEADER_BYTES + k * ENTRY_BYTES, true);
      if (offset < previous) throw new RangeError('card state: entries out of order');
      previous = offset;
    }
    let id = this.ids.get(cardToken);
    if (id === undefined) {
      id = this.slab.create();
      this.ids.set(cardToken, id);
    }
    const first = this.slab.load(id, base, n);
    const words = this.slab.wordsOf(id);
    for (let k = 0; k < n; k++) {
      words[first + 2 * k] = view.getUint32(HEADER_BYTES + k * ENTRY_BYTES, true);
      words[first + 2 * k + 1] = view.getUint32(HEADER_BYTES + k * ENTRY_BYTES + 4, true);
    }
    // A value written with a larger margin may hold entries this store would not keep.
    if (n > 0) this.slab.evictThrough(id, this.slab.newestTime(id) - this.retainMs);
  }

  /** Forgets a card (e.g. on a changelog tombstone or a revoked partition). */
  delete(cardToken: string): boolean {
    const id = this.ids.get(cardToken);
    if (id === undefined) return false;
    this.slab.release(id);
    this.ids.delete(cardToken);
    return true;
  }

  /**
   * Deletes cards whose newest transaction is more than 30 days + margin before
   * `watermark`: every window of every exact query (t >= watermark - margin) is empty for
   * them. `onEvict` gets each token, so the caller can write changelog tombstones.
   */
  evictIdle(watermark: number, onEvict?: (cardToken: string) => void): number {
    const horizon = watermark - this.retainMs;
    let removed = 0;
    for (const [token, id] of this.ids) {
      if (this.slab.newestTime(id) > horizon) continue;
      this.slab.release(id);
      this.ids.delete(token);
      onEvict?.(token);
      removed++;
    }
    return removed;
  }

  /** Bytes held in typed arrays (entries, free blocks, bookkeeping); excludes Map keys. */
  bytesUsed(): number {
    return this.slab.bytesUsed();
  }
}
