/**
 * Every scorer instance says what it serves on the compacted status topic (key: its instance
 * id), at start and after each spec it applies or refuses. `fraudscore models status` reads
 * that topic: it needs no list of instances, no network path to their admin ports, and sees
 * an instance's last word even after it is gone (with its time).
 */
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { Codec } from '../../../common/src/avro.js';
import type { DeploymentStatus } from '../../../common/src/contracts.js';
import type { Logger } from '../telemetry/log.js';
import type { Serving } from './serving.js';

export interface StatusReporter {
  report(serving: Serving, lastSeen: number, refusal: string | null): void;
  stop(): Promise<void>;
}

export async function startStatusReporter(opts: { kafka: Kafka; topic: string; instance: string; codec: Codec<DeploymentStatus>; log: Logger }): Promise<StatusReporter> {
  const producer: Producer = opts.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  // Reports go out one at a time, in order; a failed send is logged, never fatal to scoring.
  let chain: Promise<unknown> = Promise.resolve();
  return {
    report(serving, lastSeen, refusal) {
      const status: DeploymentStatus = {
        instance: opts.instance,
        appliedRevision: serving.revision,
        champion: serving.champion.model.ref,
        shadow: serving.shadow?.model.ref ?? null,
        canary: serving.canary?.model.ref ?? null,
        canarySharePercent: serving.canary?.sharePercent ?? 0,
        lastRevisionSeen: Math.max(lastSeen, serving.revision),
        refusal,
        reportedAt: Date.now(),
      };
      const value = opts.codec.encode(status);
      chain = chain
        .then(() => producer.send({ topic: opts.topic, messages: [{ key: opts.instance, value }] }))
        .catch((err: Error) => opts.log.warn({ err: err.message }, 'could not report the deployment status'));
    },
    async stop() {
      await chain;
      await producer.disconnect();
    },
  };
}
