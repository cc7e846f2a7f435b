/**
 * The lifecycle demo's audit, from the output topics read back COMMITTED (never from the
 * scorer's counters). This run's inputs are the transactions topic's offsets [start, end); an
 * output belongs to the run when its `fs-source` header names one of them.
 *
 *   lost        = inputs with no decision and no dead letter
 *   duplicated  = outputs beyond the first for the same input
 *   revisions   = the deployment revisions (≥ 0) this run's decisions were made under
 *   shadow      = shadow decisions of this run's inputs; agreeing: those whose decision is the
 *                 one made for the same input
 *   mismatches  = decisions (and shadow decisions) whose model or role is not the one the spec
 *                 of their revision gives their card (canary share by `inCanary`); revision -1
 *                 is the fallback model, as champion
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Codec } from '../../../common/src/avro.js';
import type { Decision, DeploymentSpec, ModelPin, ModelRole } from '../../../common/src/contracts.js';
import { inCanary } from '../../../scorer/src/deployment/canary.js';
import { HEADERS, parseSourceHeader } from '../../../scorer/src/sink/messages.js';
import { startTopicReader } from '../../../scorer/src/source/topic-reader.js';

export interface RunInputs {
  topic: string;
  /** End offsets per partition before publishing (inclusive start of the run). */
  start: ReadonlyMap<number, bigint>;
  /** End offsets per partition after publishing (exclusive end of the run). */
  end: ReadonlyMap<number, bigint>;
}

export interface LifecycleAudit {
  inputs: number;
  decisions: number;
  deadLetters: number;
  lost: number;
  duplicated: number;
  /** Decisions per deployment revision (-1: the fallback model), and how many by the canary. */
  byRevision: Map<number, { decisions: number; canary: number; shadow: number }>;
  /** Inputs with a shadow decision. */
  shadow: number;
  /** Shadow decisions beyond the first for the same input. */
  shadowDuplicated: number;
  /** Shadow decisions equal to the decision made for the same input. */
  agreeing: number;
  mismatches: number;
  /** A few mismatches, described. */
  mismatchExamples: string[];
}

/** One output of this run: the input it answers ("partition/offset") and the record. */
type Take = (source: string, message: KafkaMessage) => void;

/** Where an output says its input is: the `fs-source` header (decisions, dead letters). */
const sourceHeaderOf = (m: KafkaMessage) => parseSourceHeader(m.headers?.[HEADERS.source]?.toString());

/** Reads a topic read-committed from its start to its current end; hands over this run's outputs only. */
async function readRunOutputs(kafka: Kafka, topic: string, inputs: RunInputs, take: Take, sourceOf: (m: KafkaMessage) => { topic: string; partition: number; offset: string } | undefined = sourceHeaderOf): Promise<void> {
  const reader = await startTopicReader({
    kafka,
    topic,
    groupPrefix: 'fraudscore-demo-audit',
    onMessages(_partition, messages) {
      for (const m of messages) {
        const src = sourceOf(m);
        if (!src || src.topic !== inputs.topic) continue;
        const offset = BigInt(src.offset);
        const start = inputs.start.get(src.partition) ?? 0n;
        const end = inputs.end.get(src.partition) ?? 0n;
        if (offset >= start && offset < end) take(`${src.partition}/${src.offset}`, m);
      }
    },
  });
  try {
    await reader.caughtUp;
  } finally {
    await reader.stop();
  }
}

/** What the spec of `revision` says must decide `cardToken` (or shadow-score it), or why nothing can. */
function expected(revision: number, cardToken: string, role: ModelRole, specs: ReadonlyMap<number, DeploymentSpec>, fallback: ModelPin): { role: ModelRole; pin: ModelPin } | string {
  if (revision < 0) return role === 'SHADOW' ? 'a shadow decision without a deployment' : { role: 'CHAMPION', pin: fallback };
  const spec = specs.get(revision);
  if (!spec) return `revision ${revision} is not on the deployments topic`;
  if (role === 'SHADOW') return spec.shadow ? { role, pin: spec.shadow } : `revision ${revision} has no shadow`;
  if (spec.canary && inCanary(cardToken, spec.canary.sharePercent)) return { role: 'CANARY', pin: spec.canary.model };
  return { role: 'CHAMPION', pin: spec.champion };
}

