/**
 * A token bucket measured in wall time, to publish at a steady rate.
 *
 * Why a bucket and not "sleep 1/rate per event": timers have millisecond granularity, so at
 * 50,000 events/s per-event sleeps would be impossible. The bucket refills continuously
 * from the clock and allows a small burst (its capacity), so the long-run rate is exact
 * and sleeps are few; the capacity is capped so a stall is not followed by a huge burst.
 */

export interface TokenBucket {
  /** Takes one token if available and returns 0; otherwise returns the ms to wait for one. */
  take(): number;
}

export interface TokenBucketOptions {
  /** Tokens per second. */
  rate: number;
  /** Largest burst. Default: 50 ms worth of rate, at least 1. */
  capacity?: number;
  /** Milliseconds, monotonic; injectable for tests. */
  now?: () => number;
}

export function createTokenBucket(opts: TokenBucketOptions): TokenBucket {
  const { rate } = opts;
  if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be a positive number, got ${rate}`);
  const capacity = opts.capacity ?? Math.max(1, rate / 20);
  const now = opts.now ?? (() => performance.now());
  // Start with one token, not a full bucket, so a run does not open with a burst.
  let tokens = Math.min(1, capacity);
  let last = now();
  return {
    take() {
      const t = now();
      tokens = Math.min(capacity, tokens + ((t - last) * rate) / 1000);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return ((1 - tokens) * 1000) / rate;
    },
  };
}

/** Resolves after `ms`, or early (without error) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
