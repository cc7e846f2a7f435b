/**
 * `fraudscore models` end to end on the real broker, run as the operator runs it (a child
 * process of the CLI): deploy a shadow, then a canary; refused deploys exit 2 and write
 * nothing; a rollback writes revision 0's spec again; status shows the spec in force and an
 * instance that has not applied it.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Partitioners, type Kafka } from 'kafkajs';
import { createCodecs, type DeploymentStatus } from '../../services/common/src/contracts.js';
import { pinOf, readHistory, type Revision } from '../../services/cli/src/models/deployments.js';
import type { StatusView } from '../../services/cli/src/models/status.js';
import { brokers, deleteTopics, freshTopics, testKafka, type TestTopics } from '../helpers/kafka.js';
import { ON_DEFAULT_CLIENT } from '../helpers/clients.js';

const codecs = createCodecs('confluent');

/** Whatever the CLI printed to stderr besides blank lines: a successful command prints nothing there. */
const unexpected = (stderr: string) => stderr.split('\n').filter(Boolean).join('\n');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// The monitor, the models CLI and the Python parity do not use the scorer's Kafka client (test/helpers/clients.ts).
describe.runIf(ON_DEFAULT_CLIENT)('fraudscore models on a real broker', () => {
  const kafka: Kafka = testKafka();
  let topics: TestTopics;

  function cli(...args: string[]): Promise<Run> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // KAFKA_BROKERS wins over FRAUD_KAFKA_BROKERS in the CLI: set both to the test broker.
      KAFKA_BROKERS: brokers(),
      FRAUD_KAFKA_BROKERS: brokers(),
      FRAUD_TOPIC_DEPLOYMENTS: topics.deployments,
      FRAUD_TOPIC_DEPLOYMENT_STATUS: topics.deploymentStatus,
    };
    delete env.FRAUD_WIRE_FORMAT;
    delete env.FRAUD_MODELS_DIR;
    return new Promise((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'services/cli/src/main.ts', 'models', ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }
  const history = (): Promise<Revision[]> => readHistory(kafka, topics.deployments, codecs.deploymentSpec);

  beforeAll(async () => {
    topics = await freshTopics(kafka, 1);
  });
  afterAll(async () => {
    if (topics) await deleteTopics(kafka, topics);
  });

  it('deploys a shadow beside the default champion: revision 0', async () => {
    const run = await cli('deploy', '--shadow', 'fraud-lr/1.0.0', '--reason', 'shadow the logistic regression', '--by', 'tester');
    expect(unexpected(run.stderr)).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('revision 0: champion fraud-lgbm/1.0.0, shadow fraud-lr/1.0.0');
    const [r0, ...rest] = await history();
    expect(rest).toEqual([]);
    expect(r0!.revision).toBe(0);
    expect(r0!.spec).toMatchObject({
      champion: await pinOf('models', 'fraud-lgbm/1.0.0'),
      shadow: await pinOf('models', 'fraud-lr/1.0.0'),
      canary: null,
      policy: 'policy-v1',
      requestedBy: 'tester',
      reason: 'shadow the logistic regression',
      restoresRevision: null,
    });
    expect(Math.abs(r0!.spec.requestedAt - Date.now())).toBeLessThan(60_000);
  });

  it('deploys a canary at 10 %, keeping the champion in force: revision 1', async () => {
    const run = await cli('deploy', '--canary', 'fraud-rf/1.0.0', '--share', '10');
    expect(unexpected(run.stderr)).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('revision 1: champion fraud-lgbm/1.0.0, canary fraud-rf/1.0.0 at 10 %');
    const h = await history();
    expect(h.map((r) => r.revision)).toEqual([0, 1]);
    expect(h[1]!.spec.canary).toEqual({ model: await pinOf('models', 'fraud-rf/1.0.0'), sharePercent: 10 });
    expect(h[1]!.spec.shadow).toBeNull();
    expect(h[1]!.spec.requestedBy).toMatch(/@/);
  });

  it('a refused spec exits 2 and writes nothing', async () => {
    const [share, unknown] = await Promise.all([
      cli('deploy', '--canary', 'fraud-rf/1.0.0', '--share', '150'),
      cli('deploy', '--shadow', 'fraud-nope/1.0.0'),
    ]);
    expect(share.code).toBe(2);
    expect(share.stderr).toMatch(/^refused \(invalid_spec\): canary share 150 % is outside 0–100/);
    expect(share.stdout).toBe('');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^refused \(unknown_model\): no model fraud-nope\/1.0.0/);
    expect((await history()).length).toBe(2);
  });

  it('rollback writes revision 0\'s spec again as revision 2', async () => {
    const run = await cli('rollback', '--reason', 'canary too noisy', '--by', 'oncall');
    expect(unexpected(run.stderr)).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('revision 2: champion fraud-lgbm/1.0.0, shadow fraud-lr/1.0.0 (restores revision 0; replaces revision 1: champion fraud-lgbm/1.0.0, canary fraud-rf/1.0.0 at 10 %)');
    const h = await history();
    expect(h.map((r) => r.revision)).toEqual([0, 1, 2]);
    const { requestedAt: _a, requestedBy: _b, reason: _c, restoresRevision: _d, ...models } = h[0]!.spec;
    expect(h[2]!.spec).toMatchObject({ ...models, requestedBy: 'oncall', reason: 'rollback to revision 0: canary too noisy', restoresRevision: 0 });
  });

  it('status shows the spec in force and marks an instance still on revision 1 as behind', async () => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const reported: DeploymentStatus = {
      instance: 'scorer-a',
      appliedRevision: 1,
      champion: await pinOf('models', 'fraud-lgbm/1.0.0'),
      shadow: null,
      canary: await pinOf('models', 'fraud-rf/1.0.0'),
      canarySharePercent: 10,
      lastRevisionSeen: 1,
      refusal: null,
      reportedAt: Date.now() - 5_000,
    };
    await producer.send({ topic: topics.deploymentStatus, messages: [{ key: reported.instance, value: codecs.deploymentStatus.encode(reported) }] });
    await producer.disconnect();

    const [json, text] = await Promise.all([cli('status', '--json'), cli('status')]);
    expect(json.stderr + text.stderr).toBe('');
    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout) as StatusView;
    expect(view.current).toMatchObject({ revision: 2, description: 'champion fraud-lgbm/1.0.0, shadow fraud-lr/1.0.0', spec: { restoresRevision: 0, requestedBy: 'oncall' } });
    expect(view.instances).toHaveLength(1);
    expect(view.instances[0]).toMatchObject({ instance: 'scorer-a', appliedRevision: 1, state: 'behind' });
    expect(view.instances[0]!.reportedAgoMs).toBeGreaterThanOrEqual(5_000);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^revision 2 in force: champion fraud-lgbm\/1.0.0, shadow fraud-lr\/1.0.0/);
    expect(text.stdout).toMatch(/scorer-a {2}revision 1: champion fraud-lgbm\/1.0.0, canary fraud-rf\/1.0.0 at 10 % .*BEHIND/);
  });
});
