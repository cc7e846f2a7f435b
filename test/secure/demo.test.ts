/**
 * `npm run demo -- --secure`, as a user runs it: the standard demo on the secure broker ends
 * with the demo line and the secure line, whose figures it read back (the scorer's log, the
 * broker's refusals, the contracts check).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('demo --secure', () => {
  it('scores over SASL_SSL with signed models and ends with the secure line', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'services/cli/src/main.ts', 'demo', '--secure', '--seconds', '6', '--rate', '500'], { encoding: 'utf8', timeout: 150_000 });
    const lines = r.stdout.trim().split('\n');
    expect(r.status, r.stdout.slice(-3000) + r.stderr.slice(-3000)).toBe(0);
    expect(lines.at(-2)).toMatch(/^demo: [1-9]\d* events scored, \d+ flagged, \d+ dead-lettered, p99 [\d.]+ ms$/);
    const secure = /^secure: SASL_SSL SCRAM-SHA-512, (\d+) ACL denials tested, contracts BACKWARD-compatible, model signature verified$/.exec(lines.at(-1) ?? '');
    expect(secure, lines.at(-1)).not.toBeNull();
    expect(Number(secure![1])).toBeGreaterThanOrEqual(10);
  });
});
