import { describe, expect, it } from 'vitest';
import { canaryBucket, inCanary } from '../../../../services/scorer/src/deployment/canary.js';

const CARDS = Array.from({ length: 25_000 }, (_, i) => `card-${String(i).padStart(6, '0')}`);
const shareOf = (share: number) => (100 * CARDS.filter((c) => inCanary(c, share)).length) / CARDS.length;

describe('canary share by card hash', () => {
  it.each([1, 5, 10, 25, 50, 90])('%s % of 25,000 cards is within ±1 percentage point', (share) => {
    expect(Math.abs(shareOf(share) - share)).toBeLessThanOrEqual(1);
  });

  it('0 % takes no card, 100 % every card', () => {
    expect(shareOf(0)).toBe(0);
    expect(shareOf(100)).toBe(100);
  });

  it('raising the share only adds cards: a card never leaves the canary as it grows', () => {
    for (const c of CARDS) if (inCanary(c, 5)) expect(inCanary(c, 10)).toBe(true);
  });

  it('depends on the token alone (every instance agrees) and spreads similar tokens', () => {
    expect(canaryBucket('card-000001')).toBe(canaryBucket('card-000001'));
    const buckets = new Set(CARDS.slice(0, 1000).map(canaryBucket));
    expect(buckets.size).toBeGreaterThan(900);
    expect(CARDS.every((c) => canaryBucket(c) >= 0 && canaryBucket(c) < 10_000)).toBe(true);
  });
});
