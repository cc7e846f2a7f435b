/**
 * Named places where a fault test can have the scorer die with SIGKILL, the way a power cut
 * or an OOM kill would: no cleanup, no flush, no goodbye to the group. Enabled only by
 * FRAUD_CRASH_POINT (tests only); otherwise every hit is a no-op.
 */
export const CRASH_POINTS = ['none', 'mid-batch', 'after-send-before-offsets', 'after-offsets-before-commit', 'after-commit'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export interface CrashPoints {
  hit(point: Exclude<CrashPoint, 'none'>): void;
}

export const NO_CRASH: CrashPoints = { hit: () => {} };

/** Dies at the `afterHits`-th time `point` is reached. */
export function createCrashPoints(point: CrashPoint, afterHits: number, kill: () => void = () => process.kill(process.pid, 'SIGKILL')): CrashPoints {
  if (point === 'none') return NO_CRASH;
  let hits = 0;
  return {
    hit(at) {
      if (at === point && ++hits >= afterHits) kill();
    },
  };
}
