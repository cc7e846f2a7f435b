import type { Command } from 'commander';
import { parseModelSpecs } from '../evaluate/models.js';
import { HANDBOOK_TRAIN_START } from '../evaluate/protocol.js';
import { runEvaluate } from '../evaluate/run.js';
import { addSimulationOptions, simulationOptions } from '../sim-options.js';
import { writeFeatureTable } from './features.js';

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${v}`);
  return n;
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];

/**
 * The handbook's single-split evaluation, scored through the serving path (onnxruntime-node
 * via the scorer's loadModel). Table on stdout, then one JSON line for the default model.
 */
export function registerEvaluate(program: Command): void {
  addSimulationOptions(
    program
      .command('evaluate')
      .description('score the handbook test split (train 7 d, delay 7 d, test 7 d, known-compromised cards removed) through onnxruntime-node and report AUC ROC, AP and CP@100 beside the handbook')
      .option('--model <name/version>', 'model to evaluate from --models-dir (repeatable or comma list; default: every model there)', collect, [] as string[])
      .option('--models-dir <dir>', 'model artifacts (<name>/<version>/{model.onnx,manifest.json}, default.json)', 'models')
      .option('--train', 'train fresh models with services/trainer into runs/evaluate-<time>/models and evaluate those')
      .option('--quick-train', 'with --train: one small configuration per family (smoke runs)')
      .option('--features <csv>', 'features CSV to use (default: .cache/features-seed<seed>.csv, regenerated unless its sidecar matches)')
      .option('--train-start <date>', 'first training day (UTC)', HANDBOOK_TRAIN_START)
      .option('--delta-train <days>', 'training days', int, 7)
      .option('--delta-delay <days>', 'days skipped between training and test (label delay)', int, 7)
      .option('--delta-test <days>', 'test days', int, 7),
  ).action(async (opts: {
    seed: number; customers?: number; terminals?: number; days?: number; startDate?: string;
    model: string[]; modelsDir: string; train?: boolean; quickTrain?: boolean; features?: string;
    trainStart: string; deltaTrain: number; deltaDelay: number; deltaTest: number;
  }) => {
    await runEvaluate(
      {
        sim: simulationOptions(opts),
        models: parseModelSpecs(opts.model),
        modelsDir: opts.modelsDir,
        train: opts.train === true,
        trainQuick: opts.quickTrain === true,
        features: opts.features,
        trainStart: opts.trainStart,
        deltaTrain: opts.deltaTrain,
        deltaDelay: opts.deltaDelay,
        deltaTest: opts.deltaTest,
      },
      {
        out: (s) => process.stdout.write(s),
        err: (s) => process.stderr.write(s),
        generate: writeFeatureTable,
      },
    );
  });
}
