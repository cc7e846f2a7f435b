/**
 * `fraudscore models`: what the models folder holds, and the deployments topic's side of the
 * model lifecycle. deploy and rollback run the scorer's own checks (digest, feature contract,
 * warm-up) on this machine before writing, so a spec every scorer would refuse never reaches
 * the topic; the scorers still check again, since their models folder may differ.
 */
import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import type { Kafka } from 'kafkajs';
import type { WireFormat } from '../../../common/src/avro.js';
import { createCodecs, type DeploymentSpec, type ModelPin } from '../../../common/src/contracts.js';
import { createKafka, TOPICS } from '../../../common/src/kafka.js';
import { DEFAULT_POLICY, DeploymentRefused, describeSpec } from '../../../scorer/src/deployment/spec.js';
import { assertTopicsExist } from '../../../scorer/src/source/topics.js';
import { resolveBrokers } from '../env.js';
import { formatDetail, formatList, listModels, readDefaultRef, showModel } from '../models/catalog.js';
import { pinOf, readHistory, readStatuses, rollbackTarget, verifySpec, writeSpec } from '../models/deployments.js';
import { formatStatus, statusView } from '../models/status.js';
import { registerModelSigning } from './model-signing.js';

interface TopicOptions {
  brokers?: string;
  deploymentsTopic: string;
  wireFormat: WireFormat;
}
interface WriteOptions extends TopicOptions {
  modelsDir: string;
  reason: string;
  by: string;
}
interface DeployOptions extends WriteOptions {
  champion?: string;
  shadow?: string;
  canary?: string;
  share?: string;
  policy: string;
  dryRun?: boolean;
}

const env = process.env;
const modelsDirOption = (c: Command) => c.option('--models-dir <dir>', 'model artifacts (<name>/<version>/{model.onnx,manifest.json}, default.json); env FRAUD_MODELS_DIR', env.FRAUD_MODELS_DIR || 'models');
const topicOptions = (c: Command) =>
  c
    .option('--brokers <list>', 'Kafka bootstrap servers host:port[,…]')
    .option('--deployments-topic <topic>', 'deployment specs; env FRAUD_TOPIC_DEPLOYMENTS', env.FRAUD_TOPIC_DEPLOYMENTS || TOPICS.deployments)
    // The scorers decode specs in their FRAUD_WIRE_FORMAT: write them in the same one.
    .option('--wire-format <f>', 'confluent | plain; env FRAUD_WIRE_FORMAT', env.FRAUD_WIRE_FORMAT || 'confluent');
const writeOptions = (c: Command) =>
  modelsDirOption(topicOptions(c))
    .option('--reason <text>', 'why: kept with the spec for whoever reads the history', '')
    .option('--by <who>', 'who asks for it', defaultRequester());

function defaultRequester(): string {
  let user = env.USER;
  try {
    user ||= userInfo().username;
  } catch {
    // A uid without a passwd entry (some containers): the host alone still says where from.
  }
  return `${user || 'unknown'}@${hostname()}`;
}

/** A missing topic would otherwise cost kafkajs's metadata retries (about half a minute) and a cryptic error. */
async function kafkaFor(o: TopicOptions, topics: string[]): Promise<Kafka> {
  const kafka = createKafka({ brokers: resolveBrokers(o.brokers), clientId: 'fraudscore-models' });
  await assertTopicsExist(kafka, topics);
  return kafka;
}
const codecsOf = (o: TopicOptions) => {
  if (o.wireFormat !== 'confluent' && o.wireFormat !== 'plain') throw new Error(`--wire-format must be confluent or plain, not ${o.wireFormat}`);
  return createCodecs(o.wireFormat);
};
const warn = (msg: string) => process.stderr.write(`warning: ${msg}\n`);

/** A bad name/version is a spec the scorer would refuse too: same exit code, same wording. */
async function pin(modelsDir: string, ref: string): Promise<ModelPin> {
  try {
    return await pinOf(modelsDir, ref);
  } catch (err) {
    throw err instanceof DeploymentRefused ? err : new DeploymentRefused('invalid_spec', (err as Error).message);
  }
}

/** Exit code 2 for a refused spec, as the scorer's "bad configuration": nothing was written. */
async function refusable(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!(err instanceof DeploymentRefused)) throw err;
    process.stderr.write(`refused (${err.reason}): ${err.message}\n`);
    process.exitCode = 2;
  }
}