export async function auditLifecycle(
  kafka: Kafka,
  topics: { decisions: string; dlq: string; shadowDecisions: string },
  decisionCodec: Codec<Decision>,
  inputs: RunInputs,
  specs: ReadonlyMap<number, DeploymentSpec>,
  fallback: ModelPin,
): Promise<LifecycleAudit> {
  const outputs = new Map<string, number>();
  const decided = new Map<string, Decision>();
  const byRevision: LifecycleAudit['byRevision'] = new Map();
  const examples: string[] = [];
  let mismatches = 0;
  const check = (d: Decision, source: string) => {
    const want = expected(d.deploymentRevision, d.cardToken, d.role, specs, fallback);
    const ok = typeof want !== 'string' && want.role === d.role && want.pin.name === d.model.name && want.pin.version === d.model.version && want.pin.digest === d.model.digest;
    if (ok) return;
    mismatches++;
    if (examples.length < 5) {
      const got = `${d.role} ${d.model.name}/${d.model.version} (${d.model.digest.slice(0, 12)})`;
      const should = typeof want === 'string' ? want : `${want.role} ${want.pin.name}/${want.pin.version} (${want.pin.digest.slice(0, 12)})`;
      examples.push(`input ${source}, card ${d.cardToken}, revision ${d.deploymentRevision}: ${got}, expected ${should}`);
    }
  };
  const tally = (revision: number) => {
    let t = byRevision.get(revision);
    if (!t) byRevision.set(revision, (t = { decisions: 0, canary: 0, shadow: 0 }));
    return t;
  };
  const count = (source: string) => {
    const n = (outputs.get(source) ?? 0) + 1;
    outputs.set(source, n);
    return n;
  };

  let decisions = 0;
  await readRunOutputs(kafka, topics.decisions, inputs, (source, m) => {
    decisions++;
    if (count(source) > 1) return;
    const d = decisionCodec.decode(m.value!);
    decided.set(source, d);
    const t = tally(d.deploymentRevision);
    t.decisions++;
    if (d.role === 'CANARY') t.canary++;
    check(d, source);
  });
  let deadLetters = 0;
  await readRunOutputs(kafka, topics.dlq, inputs, (source) => {
    deadLetters++;
    count(source);
  });

  const shadowSeen = new Set<string>();
  let shadowDuplicated = 0;
  let agreeing = 0;
  await readRunOutputs(kafka, topics.shadowDecisions, inputs, (source, m) => {
    if (shadowSeen.has(source)) {
      shadowDuplicated++;
      return;
    }
    shadowSeen.add(source);
    const s = decisionCodec.decode(m.value!);
    tally(s.deploymentRevision).shadow++;
    if (decided.get(source)?.decision === s.decision) agreeing++;
    check(s, source);
    // Shadow decisions carry no headers: their source is in the value.
  }, (m) => {
    const { source } = decisionCodec.decode(m.value!);
    return { topic: source.topic, partition: source.partition, offset: String(source.offset) };
  });

  let total = 0;
  let lost = 0;
  for (const [partition, end] of inputs.end) {
    for (let o = inputs.start.get(partition) ?? 0n; o < end; o++) {
      total++;
      if (!outputs.has(`${partition}/${o}`)) lost++;
    }
  }
  let duplicated = 0;
  for (const n of outputs.values()) duplicated += n - 1;
  return { inputs: total, decisions, deadLetters, lost, duplicated, byRevision, shadow: shadowSeen.size, shadowDuplicated, agreeing, mismatches, mismatchExamples: examples };
}
