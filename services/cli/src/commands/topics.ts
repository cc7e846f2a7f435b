import type { Command } from 'commander';
import { createKafka, TOPICS } from '../../../common/src/kafka.js';
import { ensureTopics, topicSpecs } from '../../../scorer/src/source/topics.js';
import { resolveBrokers } from '../env.js';

export const DEFAULT_TOPIC_PLAN = { ...TOPICS, cardState: 'fraudscore-card-state-changelog' };

export function registerTopics(program: Command): void {
  program
    .command('topics')
    .description('create the topics fraudscore uses (missing ones only), with partitions and compaction set')
    .option('--brokers <list>', 'Kafka bootstrap servers host:port[,…]')
    .option('--partitions <n>', 'partitions of the transactions, decisions, flags and card-state topics', (v) => Number(v), 4)
    .action(async (opts: { brokers?: string; partitions: number }) => {
      const kafka = createKafka({ brokers: resolveBrokers(opts.brokers), clientId: 'fraudscore-cli' });
      const created = await ensureTopics(kafka, topicSpecs(DEFAULT_TOPIC_PLAN, opts.partitions));
      console.log(created.length ? `created: ${created.join(', ')}` : 'all topics exist');
    });
}
