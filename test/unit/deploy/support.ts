/**
 * Loaders, schema validators and small parsers shared by the deploy tests. Everything here is
 * offline: the schemas are vendored in test/fixtures/schemas (see its README for provenance).
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// Named imports: ajv is CommonJS, and under NodeNext its default import is the module object.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse, parseAllDocuments } from 'yaml';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SCHEMAS = join(REPO, 'test/fixtures/schemas');
const K8S_BUNDLE = 'kubernetes-v1.34.0-strict.json';
/**
 * Schemas of the security manifests, beside these tests until they join the vendored set:
 * NetworkPolicy cut from the same kubernetes-validate package as the bundle (its $comment says
 * how), and KEDA's TriggerAuthentication hand-written like the ScaledObject's.
 */
const LOCAL_SCHEMAS = join(REPO, 'test/unit/deploy/schemas');
const NETPOL_BUNDLE = 'networkpolicy-v1.34.0-strict.json';

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
  ajv.addSchema(JSON.parse(readFileSync(join(LOCAL_SCHEMAS, NETPOL_BUNDLE), 'utf8')) as Obj, NETPOL_BUNDLE);
  ajv.addSchema(JSON.parse(readFileSync(join(LOCAL_SCHEMAS, 'keda-triggerauthentication-v1alpha1.json'), 'utf8')) as Obj);
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
  'keda.sh/v1alpha1/TriggerAuthentication': 'keda-triggerauthentication-v1alpha1.json',
  'networking.k8s.io/v1/NetworkPolicy': `${NETPOL_BUNDLE}#/kinds/NetworkPolicy`,
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
    const text = readText(rel);
    for (const m of text.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g)) names.add((m[1] ?? m[2]) as string);
    for (const name of secretNames(text)) names.add(name);
  }
  return names;
}

/** Names read through readSecret(env, 'NAME') (common/src/secrets.ts): NAME and NAME_FILE. */
const secretNames = (text: string): string[] =>
  [...text.matchAll(/\breadSecret\(\s*\w+\s*,\s*'([A-Z][A-Z0-9_]*)'\s*\)/g)].flatMap((m) => [m[1] as string, `${m[1] as string}_FILE`]);

/**
 * The Kafka security settings every client reads (services/common/src/kafka-security.ts, parsed
 * from its text): FRAUD_KAFKA_SECURITY_PROTOCOL, _SASL_MECHANISM, _SASL_USERNAME[_FILE],
 * _SASL_PASSWORD[_FILE], _SSL_CA_LOCATION. The scorer, monitor and gateway configs and the CLI
 * all go through it, so these names are theirs too.
 */
export function kafkaSecurityNames(): Set<string> {
  const text = readText('services/common/src/kafka-security.ts');
  const names = new Set([...text.matchAll(/\benv\.(FRAUD_[A-Z0-9_]+)/g)].map((m) => m[1] as string));
  for (const name of secretNames(text)) names.add(name);
  return names;
}

// ---- A container's environment -------------------------------------------------------------

/**
 * A container's environment as the pod gets it: literal values, and ConfigMap/Secret keys
 * resolved against the manifests; a reference to a missing object or key is a problem (the
 * pod would not start) unless it is `optional` (the variable is then unset), as is any other
 * valueFrom (nothing here can resolve it).
 */
export function resolveEnv(container: Obj, docs: readonly Obj[]): { env: Record<string, string>; problems: string[] } {
  const env: Record<string, string> = {};
  const problems: string[] = [];
  const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && get(d, 'metadata.name') === name);
  for (const e of (container.env ?? []) as { name: string; value?: string; valueFrom?: Obj }[]) {
    if (e.valueFrom === undefined) {
      env[e.name] = e.value ?? '';
      continue;
    }
    const cm = e.valueFrom.configMapKeyRef as { name: string; key: string } | undefined;
    const secret = e.valueFrom.secretKeyRef as { name: string; key: string } | undefined;
    let value: string | undefined;
    if (cm) value = get<string | undefined>(find('ConfigMap', cm.name), `data.${cm.key}`);
    else if (secret) {
      const doc = find('Secret', secret.name);
      const encoded = get<string | undefined>(doc, `data.${secret.key}`);
      value = get<string | undefined>(doc, `stringData.${secret.key}`) ?? (encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString());
    } else {
      problems.push(`${e.name}: unsupported valueFrom ${JSON.stringify(e.valueFrom)}`);
      continue;
    }
    const ref = (cm ?? secret)! as { name: string; key: string; optional?: boolean };
    if (value === undefined && ref.optional === true) continue;
    if (value === undefined) problems.push(`${e.name}: ${cm ? 'ConfigMap' : 'Secret'} ${ref.name} has no key ${ref.key}`);
    else env[e.name] = value;
  }
  return { env, problems };
}

