/**
 * `fraudscore models keygen | sign | verify` through the real CLI: a key pair with the private
 * half readable by its owner only, a signed copy of a shipped model that verifies (exit 0), and
 * the refusals that exit 1 with the reason: an unknown key, an unsigned folder, an ONNX swapped
 * after signing. Also where the signing key comes from (--key, FRAUD_MODEL_SIGNING_KEY[_FILE]).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signingKeyFrom } from '../../../../services/cli/src/commands/model-signing.js';
import { generateKeyPair, keyIdOf, parsePrivateKey } from '../../../../services/common/src/model-signature.js';
import { createPublicKey } from 'node:crypto';
import { runCli } from '../../../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'fs-models-sign-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = (args: string[], env: Record<string, string> = {}) => runCli(['models', ...args], env);
const copy = (name: string) => {
  const dir = join(work, name);
  cpSync(join('models', 'fraud-lr', '1.0.0'), dir, { recursive: true });
  rmSync(join(dir, 'manifest.sig'));
  return dir;
};

describe('fraudscore models keygen, sign, verify', () => {
  it('makes a key pair, signs, verifies, and refuses what it must', async () => {
    const keys = join(work, 'keys');
    const gen = await cli(['keygen', '--out', keys, '--name', 'release-9']);
    expect(gen.code).toBe(0);
    const keyId = /key id ([0-9a-f]{16})/.exec(gen.out)?.[1];
    const key = join(keys, 'release-9.key');
    const pub = join(keys, 'release-9.pub');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(keys).mode & 0o777).toBe(0o700);
    expect(keyIdOf(createPublicKey(readFileSync(pub)))).toBe(keyId);
    expect(readFileSync(key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    // A second keygen under the same name never overwrites the key.
    expect((await cli(['keygen', '--out', keys, '--name', 'release-9'])).code).toBe(1);

    const good = copy('good');
    const unsigned = copy('unsigned');
    const swapped = copy('swapped');
    const sign = await cli(['sign', good, swapped, '--key', key]);
    expect(sign.code).toBe(0);
    expect(sign.out).toContain(`with key ${keyId}`);
    writeFileSync(join(swapped, 'model.onnx'), readFileSync(join('models', 'fraud-rf', '1.0.0', 'model.onnx')));

    const other = generateKeyPair();
    const otherPub = join(work, 'other.pub');
    writeFileSync(otherPub, other.publicKeyPem);
    const [ok, wrongKey, refused, viaEnv] = await Promise.all([
      cli(['verify', good, '--keys', pub]),
      cli(['verify', good, '--keys', otherPub]),
      cli(['verify', good, unsigned, swapped, '--keys', `${otherPub},${pub}`]),
      cli(['verify', good], { FRAUD_MODEL_PUBLIC_KEYS: pub }),
    ]);
    expect(ok).toMatchObject({ code: 0, err: '' });
    expect(ok.out).toContain(`ok ${good}: signed by key ${keyId}`);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.err).toMatch(/REFUSED \(bad_signature\) .*which is not a trusted key/);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain(`ok ${good}`);
    expect(refused.err).toMatch(/REFUSED \(unsigned\) .*unsigned: no manifest\.sig/);
    expect(refused.err).toMatch(/REFUSED .*swapped: manifest\.json is signed by key [0-9a-f]{16}, but model\.onnx has sha256/);
    expect(viaEnv.code).toBe(0);
  }, 60_000);
});

describe('signingKeyFrom', () => {
  const pair = generateKeyPair();
  const file = join(work, 'signing.key');
  writeFileSync(file, pair.privateKeyPem);

  it('reads --key, else FRAUD_MODEL_SIGNING_KEY_FILE or FRAUD_MODEL_SIGNING_KEY, else none', () => {
    const id = (pem: string | undefined) => keyIdOf(createPublicKey(parsePrivateKey(pem!)));
    expect(id(signingKeyFrom(file, {}))).toBe(pair.keyId);
    expect(id(signingKeyFrom(undefined, { FRAUD_MODEL_SIGNING_KEY_FILE: file }))).toBe(pair.keyId);
    expect(id(signingKeyFrom(undefined, { FRAUD_MODEL_SIGNING_KEY: pair.privateKeyPem }))).toBe(pair.keyId);
    expect(signingKeyFrom(undefined, {})).toBeUndefined();
  });

  it('names a key file that cannot be read or is not an Ed25519 private key', () => {
    const pub = join(work, 'public-as-private.key');
    writeFileSync(pub, pair.publicKeyPem);
    expect(() => signingKeyFrom(join(work, 'none.key'), {})).toThrow(/cannot read the signing key .*none\.key \(ENOENT\)/);
    expect(() => signingKeyFrom(pub, {})).toThrow(/public-as-private\.key is not a PEM private key/);
    expect(() => signingKeyFrom(undefined, { FRAUD_MODEL_SIGNING_KEY_FILE: pub })).toThrow(/public-as-private\.key is not a PEM private key/);
  });
});
