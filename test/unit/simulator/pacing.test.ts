import { describe, expect, it } from 'vitest';
import { createTokenBucket, sleep } from '../../../services/simulator/src/pacing.js';

describe('token bucket', () => {
  it('holds the long-run rate and allows only a small burst', () => {
    let now = 0;
    const bucket = createTokenBucket({ rate: 1000, capacity: 10, now: () => now });
    // Starts with one token: no opening burst.
    expect(bucket.take()).toBe(0);
    expect(bucket.take()).toBeCloseTo(1, 5);
    // Simulate a consumer that sleeps exactly as told, for 2 simulated seconds.
    let taken = 1;
    while (now < 2000) {
      const wait = bucket.take();
      if (wait === 0) taken++;
      else now += wait;
    }
    expect(taken).toBeGreaterThanOrEqual(1999);
    expect(taken).toBeLessThanOrEqual(2001);
    // After a long idle period, at most `capacity` tokens are available at once.
    now += 60_000;
    let burst = 0;
    while (bucket.take() === 0) burst++;
    expect(burst).toBe(10);
  });

  it('rejects a non-positive rate', () => {
    expect(() => createTokenBucket({ rate: 0 })).toThrow(RangeError);
  });

  it('sleep returns early when aborted', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ac.abort(), 10);
    await sleep(5_000, ac.signal);
    expect(performance.now() - t0).toBeLessThan(1_000);
  });
});
