import type { Command } from 'commander';
import { createKafka, TOPICS } from '../../../common/src/kafka.js';
import { ensureTopics, topicSpecs } from '../../../scorer/src/source/topics.js';
import { connectRegistry } from '../../../common/src/schema-registry.js';
import { configuredRegistry, resolveBrokers } from '../env.js';
import { registerSchemas } from '../schema-registration.js';

export const DEFAULT_TOPIC_PLAN = { ...TOPICS, cardState: 'fraudscore-card-state-changelog' };

export function registerTopics(program: Command): void {
  program
    .command('topics')
    .description('create the topics fraudscore uses (missing ones only), with partitions and compaction set')
    .option('--brokers <list>', 'Kafka bootstrap servers host:port[,…]')
    .option('--partitions <n>', 'partitions of the transactions, decisions, flags and card-state topics', (v) => Number(v), 4)
    .option('--register', 'also register the schemas of the data topics with the schema registry FRAUD_SCHEMA_REGISTRY_URL names (subjects <topic>-value, BACKWARD); again is a no-op', false)
    .action(async (opts: { brokers?: string; partitions: number; register: boolean }) => {
      // Settings first: a bad registry setting fails before anything is created.
      const registry = opts.register ? configuredRegistry() : undefined;
      if (opts.register && !registry) throw new Error('--register needs FRAUD_SCHEMA_REGISTRY_URL: the schema registry to register the schemas with');
      const kafka = createKafka({ brokers: resolveBrokers(opts.brokers), clientId: 'fraudscore-cli' });
      const created = await ensureTopics(kafka, topicSpecs(DEFAULT_TOPIC_PLAN, opts.partitions));
      console.log(created.length ? `created: ${created.join(', ')}` : 'all topics exist');
      if (!registry) return;
      for (const r of await registerSchemas(connectRegistry(registry, 'fraudscore-cli'), DEFAULT_TOPIC_PLAN)) console.log(`registered: ${r.subject} → id ${r.id} (schemas/${r.file})`);
    });
}
