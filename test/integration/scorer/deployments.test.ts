/**
 * A running scorer and the deployments topic: a spec with a shadow is applied (decisions carry
 * its revision, models and role; one shadow decision per input on the shadow topic, none on
 * the flags); then one bad spec per refusal reason, written straight to the topic as a
 * careless or hostile writer would: each is refused and counted, the revision in force keeps
 * scoring, /readyz stays ready, and the status topic says what the instance serves and why it
 * refused the newest spec.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { createCodecs, type DeploymentSpec, type Decision } from '../../../services/common/src/contracts.js';
import { pinOf, readStatuses, writeSpec } from '../../../services/cli/src/models/deployments.js';
import type { RunningScorer } from '../../../services/scorer/src/service.js';
import { publishEvents, simulate, type SimEvent } from '../../../services/simulator/src/index.js';
import { deleteTopics, freshTopics, readTopic, testKafka, type TestTopics } from '../../helpers/kafka.js';
import { scorerConfig, startInProcessScorer } from '../../helpers/scorer.js';

const codecs = createCodecs('confluent');
const until = async (cond: () => Promise<boolean> | boolean, ms: number, what: string) => {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};
const metric = (text: string, name: string, labels = '') =>
  Number(new RegExp(`^${name}${labels ? `\\{[^}]*${labels}[^}]*\\}` : '(?:\\{[^}]*\\})?'} ([-\\d.e+]+)`, 'm').exec(text)?.[1] ?? NaN);

describe('deployments on a running scorer', () => {
  let kafka: Kafka;
  let topics: TestTopics;
  let scorer: RunningScorer;
  let events: SimEvent[];
  const metrics = () => fetch(`${scorer.adminUrl}/metrics`).then((r) => r.text());
  const spec = async (over: Partial<DeploymentSpec>): Promise<DeploymentSpec> => ({
    champion: await pinOf('models', 'fraud-lr/1.0.0'), shadow: null, canary: null, policy: 'policy-v1', requestedBy: 'test', requestedAt: Date.now(), reason: 'test', restoresRevision: null, ...over,
  });

  beforeAll(async () => {
    kafka = testKafka();
    topics = await freshTopics(kafka, 2);
    events = [...simulate({ seed: 11, customers: 200, terminals: 400, days: 20 })];
    scorer = await startInProcessScorer(scorerConfig(topics, { FRAUD_INSTANCE_ID: 'deployments-test' }));
  });

  afterAll(async () => {
    await scorer?.stop();
    if (topics) await deleteTopics(kafka, topics);
  });

  it('applies a spec with a shadow between chunks; refuses every bad spec and keeps scoring with the one in force', async () => {
    expect(scorer.serving().revision).toBe(-1);
    const shadow = await pinOf('models', 'fraud-rf/1.0.0');
    expect(await writeSpec(kafka, topics.deployments, codecs.deploymentSpec, await spec({ shadow }))).toBe(0);
    await until(() => scorer.serving().revision === 0, 30_000, 'revision 0 applied');

    const half = Math.floor(events.length / 2);
    const first = await publishEvents(kafka, events.slice(0, half), { topics });
    const decisions = await readTopic(kafka, topics.decisions, first.transactions);
    const decoded = decisions.map((r) => codecs.decision.decode(r.value!));
    expect(decoded.length).toBe(first.transactions);
    expect(new Set(decoded.map((d) => `${d.deploymentRevision} ${d.role} ${d.model.name}`))).toEqual(new Set(['0 CHAMPION fraud-lr']));
    const shadows = (await readTopic(kafka, topics.shadowDecisions, first.transactions)).map((r) => codecs.decision.decode(r.value!));
    expect(shadows.length).toBe(first.transactions);
    expect(new Set(shadows.map((d) => `${d.deploymentRevision} ${d.role} ${d.model.name}`))).toEqual(new Set(['0 SHADOW fraud-rf']));
    const bySource = (ds: Decision[]) => new Set(ds.map((d) => `${d.source.partition}/${d.source.offset}`));
    expect(bySource(shadows)).toEqual(bySource(decoded));
    const flags = await readTopic(kafka, topics.flags, () => false, 3_000);
    expect(flags.map((r) => codecs.decision.decode(r.value!).role).filter((r) => r !== 'CHAMPION')).toEqual([]);

    // One bad spec per reason, straight onto the topic (the CLI would refuse to write them).
    const bad: [string, DeploymentSpec | Buffer][] = [
      ['unknown_model', await spec({ champion: { name: 'fraud-none', version: '1.0.0', digest: 'a'.repeat(64) } })],
      ['digest_mismatch', await spec({ champion: { ...(await pinOf('models', 'fraud-lgbm/1.0.0')), digest: 'b'.repeat(64) } })],
      ['invalid_spec', await spec({ canary: { model: shadow, sharePercent: 150 } })],
      ['unknown_policy', await spec({ policy: 'policy-v0' })],
      ['unreadable_spec', Buffer.from('not a spec')],
    ];
    const producer = kafka.producer();
    await producer.connect();
    for (const [, s] of bad) {
      const value = Buffer.isBuffer(s) ? s : codecs.deploymentSpec.encode(s);
      await producer.send({ topic: topics.deployments, acks: -1, messages: [{ key: 'deployment', value }] });
    }
    await producer.disconnect();
    const refusalsCounted = async () => {
      const text = await metrics();
      return bad.every(([reason]) => metric(text, 'fraudscore_deployment_refusals_total', `reason="${reason}"`) === 1);
    };
    await until(refusalsCounted, 30_000, 'every refusal counted once');

    const second = await publishEvents(kafka, events.slice(half), { topics });
    const all = (await readTopic(kafka, topics.decisions, first.transactions + second.transactions)).map((r) => codecs.decision.decode(r.value!));
    expect(all.length).toBe(first.transactions + second.transactions);
    expect(new Set(all.map((d) => d.deploymentRevision))).toEqual(new Set([0]));
    const text = await metrics();
    expect(metric(text, 'fraudscore_deployment_revision')).toBe(0);
    expect(metric(text, 'fraudscore_model_info', 'role="shadow"')).toBe(1);
    expect((await fetch(`${scorer.adminUrl}/readyz`)).status).toBe(200);

    const status = (await readStatuses(kafka, topics.deploymentStatus, codecs.deploymentStatus)).get('deployments-test');
    expect(status).toMatchObject({ appliedRevision: 0, lastRevisionSeen: 5, champion: { name: 'fraud-lr' }, shadow: { name: 'fraud-rf' } });
    expect(status!.refusal).toMatch(/^unreadable_spec: /);
  });
});
