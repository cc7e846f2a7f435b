/**
 * The candidate's name and version. Artifacts are immutable: a version that exists in the
 * models folder is never written again (the trainer refuses too, without --force, which
 * retrain never passes). The default version is the next minor version after the highest
 * semantic version of that name (1.0.0 → 1.1.0; a retrain is the same recipe on newer data,
 * not a new contract), and the folder is read again just before training.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { listModels } from '../models/catalog.js';
import { BadInput } from './errors.js';

/** The families services/trainer/train.py trains (models.py FAMILIES): the artifact's name is the family's. */
export const TRAINER_FAMILIES = ['fraud-lgbm', 'fraud-lr', 'fraud-rf'] as const;

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;
const VERSION = /^[\w-][\w.-]*$/;

export function parseSemver(v: string): [number, number, number] | undefined {
  const m = SEMVER.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Next minor version after the highest semver among `existing` (which it never returns); 1.0.0 for none. */
export function nextVersion(existing: readonly string[]): string {
  const taken = new Set(existing);
  const semvers = existing.map(parseSemver).filter((v): v is [number, number, number] => v !== undefined);
  if (semvers.length === 0) {
    let major = 1;
    while (taken.has(`${major}.0.0`)) major++;
    return `${major}.0.0`;
  }
  semvers.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  const [major, minor] = semvers.at(-1) as [number, number, number];
  let m = minor + 1;
  while (taken.has(`${major}.${m}.0`)) m++;
  return `${major}.${m}.0`;
}

/**
 * Versions of `name` taken in the models folder: the catalog's artifacts, and any other
 * <name>/<version> folder (a half-written or broken one is still not free).
 */
export async function versionsOf(modelsDir: string, name: string): Promise<string[]> {
  const entries = await listModels(modelsDir).catch(() => []);
  const fromCatalog = entries.map((e) => e.ref.split('/')).filter(([n]) => n === name).map(([, v]) => v as string);
  const folders = await readdir(join(modelsDir, name), { withFileTypes: true }).then((d) => d.filter((e) => e.isDirectory()).map((e) => e.name), () => []);
  return [...new Set([...fromCatalog, ...folders])].sort();
}

/** The version to write: the requested one if free (else BadInput), or the next free one. */
export function chooseVersion(name: string, existing: readonly string[], requested?: string): string {
  if (requested === undefined) return nextVersion(existing);
  if (!VERSION.test(requested)) throw new BadInput(`--version ${JSON.stringify(requested)} is not a version (letters, digits, _ . -)`);
  if (existing.includes(requested)) {
    throw new BadInput(`${name}/${requested} already exists in the models folder and artifacts are never overwritten: give another --version (next free: ${nextVersion(existing)})`);
  }
  return requested;
}

export function checkName(name: string): void {
  if (!(TRAINER_FAMILIES as readonly string[]).includes(name)) {
    throw new BadInput(`the trainer trains ${TRAINER_FAMILIES.join(', ')} (the artifact takes the family's name), not ${name}: give --name`);
  }
}