/** Every variable name a container sets: its env, and every key of the ConfigMaps and Secrets it takes whole (envFrom). */
export function envNames(container: Obj, docs: readonly Obj[]): string[] {
  const names = ((container.env ?? []) as { name: string }[]).map((e) => e.name);
  for (const from of (container.envFrom ?? []) as Obj[]) {
    const [kind, ref] = from.configMapRef ? ['ConfigMap', from.configMapRef] : ['Secret', from.secretRef];
    const doc = docs.find((d) => d.kind === kind && get(d, 'metadata.name') === get(ref, 'name'));
    names.push(...Object.keys({ ...get<Obj>(doc, 'data'), ...get<Obj>(doc, 'stringData') }).map((k) => `${String(from.prefix ?? '')}${k}`));
  }
  return names;
}

// ---- A pod's files, for the config loaders ------------------------------------------------

export type Mount = { name: string; mountPath: string; readOnly?: boolean; subPath?: string };
/** One file a volume shows: its path inside the mount and the object key it comes from. */
export interface VolumeFile { path: string; kind: 'Secret' | 'ConfigMap'; name: string; key: string }

/**
 * The files a volume shows, for Secret, ConfigMap and projected volumes: the listed `items`, or
 * every key of the object when it is one of `docs` (the Secrets made outside git list their
 * items, so their files are known without the object). Other volume types show none.
 */
export function volumeFiles(volume: Obj | undefined, docs: readonly Obj[]): VolumeFile[] {
  if (!volume) return [];
  const sources: { kind: 'Secret' | 'ConfigMap'; src: Obj; name: string }[] = [];
  if (volume.secret) sources.push({ kind: 'Secret', src: volume.secret as Obj, name: String(get(volume, 'secret.secretName')) });
  if (volume.configMap) sources.push({ kind: 'ConfigMap', src: volume.configMap as Obj, name: String(get(volume, 'configMap.name')) });
  for (const p of (get<Obj[] | undefined>(volume, 'projected.sources') ?? [])) {
    if (p.secret) sources.push({ kind: 'Secret', src: p.secret as Obj, name: String(get(p, 'secret.name')) });
    if (p.configMap) sources.push({ kind: 'ConfigMap', src: p.configMap as Obj, name: String(get(p, 'configMap.name')) });
  }
  return sources.flatMap(({ kind, src, name }) => {
    const items = src.items as { key: string; path: string }[] | undefined;
    if (items) return items.map((i) => ({ path: i.path, kind, name, key: i.key }));
    const doc = docs.find((d) => d.kind === kind && get(d, 'metadata.name') === name);
    return Object.keys({ ...get<Obj>(doc, 'data'), ...get<Obj>(doc, 'stringData') }).map((key) => ({ path: key, kind, name, key }));
  });
}

/** The volume mounted at the folder holding `file`, and the file's path inside it. */
export function mountOf(pod: Obj, container: Obj, file: string): { mount: Mount; volume: Obj | undefined; rel: string } | undefined {
  const mount = ((container.volumeMounts ?? []) as Mount[]).filter((m) => file.startsWith(`${m.mountPath}/`)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!mount) return undefined;
  const volume = ((pod.volumes ?? []) as Obj[]).find((v) => v.name === mount.name);
  return { mount, volume, rel: file.slice(mount.mountPath.length + 1) };
}

let scratch: string | undefined;
/** Removes the files onDisk wrote (call from afterAll). */
export function removePodFiles(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}
let sampleKeys: { privatePem: string; publicPem: string } | undefined;

/** Stand-in contents for a file of a Secret made outside git, shaped as its loader wants. */
function placeholder(file: string): string {
  sampleKeys ??= (() => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
  })();
  if (/\.pub$/.test(file)) return sampleKeys.publicPem;
  if (/key.*\.pem$/.test(file)) return sampleKeys.privatePem;
  if (/\.pem$/.test(file)) return '-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n';
  return 'placeholder-not-a-secret\n';
}

/** Settings whose value names files a loader reads at start-up (comma-separated for the keys). */
export const FILE_SETTING = /_FILE$|_LOCATION$|^FRAUD_MODEL_PUBLIC_KEYS$/;

/**
 * The container's environment as its process would read files through it: every file its
 * Secret, ConfigMap and projected volumes show is written (stand-in contents: the Secrets are
 * made outside git) under a scratch folder, and each setting that names files (FILE_SETTING)
 * is pointed, path by path, at the file here, or for /app at the repository (the image's copy
 * of it). A path to a file no mount shows is left alone, so a loader that reads it fails as it
 * would in the pod. Other settings are left as they are.
 */
export function onDisk(pod: Obj, container: Obj, env: Record<string, string>, docs: readonly Obj[]): Record<string, string> {
  scratch ??= mkdtempSync(join(tmpdir(), 'fraudscore-pod-'));
  const root = mkdtempSync(join(scratch, 'pod-'));
  const local = (file: string): string => {
    if (file.startsWith('/app/')) return join(REPO, file.slice('/app/'.length));
    const at = mountOf(pod, container, file);
    const shown = at && volumeFiles(at.volume, docs).find((f) => f.path === at.rel);
    if (!at || !shown) return file;
    const path = join(root, at.mount.name, at.rel);
    mkdirSync(dirname(path), { recursive: true });
    if (!existsSync(path)) writeFileSync(path, placeholder(at.rel));
    return path;
  };
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, FILE_SETTING.test(k) ? v.split(',').map(local).join(',') : v]));
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
