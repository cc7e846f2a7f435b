/**
 * What the models folder holds, read without a broker: for `fraudscore models list` and
 * `show`. Manifests are read leniently here (a broken one is listed with its problem, not
 * fatal to the listing); the scorer's strict checks run at deploy time, in verifySpec.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../scorer/src/features/feature-set.js';
import { manifestSchema, type Manifest } from '../../../scorer/src/model/manifest.js';

/** The trainer's metric keys (services/trainer/protocol.py), in the order they are shown. */
export const METRIC_LABELS: Record<string, string> = {
  average_precision: 'AP',
  cp100: 'CP@100',
  cp100_hb: 'CP@100 (handbook)',
  auc_roc: 'AUC ROC',
};

export interface CatalogEntry {
  ref: string;
  /** The fallback: what models/default.json names, served while no spec is in force. */
  isDefault: boolean;
  digest?: string;
  featureSetVersion?: string;
  thresholds?: { review: number; block: number };
  /** Metrics of the test split (the validation split when there is none): key → value. */
  headline: Record<string, number>;
  headlineSplit?: string;
  createdAt?: string;
  /** Why the manifest cannot be read or would be refused; undefined when it is fine. */
  problem?: string;
}

export async function readDefaultRef(modelsDir: string): Promise<string | undefined> {
  try {
    const p = JSON.parse(await readFile(join(modelsDir, 'default.json'), 'utf8')) as { name?: unknown; version?: unknown };
    return typeof p.name === 'string' && typeof p.version === 'string' ? `${p.name}/${p.version}` : undefined;
  } catch {
    return undefined;
  }
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

/** Every <name>/<version>/manifest.json under the models folder, by name then version. */
export async function listModels(modelsDir: string): Promise<CatalogEntry[]> {
  if (!existsSync(modelsDir)) throw new Error(`no models folder at ${modelsDir}`);
  const fallback = await readDefaultRef(modelsDir);
  const out: CatalogEntry[] = [];
  for (const name of await subdirs(modelsDir)) {
    for (const version of await subdirs(join(modelsDir, name))) {
      if (!existsSync(join(modelsDir, name, version, 'manifest.json'))) continue;
      const ref = `${name}/${version}`;
      const entry: CatalogEntry = { ref, isDefault: ref === fallback, headline: {} };
      try {
        const m = await readManifest(modelsDir, ref);
        const { split, values } = headlineMetrics(m.metrics);
        Object.assign(entry, { digest: m.sha256, featureSetVersion: m.feature_set_version, thresholds: m.thresholds, headline: values, headlineSplit: split, createdAt: stringAt(m, 'created_at') });
        entry.problem = contractProblem(m);
      } catch (err) {
        entry.problem = (err as Error).message;
      }
      out.push(entry);
    }
  }
  return out;
}

export async function readManifest(modelsDir: string, ref: string): Promise<Manifest> {
  // The ref becomes a path: only name/version, never a way out of the models folder.
  if (!/^[\w-][\w.-]*\/[\w-][\w.-]*$/.test(ref)) throw new Error(`${ref} is not name/version`);
  const path = join(modelsDir, ref, 'manifest.json');
  const text = await readFile(path, 'utf8').catch((err: Error) => {
    throw new Error(`no model ${ref} in ${modelsDir} (${err.message})`);
  });
  const parsed = manifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The scorer refuses a model trained on other features; say so before anyone deploys it. */
export function contractProblem(m: Manifest): string | undefined {
  if (m.feature_set_version !== FEATURE_SET_VERSION) return `feature set ${m.feature_set_version}, the scorer computes ${FEATURE_SET_VERSION}`;
  if (m.features.join(',') !== FEATURE_NAMES.join(',')) return `feature list differs from the ${FEATURE_SET_VERSION} order the scorer computes`;
  return undefined;
}

/** metrics is free-form: take the test split's numbers the trainer is known to write. */
export function headlineMetrics(metrics: unknown): { split?: string; values: Record<string, number> } {
  const splits = (metrics ?? {}) as Record<string, unknown>;
  const split = ['test', 'validation'].find((s) => typeof splits[s] === 'object' && splits[s] !== null);
  if (!split) return { values: {} };
  const values: Record<string, number> = {};
  for (const key of Object.keys(METRIC_LABELS)) {
    const v = (splits[split] as Record<string, unknown>)[key];
    if (typeof v === 'number') values[key] = v;
  }
  return { split, values };
}

export interface ModelDetail {
  ref: string;
  isDefault: boolean;
  manifest: Manifest;
  /** sha256 of model.onnx as it is on disk; undefined when the file cannot be read. */
  onnxSha256?: string;
  digestMatches: boolean;
  contractProblem?: string;
}

export async function showModel(modelsDir: string, ref: string): Promise<ModelDetail> {
  const manifest = await readManifest(modelsDir, ref);
  const bytes = await readFile(join(modelsDir, ref, 'model.onnx')).catch(() => undefined);
  const onnxSha256 = bytes && createHash('sha256').update(bytes).digest('hex');
  const problem = contractProblem(manifest);
  return { ref, isDefault: (await readDefaultRef(modelsDir)) === ref, manifest, onnxSha256, digestMatches: onnxSha256 === manifest.sha256, ...(problem ? { contractProblem: problem } : {}) };
}

const stringAt = (o: object, key: string): string | undefined => {
  const v = (o as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
};

const num = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(4));
const sig = (v: number): string => String(Number(v.toPrecision(4)));

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}

export function formatList(entries: readonly CatalogEntry[]): string[] {
  if (entries.length === 0) return ['no models (expected <models folder>/<name>/<version>/manifest.json)'];
  const rows = [['model', 'digest', 'features', 'review', 'block', 'AP', 'CP@100', 'AUC', '']];
  for (const e of entries) {
    const h = e.headline;
    const m = (k: string) => (h[k] === undefined ? '-' : num(h[k]));
    const notes = [e.isDefault ? 'default (fallback)' : '', e.problem ? `PROBLEM: ${e.problem}` : ''].filter(Boolean).join('; ');
    rows.push([e.ref, e.digest?.slice(0, 12) ?? '-', e.featureSetVersion ?? '-', e.thresholds ? num(e.thresholds.review) : '-', e.thresholds ? num(e.thresholds.block) : '-', m('average_precision'), m('cp100'), m('auc_roc'), notes]);
  }
  const splits = [...new Set(entries.map((e) => e.headlineSplit).filter(Boolean))];
  return [...table(rows), '', `metrics on the ${splits.join(' / ') || 'test'} split (the manifests' metrics); AP = average precision, CP@100 = card precision at 100`];
}

export function formatDetail(d: ModelDetail): string[] {
  const m = d.manifest;
  const framework = (m as Record<string, unknown>).framework as { estimator?: string; params?: Record<string, unknown> } | undefined;
  const data = (m as Record<string, unknown>).training_data as { source?: { file?: string; rows?: number; fraud_rate?: number }; train?: string[]; train_rows?: { rows?: number; frauds?: number } } | undefined;
  const lines = [`${d.ref}${d.isDefault ? '  (default: the fallback model)' : ''}`];
  const created = stringAt(m, 'created_at');
  if (created) lines.push(`  created      ${created}`);
  lines.push(`  sha256       ${m.sha256}`);
  lines.push(d.onnxSha256 === undefined ? '  model.onnx   MISSING' : d.digestMatches ? '  model.onnx   sha256 matches the manifest' : `  model.onnx   sha256 ${d.onnxSha256} DIFFERS from the manifest: the scorer will refuse it`);
  lines.push(`  thresholds   review ≥ ${sig(m.thresholds.review)}, block ≥ ${sig(m.thresholds.block)}`);
  if (framework?.estimator) lines.push(`  estimator    ${framework.estimator}${framework.params ? ` ${JSON.stringify(framework.params)}` : ''}`);
  if (data?.train) lines.push(`  trained on   ${data.train.join(' … ')}${data.train_rows?.rows ? ` (${data.train_rows.rows} rows, ${data.train_rows.frauds ?? '?'} frauds)` : ''}${data.source?.file ? ` from ${data.source.file}` : ''}`);
  // The test split first: it is the one reported; validation chose the model and thresholds.
  const metrics = Object.entries((m.metrics ?? {}) as Record<string, unknown>)
    .filter((e): e is [string, Record<string, unknown>] => typeof e[1] === 'object' && e[1] !== null)
    .sort(([a], [b]) => Number(b === 'test') - Number(a === 'test'));
  metrics.forEach(([split, values], i) => {
    const known = Object.keys(METRIC_LABELS).filter((k) => typeof values[k] === 'number').map((k) => `${METRIC_LABELS[k]} ${num(values[k] as number)}`);
    const other = Object.entries(values).filter(([k, v]) => typeof v === 'number' && !(k in METRIC_LABELS)).map(([k, v]) => `${k} ${num(v as number)}`);
    lines.push(`  ${i === 0 ? 'metrics    ' : '           '}  ${split}: ${known.join(', ')}${other.length ? ` (${other.join(', ')})` : ''}`);
  });
  lines.push(`  features     ${m.feature_set_version}${d.contractProblem ? ` — REFUSED by this scorer: ${d.contractProblem}` : ' (the scorer\'s feature contract)'}`);
  m.features.forEach((f, i) => lines.push(`    ${String(i).padStart(2)}  ${f}`));
  return lines;
}
