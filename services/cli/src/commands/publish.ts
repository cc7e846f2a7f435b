import type { Command } from 'commander';
import { createKafka, TOPICS } from '../../../common/src/kafka.js';
import { registryFor, writerIds } from '../../../common/src/registry-codecs.js';
import { createProgress, publishJsonLines, publishSimulation, summaryLine } from '../../../simulator/src/index.js';
import { configuredRegistry, resolveBrokers } from '../env.js';
import { addSimulationOptions, simulationOptions } from '../sim-options.js';
import { addTraceOptions, cliTelemetry, type TraceOptions } from '../telemetry.js';

interface PublishCliOptions extends TraceOptions {
  brokers?: string;
  simulate: boolean;
  file?: string;
  rate?: number;
  seconds?: number;
  max?: number;
  skipInvalid: boolean;
  wireFormat: 'confluent' | 'plain';
  transactionsTopic?: string;
  outcomesTopic?: string;
  seed: number;
}

export function registerPublish(program: Command): void {
  addTraceOptions(addSimulationOptions(
    program
      .command('publish')
      .description('publish simulated traffic (--simulate) or your own JSON Lines transactions (--file) to Kafka')
      .option('--brokers <list>', 'Kafka bootstrap servers host:port[,…]')
      .option('--simulate', 'publish a simulation run (transactions and delayed outcomes)', false)
      .option('--file <path>', 'publish this JSON Lines file of Transaction objects (validated line by line first)')
      .option('--skip-invalid', 'with --file: publish the valid lines and report the others, instead of refusing the file', false)
      .option('--rate <n>', 'events per second (default: as fast as possible)', Number)
      .option('--seconds <n>', 'stop after this many seconds', Number)
      .option('--max <n>', 'stop after this many events', Number)
      .option('--wire-format <f>', 'confluent | plain', 'confluent')
      .option('--transactions-topic <name>', 'default transactions')
      .option('--outcomes-topic <name>', 'default transaction-outcomes'),
  )).action(async (opts: PublishCliOptions) => {
    const telemetry = cliTelemetry('fraudscore-publisher', opts);
    if (opts.simulate === Boolean(opts.file)) throw new Error('give exactly one of --simulate or --file <path>');
    const kafka = createKafka({ brokers: resolveBrokers(opts.brokers), clientId: 'fraudscore-publish' });
    // With FRAUD_SCHEMA_REGISTRY_URL, the ids the registry gives the schemas under the topics' subjects.
    const registry = registryFor(opts.wireFormat, configuredRegistry(), 'fraudscore-publish');
    const schemaIds = await writerIds(registry, { transaction: [opts.transactionsTopic ?? TOPICS.transactions], outcome: [opts.outcomesTopic ?? TOPICS.outcomes] });
    const progress = createProgress({ label: 'publish', stream: process.stderr });
    const common = {
      format: opts.wireFormat,
      schemaIds,
      rate: opts.rate,
      durationMs: opts.seconds !== undefined ? opts.seconds * 1000 : undefined,
      maxEvents: opts.max,
      topics: { transactions: opts.transactionsTopic, outcomes: opts.outcomesTopic },
      onProgress: progress.update,
      tracer: telemetry?.tracer,
    };
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    const stats = opts.simulate
      ? await publishSimulation(kafka, { ...simulationOptions(opts), ...common, signal: controller.signal })
      : await publishJsonLines(kafka, opts.file!, {
          ...common,
          signal: controller.signal,
          skipInvalid: opts.skipInvalid,
          onInvalid: (e) => process.stderr.write(`${e.message}\n`),
        });
    progress.stop(stats);
    await telemetry?.shutdown();
    console.log(summaryLine('publish', stats));
  });
}