async function deploy(o: DeployOptions): Promise<void> {
  const codec = codecsOf(o).deploymentSpec;
  let kafka: Promise<Kafka> | undefined;
  const connect = () => (kafka ??= kafkaFor(o, [o.deploymentsTopic]));
  await refusable(async () => {
    if (o.canary && o.share === undefined) throw new DeploymentRefused('invalid_spec', '--canary needs --share <0-100> (percent of cards it decides)');
    if (!o.canary && o.share !== undefined) throw new DeploymentRefused('invalid_spec', '--share is the canary\'s share: give --canary too');
    let champion: ModelPin;
    if (o.champion) champion = await pin(o.modelsDir, o.champion);
    else {
      // Keep the champion in force (its pinned digest, not whatever the folder now holds).
      const current = (await readHistory(await connect(), o.deploymentsTopic, codec, warn)).at(-1);
      const fallback = await readDefaultRef(o.modelsDir);
      if (!current && !fallback) throw new DeploymentRefused('unknown_model', `no spec on ${o.deploymentsTopic} and no ${o.modelsDir}/default.json: give --champion name/version`);
      champion = current ? current.spec.champion : await pin(o.modelsDir, fallback!);
    }
    const spec: DeploymentSpec = {
      champion,
      shadow: o.shadow ? await pin(o.modelsDir, o.shadow) : null,
      // Number('') is 0: an empty share must fail the range check, not become 0 %.
      canary: o.canary ? { model: await pin(o.modelsDir, o.canary), sharePercent: o.share?.trim() ? Number(o.share) : NaN } : null,
      policy: o.policy,
      requestedBy: o.by,
      requestedAt: Date.now(),
      reason: o.reason,
      restoresRevision: null,
    };
    await verifySpec(o.modelsDir, spec);
    if (o.dryRun) {
      console.log(`dry run: ${describeSpec(spec)} passes every check; nothing written`);
      return;
    }
    const revision = await writeSpec(await connect(), o.deploymentsTopic, codec, spec);
    console.log(`revision ${revision}: ${describeSpec(spec)}`);
  });
}

async function rollback(o: WriteOptions): Promise<void> {
  const codec = codecsOf(o).deploymentSpec;
  const kafka = await kafkaFor(o, [o.deploymentsTopic]);
  const history = await readHistory(kafka, o.deploymentsTopic, codec, warn);
  const target = rollbackTarget(history);
  const current = history.at(-1)!;
  await refusable(async () => {
    // The target was valid when written; its artifacts may have been removed or replaced since.
    await verifySpec(o.modelsDir, target.spec);
    const spec: DeploymentSpec = {
      ...target.spec,
      requestedBy: o.by,
      requestedAt: Date.now(),
      reason: `rollback to revision ${target.revision}${o.reason ? `: ${o.reason}` : ''}`,
      restoresRevision: target.revision,
    };
    const revision = await writeSpec(kafka, o.deploymentsTopic, codec, spec);
    console.log(`revision ${revision}: ${describeSpec(spec)} (restores revision ${target.revision}; replaces revision ${current.revision}: ${describeSpec(current.spec)})`);
  });
}

async function status(o: TopicOptions & { statusTopic: string; json?: boolean }): Promise<void> {
  const codecs = codecsOf(o);
  const kafka = await kafkaFor(o, [o.deploymentsTopic, o.statusTopic]);
  const [history, statuses] = await Promise.all([
    readHistory(kafka, o.deploymentsTopic, codecs.deploymentSpec, warn),
    readStatuses(kafka, o.statusTopic, codecs.deploymentStatus),
  ]);
  const view = statusView(o.deploymentsTopic, o.statusTopic, history, statuses, Date.now());
  console.log(o.json ? JSON.stringify(view, null, 2) : formatStatus(view).join('\n'));
}

export function registerModels(program: Command): void {
  const models = program.command('models').description('list and inspect model artifacts; deploy, roll back and watch which models the scorers serve');

  modelsDirOption(models.command('list').description('every model in the models folder: digest, features, thresholds, headline metrics, which one is the fallback'))
    .option('--json', 'print JSON', false)
    .action(async (o: { modelsDir: string; json: boolean }) => {
      const entries = await listModels(o.modelsDir);
      console.log(o.json ? JSON.stringify(entries, null, 2) : formatList(entries).join('\n'));
    });

  modelsDirOption(models.command('show <name/version>').description('one model\'s manifest, readably, and whether model.onnx still matches its sha256'))
    .option('--json', 'print JSON', false)
    .action(async (ref: string, o: { modelsDir: string; json: boolean }) => {
      const detail = await showModel(o.modelsDir, ref);
      console.log(o.json ? JSON.stringify(detail, null, 2) : formatDetail(detail).join('\n'));
    });

  writeOptions(models.command('deploy').description('verify a deployment spec with the scorer\'s checks, then write it to the deployments topic (a refused spec: exit 2, nothing written)'))
    .option('--champion <name/version>', 'decides every card outside the canary share (default: the current spec\'s champion, else models/default.json)')
    .option('--shadow <name/version>', 'scores every event; its decisions go to the shadow topic only (default: none)')
    .option('--canary <name/version>', 'decides the cards in --share (default: none)')
    .option('--share <percent>', 'the canary\'s share of cards, 0–100')
    .option('--policy <name>', 'decision policy', DEFAULT_POLICY)
    .option('--dry-run', 'verify only; write nothing')
    .action(deploy);

  writeOptions(models.command('rollback').description('write again the spec in force before the current one (repeated rollbacks walk further back)'))
    .action(rollback);

  topicOptions(models.command('status').description('the spec in force and what each scorer instance reports it serves'))
    .option('--status-topic <topic>', 'instance reports; env FRAUD_TOPIC_DEPLOYMENT_STATUS', env.FRAUD_TOPIC_DEPLOYMENT_STATUS || TOPICS.deploymentStatus)
    .option('--json', 'print JSON', false)
    .action(status);

  registerModelSigning(models);
}
