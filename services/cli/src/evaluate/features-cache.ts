/**
 * The feature table an evaluation reads: a file the user names (--features), or a cached one
 * under <cache>/features-seed<seed>[-<world>].csv that is regenerated unless its sidecar
 * (<csv>.meta.json) records the same simulation options, the same simulator and feature code
 * (a digest of their sources) and the file's current size. Generating the default world takes
 * about a minute; reusing it takes nothing, and a stale cache is never trusted silently.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from '../../../common/src/paths.js';
import { FEATURE_SET_VERSION } from '../../../scorer/src/features/index.js';
import { DEFAULT_SIMULATION, resolveSimulationOptions, type SimulationOptions } from '../../../simulator/src/index.js';

/** The project root, from the sources and from the compiled dist/ tree alike (the trainer lives there). */
export const REPO_ROOT = PROJECT_ROOT;

/** Same convention as services/trainer/setup.sh: $FRAUDSCORE_CACHE, else <repo>/.cache. */
export function evaluationCacheDir(): string {
  return process.env.FRAUDSCORE_CACHE ?? join(REPO_ROOT, '.cache');
}

/** features-seed42.csv for the default world; other worlds name what differs. */
export function cachedFeaturesName(sim: SimulationOptions): string {
  const seed = sim.seed ?? DEFAULT_SIMULATION.seed;
  const parts = [`features-seed${seed}`];
  if (sim.customers !== undefined && sim.customers !== DEFAULT_SIMULATION.customers) parts.push(`c${sim.customers}`);
  if (sim.terminals !== undefined && sim.terminals !== DEFAULT_SIMULATION.terminals) parts.push(`t${sim.terminals}`);
  if (sim.days !== undefined && sim.days !== DEFAULT_SIMULATION.days) parts.push(`d${sim.days}`);
  if (sim.startDate !== undefined && String(sim.startDate) !== DEFAULT_SIMULATION.startDate) {
    parts.push(`s${new Date(resolveSimulationOptions(sim).startMs).toISOString().slice(0, 10)}`);
  }
  return `${parts.join('-')}.csv`;
}

export interface FeaturesMeta {
  simulation: ReturnType<typeof resolveSimulationOptions>;
  featureSetVersion: string;
  /** sha256 over the simulator's and the feature engine's source files. */
  codeDigest: string;
  rows: number;
  bytes: number;
  createdAt: string;
}

export const metaPath = (csv: string): string => `${csv}.meta.json`;

/** Digest of the code that determines the table's content. */
export async function featureCodeDigest(): Promise<string> {
  const h = createHash('sha256');
  for (const dir of ['services/simulator/src', 'services/scorer/src/features']) {
    const abs = join(REPO_ROOT, dir);
    const names = (await readdir(abs)).filter((f) => f.endsWith('.ts')).sort();
    for (const name of names) {
      h.update(`${dir}/${name}\n`);
      h.update(await readFile(join(abs, name)));
    }
  }
  return h.digest('hex');
}

export async function readMeta(csv: string): Promise<FeaturesMeta | undefined> {
  try {
    return JSON.parse(await readFile(metaPath(csv), 'utf8')) as FeaturesMeta;
  } catch {
    return undefined;
  }
}

/** Why the cached file cannot be reused, or undefined when it can. */
export async function staleReason(csv: string, sim: SimulationOptions): Promise<string | undefined> {
  const size = await stat(csv).then((s) => s.size, () => undefined);
  if (size === undefined) return 'not generated yet';
  const meta = await readMeta(csv);
  if (!meta) return `no ${metaPath(csv)} records how it was made`;
  if (JSON.stringify(meta.simulation) !== JSON.stringify(resolveSimulationOptions(sim))) return 'made with other simulation options';
  if (meta.featureSetVersion !== FEATURE_SET_VERSION) return `feature set ${meta.featureSetVersion}, the code computes ${FEATURE_SET_VERSION}`;
  if (meta.codeDigest !== (await featureCodeDigest())) return 'the simulator or feature code changed since';
  if (meta.bytes !== size) return `file is ${size} bytes, the sidecar says ${meta.bytes} (incomplete or edited)`;
  return undefined;
}

export type Generate = (sim: SimulationOptions, out: string) => Promise<number>;

/**
 * Writes the table to a temporary name, then renames it into place with its sidecar, so a
 * reader never sees a half-written file under the final name.
 */
export async function generateFeatures(csv: string, sim: SimulationOptions, generate: Generate): Promise<FeaturesMeta> {
  await mkdir(dirname(csv), { recursive: true });
  const tmp = `${csv}.${process.pid}.tmp`;
  try {
    const rows = await generate(sim, tmp);
    const { size } = await stat(tmp);
    const meta: FeaturesMeta = {
      simulation: resolveSimulationOptions(sim),
      featureSetVersion: FEATURE_SET_VERSION,
      codeDigest: await featureCodeDigest(),
      rows,
      bytes: size,
      createdAt: new Date().toISOString(),
    };
    await rm(metaPath(csv), { force: true });
    await rename(tmp, csv);
    await writeFile(metaPath(csv), JSON.stringify(meta, null, 2) + '\n');
    return meta;
  } finally {
    await rm(tmp, { force: true });
  }
}

export interface FeaturesChoice {
  path: string;
  /** 'given' (--features), 'cached' (reused) or 'generated'. */
  source: 'given' | 'cached' | 'generated';
  note: string;
}

/** Resolves the --features choice: a given file is used as is (generated first if missing). */
export async function ensureFeatures(given: string | undefined, sim: SimulationOptions, generate: Generate): Promise<FeaturesChoice> {
  if (given !== undefined) {
    const exists = await stat(given).then(() => true, () => false);
    if (exists) {
      const meta = await readMeta(given);
      let note = `using ${given} as given`;
      if (meta && JSON.stringify(meta.simulation) !== JSON.stringify(resolveSimulationOptions(sim))) {
        note += ` (warning: its sidecar records seed ${meta.simulation.seed}, ${meta.simulation.customers} cards, ` +
          `${meta.simulation.days} days, not the simulation options of this run)`;
      }
      return { path: given, source: 'given', note };
    }
    await generateFeatures(given, sim, generate);
    return { path: given, source: 'generated', note: `${given} did not exist: generated it` };
  }
  const path = join(evaluationCacheDir(), cachedFeaturesName(sim));
  const reason = await staleReason(path, sim);
  if (reason === undefined) return { path, source: 'cached', note: `reusing ${path} (sidecar matches)` };
  await generateFeatures(path, sim, generate);
  return { path, source: 'generated', note: `generated ${path} (cache: ${reason})` };
}
