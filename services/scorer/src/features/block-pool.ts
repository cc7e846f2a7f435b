/**
 * Fixed-size blocks of uint32 words, one dense pool per size class, for SeriesSlab.
 *
 * Why dense: series move up through size classes as they grow (a new card's 4-entry block,
 * then 5, 6, ... 64). With a free list, every class a card has passed through keeps its old
 * block as garbage; measured on 100k cards that tripled memory. Here the blocks of a class
 * always occupy indices [0, count): freeing block k moves the last block into k (its owner is
 * told, to update its pointer) and an emptied trailing chunk is returned to the engine.
 *
 * Chunks of a class hold 1, 2, 4, ... blocks, doubling up to 32 KB, so a small store stays
 * small. The cap bounds the slack (a partly used last chunk, plus the spare below) to
 * ~64 KB per size class: 256 KB chunks doubled the footprint of a 5,000-card store, while
 * 32 KB still costs only ~1 chunk object per 40 cards in a large one. One empty chunk per
 * class is kept as a spare (unless it is a single huge block), so a class whose count
 * wobbles around a chunk boundary does not allocate and free the same chunk over and over.
 */

/** 32 KB. */
const CHUNK_WORDS = 1 << 13;

export class BlockPools {
  private readonly chunks: Uint32Array[][] = [];
  private readonly owners: Int32Array[] = [];
  private readonly count: Int32Array;
  /** log2 of the blocks in a full-size chunk, per class. */
  private readonly shift: Int32Array;
  private readonly blockWords: Int32Array;
  private chunkBytes = 0;

  /** @param capacities entries per block for each size class; @param width words per entry */
  constructor(capacities: ArrayLike<number>, width: number) {
    const classes = capacities.length;
    this.count = new Int32Array(classes);
    this.shift = new Int32Array(classes);
    this.blockWords = new Int32Array(classes);
    for (let c = 0; c < classes; c++) {
      this.chunks.push([]);
      this.owners.push(new Int32Array(0));
      this.blockWords[c] = capacities[c] * width;
      this.shift[c] = Math.max(0, Math.floor(Math.log2(CHUNK_WORDS / this.blockWords[c])));
    }
  }

  /** Takes a block of class c for `owner` (a series id); returns its index in the class. */
  alloc(c: number, owner: number): number {
    const k = this.count[c]++;
    const chunks = this.chunks[c];
    if (this.chunkIndex(c, k) === chunks.length) {
      const words = this.chunkBlocks(c, chunks.length) * this.blockWords[c];
      chunks.push(new Uint32Array(words));
      this.chunkBytes += words * 4;
    }
    if (k === this.owners[c].length) {
      const grown = new Int32Array(Math.max(8, k * 2));
      grown.set(this.owners[c]);
      this.owners[c] = grown;
    }
    this.owners[c][k] = owner;
    return k;
  }

  /**
   * Frees block k of class c. If another block had to move into k to keep the class dense,
   * returns its owner (whose data is now at index k), else -1.
   */
  free(c: number, k: number): number {
    const last = --this.count[c];
    let moved = -1;
    if (k !== last) {
      const from = this.startOf(c, last);
      this.chunkOf(c, k).set(this.chunkOf(c, last).subarray(from, from + this.blockWords[c]), this.startOf(c, k));
      moved = this.owners[c][last];
      this.owners[c][k] = moved;
    }
    this.releaseEmptyChunks(c);
    return moved;
  }

  /** The chunk holding block k of class c. */
  chunkOf(c: number, k: number): Uint32Array {
    return this.chunks[c][this.chunkIndex(c, k)];
  }

  /** Chunk i of class c (for callers that cached chunkIndex). */
  chunk(c: number, i: number): Uint32Array {
    return this.chunks[c][i];
  }

  /** Word offset of block k of class c inside chunkOf(c, k). */
  startOf(c: number, k: number): number {
    const m = 1 << this.shift[c];
    const slot = k < 2 * m - 1 ? k + 1 - 2 ** (31 - Math.clz32(k + 1)) : (k - (2 * m - 1)) % m;
    return slot * this.blockWords[c];
  }

  /** Bytes of chunks and owner tables. */
  bytes(): number {
    return this.chunkBytes + this.owners.reduce((sum, o) => sum + o.byteLength, 0);
  }

  /** Index of the chunk holding block k of class c. */
  chunkIndex(c: number, k: number): number {
    const s = this.shift[c];
    const m = 1 << s;
    // Chunks 0..s hold 1, 2, ..., m blocks (2m - 1 in all); every later chunk holds m.
    return k < 2 * m - 1 ? 31 - Math.clz32(k + 1) : s + 1 + Math.floor((k - (2 * m - 1)) / m);
  }

  private chunkBlocks(c: number, i: number): number {
    return i <= this.shift[c] ? 2 ** i : 1 << this.shift[c];
  }

  private firstIndex(c: number, i: number): number {
    const s = this.shift[c];
    return i <= s ? 2 ** i - 1 : 2 ** (s + 1) - 1 + (i - s - 1) * (1 << s);
  }

  private releaseEmptyChunks(c: number): void {
    const chunks = this.chunks[c];
    const n = this.count[c];
    for (let i = chunks.length - 1; i >= 0 && n <= this.firstIndex(c, i); i--) {
      const previousEmpty = i > 0 && n <= this.firstIndex(c, i - 1);
      if (!previousEmpty && chunks[i].length <= CHUNK_WORDS) break; // keep one spare
      this.chunkBytes -= chunks[i].byteLength;
      chunks.pop();
    }
  }
}
