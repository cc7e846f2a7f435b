/**
 * Which cards a canary decides: a card is in a canary of share s % when its token hashes into
 * the first s·100 of 10,000 buckets. The hash depends on the token alone, so every instance
 * agrees, a card never flips between models while a spec is in force, and raising the share
 * only adds cards (5 % ⊂ 10 % ⊂ 100 %): a card's history stays with one model as the canary grows.
 */

export const CANARY_BUCKETS = 10_000;

/** The card's bucket, 0 … 9,999: FNV-1a over the token's UTF-16 units, then murmur3's finaliser to spread it. */
export function canaryBucket(cardToken: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < cardToken.length; i++) {
    h ^= cardToken.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % CANARY_BUCKETS;
}

/** Whether the canary of `sharePercent` (0 … 100) decides this card. */
export function inCanary(cardToken: string, sharePercent: number): boolean {
  return canaryBucket(cardToken) < sharePercent * (CANARY_BUCKETS / 100);
}
