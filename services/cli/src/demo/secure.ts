/**
 * `demo --secure`: the standard demo on the secure broker. Every client is its own principal
 * (the scorer as `scorer`, traffic as `publisher`, the demo's topic set-up and read-back as
 * `admin`), models must carry a signature by the release key, and before traffic flows the
 * demo tries what each principal must not do and counts the broker's refusals. The closing
 * line is built from what was read back: the scorer's own log (its Kafka security and the
 * model signature it verified), the refusals, and the contracts check.
 */
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { SCHEMAS_DIR } from '../../../common/src/avro.js';
import { createKafka } from '../../../common/src/kafka.js';
import { kafkaSecurityFromEnv } from '../../../common/src/kafka-security.js';
import { PROJECT_ROOT } from '../../../common/src/paths.js';
import { backwardProblems, contractVersions } from '../../../common/src/schema-compat.js';
import type { TopicPlan } from '../../../scorer/src/source/topics.js';
import { acquireSecureBroker, securePrincipalEnv, type BrokerHandle } from '../local-broker.js';
import { DEFAULT_ACL_PLAN } from '../security/acls.js';
import { aclProbes, probeClient, runProbe } from '../security/probes.js';

/** The release key the shipped models are signed with (models/keys/). */
export const RELEASE_PUBLIC_KEY = join(PROJECT_ROOT, 'models/keys/fraudscore-release-1.pub');

export interface SecureDemo {
  broker: BrokerHandle;
  /** A client of the secure broker as this principal. */
  kafka(principal: 'admin' | 'publisher', clientId: string): Kafka;
  /** The scorer's environment: its principal, and the keys its models must be signed with. */
  scorerEnv: Record<string, string>;
  /** Before traffic: the ACL probes and the contracts check; throws when one fails. */
  check(topics: TopicPlan): Promise<void>;
  /** The closing line, from the scorer's log. */
  verdict(scorerLog: string): { line: string; ok: boolean };
}

export function secureDemo(): SecureDemo {
  const broker = acquireSecureBroker();
  const settings = (p: string) => kafkaSecurityFromEnv(securePrincipalEnv(p));
  let denials = 0;
  let contracts = '';
  return {
    broker,
    kafka: (principal, clientId) => createKafka({ brokers: broker.brokers, clientId, security: settings(principal) }),
    scorerEnv: { ...securePrincipalEnv('scorer'), FRAUD_MODEL_PUBLIC_KEYS: RELEASE_PUBLIC_KEY },
    async check(topics) {
      const probes = aclProbes(topics, { scorer: DEFAULT_ACL_PLAN.scorerGroup, monitor: DEFAULT_ACL_PLAN.monitorGroup });
      const failed: string[] = [];
      for (const probe of probes) {
        const r = await runProbe(probe, (p) => probeClient(broker.brokers, settings(p), `demo-probe-${p}`));
        console.log(`demo: secure: ${probe.principal} may not ${probe.attempt}: ${r.refused ? `refused (${r.outcome})` : `NOT REFUSED (${r.outcome})`}`);
        if (r.refused) denials++;
        else failed.push(`${probe.principal}: ${probe.attempt}`);
      }
      if (failed.length) throw new Error(`the broker let through what the ACLs must refuse: ${failed.join('; ')}`);
      const problems = backwardProblems(contractVersions(SCHEMAS_DIR));
      if (problems.length) throw new Error(`contracts not BACKWARD-compatible: ${problems.map((p) => `${p.reader} cannot read ${p.writer}`).join('; ')}`);
      contracts = 'contracts BACKWARD-compatible';
    },
    verdict(scorerLog) {
      const kafka = /"kafka":"(SASL_SSL [\w-]+) as scorer"/.exec(scorerLog)?.[1];
      const signed = /"keyId":"([0-9a-f]+)"[^\n]*"msg":"model signature verified"/.exec(scorerLog)?.[1];
      const ok = Boolean(kafka && signed && denials > 0 && contracts);
      const line = `secure: ${kafka ?? 'NOT on SASL_SSL'}, ${denials} ACL denials tested, ${contracts || 'contracts NOT checked'}, ${signed ? 'model signature verified' : 'model signature NOT verified'}`;
      return { line, ok };
    },
  };
}
