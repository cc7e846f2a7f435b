#!/usr/bin/env node
/**
 * The `fraudscore` command: parses arguments and calls the services' entry points.
 * Each subcommand lives in commands/<name>.ts.
 */
import { Command } from 'commander';
import { registerAcls } from './commands/acls.js';
import { registerDemo } from './commands/demo.js';
import { registerEvaluate } from './commands/evaluate.js';
import { registerFeatures } from './commands/features.js';
import { registerModels } from './commands/models.js';
import { registerGateway } from './commands/gateway.js';
import { registerSchemas } from './commands/schemas.js';
import { registerMonitor } from './commands/monitor.js';
import { registerPublish } from './commands/publish.js';
import { registerReport } from './commands/report.js';
import { registerRetrain } from './commands/retrain.js';
import { registerBacktest } from './commands/backtest.js';
import { registerScorer } from './commands/scorer.js';
import { registerSimulate } from './commands/simulate.js';
import { registerTail } from './commands/tail.js';
import { registerTopics } from './commands/topics.js';

const program = new Command('fraudscore')
  .description('Streaming, real-time fraud scoring on Kafka with in-process ONNX models')
  .showHelpAfterError();

registerScorer(program);
registerTopics(program);
registerAcls(program);
registerSimulate(program);
registerPublish(program);
registerTail(program);
registerDemo(program);
registerFeatures(program);
registerEvaluate(program);
registerReport(program);
registerModels(program);
registerMonitor(program);
registerGateway(program);
registerSchemas(program);
registerRetrain(program);
registerBacktest(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`fraudscore: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
