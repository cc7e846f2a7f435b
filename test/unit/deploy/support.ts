/**
 * Loaders, schema validators and small parsers shared by the deploy tests. Everything here is
 * offline: the schemas are vendored in test/fixtures/schemas (see its README for provenance).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// Named imports: ajv is CommonJS, and under NodeNext its default import is the module object.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse, parseAllDocuments } from 'yaml';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SCHEMAS = join(REPO, 'test/fixtures/schemas');
const K8S_BUNDLE = 'kubernetes-v1.34.0-strict.json';

export type Obj = Record<string, unknown>;

export const readText = (rel: string): string => readFileSync(join(REPO, rel), 'utf8');
// merge: Compose files use YAML 1.1 merge keys (<<: *anchor), which YAML 1.2 parsers skip by default.
export const readYaml = (rel: string): Obj => parse(readText(rel), { merge: true }) as Obj;
export const readJson = (rel: string): Obj => JSON.parse(readText(rel)) as Obj;
export const exists = (rel: string): boolean => existsSync(join(REPO, rel));

/** All documents of a (possibly multi-document) YAML file. */
export function readYamlDocs(rel: string): Obj[] {
  return parseAllDocuments(readText(rel)).map((d) => d.toJS() as Obj).filter(Boolean);
}

/** Lodash-free deep get for test assertions: get(o, 'spec.template.spec'). */
export function get<T = unknown>(o: unknown, path: string): T {
  return path.split('.').reduce<unknown>((v, k) => (v as Obj | undefined)?.[k], o) as T;
}

const describeErrors = (errors: ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);

// ---- Compose Specification ----------------------------------------------------------------
let composeValidator: ValidateFunction | undefined;

/** Errors of a compose document against the Compose Specification schema (empty = valid). */
export function validateCompose(doc: unknown): string[] {
  if (!composeValidator) {
    const schema = JSON.parse(readFileSync(join(SCHEMAS, 'compose-spec.json'), 'utf8')) as Obj;
    delete schema.$schema; // draft-07 written with an https URI Ajv does not register; Ajv's default is draft-07
    composeValidator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  const validate = composeValidator;
  return validate(doc) ? [] : describeErrors(validate.errors);
}

// ---- Kubernetes (strict) + KEDA --------------------------------------------------------------
let k8sAjv: Ajv2020 | undefined;

function kubernetesAjv(): Ajv2020 {
  if (k8sAjv) return k8sAjv;
  // strict: false because the Kubernetes schemas carry x-kubernetes-* keywords and union types.
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const int = (bits: 32 | 64) => (n: number) =>
    Number.isInteger(n) && (bits === 64 ? Number.isSafeInteger(n) : n >= -(2 ** 31) && n < 2 ** 31);
  ajv.addFormat('int32', { type: 'number', validate: int(32) });
  ajv.addFormat('int64', { type: 'number', validate: int(64) });
  ajv.addFormat('double', { type: 'number', validate: Number.isFinite });
  ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
  ajv.addFormat('date-time', { validate: (s: string) => !Number.isNaN(Date.parse(s)) });
  ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, K8S_BUNDLE), 'utf8')) as Obj, K8S_BUNDLE);
  ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, 'keda-scaledobject-v1alpha1.json'), 'utf8')) as Obj);
  k8sAjv = ajv;
  return ajv;
}

const K8S_KINDS: Record<string, string> = {
  'v1/Namespace': `${K8S_BUNDLE}#/kinds/Namespace`,
  'v1/ConfigMap': `${K8S_BUNDLE}#/kinds/ConfigMap`,
  'v1/Secret': `${K8S_BUNDLE}#/kinds/Secret`,
  'v1/Service': `${K8S_BUNDLE}#/kinds/Service`,
  'apps/v1/Deployment': `${K8S_BUNDLE}#/kinds/Deployment`,
  'apps/v1/StatefulSet': `${K8S_BUNDLE}#/kinds/StatefulSet`,
  'policy/v1/PodDisruptionBudget': `${K8S_BUNDLE}#/kinds/PodDisruptionBudget`,
  'v1/PersistentVolumeClaim': `${K8S_BUNDLE}#/kinds/PersistentVolumeClaim`,
  'batch/v1/CronJob': `${K8S_BUNDLE}#/kinds/CronJob`,
  'keda.sh/v1alpha1/ScaledObject': 'keda-scaledobject-v1alpha1.json',
};

/** Errors of one manifest against the schema for its apiVersion/kind (unknown kinds are errors). */
export function validateManifest(doc: Obj): string[] {
  const key = `${String(doc.apiVersion)}/${String(doc.kind)}`;
  const ref = K8S_KINDS[key];
  if (!ref) return [`no vendored schema for ${key}`];
  const validate = kubernetesAjv().getSchema(ref);
  if (!validate) throw new Error(`schema ${ref} did not load`);
  return validate(doc) ? [] : describeErrors(validate.errors);
}

// ---- Facts from other files ------------------------------------------------------------------

/**
 * The FRAUD_* names a service's config schema declares, parsed from the source text (the
 * schemas are not exported): the keys of its `const schema = z.object({ … });`.
 */
function configNames(rel: string): Set<string> {
  const text = readText(rel);
  const body = /const schema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(text)?.[1];
  if (!body) throw new Error(`${rel}: \`const schema = z.object({ … });\` not found`);
  return new Set([...body.matchAll(/^\s*(FRAUD_[A-Z0-9_]+)\s*:/gm)].map((m) => m[1] as string));
}

/** The FRAUD_* names the scorer's config schema declares. */
export const scorerConfigNames = (): Set<string> => configNames('services/scorer/src/config.ts');

/** The FRAUD_* names the model monitor's config schema declares. */
export const monitorConfigNames = (): Set<string> => configNames('services/monitor/src/config.ts');

/** Every .ts file under a folder of the repository, tests excluded. */
function sources(rel: string): string[] {
  return readdirSync(join(REPO, rel), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(rel, f));
}

/**
 * The environment variables the CLI's code reads (`env.NAME`, `process.env.NAME`,
 * `env['NAME']`), from the source text of services/cli/src and the common code it shares.
 */
export function cliEnvNames(): Set<string> {
  const names = new Set<string>();
  for (const rel of [...sources('services/cli/src'), ...sources('services/common/src')]) {
    for (const m of readText(rel).matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g)) names.add((m[1] ?? m[2]) as string);
  }
  return names;
}

/**
 * Partitions the compose init job asks `fraudscore topics` for (its --partitions flag); the
 * topic specs themselves come from services/scorer/src/source/topics.ts.
 */
export function composePartitions(compose: Obj): number {
  const command = get<unknown>(compose, 'services.kafka-init.command');
  if (!Array.isArray(command) || command[0] !== 'topics') throw new Error('kafka-init should run `fraudscore topics`');
  const i = command.indexOf('--partitions');
  return i < 0 ? 4 : Number(command[i + 1]); // 4: the command's default
}
