/**
 * API keys for the REST gateway: bearer tokens, stored as SHA-256 hashes only, from a file
 * (FRAUD_GATEWAY_API_KEYS_FILE, e.g. a mounted Kubernetes Secret) and/or the environment
 * (FRAUD_GATEWAY_API_KEYS). Each entry is `<name> <sha256 hex of the key>`, one per line (or
 * comma-separated in the variable); `#` starts a comment. The name identifies the caller in
 * rate limits and metrics; the key itself is never stored, logged or compared in clear.
 *
 * Why SHA-256 and not a password hash: keys are random tokens of 32 bytes (`fraudscore gateway
 * new-key` makes one), not something a person chose, so a fast hash cannot be brute-forced;
 * and every request checks one.
 *
 * Rotation without restart: the file is read again when its modification time changes
 * (checked at most once a second, on requests), so adding the new key, moving callers, then
 * removing the old one needs no restart. A file that becomes unreadable or invalid keeps the
 * last good set and says so in the log; at start-up it is an error naming the setting.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export interface ApiKeyEntry {
  name: string;
  hash: Buffer;
}

const ENTRY = /^([A-Za-z0-9_.-]{1,64})\s+(?:sha256:)?([0-9a-f]{64})$/;

/** Parses entries; throws naming the source and line of a bad one (never echoing it: it may hold a key). */
export function parseApiKeys(text: string, source: string): ApiKeyEntry[] {
  const out: ApiKeyEntry[] = [];
  const names = new Set<string>();
  text.split(/[\n,]/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const m = ENTRY.exec(line);
    if (!m) throw new Error(`${source}: entry ${i + 1} is not \`<name> <sha256 hex of the key>\` (64 lowercase hex digits)`);
    if (names.has(m[1] as string)) throw new Error(`${source}: entry ${i + 1} repeats the name ${m[1]}`);
    names.add(m[1] as string);
    out.push({ name: m[1] as string, hash: Buffer.from(m[2] as string, 'hex') });
  });
  return out;
}

export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** A new random key (43 characters, base64url of 32 bytes) and the line to store for it. */
export function newApiKey(name: string): { key: string; entry: string } {
  const key = randomBytes(32).toString('base64url');
  return { key, entry: `${name} ${hashKey(key)}` };
}

export interface ApiKeys {
  /** The caller's name for an `Authorization` header value, or undefined (missing, malformed, unknown: one answer). */
  check(authorization: string | undefined): string | undefined;
  /** How many keys are loaded now. */
  size(): number;
}

export interface ApiKeySources {
  file?: string;
  env?: string;
  /** Told when a changed file cannot be used (the last good set stays). */
  onReloadError?: (err: Error) => void;
  now?: () => number;
}

/** Loads the keys now (throws naming the setting when unusable) and reloads the file when it changes. */
export function loadApiKeys(src: ApiKeySources): ApiKeys {
  const now = src.now ?? Date.now;
  const fromEnv = src.env ? parseApiKeys(src.env, 'FRAUD_GATEWAY_API_KEYS') : [];
  const readFile = (): { entries: ApiKeyEntry[]; mtime: number } => {
    const path = src.file as string;
    const mtime = statSync(path).mtimeMs;
    return { entries: parseApiKeys(readFileSync(path, 'utf8'), `FRAUD_GATEWAY_API_KEYS_FILE (${path})`), mtime };
  };
  let fromFile: ApiKeyEntry[] = [];
  let mtime = -1;
  if (src.file) {
    try {
      ({ entries: fromFile, mtime } = readFile());
    } catch (err) {
      throw new Error(`FRAUD_GATEWAY_API_KEYS_FILE: ${(err as Error).message}`);
    }
  }
  let all = [...fromEnv, ...fromFile];
  if (all.length === 0) throw new Error('FRAUD_GATEWAY_API_KEYS_FILE / FRAUD_GATEWAY_API_KEYS: no API key configured; every request would be refused (make one with `fraudscore gateway new-key <name>`)');
  let checkedAt = now();

  const refresh = (): void => {
    if (!src.file || now() - checkedAt < 1000) return;
    checkedAt = now();
    try {
      if (statSync(src.file).mtimeMs === mtime) return;
      const next = readFile();
      fromFile = next.entries;
      mtime = next.mtime;
      all = [...fromEnv, ...fromFile];
    } catch (err) {
      src.onReloadError?.(err as Error);
    }
  };

  return {
    check(authorization) {
      refresh();
      const m = authorization === undefined ? null : /^Bearer ([A-Za-z0-9._~+/=-]{16,512})$/.exec(authorization);
      if (!m) return undefined;
      const presented = createHash('sha256').update(m[1] as string, 'utf8').digest();
      let found: string | undefined;
      // Every entry is compared (in constant time each), whichever matches.
      for (const e of all) if (timingSafeEqual(presented, e.hash) && found === undefined) found = e.name;
      return found;
    },
    size: () => all.length,
  };
}
