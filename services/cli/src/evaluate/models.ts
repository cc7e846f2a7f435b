/**
 * Which models an evaluation scores: the ones named with --model, or every artifact found in
 * the models directory (<dir>/<name>/<version>/manifest.json), or the ones the Python trainer
 * has just written (--train). The default model is the one <dir>/default.json points to.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './features-cache.js';

/** "name/version" specs of every artifact under modelsDir, sorted. */
export async function listModels(modelsDir: string): Promise<string[]> {
  const out: string[] = [];
  const names = await readdir(modelsDir, { withFileTypes: true }).catch(() => []);
  for (const name of names) {
    if (!name.isDirectory()) continue;
    const versions = await readdir(join(modelsDir, name.name), { withFileTypes: true }).catch(() => []);
    for (const version of versions) {
      if (!version.isDirectory()) continue;
      const manifest = join(modelsDir, name.name, version.name, 'manifest.json');
      if (await stat(manifest).then((s) => s.isFile(), () => false)) out.push(`${name.name}/${version.name}`);
    }
  }
  return out.sort();
}

/** "name/version" from <modelsDir>/default.json, or undefined when there is none. */
export async function readDefaultModel(modelsDir: string): Promise<string | undefined> {
  try {
    const p = JSON.parse(await readFile(join(modelsDir, 'default.json'), 'utf8')) as { name?: unknown; version?: unknown };
    return typeof p.name === 'string' && typeof p.version === 'string' ? `${p.name}/${p.version}` : undefined;
  } catch {
    return undefined;
  }
}

/** Splits repeated and comma-separated --model values; each must be name/version. */
export function parseModelSpecs(values: readonly string[]): string[] {
  const specs = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const s of specs) {
    if (!/^[\w.-]+\/[\w.-]+$/.test(s)) throw new Error(`--model takes name/version (e.g. fraud-lr/1.0.0), got '${s}'`);
  }
  return [...new Set(specs)];
}

/**
 * The model whose figures go on the final JSON line: the directory's default when it is
 * among the evaluated ones, else the first evaluated.
 */
export function pickReported(evaluated: readonly string[], dirDefault: string | undefined): string | undefined {
  if (dirDefault !== undefined && evaluated.includes(dirDefault)) return dirDefault;
  return evaluated[0];
}

function run(cmd: string, args: string[], capture: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    // The trainer's own report goes to our stderr: our stdout is the table and the JSON line.
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', capture ? 'pipe' : process.stderr, process.stderr] });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

export interface TrainOptions {
  features: string;
  modelsDir: string;
  trainStart: string;
  /** First day of the validation split's training week (model selection, never the test week). */
  valTrainStart: string;
  deltaTrain: number;
  deltaDelay: number;
  deltaTest: number;
  dataSeed: number;
  version?: string;
  quick?: boolean;
}

/** The trainer's command line for these options (after the script path). */
export function trainerArgs(o: TrainOptions): string[] {
  const args = [
    '--features', o.features,
    '--models-dir', o.modelsDir,
    '--train-start', o.trainStart,
    '--val-train-start', o.valTrainStart,
    '--delta-train', String(o.deltaTrain),
    '--delta-delay', String(o.deltaDelay),
    '--delta-test', String(o.deltaTest),
    '--data-seed', String(o.dataSeed),
  ];
  if (o.version) args.push('--version', o.version);
  if (o.quick) args.push('--quick');
  return args;
}

/** Installs the trainer's venv if needed (services/trainer/setup.sh), then trains every family. */
export async function trainModels(o: TrainOptions): Promise<void> {
  const python = (await run('bash', [join(REPO_ROOT, 'services/trainer/setup.sh')], true)).trim().split('\n').pop();
  if (!python) throw new Error('services/trainer/setup.sh printed no python path');
  await run(python, [join(REPO_ROOT, 'services/trainer/train.py'), ...trainerArgs(o)], false);
}
