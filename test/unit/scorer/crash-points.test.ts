import { describe, expect, it } from 'vitest';
import { createCrashPoints } from '../../../services/scorer/src/crash-points.js';

describe('crash points', () => {
  it('kill at the n-th hit of the armed point only', () => {
    let kills = 0;
    const c = createCrashPoints('after-send-before-offsets', 3, () => kills++);
    c.hit('mid-batch');
    c.hit('after-send-before-offsets');
    c.hit('after-commit');
    c.hit('after-send-before-offsets');
    expect(kills).toBe(0);
    c.hit('after-send-before-offsets');
    expect(kills).toBe(1);
  });

  it('none never kills', () => {
    let kills = 0;
    const c = createCrashPoints('none', 1, () => kills++);
    c.hit('mid-batch');
    c.hit('after-commit');
    expect(kills).toBe(0);
  });
});
