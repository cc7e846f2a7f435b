/**
 * Ed25519 signatures on model artifacts: a round trip on a copy of a shipped model, each way a
 * signature is refused (none, an unknown key, a forgery, a manifest changed after signing),
 * the key files FRAUD_MODEL_PUBLIC_KEYS may name, and the shipped models against the release key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkSignature, generateKeyPair, keyIdOf, loadPublicKeys, parsePublicKey, signManifest, SignatureError, verifyManifest,
} from '../../../services/common/src/model-signature.js';

const work = mkdtempSync(join(tmpdir(), 'fs-sign-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
/** A copy of models/fraud-lr/1.0.0 (its manifest.sig included) in a fresh folder. */
function artifact(): string {
  const dir = join(work, `a${n++}`);
  cpSync(join('models', 'fraud-lr', '1.0.0'), dir, { recursive: true });
  return dir;
}
const pubOf = (pem: string, name = 'test.pub') => parsePublicKey(pem, name);
const refusalOf = async (p: Promise<unknown>) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SignatureError);
  return err as SignatureError;
};

const a = generateKeyPair();
const b = generateKeyPair();

describe('signManifest and verifyManifest', () => {
  it('round trip: manifest.sig names the key; the exact manifest bytes verify; model.onnx and manifest.json are unchanged', async () => {
    const dir = artifact();
    const before = [readFileSync(join(dir, 'manifest.json')), readFileSync(join(dir, 'model.onnx'))];
    const sig = await signManifest(dir, a.privateKeyPem);
    expect(JSON.parse(readFileSync(join(dir, 'manifest.sig'), 'utf8'))).toEqual({ alg: 'Ed25519', keyId: a.keyId, signature: sig.signature });
    expect(Buffer.from(sig.signature, 'base64')).toHaveLength(64);
    const { key, manifest } = await verifyManifest(dir, [pubOf(a.publicKeyPem)]);
    expect(key.keyId).toBe(a.keyId);
    expect(manifest.equals(before[0]!)).toBe(true);
    expect(readFileSync(join(dir, 'manifest.json')).equals(before[0]!)).toBe(true);
    expect(readFileSync(join(dir, 'model.onnx')).equals(before[1]!)).toBe(true);
  });

  it('key id: the first 16 hex of sha256 of the raw 32-byte public key', () => {
    const key = pubOf(a.publicKeyPem).key;
    const raw = Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');
    expect(raw).toHaveLength(32);
    expect(a.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(keyIdOf(key)).toBe(a.keyId);
    expect(b.keyId).not.toBe(a.keyId);
  });

  it('refuses an artifact without manifest.sig as unsigned', async () => {
    const dir = artifact();
    rmSync(join(dir, 'manifest.sig'));
    const err = await refusalOf(verifyManifest(dir, [pubOf(a.publicKeyPem)]));
    expect(err.reason).toBe('unsigned');
    expect(err.message).toContain(dir);
  });

  it('refuses a signature by a key that is not trusted as bad_signature, naming both key ids', async () => {
    const dir = artifact();
    await signManifest(dir, b.privateKeyPem);
    const err = await refusalOf(verifyManifest(dir, [pubOf(a.publicKeyPem)]));
    expect(err.reason).toBe('bad_signature');
    expect(err.message).toContain(`signed by key ${b.keyId}, which is not a trusted key (${a.keyId})`);
  });

  it('refuses a forgery: the trusted key id with another key\'s signature', async () => {
    const dir = artifact();
    const sig = await signManifest(dir, b.privateKeyPem);
    writeFileSync(join(dir, 'manifest.sig'), JSON.stringify({ ...sig, keyId: a.keyId }));
    expect((await refusalOf(verifyManifest(dir, [pubOf(a.publicKeyPem)]))).message).toMatch(/signature of key [0-9a-f]{16} does not verify/);
  });

  it('refuses a manifest changed by one byte after signing, and a malformed manifest.sig', async () => {
    const dir = artifact();
    await signManifest(dir, a.privateKeyPem);
    const manifest = readFileSync(join(dir, 'manifest.json'));
    const keys = [pubOf(a.publicKeyPem)];
    expect(() => checkSignature(Buffer.concat([manifest, Buffer.from(' ')]), readFileSync(join(dir, 'manifest.sig'), 'utf8'), keys)).toThrow(/does not verify/);
    for (const text of ['not json', '{}', JSON.stringify({ alg: 'RSA', keyId: a.keyId, signature: 'x' })]) {
      expect(() => checkSignature(manifest, text, keys), text).toThrow(SignatureError);
    }
  });

  it('does not sign an artifact whose model.onnx differs from the manifest\'s sha256', async () => {
    const dir = artifact();
    rmSync(join(dir, 'manifest.sig'));
    writeFileSync(join(dir, 'model.onnx'), 'other bytes');
    await expect(signManifest(dir, a.privateKeyPem)).rejects.toThrow(/not signing an artifact that does not hold together/);
    expect(() => readFileSync(join(dir, 'manifest.sig'))).toThrow();
  });
});

describe('loadPublicKeys', () => {
  const write = (name: string, text: string) => {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads a comma-separated list, trimmed, one entry per key', () => {
    const pa = write('a.pub', a.publicKeyPem);
    const pb = write('b.pub', b.publicKeyPem);
    const keys = loadPublicKeys(` ${pa} , ${pb},${pa}`);
    expect(keys.map((k) => [k.keyId, k.source])).toEqual([[a.keyId, pa], [b.keyId, pb]]);
  });

  it('names the file that cannot be read, is not a key, is a private key or is not Ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => loadPublicKeys(join(work, 'missing.pub'))).toThrow(/cannot read .*missing\.pub \(ENOENT\)/);
    expect(() => loadPublicKeys(write('garbage.pub', 'hello'))).toThrow(/garbage\.pub is not a PEM public key/);
    expect(() => loadPublicKeys(write('secret.pub', a.privateKeyPem))).toThrow(/secret\.pub holds a private key/);
    expect(() => loadPublicKeys(write('rsa.pub', rsa))).toThrow(/rsa\.pub is a rsa key, not Ed25519/);
    expect(() => loadPublicKeys(' , ')).toThrow(/names no key file/);
  });
});

describe('the shipped models', () => {
  it('are signed by the release key models/keys/fraudscore-release-1.pub', async () => {
    const [release] = loadPublicKeys('models/keys/fraudscore-release-1.pub');
    for (const ref of ['fraud-lgbm/1.0.0', 'fraud-lr/1.0.0', 'fraud-rf/1.0.0']) {
      const { key } = await verifyManifest(join('models', ref), [release!]);
      expect(key.keyId, ref).toBe(release!.keyId);
    }
  });
});
