/**
 * Many small time-sorted series (one per card, or one per terminal) packed into shared
 * Uint32Array chunks, so that 100k+ series cost neither an object per entry nor a typed
 * array per series (measured: a few hundred bytes of engine overhead per small typed array,
 * about as much as a card's whole history).
 *
 * Layout:
 * - An entry is `width` uint32 words; word 0 is the entry's time as an offset in ms from the
 *   series' `base` time, the other words belong to the owner (amount, label, ...).
 *   Offsets are uint32, so a series spans at most 2^32 - 1 ms (~49.7 days); owners evict old
 *   entries before inserting and keep their retention below MAX_SPAN_MS.
 * - A series lives in one block of a size class: capacities 4,5,6,7,8,10,12,14,16,20,...
 *   (four classes per doubling, so at most ~25% of a block is slack), held in a dense
 *   per-class pool (block-pool.ts) that gives memory back as series shrink or move up.
 * - Inside its block a series occupies entries [head, head + len), sorted by time (ties keep
 *   insertion order). Evicting the oldest entries just moves `head`; the live range is slid
 *   back to the block start only when an insert reaches the block end, so the common case
 *   (evict one, append one) copies nothing.
 *
 * Per-series bookkeeping is kept in parallel typed arrays indexed by series id.
 */

import { BlockPools } from './block-pool.js';

/** The largest time offset a series can hold, in ms (~49.7 days). */
export const MAX_SPAN_MS = 0xffff_ffff;

/** Capacity (4 + step) * 2^octave; class 88 holds 16.7 M entries, far beyond any real card. */
const MAX_CLASS = 88;
const INITIAL_SERIES = 64;

const CAPACITY = new Int32Array(MAX_CLASS + 1);
for (let c = 0; c <= MAX_CLASS; c++) CAPACITY[c] = (4 + (c & 3)) * 2 ** (c >> 2);

/** Entries a block of size class `cls` holds. */
export function classCapacity(cls: number): number {
  return CAPACITY[cls];
}

/** The smallest size class holding `n` entries. */
export function classFor(n: number): number {
  for (let c = 0; c <= MAX_CLASS; c++) if (CAPACITY[c] >= n) return c;
  throw new RangeError(`a series of ${n} entries exceeds the largest block`);
}

export class SeriesSlab {
  private readonly pools: BlockPools;

  // Per series: base time, size class, block index in its class, cached chunk index and word
  // offset of that block (so reads skip the pool's index arithmetic), live range.
  private base = new Float64Array(INITIAL_SERIES);
  private cls = new Uint8Array(INITIAL_SERIES);
  private block = new Int32Array(INITIAL_SERIES);
  private chunk = new Int32Array(INITIAL_SERIES);
  private start = new Int32Array(INITIAL_SERIES);
  private head = new Int32Array(INITIAL_SERIES);
  private len = new Int32Array(INITIAL_SERIES);
  private highWater = 0;
  private readonly freeIds: number[] = [];
  private live = 0;

  /** @param width uint32 words per entry, the first being the time offset. */
  constructor(readonly width: number) {
    this.pools = new BlockPools(CAPACITY, width);
  }

  /** Number of live series. */
  get size(): number {
    return this.live;
  }

  /** A new empty series; returns its id. */
  create(): number {
    let id = this.freeIds.pop();
    if (id === undefined) {
      id = this.highWater++;
      if (id === this.base.length) this.growMeta();
    }
    this.assignBlock(id, 0);
    this.len[id] = 0;
    this.base[id] = 0;
    this.live++;
    return id;
  }

  /** Frees a series; its id may be reused by a later create(). */
  release(id: number): void {
    this.freeBlock(this.cls[id], this.block[id]);
    this.len[id] = 0;
    this.freeIds.push(id);
    this.live--;
  }

  lengthOf(id: number): number {
    return this.len[id];
  }

  /** Absolute time (ms) that offsets of this series are relative to. */
  baseOf(id: number): number {
    return this.base[id];
  }

  /** The word array holding the series; read entries from firstOffset(id) on, `width` apart. */
  wordsOf(id: number): Uint32Array {
    return this.pools.chunk(this.cls[id], this.chunk[id]);
  }

  /** Index in wordsOf(id) of the oldest entry's first word. */
  firstOffset(id: number): number {
    return this.start[id] + this.head[id] * this.width;
  }

  /** Time of the newest entry, or -Infinity for an empty series. */
  newestTime(id: number): number {
    const n = this.len[id];
    if (n === 0) return -Infinity;
    return this.base[id] + this.wordsOf(id)[this.firstOffset(id) + (n - 1) * this.width];
  }

  /** Drops entries with time <= horizon (they are the oldest); returns how many. */
  evictThrough(id: number, horizon: number): number {
    const n = this.len[id];
    const limit = horizon - this.base[id];
    if (n === 0 || limit < 0) return 0;
    const words = this.wordsOf(id);
    const first = this.firstOffset(id);
    let k = 0;
    while (k < n && words[first + k * this.width] <= limit) k++;
    if (k === 0) return 0;
    this.head[id] += k;
    this.len[id] = n - k;
    this.shrinkIfSparse(id);
    return k;
  }

