/**
 * Ed25519 signatures on model artifacts. A manifest's sha256 only proves model.onnx matches the
 * manifest beside it, and whoever can change one can change both; a signature over the exact
 * bytes of manifest.json, by a key only the release owner holds, proves the manifest (and so,
 * through its digest, the ONNX) is one that was released. Written beside it as manifest.sig:
 *
 *   {"alg":"Ed25519","keyId":"<16 hex>","signature":"<base64>"}
 *
 * keyId is the first 16 hex of sha256 of the raw 32-byte public key: it picks the key to verify
 * with among several (rotation) and is what logs and the CLI show. node:crypto only.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
const ALG = 'Ed25519';

/** Why an artifact's signature is refused: no manifest.sig at all, or one that does not verify with a configured key. */
export type SignatureRefusal = 'unsigned' | 'bad_signature';

export class SignatureError extends Error {
  override name = 'SignatureError';
  constructor(readonly reason: SignatureRefusal, message: string) {
    super(message);
  }
}

/** A public key that may sign artifacts; `source` (its file) is named in messages. */
export interface ModelPublicKey {
  readonly keyId: string;
  readonly source: string;
  readonly key: KeyObject;
}

export interface ManifestSignature {
  alg: typeof ALG;
  keyId: string;
  signature: string;
}

/** First 16 hex of sha256 of the raw 32-byte Ed25519 public key. */
export function keyIdOf(key: KeyObject): string {
  const raw = Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url');
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/** A new key pair: PKCS8 PEM private key, SPKI PEM public key, and its key id. */
export function generateKeyPair(): { privateKeyPem: string; publicKeyPem: string; keyId: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

/** An Ed25519 private key from PEM; throws naming `source` when it is not one. */
export function parsePrivateKey(pem: string | Buffer, source = 'the signing key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${source} is not a PEM private key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${source} is a ${key.asymmetricKeyType} key, not Ed25519`);
  return key;
}

/** An Ed25519 public key from SPKI PEM; throws naming `source` when it is not one. */
export function parsePublicKey(pem: string | Buffer, source: string): ModelPublicKey {
  // createPublicKey also accepts a private key (and derives its public half): a private key in a
  // list of public keys is a mistake that spreads the secret, so it is refused.
  if (/PRIVATE KEY/.test(pem.toString())) throw new Error(`${source} holds a private key; give the public key (.pub)`);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Error(`${source} is not a PEM public key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${source} is a ${key.asymmetricKeyType} key, not Ed25519`);
  return { keyId: keyIdOf(key), source, key };
}

/**
 * The public keys in the files `list` names (comma-separated paths, or an array). Read at
 * start-up, synchronously; throws naming the file that cannot be read or is not an Ed25519 key.
 */
export function loadPublicKeys(list: string | readonly string[]): ModelPublicKey[] {
  const paths = (typeof list === 'string' ? list.split(',') : list).map((p) => p.trim()).filter(Boolean);
  if (paths.length === 0) throw new Error('names no key file');
  const keys = new Map<string, ModelPublicKey>();
  for (const path of paths) {
    let pem: Buffer;
    try {
      pem = readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const key = parsePublicKey(pem, path);
    if (!keys.has(key.keyId)) keys.set(key.keyId, key);
  }
  return [...keys.values()];
}

/** The signature of these manifest bytes. */
export function signBytes(manifest: Buffer, privateKey: KeyObject): ManifestSignature {
  return { alg: ALG, keyId: keyIdOf(createPublicKey(privateKey)), signature: sign(null, manifest, privateKey).toString('base64') };
}

/**
 * Signs the exact bytes of <dir>/manifest.json and writes <dir>/manifest.sig. Refuses a folder
 * whose model.onnx does not match the manifest's sha256: a signature vouches for the artifact,
 * so a broken one is never signed. Neither model.onnx nor manifest.json is changed.
 */
export async function signManifest(dir: string, privateKeyPem: string | Buffer): Promise<ManifestSignature> {
  const key = parsePrivateKey(privateKeyPem);
  const manifest = await readFile(join(dir, MANIFEST_FILE));
  let digest: unknown;
  try {
    digest = (JSON.parse(manifest.toString('utf8')) as { sha256?: unknown }).sha256;
  } catch (err) {
    throw new Error(`${join(dir, MANIFEST_FILE)} is not JSON: ${(err as Error).message}`);
  }
  const onnx = createHash('sha256').update(await readFile(join(dir, 'model.onnx'))).digest('hex');
  if (digest !== onnx) throw new Error(`${dir}: model.onnx has sha256 ${onnx}, the manifest says ${String(digest)}; not signing an artifact that does not hold together`);
  const sig = signBytes(manifest, key);
  await writeFile(join(dir, SIGNATURE_FILE), JSON.stringify(sig) + '\n');
  return sig;
}

/**
 * The key id that signed these manifest bytes, given the text of manifest.sig (undefined: there
 * is none). Throws SignatureError: `unsigned`, or `bad_signature` for a malformed signature
 * file, a key id none of `keys` has, or a signature that does not verify.
 */
export function checkSignature(manifest: Buffer, sigText: string | undefined, keys: readonly ModelPublicKey[]): ModelPublicKey {
  if (sigText === undefined) throw new SignatureError('unsigned', `no ${SIGNATURE_FILE}: the artifact is not signed`);
  let sig: Partial<ManifestSignature>;
  try {
    sig = JSON.parse(sigText) as Partial<ManifestSignature>;
  } catch {
    throw new SignatureError('bad_signature', `${SIGNATURE_FILE} is not JSON`);
  }
  if (sig?.alg !== ALG || typeof sig.keyId !== 'string' || typeof sig.signature !== 'string') {
    throw new SignatureError('bad_signature', `${SIGNATURE_FILE} must be {"alg":"${ALG}","keyId":"…","signature":"<base64>"}`);
  }
  const key = keys.find((k) => k.keyId === sig.keyId);
  if (!key) throw new SignatureError('bad_signature', `signed by key ${sig.keyId}, which is not a trusted key (${keys.map((k) => k.keyId).join(', ')})`);
  if (!verify(null, manifest, key.key, Buffer.from(sig.signature, 'base64'))) {
    throw new SignatureError('bad_signature', `the signature of key ${key.keyId} does not verify: manifest.json is not the one that was signed`);
  }
  return key;
}

/** The text of <dir>/manifest.sig, or undefined when there is none. */
export async function readSignature(dir: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, SIGNATURE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SignatureError('bad_signature', `cannot read ${SIGNATURE_FILE}: ${(err as Error).message}`);
  }
}

/**
 * Verifies <dir>/manifest.sig over <dir>/manifest.json with `keys`. Returns the verifying key
 * and the manifest bytes that were verified: parse those, not a second read of the file.
 */
export async function verifyManifest(dir: string, keys: readonly ModelPublicKey[]): Promise<{ key: ModelPublicKey; manifest: Buffer }> {
  const manifest = await readFile(join(dir, MANIFEST_FILE));
  try {
    return { key: checkSignature(manifest, await readSignature(dir), keys), manifest };
  } catch (err) {
    if (err instanceof SignatureError) throw new SignatureError(err.reason, `${dir}: ${err.message}`);
    throw err;
  }
}
