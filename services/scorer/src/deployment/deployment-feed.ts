/**
 * Follows the deployments topic (one partition; a record's offset is its revision). At start
 * it reads the whole topic and applies the newest spec it can (an older one when the newest
 * is refused here, the fallback model when none can be applied); the scorer does not score
 * before that. Then every new spec is applied as it arrives, between chunks.
 */
import type { Kafka } from 'kafkajs';
import type { Codec } from '../../../common/src/avro.js';
import type { DeploymentSpec } from '../../../common/src/contracts.js';
import { startTopicReader } from '../source/topic-reader.js';
import type { Logger } from '../telemetry/log.js';
import type { Deployer } from './deployer.js';
import { DeploymentRefused } from './spec.js';

export interface DeploymentFeed {
  /** Resolves once the topic was read to its end at start and a revision (or the fallback) is in force. */
  readonly restored: Promise<void>;
  /** Newest revision read (applied or refused); -1 before any. */
  lastSeen(): number;
  stop(): Promise<void>;
}

export async function startDeploymentFeed(opts: {
  kafka: Kafka;
  topic: string;
  groupPrefix: string;
  codec: Codec<DeploymentSpec>;
  deployer: Deployer;
  log: Logger;
}): Promise<DeploymentFeed> {
  const { deployer, log } = opts;
  let restoring = true;
  const history: { revision: number; spec: DeploymentSpec }[] = [];
  let lastSeen = -1;

  const reader = await startTopicReader({
    kafka: opts.kafka,
    topic: opts.topic,
    groupPrefix: `${opts.groupPrefix}-deployments`,
    onMessages(_partition, messages) {
      for (const m of messages) {
        const revision = Number(m.offset);
        lastSeen = Math.max(lastSeen, revision);
        let spec: DeploymentSpec;
        try {
          spec = opts.codec.decode(m.value ?? Buffer.alloc(0));
        } catch (err) {
          // Refused in its place in the order, so what is reported last is the newest revision's fate.
          deployer.refuse(revision, new DeploymentRefused('unreadable_spec', `revision ${revision} is not a DeploymentSpec: ${(err as Error).message}`));
          continue;
        }
        if (restoring) history.push({ revision, spec });
        // Refusals are logged, counted and reported by the deployer; nothing else to do here.
        else deployer.apply(spec, revision).catch(() => {});
      }
    },
  });

  const restored = (async () => {
    await reader.caughtUp;
    restoring = false;
    for (let i = history.length - 1; i >= 0; i--) {
      const { spec, revision } = history[i]!;
      try {
        await deployer.apply(spec, revision);
        return;
      } catch {
        if (i > 0) log.warn({ revision, trying: history[i - 1]!.revision }, 'newest deployment refused at start; trying the one before it');
      }
    }
    log.info({ model: deployer.serving().champion.model.ref }, history.length ? 'no deployment could be applied: serving the fallback model' : 'no deployment yet: serving the fallback model');
  })();

  return { restored, lastSeen: () => lastSeen, stop: () => reader.stop() };
}
