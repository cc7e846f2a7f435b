/**
 * `fraudscore models keygen | sign | verify`: Ed25519 signatures on model artifacts
 * (common/src/model-signature.ts). The release owner keeps the private key; the scorers and the
 * gateway get the public keys (FRAUD_MODEL_PUBLIC_KEYS) and refuse an artifact no trusted key
 * signed. `verify` runs the release check without onnxruntime: the signature over
 * manifest.json, then model.onnx against the signed sha256.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { generateKeyPair, loadPublicKeys, parsePrivateKey, signManifest, SignatureError, verifyManifest, type ModelPublicKey } from '../../../common/src/model-signature.js';
import { readSecret } from '../../../common/src/secrets.js';

const env = process.env;
const fail = (msg: string) => {
  process.stderr.write(`${msg}\n`);
  process.exitCode = 1;
};

/**
 * The signing key's PEM: the file given, else FRAUD_MODEL_SIGNING_KEY (or the file
 * FRAUD_MODEL_SIGNING_KEY_FILE names, secrets.ts). Undefined when none is given; throws naming
 * the file when it cannot be read or is not an Ed25519 private key.
 */
export function signingKeyFrom(file: string | undefined, environment: Record<string, string | undefined> = env): string | undefined {
  let pem: string | undefined;
  let source = file ?? 'FRAUD_MODEL_SIGNING_KEY';
  if (file !== undefined) {
    try {
      pem = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the signing key ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  } else {
    pem = readSecret(environment, 'FRAUD_MODEL_SIGNING_KEY');
    if (environment.FRAUD_MODEL_SIGNING_KEY_FILE) source = environment.FRAUD_MODEL_SIGNING_KEY_FILE;
  }
  if (pem !== undefined) parsePrivateKey(pem, source);
  return pem;
}

function keygen(o: { out: string; name: string }): void {
  if (!/^[\w.-]+$/.test(o.name)) return fail(`--name must be letters, digits, _ . - (it names the files), not ${JSON.stringify(o.name)}`);
  const pair = generateKeyPair();
  const key = join(o.out, `${o.name}.key`);
  const pub = join(o.out, `${o.name}.pub`);
  mkdirSync(o.out, { recursive: true, mode: 0o700 });
  try {
    // wx: an existing key is never overwritten (artifacts signed with it would become unverifiable).
    writeFileSync(key, pair.privateKeyPem, { flag: 'wx', mode: 0o600 });
    writeFileSync(pub, pair.publicKeyPem, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    return fail(`keygen: ${(err as Error).message} (keys are never overwritten: choose another --name or --out)`);
  }
  console.log(`key id ${pair.keyId}`);
  console.log(`  private ${key}  (PKCS8 PEM, mode 600: keep it with the release owner, never in git)`);
  console.log(`  public  ${pub}  (SPKI PEM: list it in FRAUD_MODEL_PUBLIC_KEYS)`);
}

async function sign(dirs: string[], o: { key?: string }): Promise<void> {
  let pem: string | undefined;
  try {
    pem = signingKeyFrom(o.key);
  } catch (err) {
    return fail(`sign: ${(err as Error).message}`);
  }
  if (pem === undefined) return fail('sign: give --key <file> (or set FRAUD_MODEL_SIGNING_KEY_FILE)');
  for (const dir of dirs) {
    try {
      const sig = await signManifest(dir, pem);
      console.log(`signed ${join(dir, 'manifest.json')} with key ${sig.keyId}: ${join(dir, 'manifest.sig')}`);
    } catch (err) {
      fail(`not signed: ${(err as Error).message}`);
    }
  }
}

/** Signature over manifest.json, then model.onnx against the signed sha256; the message says which failed. */
async function verifyOne(dir: string, keys: readonly ModelPublicKey[]): Promise<string> {
  const { key, manifest } = await verifyManifest(dir, keys);
  let digest: unknown;
  try {
    digest = (JSON.parse(manifest.toString('utf8')) as { sha256?: unknown }).sha256;
  } catch (err) {
    throw new Error(`${dir}: the signed manifest.json is not JSON (${(err as Error).message})`);
  }
  const onnx = createHash('sha256').update(await readFile(join(dir, 'model.onnx'))).digest('hex');
  if (onnx !== digest) throw new Error(`${dir}: manifest.json is signed by key ${key.keyId}, but model.onnx has sha256 ${onnx}, not the signed ${String(digest)}`);
  return `${dir}: signed by key ${key.keyId} (${key.source}); model.onnx matches the signed sha256`;
}

async function verify(dirs: string[], o: { keys?: string }): Promise<void> {
  if (!o.keys) return fail('verify: give --keys <file[,file…]> (or set FRAUD_MODEL_PUBLIC_KEYS)');
  let keys: ModelPublicKey[];
  try {
    keys = loadPublicKeys(o.keys);
  } catch (err) {
    return fail(`verify: --keys ${(err as Error).message}`);
  }
  for (const dir of dirs) {
    try {
      console.log(`ok ${await verifyOne(dir, keys)}`);
    } catch (err) {
      fail(`REFUSED${err instanceof SignatureError ? ` (${err.reason})` : ''} ${(err as Error).message}`);
    }
  }
}

/** Adds keygen, sign and verify under `fraudscore models`. */
export function registerModelSigning(models: Command): void {
  models.command('keygen').description('make an Ed25519 key pair for signing models: <name>.key (private, mode 600) and <name>.pub; prints the key id')
    .requiredOption('--out <dir>', 'folder for the two files (created with mode 700); keep it outside the repository')
    .option('--name <n>', 'file name of both keys', 'fraudscore-model-signing')
    .action(keygen);

  models.command('sign <artifactDirs...>').description('sign each artifact folder\'s manifest.json (model.onnx must match its sha256): writes manifest.sig beside it')
    .option('--key <file>', 'Ed25519 private key (PEM); default: env FRAUD_MODEL_SIGNING_KEY_FILE (or the PEM in FRAUD_MODEL_SIGNING_KEY)')
    .action(sign);

  models.command('verify <artifactDirs...>').description('check each artifact folder as a scorer with FRAUD_MODEL_PUBLIC_KEYS would: manifest.sig by a trusted key, model.onnx matching the signed sha256 (exit 0 all verified, 1 otherwise)')
    .option('--keys <list>', 'comma-separated public key files (PEM); env FRAUD_MODEL_PUBLIC_KEYS', env.FRAUD_MODEL_PUBLIC_KEYS || undefined)
    .action(verify);
}
