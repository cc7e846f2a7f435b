/**
 * `fraudscore topics --register`: the project's current schemas, registered with the schema
 * registry under the subjects of the topics that carry them (`<topic>-value`, TopicNameStrategy)
 * with BACKWARD compatibility, so the registry refuses a later schema that running consumers
 * could not read. Registering a schema a subject already holds returns its id again: running it
 * twice changes nothing.
 *
 * The data topics only: deployment specs and status are written and read by fraudscore alone,
 * with schemas/ids.json's ids (the scorer's service.ts). The replies topic carries decisions and
 * dead letters (told apart by the fs-reply-kind header); its subject holds Decision, and a dead
 * letter there carries the id DeadLetter has under the DLQ's subject.
 */
import { COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import { SCHEMA_FILES } from '../../common/src/contracts.js';
import type { ContractName } from '../../common/src/registry-codecs.js';
import { registryFailure, registrySchema, REQUEST_TIMEOUT_MS, subjectOf, withinMs, type Registry } from '../../common/src/schema-registry.js';
import type { TopicPlan } from '../../scorer/src/source/topics.js';

export interface Registered {
  subject: string;
  file: string;
  id: number;
}

/** Which contract each data topic's values are. */
export function registrations(plan: TopicPlan): { topic: string; contract: ContractName }[] {
  return [
    { topic: plan.transactions, contract: 'transaction' },
    { topic: plan.outcomes, contract: 'outcome' },
    { topic: plan.decisions, contract: 'decision' },
    { topic: plan.flags, contract: 'decision' },
    { topic: plan.shadowDecisions, contract: 'decision' },
    { topic: plan.replies, contract: 'decision' },
    { topic: plan.dlq, contract: 'deadLetter' },
  ];
}

/** Registers each in turn; the first refusal stops it with a RegistryError carrying the registry's message (a 409 says what is incompatible). */
export async function registerSchemas(registry: Registry, plan: TopicPlan): Promise<Registered[]> {
  const out: Registered[] = [];
  for (const { topic, contract } of registrations(plan)) {
    const subject = subjectOf(topic);
    const file = SCHEMA_FILES[contract];
    try {
      const { id } = await withinMs(registry.client.register(registrySchema(file), { subject, compatibility: COMPATIBILITY.BACKWARD }), REQUEST_TIMEOUT_MS);
      out.push({ subject, file, id });
    } catch (err) {
      throw registryFailure(registry, `registering schemas/${file} under ${subject}`, err);
    }
  }
  return out;
}
