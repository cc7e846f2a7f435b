import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { TOPICS } from '../../../common/src/kafka.js';
import { parseDeployMode, parseShare, kafkaDeployments } from '../retrain/deploy.js';
import { BadInput, EXIT } from '../retrain/errors.js';
import type { FeatureInput } from '../retrain/features.js';
import { DEFAULT_BOUNDS } from '../retrain/gate.js';
import { runRetrain } from '../retrain/run.js';
import { DEFAULT_DELTAS } from '../retrain/window.js';
import { signingKeyFrom } from './model-signing.js';

interface RetrainCliOptions {
  features?: string;
  transactions?: string;
  outcomes?: string;
  format?: string;
  columns?: string;
  maxBad?: string;
  fromKafka?: boolean;
  since?: string;
  until?: string;
  transactionsTopic?: string;
  outcomesTopic?: string;
  modelsDir: string;
  champion?: string;
  name?: string;
  version?: string;
  quick?: boolean;
  deltaTrain: string;
  deltaDelay: string;
  deltaTest: string;
  testEnd?: string;
  apTolerance: string;
  cpTolerance: string;
  maxBrier?: string;
  maxEce?: string;
  out?: string;
  deploy?: string;
  canaryShare?: string;
  brokers?: string;
  deploymentsTopic: string;
  wireFormat?: string;
  reason: string;
  by: string;
  signingKey?: string;
}

const env = process.env;

function requester(): string {
  let user = env.USER;
  try {
    user ||= userInfo().username;
  } catch {
    // A uid without a passwd entry: the host alone still says where from.
  }
  return `${user || 'unknown'}@${hostname()}`;
}

