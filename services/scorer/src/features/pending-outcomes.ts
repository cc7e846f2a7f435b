/**
 * Outcomes waiting for the watermark to reach their knownAt, ordered by knownAt.
 *
 * Kept as 24-byte rows in typed arrays rather than references to decoded outcome objects
 * (~250 bytes each with their id strings): at start-up the scorer reads the outcomes topic
 * before it has scored anything, so the watermark is -Infinity and the whole topic waits
 * here until the first transaction arrives.
 *
 * Rows live in [head, tail). The topic is published in knownAt order, so a row is normally
 * appended; an out-of-order one is inserted at its place (binary search, then a shift).
 * Among equal knownAt, arrival order is kept.
 */

const MIN_CAPACITY = 1024;

export class PendingOutcomes {
  private knownAt = new Float64Array(MIN_CAPACITY);
  private eventTime = new Float64Array(MIN_CAPACITY);
  private series = new Int32Array(MIN_CAPACITY);
  private tag = new Uint32Array(MIN_CAPACITY);
  private head = 0;
  private tail = 0;

  /** The row removed by the last shift(), in fields so that shifting allocates nothing. */
  shiftedEventTime = 0;
  shiftedKnownAt = 0;
  shiftedSeries = 0;
  shiftedTag = 0;

  get size(): number {
    return this.tail - this.head;
  }

  /** knownAt of the earliest row, or Infinity when empty. */
  nextKnownAt(): number {
    return this.head < this.tail ? this.knownAt[this.head] : Infinity;
  }

  push(knownAt: number, eventTime: number, series: number, tag: number): void {
    if (this.tail === this.knownAt.length) this.makeRoom();
    let at = this.tail;
    if (at > this.head && this.knownAt[at - 1] > knownAt) {
      // Upper bound: after every row with knownAt <= this one.
      let lo = this.head;
      let hi = at;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.knownAt[mid] <= knownAt) lo = mid + 1;
        else hi = mid;
      }
      at = lo;
      for (const a of this.arrays()) a.copyWithin(at + 1, at, this.tail);
    }
    this.knownAt[at] = knownAt;
    this.eventTime[at] = eventTime;
    this.series[at] = series;
    this.tag[at] = tag;
    this.tail++;
  }

  /** Removes the earliest row into the shifted* fields. Call only when size > 0. */
  shift(): void {
    const i = this.head++;
    this.shiftedKnownAt = this.knownAt[i];
    this.shiftedEventTime = this.eventTime[i];
    this.shiftedSeries = this.series[i];
    this.shiftedTag = this.tag[i];
    if (this.head === this.tail) {
      this.head = this.tail = 0;
      // A start-up burst drained: give its memory back.
      if (this.knownAt.length > 16 * MIN_CAPACITY) this.resize(MIN_CAPACITY);
    }
  }

  bytes(): number {
    return this.arrays().reduce((sum, a) => sum + a.byteLength, 0);
  }

  /** Slides rows to the start, or grows when more than half full. */
  private makeRoom(): void {
    const size = this.size;
    if (size * 2 <= this.knownAt.length) {
      for (const a of this.arrays()) a.copyWithin(0, this.head, this.tail);
      this.head = 0;
      this.tail = size;
    } else {
      this.resize(this.knownAt.length * 2);
    }
  }

  private resize(capacity: number): void {
    const { head, tail } = this;
    const move = <T extends Float64Array | Int32Array | Uint32Array>(old: T, next: T): T => {
      next.set(old.subarray(head, tail));
      return next;
    };
    this.knownAt = move(this.knownAt, new Float64Array(capacity));
    this.eventTime = move(this.eventTime, new Float64Array(capacity));
    this.series = move(this.series, new Int32Array(capacity));
    this.tag = move(this.tag, new Uint32Array(capacity));
    this.head = 0;
    this.tail = tail - head;
  }

  private arrays(): (Float64Array | Int32Array | Uint32Array)[] {
    return [this.knownAt, this.eventTime, this.series, this.tag];
  }
}
