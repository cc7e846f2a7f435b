/**
 * The CLI's side of the deployments topic: pin a model from the models folder, verify a spec
 * with the scorer's own checks before it is written, write it, read the history back, find
 * what a rollback restores, and read what every scorer instance reports it serves.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Partitioners, type Kafka } from 'kafkajs';
import type { Codec } from '../../../common/src/avro.js';
import type { DeploymentSpec, DeploymentStatus, ModelPin } from '../../../common/src/contracts.js';
import { createDeployer } from '../../../scorer/src/deployment/deployer.js';
import { checkSpec, DeploymentRefused } from '../../../scorer/src/deployment/spec.js';
import { createPolicy } from '../../../scorer/src/decision/policy.js';
import { loadModel, ModelError, type Model } from '../../../scorer/src/model/load.js';
import { SCORER_CONTRACT } from '../../../scorer/src/service.js';
import { startTopicReader } from '../../../scorer/src/source/topic-reader.js';
import { createLogger } from '../../../scorer/src/telemetry/log.js';
import { loadPublicKeys } from '../../../common/src/model-signature.js';

/** Every spec is written under this key: compaction keeps the newest, min.compaction.lag.ms the history. */
export const SPEC_KEY = 'deployment';

export interface Revision {
  revision: number;
  spec: DeploymentSpec;
}

/** "name/version" → its pin, the digest read from the manifest in the models folder. */
export async function pinOf(modelsDir: string, ref: string): Promise<ModelPin> {
  const m = /^([\w.-]+)\/([\w.-]+)$/.exec(ref);
  if (!m) throw new Error(`${ref} is not name/version`);
  const [, name, version] = m as unknown as [string, string, string];
  const path = join(modelsDir, name, version, 'manifest.json');
  let manifest: { sha256?: unknown };
  try {
    manifest = JSON.parse(await readFile(path, 'utf8')) as typeof manifest;
  } catch (err) {
    throw new DeploymentRefused('unknown_model', `no model ${ref} in ${modelsDir} (${(err as Error).message})`);
  }
  if (typeof manifest.sha256 !== 'string') throw new DeploymentRefused('invalid_manifest', `${path} has no sha256`);
  return { name, version, digest: manifest.sha256 };
}

/**
 * Runs every check a scorer runs before it applies `spec` (shape, policy, artifacts, digest,
 * feature contract, warm-up), on this machine's models folder; throws DeploymentRefused.
 */
export async function verifySpec(modelsDir: string, spec: DeploymentSpec, env: Record<string, string | undefined> = process.env): Promise<void> {
  checkSpec(spec);
  // The scorers' own rule: with FRAUD_MODEL_PUBLIC_KEYS set here too, an unsigned or wrongly
  // signed model is refused before its spec is written, not only by every scorer after.
  const publicKeys = env.FRAUD_MODEL_PUBLIC_KEYS ? loadPublicKeys(env.FRAUD_MODEL_PUBLIC_KEYS) : undefined;
  const log = createLogger('fatal');
  const fallback = fakeFallback();
  const deployer = createDeployer({
    modelsDir,
    fallback,
    load: (dir) => loadModel(dir, SCORER_CONTRACT, { publicKeys }),
    policyFor: (model: Model) => createPolicy(model.manifest.thresholds, model.ref.name, model.explainer),
    log,
  });
  try {
    await deployer.apply(spec, 0);
  } finally {
    await deployer.close();
  }
}

/** A stand-in for the scorer's fallback model: verification never scores with it. */
function fakeFallback(): Model {
  const fail = () => {
    throw new ModelError('warmup_failed', 'the verifier has no fallback model');
  };
  return {
    ref: { name: '-', version: '-', digest: '-' },
    manifest: { thresholds: { review: 0.5, block: 0.9 } } as Model['manifest'],
    score: async () => fail(),
    dispose: async () => {},
  };
}

/** Appends a spec; resolves with its revision (offset). */
export async function writeSpec(kafka: Kafka, topic: string, codec: Codec<DeploymentSpec>, spec: DeploymentSpec): Promise<number> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: SPEC_KEY, value: codec.encode(spec) }] });
    if (!meta?.baseOffset) throw new Error(`the broker did not say where the spec was written on ${topic}`);
    return Number(meta.baseOffset);
  } finally {
    await producer.disconnect();
  }
}

/** Reads a whole (small) compacted topic from the start to its current end. */
async function readAll(kafka: Kafka, topic: string, take: (offset: number, key: string, value: Buffer) => void): Promise<void> {
  const reader = await startTopicReader({
    kafka,
    topic,
    groupPrefix: 'fraudscore-cli',
    onMessages(_p, messages) {
      for (const m of messages) if (m.value) take(Number(m.offset), m.key?.toString() ?? '', m.value);
    },
  });
  try {
    await reader.caughtUp;
  } finally {
    await reader.stop();
  }
}

/** Every readable spec on the topic, oldest first (unreadable ones are reported and skipped). */
export async function readHistory(kafka: Kafka, topic: string, codec: Codec<DeploymentSpec>, warn: (msg: string) => void = () => {}): Promise<Revision[]> {
  const out: Revision[] = [];
  await readAll(kafka, topic, (revision, _key, value) => {
    try {
      out.push({ revision, spec: codec.decode(value) });
    } catch (err) {
      warn(`revision ${revision} is not a DeploymentSpec (${(err as Error).message}); skipped`);
    }
  });
  return out.sort((a, b) => a.revision - b.revision);
}

/** The newest status of each instance, by instance id. */
export async function readStatuses(kafka: Kafka, topic: string, codec: Codec<DeploymentStatus>): Promise<Map<string, DeploymentStatus>> {
  const out = new Map<string, DeploymentStatus>();
  await readAll(kafka, topic, (_offset, key, value) => {
    try {
      const s = codec.decode(value);
      out.set(key || s.instance, s);
    } catch {
      // A status we cannot read says nothing about the instance; a newer one will.
    }
  });
  return out;
}

/**
 * What `rollback` writes: the spec that was in force before the current one. A rollback's
 * spec names the revision it restores, so rolling back again walks further back rather than
 * undoing the rollback.
 */
export function rollbackTarget(history: readonly Revision[]): Revision {
  if (history.length === 0) throw new Error('no deployment has been written yet: nothing to roll back (the scorers serve their fallback model)');
  const current = history[history.length - 1]!;
  const base = current.spec.restoresRevision ?? current.revision;
  const before = history.filter((r) => r.revision < base);
  if (before.length === 0) throw new Error(`revision ${base} is the first deployment: there is nothing before it to roll back to`);
  const target = before[before.length - 1]!;
  return { revision: target.spec.restoresRevision ?? target.revision, spec: target.spec };
}