function number(flag: string, v: string, min: number, max = Infinity): number {
  const n = v.trim() === '' ? Number.NaN : Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new BadInput(`${flag} must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return n;
}
function whole(flag: string, v: string, min: number): number {
  const n = number(flag, v, min);
  if (!Number.isInteger(n)) throw new BadInput(`${flag} must be a whole number, got ${v}`);
  return n;
}

/** The feature source from the flags: exactly one of --features, --transactions, --from-kafka. */
export function featureInput(o: RetrainCliOptions): FeatureInput {
  const sources = [o.features !== undefined && '--features', o.transactions !== undefined && '--transactions', o.fromKafka && '--from-kafka'].filter(Boolean);
  if (sources.length !== 1) {
    throw new BadInput(sources.length === 0
      ? 'retrain needs a feature source: --features <csv> (a table from `fraudscore features`), --transactions <file> --outcomes <file>, or --from-kafka --since <date>'
      : `give one feature source, not ${sources.join(' and ')}`);
  }
  const maxBad = o.maxBad === undefined ? 0 : whole('--max-bad', o.maxBad, 0);
  const misplaced = (flags: [string, unknown][], need: string) => {
    const given = flags.filter(([, v]) => v !== undefined).map(([f]) => f);
    if (given.length) throw new BadInput(`${given.join(', ')} need${given.length === 1 ? 's' : ''} ${need}`);
  };
  const fileFlags: [string, unknown][] = [['--outcomes', o.outcomes], ['--format', o.format], ['--columns', o.columns]];
  const kafkaFlags: [string, unknown][] = [['--since', o.since], ['--until', o.until], ['--transactions-topic', o.transactionsTopic], ['--outcomes-topic', o.outcomesTopic]];
  if (o.features !== undefined) {
    misplaced([...fileFlags, ...kafkaFlags, ['--max-bad', o.maxBad]], '--transactions or --from-kafka (--features is a finished table)');
    return { kind: 'table', path: o.features };
  }
  if (o.transactions !== undefined) {
    misplaced(kafkaFlags, '--from-kafka');
    return { kind: 'files', transactions: o.transactions, outcomes: o.outcomes, format: o.format, columns: o.columns, maxBad };
  }
  misplaced(fileFlags, '--transactions');
  return {
    kind: 'kafka', since: o.since as string, until: o.until, brokers: o.brokers, transactionsTopic: o.transactionsTopic, outcomesTopic: o.outcomesTopic,
    wireFormat: o.wireFormat, maxBad,
  };
}

/** The signing key's PEM (--signing-key, else FRAUD_MODEL_SIGNING_KEY[_FILE]); a bad one is bad input, refused before training. */
function signingKey(file: string | undefined): string | undefined {
  try {
    return signingKeyFrom(file);
  } catch (err) {
    throw new BadInput(`--signing-key: ${(err as Error).message}`);
  }
}

/**
 * `fraudscore retrain`: a candidate trained on the newest window of the history, judged by a
 * gate against the champion on the newest labelled test days, reported, and with --deploy
 * added as shadow or canary next to the champion when it passed. See retrain/run.ts.
 */
export function registerRetrain(program: Command): void {
  program
    .command('retrain')
    .description('train a candidate on the newest window of the history and gate it against the champion on the newest labelled test days (serving path); exit 0 pass, 1 fail, 2 bad input')
    .option('--features <csv>', 'an existing feature table (fraudscore features --out) instead of building one')
    .option('--transactions <file>', 'build the table from your transactions (JSON Lines, CSV or Avro), as `features --transactions`')
    .option('--outcomes <file>', 'with --transactions: their outcomes (the labels)')
    .option('--format <f>', 'with --transactions: jsonl | csv | avro for both files (default: by extension)')
    .option('--columns <map>', 'with CSV files: field=column,... (as `features --columns`)')
    .option('--max-bad <n>', 'with --transactions or --from-kafka: bad lines or records to skip before failing (default 0)')
    .option('--from-kafka', 'build the table by replaying the transactions and outcomes topics (read-only), as `features --from-kafka`')
    .option('--since <date>', 'with --from-kafka: first eventTime written (a date, a date-time with a zone, or 42d: 42 days before today); the 37 days before warm the windows')
    .option('--until <date>', 'with --from-kafka: rows with eventTime before this (default: no end)')
    .option('--transactions-topic <name>', 'with --from-kafka: default FRAUD_TOPIC_TRANSACTIONS, else transactions')
    .option('--outcomes-topic <name>', 'with --from-kafka: default FRAUD_TOPIC_OUTCOMES, else transaction-outcomes')
    .option('--models-dir <dir>', 'model artifacts; the candidate is written here (env FRAUD_MODELS_DIR)', env.FRAUD_MODELS_DIR || 'models')
    .option('--champion <name/version>', 'model to beat (default: with --deploy the champion in force, else <models-dir>/default.json)')
    .option('--name <family>', 'candidate family: fraud-lgbm, fraud-lr or fraud-rf (default: the champion\'s name)')
    .option('--version <v>', 'candidate version; must not exist (default: the next minor version of that name)')
    .option('--quick', 'trainer --quick: one small configuration (smoke runs, tests)')
    .option('--delta-train <days>', 'training days', String(DEFAULT_DELTAS.deltaTrain))
    .option('--delta-delay <days>', 'label delay between training and test days', String(DEFAULT_DELTAS.deltaDelay))
    .option('--delta-test <days>', 'test days', String(DEFAULT_DELTAS.deltaTest))
    .option('--test-end <date>', 'last test day (default: the table\'s newest labelled day)')
    .option('--ap-tolerance <x>', 'pass when candidate AP >= champion AP - x', String(DEFAULT_BOUNDS.apTolerance))
    .option('--cp-tolerance <x>', 'pass when candidate CP@100 >= champion CP@100 - x', String(DEFAULT_BOUNDS.cpTolerance))
    .option('--max-brier <x>', 'pass when the calibrated Brier score <= min(x, the no-skill Brier r(1-r) of the test rows) (default: the no-skill Brier alone)')
    .option('--max-ece <x>', `pass when the calibrated ECE (${DEFAULT_BOUNDS.eceBins} equal-mass bins) <= x (default: ${DEFAULT_BOUNDS.eceRateFactor} × the test rows' fraud rate)`)
    .option('--out <dir>', 'report folder (default runs/retrain-<time>)')
    .option('--deploy <mode>', 'after a passed gate, add the candidate next to the champion in force: shadow | canary (never champion)')
    .option('--canary-share <percent>', 'with --deploy canary: share of cards it decides, 0-100')
    .option('--brokers <list>', 'with --deploy or --from-kafka: Kafka bootstrap servers (default KAFKA_BROKERS, FRAUD_KAFKA_BROKERS, the local broker)')
    .option('--deployments-topic <topic>', 'with --deploy: env FRAUD_TOPIC_DEPLOYMENTS', env.FRAUD_TOPIC_DEPLOYMENTS || TOPICS.deployments)
    .option('--wire-format <f>', 'confluent | plain (default FRAUD_WIRE_FORMAT, else confluent)')
    .option('--reason <text>', 'with --deploy: kept with the spec', '')
    .option('--by <who>', 'with --deploy: who asks for it', requester())
    .option('--signing-key <file>', 'sign the candidate (manifest.sig) with this Ed25519 private key before any deploy (default: env FRAUD_MODEL_SIGNING_KEY_FILE; none: unsigned)')
    // Bad flags are bad input: exit 2, as every other refusal before the gate runs.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.badInput))
    .action(async (o: RetrainCliOptions) => {
      let code: number;
      try {
        const mode = parseDeployMode(o.deploy);
        const sharePercent = parseShare(o.canaryShare, mode);
        const outcome = await runRetrain(
          {
            input: featureInput(o),
            modelsDir: o.modelsDir,
            champion: o.champion,
            name: o.name,
            version: o.version,
            quick: o.quick === true,
            deltas: { deltaTrain: whole('--delta-train', o.deltaTrain, 1), deltaDelay: whole('--delta-delay', o.deltaDelay, 0), deltaTest: whole('--delta-test', o.deltaTest, 1) },
            testEnd: o.testEnd,
            bounds: {
              ...DEFAULT_BOUNDS,
              apTolerance: number('--ap-tolerance', o.apTolerance, 0, 1),
              cpTolerance: number('--cp-tolerance', o.cpTolerance, 0, 1),
              ...(o.maxBrier === undefined ? {} : { maxBrier: number('--max-brier', o.maxBrier, 0, 1) }),
              ...(o.maxEce === undefined ? {} : { maxEce: number('--max-ece', o.maxEce, 0, 1) }),
            },
            outDir: o.out,
            deploy: mode && { mode, sharePercent, requestedBy: o.by, reason: o.reason },
            signingKey: signingKey(o.signingKey),
          },
          {
            out: (s) => process.stdout.write(s),
            err: (s) => process.stderr.write(s),
            progress: process.stderr.isTTY ? process.stderr : null,
            deployments: mode && kafkaDeployments({ brokers: o.brokers, topic: o.deploymentsTopic, wireFormat: o.wireFormat ?? env.FRAUD_WIRE_FORMAT ?? 'confluent' }, (m) => process.stderr.write(`warning: ${m}\n`)),
          },
        );
        code = outcome.exitCode;
      } catch (err) {
        if (!(err instanceof BadInput)) throw err;
        process.stderr.write(`retrain: ${err.message}\n`);
        code = EXIT.badInput;
      }
      process.exitCode = code;
    });
}
