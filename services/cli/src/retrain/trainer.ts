/**
 * The candidate's training: the pinned Python trainer (services/trainer/train.py, its venv from
 * setup.sh) as a subprocess, one family, on the window the table allows, into the models folder
 * under a version that does not exist yet. `--no-default`: models/default.json (the fallback
 * model) is not the trainer's to change here. Its output goes to our stderr, line by line.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../evaluate/features-cache.js';
import { BadInput } from './errors.js';
import type { Deltas, RetrainWindow } from './window.js';

/** The trainer's exit code for a table it refuses (validate_input.EXIT_CODE; argparse's too). */
export const TRAINER_BAD_INPUT = 2;

export interface CandidateTraining {
  features: string;
  modelsDir: string;
  name: string;
  version: string;
  window: RetrainWindow;
  deltas: Deltas;
  quick: boolean;
  /** The trainer writes its summary (per-model figures, paths) here. */
  report: string;
}

/** The trainer's command line after the script path. */
export function candidateTrainerArgs(o: CandidateTraining): string[] {
  const args = [
    '--features', o.features,
    '--models-dir', o.modelsDir,
    '--families', o.name,
    '--version', o.version,
    '--train-start', o.window.train[0],
    '--val-train-start', o.window.validation.train[0],
    '--delta-train', String(o.deltas.deltaTrain),
    '--delta-delay', String(o.deltas.deltaDelay),
    '--delta-test', String(o.deltas.deltaTest),
    '--no-default',
    '--report', o.report,
  ];
  if (o.quick) args.push('--quick');
  return args;
}

/** Trains the candidate; resolves once its artifact is written. `log` gets every output line. */
export type Train = (o: CandidateTraining, log: (line: string) => void) => Promise<void>;

function run(cmd: string, args: string[], log: (line: string) => void, capture = false): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const lines = (stream: NodeJS.ReadableStream, keep: boolean) => {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => {
        if (keep) out += d;
        else {
          rest += d;
          const parts = rest.split('\n');
          rest = parts.pop() ?? '';
          for (const p of parts) log(p);
        }
      });
      stream.on('end', () => {
        if (rest) log(rest);
      });
    };
    lines(child.stdout, capture);
    lines(child.stderr, false);
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out }));
  });
}

let python: string | undefined;

/** services/trainer/setup.sh: installs the venv if needed, prints its python. */
export async function trainerPython(log: (line: string) => void): Promise<string> {
  if (python) return python;
  const r = await run('bash', [join(REPO_ROOT, 'services/trainer/setup.sh')], log, true);
  const path = r.out.trim().split('\n').pop();
  if (r.code !== 0 || !path) throw new Error(`services/trainer/setup.sh failed (${r.signal ?? `exit ${r.code}`})`);
  return (python = path);
}

export const trainCandidate: Train = async (o, log) => {
  const py = await trainerPython(log);
  const args = [join(REPO_ROOT, 'services/trainer/train.py'), ...candidateTrainerArgs(o)];
  const r = await run(py, args, log);
  if (r.code === TRAINER_BAD_INPUT) throw new BadInput(`the trainer refused the feature table or its options (exit ${TRAINER_BAD_INPUT}; its reasons are above): no candidate was trained`);
  if (r.code !== 0) throw new Error(`the trainer failed (${r.signal ?? `exit ${r.code}`}; its output is above): no candidate`);
};
