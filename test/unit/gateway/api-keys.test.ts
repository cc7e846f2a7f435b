/** API keys: hashed entries from a file and the environment, rotated without a restart. */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashKey, loadApiKeys, newApiKey, parseApiKeys } from '../../../services/gateway/src/api-keys.js';

const dir = mkdtempSync(join(tmpdir(), 'api-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('API keys', () => {
  it('new-key: a random 43-character key whose stored line holds only its hash', () => {
    const { key, entry } = newApiKey('acquirer-1');
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(entry).toBe(`acquirer-1 ${hashKey(key)}`);
    expect(entry).not.toContain(key);
    expect(newApiKey('x').key).not.toBe(key);
  });

  it('a bad entry is named by its source and position, never echoed', () => {
    expect(() => parseApiKeys('a 123\n', 'FILE')).toThrow('FILE: entry 1 is not `<name> <sha256 hex of the key>`');
    expect(() => parseApiKeys(`a ${hashKey('x')}\na ${hashKey('y')}`, 'FILE')).toThrow('entry 2 repeats the name a');
    expect(() => parseApiKeys('secret-key-in-clear', 'FILE')).not.toThrow(/secret-key-in-clear/);
    expect(() => loadApiKeys({ env: '# nothing\n' })).toThrow(/no API key configured/);
    expect(() => loadApiKeys({ file: join(dir, 'missing') })).toThrow(/^FRAUD_GATEWAY_API_KEYS_FILE: /);
  });

  it('rotation: the file is read again when it changes (at most once a second), no restart', () => {
    const file = join(dir, 'keys');
    const [old, next] = [newApiKey('old'), newApiKey('next')];
    writeFileSync(file, `${old.entry}\n`);
    let now = 1_000_000;
    const errors: string[] = [];
    const keys = loadApiKeys({ file, env: `ops ${hashKey('ops-key-0123456789')}`, now: () => now, onReloadError: (e) => errors.push(e.message) });
    expect(keys.check(`Bearer ${old.key}`)).toBe('old');
    expect(keys.check('Bearer ops-key-0123456789')).toBe('ops');
    expect(keys.check(`Bearer ${next.key}`)).toBeUndefined();

    // Add the new key, move callers, remove the old one.
    writeFileSync(file, `${old.entry}\n${next.entry}\n`);
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect(keys.check(`Bearer ${next.key}`)).toBeUndefined(); // checked less than a second ago
    now += 1_001;
    expect(keys.check(`Bearer ${next.key}`)).toBe('next');
    writeFileSync(file, `${next.entry}\n`);
    utimesSync(file, new Date(), new Date(Date.now() + 10_000));
    now += 1_001;
    expect(keys.check(`Bearer ${old.key}`)).toBeUndefined();
    expect(keys.check(`Bearer ${next.key}`)).toBe('next');

    // A broken file keeps the last good keys, and says so.
    writeFileSync(file, 'not an entry\n');
    utimesSync(file, new Date(), new Date(Date.now() + 15_000));
    now += 1_001;
    expect(keys.check(`Bearer ${next.key}`)).toBe('next');
    expect(errors).toHaveLength(1);
    expect(keys.size()).toBe(2);
  });
});
