import type { Command } from 'commander';
import { createKafka } from '../../../common/src/kafka.js';
import { applyAcls, aclGrants, DEFAULT_ACL_PLAN } from '../security/acls.js';
import { resolveBrokers } from '../env.js';
import { DEFAULT_TOPIC_PLAN } from './topics.js';

export function registerAcls(program: Command): void {
  program
    .command('acls')
    .description('grant each principal (scorer, gateway, monitor, publisher, trainer) only what it needs on a broker that denies by default; run as an admin principal')
    .option('--brokers <list>', 'Kafka bootstrap servers host:port[,…]')
    .option('--print', 'print the grants and apply nothing')
    .action(async (opts: { brokers?: string; print?: boolean }) => {
      const plan = { ...DEFAULT_ACL_PLAN, topics: DEFAULT_TOPIC_PLAN };
      if (opts.print) {
        for (const g of aclGrants(plan)) console.log(`User:${g.principal}\t${g.resource}\t${g.name}${g.prefixed ? '*' : ''}\t${g.operations.join(',')}`);
        return;
      }
      const admin = createKafka({ brokers: resolveBrokers(opts.brokers), clientId: 'fraudscore-acls' }).admin();
      await admin.connect();
      try {
        console.log(`acls: ${await applyAcls(admin, plan)} ACL entries in force`);
      } finally {
        await admin.disconnect();
      }
    });
}