  /** Index (0 = oldest) of the first entry with time >= `time`; lengthOf(id) if none. */
  lowerBound(id: number, time: number): number {
    const rel = time - this.base[id];
    let lo = 0;
    let hi = this.len[id];
    if (rel <= 0) return 0;
    const words = this.wordsOf(id);
    const first = this.firstOffset(id);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (words[first + mid * this.width] < rel) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Deletes the entries of index [from, to) (0 = oldest), keeping the rest in order. */
  removeRange(id: number, from: number, to: number): void {
    const n = this.len[id];
    if (!(0 <= from && from <= to && to <= n)) throw new RangeError(`bad range [${from}, ${to}) of ${n} entries`);
    if (from === to) return;
    if (from === 0) {
      this.head[id] += to;
    } else if (to < n) {
      const first = this.firstOffset(id);
      const W = this.width;
      this.wordsOf(id).copyWithin(first + from * W, first + to * W, first + n * W);
    }
    this.len[id] = n - (to - from);
    this.shrinkIfSparse(id);
  }

  /**
   * Inserts an entry at its place in time order (appending in the common in-order case).
   * Returns false, storing nothing, if the series would span more than MAX_SPAN_MS.
   */
  insert(id: number, time: number, word1 = 0, word2 = 0): boolean {
    const W = this.width;
    const n = this.len[id];
    if (n === 0) {
      this.base[id] = time;
    } else if (!this.rebaseFor(id, time)) {
      return false;
    }
    const cap = CAPACITY[this.cls[id]];
    if (this.head[id] + n === cap) {
      if (n === cap) this.moveTo(id, classFor(n + 1));
      else this.slideToStart(id);
    }
    const words = this.wordsOf(id);
    const first = this.firstOffset(id);
    const offset = time - this.base[id];
    let p = n;
    while (p > 0 && words[first + (p - 1) * W] > offset) p--;
    if (p < n) words.copyWithin(first + (p + 1) * W, first + p * W, first + n * W);
    const at = first + p * W;
    words[at] = offset;
    if (W > 1) words[at + 1] = word1;
    if (W > 2) words[at + 2] = word2;
    this.len[id] = n + 1;
    return true;
  }

  /**
   * Empties the series and sizes it for `count` entries starting at `baseTime`; the caller
   * then writes them (sorted) from the returned index of wordsOf(id). Used by restore.
   */
  load(id: number, baseTime: number, count: number): number {
    const c = classFor(Math.max(count, 1));
    if (c !== this.cls[id]) {
      const oldClass = this.cls[id];
      const oldBlock = this.block[id];
      this.assignBlock(id, c);
      this.freeBlock(oldClass, oldBlock);
    }
    this.head[id] = 0;
    this.len[id] = count;
    this.base[id] = baseTime;
    return this.start[id];
  }

  /** Bytes of typed arrays owned: block pools (including slack) and bookkeeping. */
  bytesUsed(): number {
    const meta = [this.base, this.cls, this.block, this.chunk, this.start, this.head, this.len];
    return this.pools.bytes() + meta.reduce((sum, a) => sum + a.byteLength, 0);
  }

  /**
   * Shrinks only when three quarters are unused, so a card oscillating around a class
   * boundary does not move back and forth.
   */
  private shrinkIfSparse(id: number): void {
    const c = this.cls[id];
    const n = this.len[id];
    if (c >= 4 && n * 4 < CAPACITY[c]) this.moveTo(id, classFor(n + (n >> 2) + 1));
  }

  /** Moves the base so that `time` fits next to the existing entries. */
  private rebaseFor(id: number, time: number): boolean {
    const base = this.base[id];
    const words = this.wordsOf(id);
    const first = this.firstOffset(id);
    const n = this.len[id];
    let delta: number;
    if (time < base) {
      if (base + words[first + (n - 1) * this.width] - time > MAX_SPAN_MS) return false;
      delta = base - time;
    } else if (time - base > MAX_SPAN_MS) {
      const oldest = base + words[first];
      if (time - oldest > MAX_SPAN_MS) return false;
      delta = base - oldest;
    } else {
      return true;
    }
    for (let k = 0, p = first; k < n; k++, p += this.width) words[p] += delta;
    this.base[id] = base - delta;
    return true;
  }

  private slideToStart(id: number): void {
    const first = this.firstOffset(id);
    this.wordsOf(id).copyWithin(this.start[id], first, first + this.len[id] * this.width);
    this.head[id] = 0;
  }

  private moveTo(id: number, target: number): void {
    const from = this.wordsOf(id);
    const first = this.firstOffset(id);
    const count = this.len[id] * this.width;
    const oldClass = this.cls[id];
    const oldBlock = this.block[id];
    // Take and fill the new block before freeing the old one: the copy reads from it.
    this.assignBlock(id, target);
    this.wordsOf(id).set(from.subarray(first, first + count), this.start[id]);
    this.freeBlock(oldClass, oldBlock);
  }

  private assignBlock(id: number, c: number): void {
    const k = this.pools.alloc(c, id);
    this.cls[id] = c;
    this.block[id] = k;
    this.locate(id);
    this.head[id] = 0;
  }

  /** Frees a block; the pool may move another series' block into its place. */
  private freeBlock(c: number, k: number): void {
    const moved = this.pools.free(c, k);
    if (moved < 0) return;
    this.block[moved] = k;
    this.locate(moved);
  }

  private locate(id: number): void {
    const c = this.cls[id];
    const k = this.block[id];
    this.chunk[id] = this.pools.chunkIndex(c, k);
    this.start[id] = this.pools.startOf(c, k);
  }

  private growMeta(): void {
    const size = this.base.length * 2;
    const grow = <T extends Float64Array | Uint8Array | Int32Array>(old: T, next: T): T => {
      next.set(old);
      return next;
    };
    this.base = grow(this.base, new Float64Array(size));
    this.cls = grow(this.cls, new Uint8Array(size));
    this.block = grow(this.block, new Int32Array(size));
    this.chunk = grow(this.chunk, new Int32Array(size));
    this.start = grow(this.start, new Int32Array(size));
    this.head = grow(this.head, new Int32Array(size));
    this.len = grow(this.len, new Int32Array(size));
  }
}
