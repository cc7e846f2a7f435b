/**
 * Byte layouts of a card's state in the changelog (little-endian; an entry is u32 ms after
 * the value's base time, then i32 amountMinor; entries oldest first).
 *
 * - Format 2, one day of one card (written today): u8 2, u8 words per entry (2), u16 0,
 *   i32 UTC epoch day, then the card's entries of that day, times relative to the day's
 *   start. 8 + 8 bytes per entry: a commit rewrites only the days it touched.
 * - Format 1, a card's whole history (written before format 2; still read, since existing
 *   changelog topics hold such records): u8 1, u8 2, u16 0, u32 count, f64 base time ms,
 *   then the entries.
 *
 * Readers validate everything before the caller changes any state.
 */
import { DAY_MS } from './feature-set.js';

/** Format of the values written today (first byte): one day of one card. */
export const CARD_STATE_FORMAT = 2;
/** Format of the whole-history values written before CARD_STATE_FORMAT 2. */
export const WHOLE_HISTORY_FORMAT = 1;

const WORDS_PER_ENTRY = 2;
const ENTRY_BYTES = 8;
const DAY_HEADER_BYTES = 8;
const WHOLE_HEADER_BYTES = 16;
/** Epoch days are stored as i32 (a safe-integer ms time is within ±1.05e8 days). */
const MAX_DAY = 2 ** 31 - 1;

/** The UTC epoch day of an event time (ms). */
export function dayOf(time: number): number {
  return Math.floor(time / DAY_MS);
}

/** Validated entries of a record: time(k) is absolute ms, amount(k) signed minor units. */
export interface RecordEntries {
  readonly count: number;
  time(k: number): number;
  amount(k: number): number;
}

/** Reads and writes entries through one DataView; `base` is what offsets are relative to. */
class Entries implements RecordEntries {
  constructor(
    private readonly view: DataView,
    private readonly header: number,
    private readonly base: number,
    readonly count: number,
  ) {}

  time(k: number): number {
    return this.base + this.view.getUint32(this.header + k * ENTRY_BYTES, true);
  }

  amount(k: number): number {
    return this.view.getInt32(this.header + k * ENTRY_BYTES + 4, true);
  }
}

/**
 * Encodes `count` entries of a card's series as a format-2 day record: `words` from index
 * `first` hold (offset from `base`, amount) pairs, all within `day`.
 */
export function encodeDay(day: number, base: number, words: Uint32Array, first: number, count: number): Uint8Array {
  if (!Number.isInteger(day) || Math.abs(day) > MAX_DAY) throw new RangeError(`card state: day ${day} out of range`);
  const bytes = new Uint8Array(DAY_HEADER_BYTES + count * ENTRY_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, CARD_STATE_FORMAT);
  view.setUint8(1, WORDS_PER_ENTRY);
  view.setInt32(4, day, true);
  const shift = base - day * DAY_MS;
  for (let k = 0, p = first; k < count; k++, p += WORDS_PER_ENTRY) {
    view.setUint32(DAY_HEADER_BYTES + k * ENTRY_BYTES, words[p] + shift, true);
    view.setUint32(DAY_HEADER_BYTES + k * ENTRY_BYTES + 4, words[p + 1], true);
  }
  return bytes;
}

/** Encodes a format-1 whole-history value (what the changelog held before format 2). */
export function encodeWhole(base: number, words: Uint32Array, first: number, count: number): Uint8Array {
  const bytes = new Uint8Array(WHOLE_HEADER_BYTES + count * ENTRY_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, WHOLE_HISTORY_FORMAT);
  view.setUint8(1, WORDS_PER_ENTRY);
  view.setUint32(4, count, true);
  view.setFloat64(8, base, true);
  for (let k = 0, p = first; k < count; k++, p += WORDS_PER_ENTRY) {
    view.setUint32(WHOLE_HEADER_BYTES + k * ENTRY_BYTES, words[p], true);
    view.setUint32(WHOLE_HEADER_BYTES + k * ENTRY_BYTES + 4, words[p + 1], true);
  }
  return bytes;
}

/** The first byte of a value: which format it is (0 for an empty value). */
export function formatOf(bytes: Uint8Array): number {
  return bytes.byteLength === 0 ? 0 : bytes[0];
}

/**
 * Validates a format-2 record of `day` (the day its key names). Throws RangeError on anything
 * else: another format, a different day, a bad length, entries outside the day or unsorted.
 */
export function readDay(bytes: Uint8Array, day: number): RecordEntries {
  // A Kafka Buffer is usually a slice of a larger pool: honour byteOffset.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < DAY_HEADER_BYTES) throw new RangeError('card state: truncated header');
  if (view.getUint8(0) !== CARD_STATE_FORMAT || view.getUint8(1) !== WORDS_PER_ENTRY) {
    throw new RangeError(`card state: unknown format ${view.getUint8(0)}/${view.getUint8(1)}`);
  }
  if (view.getInt32(4, true) !== day) throw new RangeError(`card state: record of day ${view.getInt32(4, true)} under the key of day ${day}`);
  if ((bytes.byteLength - DAY_HEADER_BYTES) % ENTRY_BYTES !== 0) throw new RangeError('card state: length mismatch');
  const entries = new Entries(view, DAY_HEADER_BYTES, day * DAY_MS, (bytes.byteLength - DAY_HEADER_BYTES) / ENTRY_BYTES);
  checkSorted(view, DAY_HEADER_BYTES, entries.count, DAY_MS - 1);
  return entries;
}

/** Validates a format-1 whole-history value. Throws RangeError when malformed. */
export function readWhole(bytes: Uint8Array): RecordEntries {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < WHOLE_HEADER_BYTES) throw new RangeError('card state: truncated header');
  if (view.getUint8(0) !== WHOLE_HISTORY_FORMAT || view.getUint8(1) !== WORDS_PER_ENTRY) {
    throw new RangeError(`card state: unknown format ${view.getUint8(0)}/${view.getUint8(1)}`);
  }
  const n = view.getUint32(4, true);
  const base = view.getFloat64(8, true);
  if (bytes.byteLength !== WHOLE_HEADER_BYTES + n * ENTRY_BYTES) throw new RangeError('card state: length mismatch');
  if (!Number.isSafeInteger(base)) throw new RangeError('card state: bad base time');
  checkSorted(view, WHOLE_HEADER_BYTES, n, 0xffff_ffff);
  return new Entries(view, WHOLE_HEADER_BYTES, base, n);
}

function checkSorted(view: DataView, header: number, n: number, maxOffset: number): void {
  let previous = 0;
  for (let k = 0; k < n; k++) {
    const offset = view.getUint32(header + k * ENTRY_BYTES, true);
    if (offset < previous) throw new RangeError('card state: entries out of order');
    if (offset > maxOffset) throw new RangeError('card state: entry outside its day');
    previous = offset;
  }
}
