/**
 * What each principal of the project may do on Kafka, and nothing more: the broker denies
 * whatever no ACL allows (allow.everyone.if.no.acl.found=false). The table is data, so the
 * secure tests check the broker's answers against the same table that was applied.
 *
 * - scorer: reads its inputs and the deployment topic, writes only its outputs and its
 *   changelog, in its own consumer groups and transactional ids (both prefixed by its group).
 * - gateway: publishes transactions, writes and reads its request ledger on the replies topic.
 * - monitor: reads decisions, shadow decisions and outcomes in its own group.
 * - publisher: writes transactions and outcomes (the simulator, `fraudscore publish`).
 * - trainer: the retrain CronJob (`fraudscore retrain`, and `backtest` and `features` run by
 *   hand): replays transactions and outcomes in throwaway consumer groups of its own prefixes
 *   (offsets and offsets by time through the admin client, the group deleted afterwards), and
 *   may deploy a candidate: it reads and writes the deployments topic. Writing a spec is not
 *   serving a model: the scorers still refuse a model not signed by a key they trust.
 * - admin: a super user on the broker (topics, ACLs, `models deploy`); it needs no ACL here.
 */
import kafkajs, { type Admin, type AclEntry } from 'kafkajs';
import type { TopicPlan } from '../../../scorer/src/source/topics.js';

export const PRINCIPALS = ['scorer', 'gateway', 'monitor', 'publisher', 'trainer'] as const;
export type Principal = (typeof PRINCIPALS)[number];

export interface AclPlan {
  topics: TopicPlan;
  /** The scorer's FRAUD_GROUP_ID: its groups and transactional ids start with it. */
  scorerGroup: string;
  monitorGroup: string;
  /** Gateways' groups are `fraudscore-gateway-<instance>`. */
  gatewayGroupPrefix: string;
  /**
   * The trainer's replay groups, `<prefix>-<uuid>` (history/kafka-source.ts: retrain, backtest,
   * features), which it deletes when done.
   */
  trainerReplayGroupPrefixes: readonly string[];
  /** The trainer's group for reading the deployments topic (models/deployments.ts readHistory), `<prefix>-<uuid>`. */
  trainerDeploymentsGroupPrefix: string;
}

export const DEFAULT_ACL_PLAN: Omit<AclPlan, 'topics'> = {
  scorerGroup: 'fraudscore-scorer',
  monitorGroup: 'fraudscore-monitor',
  gatewayGroupPrefix: 'fraudscore-gateway-',
  trainerReplayGroupPrefixes: ['fraudscore-retrain-', 'fraudscore-backtest-', 'fraudscore-features-'],
  trainerDeploymentsGroupPrefix: 'fraudscore-cli-',
};

type Op = 'READ' | 'WRITE' | 'DESCRIBE' | 'DELETE';
export interface Grant {
  principal: Principal;
  resource: 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID';
  name: string;
  prefixed: boolean;
  operations: Op[];
}

/** Every grant of the plan, per principal. */
export function aclGrants(plan: AclPlan): Grant[] {
  const t = plan.topics;
  const topic = (principal: Principal, name: string, ...operations: Op[]): Grant => ({ principal, resource: 'TOPIC', name, prefixed: false, operations: [...operations, 'DESCRIBE'] });
  return [
    ...[t.transactions, t.outcomes, t.deployments].map((n) => topic('scorer', n, 'READ')),
    ...[t.decisions, t.flags, t.dlq, t.shadowDecisions, t.deploymentStatus, t.replies].map((n) => topic('scorer', n, 'WRITE')),
    topic('scorer', t.cardState, 'READ', 'WRITE'),
    { principal: 'scorer', resource: 'GROUP', name: plan.scorerGroup, prefixed: true, operations: ['READ', 'DESCRIBE'] },
    { principal: 'scorer', resource: 'TRANSACTIONAL_ID', name: `${plan.scorerGroup}.`, prefixed: true, operations: ['WRITE', 'DESCRIBE'] },
    topic('gateway', t.transactions, 'WRITE'),
    topic('gateway', t.replies, 'READ', 'WRITE'),
    { principal: 'gateway', resource: 'GROUP', name: plan.gatewayGroupPrefix, prefixed: true, operations: ['READ', 'DESCRIBE'] },
    ...[t.decisions, t.shadowDecisions, t.outcomes].map((n) => topic('monitor', n, 'READ')),
    { principal: 'monitor', resource: 'GROUP', name: plan.monitorGroup, prefixed: false, operations: ['READ', 'DESCRIBE'] },
    topic('publisher', t.transactions, 'WRITE'),
    topic('publisher', t.outcomes, 'WRITE'),
    ...[t.transactions, t.outcomes].map((n) => topic('trainer', n, 'READ')),
    topic('trainer', t.deployments, 'READ', 'WRITE'),
    ...plan.trainerReplayGroupPrefixes.map((name): Grant => ({ principal: 'trainer', resource: 'GROUP', name, prefixed: true, operations: ['READ', 'DESCRIBE', 'DELETE'] })),
    { principal: 'trainer', resource: 'GROUP', name: plan.trainerDeploymentsGroupPrefix, prefixed: true, operations: ['READ', 'DESCRIBE'] },
  ];
}

// CommonJS exports that Node's ESM loader does not see as named ones.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
const RESOURCE = { TOPIC: AclResourceTypes.TOPIC, GROUP: AclResourceTypes.GROUP, TRANSACTIONAL_ID: AclResourceTypes.TRANSACTIONAL_ID };
const OPERATION = { READ: AclOperationTypes.READ, WRITE: AclOperationTypes.WRITE, DESCRIBE: AclOperationTypes.DESCRIBE, DELETE: AclOperationTypes.DELETE };

/** The grants as kafkajs ACL entries (allow, from any host). */
export function aclEntries(grants: readonly Grant[]): AclEntry[] {
  return grants.flatMap((g) =>
    g.operations.map((op) => ({
      resourceType: RESOURCE[g.resource],
      resourceName: g.name,
      resourcePatternType: g.prefixed ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
      principal: `User:${g.principal}`,
      host: '*',
      operation: OPERATION[op],
      permissionType: AclPermissionTypes.ALLOW,
    })),
  );
}

/** Creates the plan's ACLs (the broker keeps one copy of an ACL created twice). Returns how many. */
export async function applyAcls(admin: Admin, plan: AclPlan): Promise<number> {
  const acl = aclEntries(aclGrants(plan));
  await admin.createAcls({ acl });
  return acl.length;
}
