/**
 * docker-compose.yml and deploy/k8s checked offline: against the Compose Specification and
 * strict Kubernetes schemas (vendored), then for the promises that span files — autoscaling
 * bound by partitions, probes on the admin port, non-root, only FRAUD_* names the scorer knows;
 * the model monitor a single StatefulSet on its own volume, with only settings the monitor knows;
 * the retrain CronJob a shadow-only, never-retried run of `fraudscore retrain` writing to the
 * models claim, and the Alertmanager example that can trigger it.
 * Each check has a broken twin that must be rejected, so a validator that accepts anything fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, type Option } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registerRetrain } from '../../../services/cli/src/commands/retrain.js';
import { loadGatewayConfig } from '../../../services/gateway/src/config.js';
import { LOOKBACK_MS, parseReplayTime, replayConfig } from '../../../services/cli/src/history/replay.js';
import { DEFAULT_DELTAS, type Deltas } from '../../../services/cli/src/retrain/window.js';
import { TOPICS } from '../../../services/common/src/kafka.js';
import { loadMonitorConfig } from '../../../services/monitor/src/config.js';
import { loadConfig } from '../../../services/scorer/src/config.js';
import { REGISTRY_SETTING_NAMES } from '../../../services/common/src/schema-registry.js';
import { TRANSACTIONS_RETENTION_DAYS, topicSpecs } from '../../../services/scorer/src/source/topics.js';
import { all, execForm, includedInContext, parseDockerfile } from './dockerfile.js';
import {
  REPO, cliEnvNames, composePartitions, envNames, get, kafkaSecurityNames, monitorConfigNames, onDisk, removePodFiles, readJson, readText, readYaml, readYamlDocs, resolveEnv,
  scorerConfigNames, validateCompose, validateManifest, type Obj,
} from './support.js';


afterAll(removePodFiles);
const compose = readYaml('docker-compose.yml');
const services = compose.services as Record<string, Obj>;
const kustomization = readYaml('deploy/k8s/kustomization.yaml');
const manifests = (kustomization.resources as string[]).flatMap((f) =>
  readYamlDocs(`deploy/k8s/${f}`).map((doc) => ({ file: f, doc })),
);
const byKind = (kind: string): Obj => {
  const hit = manifests.find((m) => m.doc.kind === kind);
  if (!hit) throw new Error(`no ${kind} in deploy/k8s`);
  return hit.doc;
};
/** The manifest of that kind and name (deploy/k8s has two Services: the scorer's and the monitor's). */
const byName = (kind: string, name: string): Obj => {
  const hit = manifests.find((m) => m.doc.kind === kind && get(m.doc, 'metadata.name') === name);
  if (!hit) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return hit.doc;
};
const clone = <T>(v: T): T => structuredClone(v);
const DEFAULT_PARTITIONS = 4; // the transactions topic's documented partition count

// ---- invariants as functions, so the broken twins can be fed to them too --------------------

/** FRAUD_* names that the scorer's config does not declare (its schema, or the shared schema-registry and Kafka security settings). */
function unknownFraudVars(names: Iterable<string>): string[] {
  const known = new Set([...scorerConfigNames(), ...REGISTRY_SETTING_NAMES, ...kafkaSecurityNames()]);
  return [...names].filter((n) => n.startsWith('FRAUD_') && !known.has(n));
}

/** Problems with the ScaledObject given the partition count of its topic. */
function scalingProblems(so: Obj, partitions: number): string[] {
  const min = get<number>(so, 'spec.minReplicaCount') ?? 0;
  const max = get<number>(so, 'spec.maxReplicaCount') ?? 100; // KEDA's default maximum
  const out: string[] = [];
  if (max > partitions) out.push(`maxReplicaCount ${max} > ${partitions} partitions: extra scorers would idle`);
  if (min > max) out.push(`minReplicaCount ${min} > maxReplicaCount ${max}`);
  return out;
}

/** Problems with the scorer container's probes, ports and hardening. */
function podProblems(deployment: Obj, adminPort: number): string[] {
  const pod = get<Obj>(deployment, 'spec.template.spec');
  const [c] = pod.containers as Obj[];
  const out: string[] = [];
  const ports = (c?.ports ?? []) as { name?: string; containerPort: number }[];
  const admin = ports.find((p) => p.name === 'admin');
  if (admin?.containerPort !== adminPort) out.push(`admin containerPort ${admin?.containerPort} != the configured admin port ${adminPort}`);
  const probe = (kind: string, path: string) => {
    const h = get<Obj | undefined>(c, `${kind}.httpGet`);
    if (h?.path !== path) out.push(`${kind} path ${String(h?.path)} != ${path}`);
    if (h?.port !== 'admin' && h?.port !== adminPort) out.push(`${kind} port ${String(h?.port)} is not the admin port`);
  };
  probe('readinessProbe', '/readyz');
  probe('livenessProbe', '/healthz');
  out.push(...hardeningProblems(pod, c ?? {}));
  return out;
}

/** Problems with one container's hardening, the pod's security context included: non-root, read-only root, no escalation, no capabilities. */
function hardeningProblems(pod: Obj, c: Obj): string[] {
  const sc = { ...(pod.securityContext as Obj), ...(c.securityContext as Obj) };
  const out: string[] = [];
  if (sc.runAsNonRoot !== true) out.push('runAsNonRoot is not true');
  if (sc.runAsUser === 0) out.push('runAsUser is 0');
  if (sc.readOnlyRootFilesystem !== true) out.push('root filesystem is writable');
  if (sc.allowPrivilegeEscalation !== false) out.push('privilege escalation allowed');
  if (!(get<string[]>(sc, 'capabilities.drop') ?? []).includes('ALL')) out.push('capabilities not dropped');
  return out;
}

// Kubernetes quantities: cpu "1" / "500m", memory "512Mi" / "1Gi" (the forms used here).
const cpu = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));
const mem = (q: string) => Number(q.replace(/[MG]i$/, '')) * (q.endsWith('Gi') ? 1024 : 1);

/** Problems with a workload's container resources: requests and limits set, in a form read here, requests within limits. */
function resourceProblems(workload: Obj): string[] {
  return containerResourceProblems(get<Obj>(workload, 'spec.template.spec.containers.0.resources'));
}

function containerResourceProblems(res: Obj | undefined): string[] {
  const out: string[] = [];
  for (const [what, parse] of [['cpu', cpu], ['memory', mem]] as const) {
    const request = parse(String(get(res, `requests.${what}`)));
    const limit = parse(String(get(res, `limits.${what}`)));
    if (Number.isNaN(request) || Number.isNaN(limit)) out.push(`${what}: request and limit must both be set (${String(get(res, `requests.${what}`))}, ${String(get(res, `limits.${what}`))})`);
    else if (request > limit) out.push(`${what}: request ${request} > limit ${limit}`);
  }
  return out;
}

// ---- the model monitor's invariants ----------------------------------------------------------

/** Names a container sets that the monitor's config does not read (its schema and the Kafka security settings; FRAUD_* or not). */
function unknownMonitorVars(names: Iterable<string>): string[] {
  const known = new Set([...monitorConfigNames(), ...kafkaSecurityNames()]);
  return [...names].filter((n) => !known.has(n));
}

/** Problems with "exactly one monitor": replicas other than 1, or any autoscaler aimed at it. */
function singletonProblems(sts: Obj, docs: readonly Obj[]): string[] {
  const out: string[] = [];
  const replicas = get<number | undefined>(sts, 'spec.replicas');
  if (replicas !== 1) out.push(`replicas ${String(replicas)}: the monitor must run exactly once per store (set 1 explicitly)`);
  const name = get<string>(sts, 'metadata.name');
  for (const d of docs) {
    // KEDA and the HPA both name their target in spec.scaleTargetRef.
    if ((d.kind === 'ScaledObject' || d.kind === 'HorizontalPodAutoscaler') && get(d, 'spec.scaleTargetRef.name') === name) {
      out.push(`${String(d.kind)} ${String(get(d, 'metadata.name'))} scales ${name}`);
    }
  }
  return out;
}

/** Problems with the probes: each must ask its path on a port the container declares, and that port must be the configured admin port. */
function probeProblems(sts: Obj, adminPort: number): string[] {
  const c = get<Obj>(sts, 'spec.template.spec.containers.0');
  const ports = (c.ports ?? []) as { name?: string; containerPort: number }[];
  const out: string[] = [];
  const probes: [string, string, boolean][] = [['startupProbe', '/healthz', false], ['livenessProbe', '/healthz', true], ['readinessProbe', '/readyz', true]];
  for (const [kind, path, required] of probes) {
    const h = get<{ path?: string; port?: string | number } | undefined>(c, `${kind}.httpGet`);
    if (!h) {
      if (required) out.push(`no ${kind}`);
      continue;
    }
    if (h.path !== path) out.push(`${kind} path ${String(h.path)} != ${path}`);
    const declared = ports.find((p) => (typeof h.port === 'string' ? p.name === h.port : p.containerPort === h.port));
    if (!declared) out.push(`${kind} port ${String(h.port)} is not a port the container declares`);
    else if (declared.containerPort !== adminPort) out.push(`${kind} port ${declared.containerPort} != FRAUD_MONITOR_ADMIN_PORT ${adminPort}`);
  }
  return out;
}

/** Problems with the store's volume: mounted (writable) at the directory of FRAUD_MONITOR_DB, from a ReadWriteOnce claim template, with an fsGroup. */
function storeProblems(sts: Obj, dbPath: string): string[] {
  const pod = get<Obj>(sts, 'spec.template.spec');
  const c = get<Obj>(pod, 'containers.0');
  const dir = dirname(dbPath);
  const out: string[] = [];
  const mount = ((c.volumeMounts ?? []) as { name: string; mountPath: string; readOnly?: boolean }[]).find((m) => m.mountPath === dir);
  if (!mount) return [`nothing mounted at ${dir}, the directory of FRAUD_MONITOR_DB ${dbPath}: the store would be lost with the container`];
  if (mount.readOnly) out.push(`${dir} is mounted read-only`);
  const template = ((get<Obj[] | undefined>(sts, 'spec.volumeClaimTemplates')) ?? []).find((t) => get(t, 'metadata.name') === mount.name);
  if (!template) out.push(`volume ${mount.name} at ${dir} is not a volumeClaimTemplate: the store would not survive the pod`);
  else {
    if (!(get<string[]>(template, 'spec.accessModes') ?? []).includes('ReadWriteOnce')) out.push(`claim ${mount.name} is not ReadWriteOnce`);
    if (!get(template, 'spec.resources.requests.storage')) out.push(`claim ${mount.name} requests no storage`);
  }
  if (typeof get(pod, 'securityContext.fsGroup') !== 'number') out.push('no fsGroup: the volume may not be writable by uid 1000');
  return out;
}

/** Problems with the governing Service: serviceName must name a headless Service that selects the pods and serves the admin port. */
function governingServiceProblems(sts: Obj, docs: readonly Obj[]): string[] {
  const name = get<string | undefined>(sts, 'spec.serviceName');
  const svc = docs.find((d) => d.kind === 'Service' && get(d, 'metadata.name') === name);
  if (!svc) return [`serviceName ${String(name)} names no Service in deploy/k8s`];
  const out: string[] = [];
  if (get(svc, 'spec.clusterIP') !== 'None') out.push(`Service ${name} is not headless (clusterIP: None)`);
  const labels = get<Obj>(sts, 'spec.template.metadata.labels');
  const selector = get<Obj | undefined>(svc, 'spec.selector') ?? {};
  if (!Object.keys(selector).length || !Object.entries(selector).every(([k, v]) => labels[k] === v)) out.push(`Service ${name} does not select the monitor's pods`);
  const ports = (get<Obj[] | undefined>(svc, 'spec.ports') ?? []).map((p) => p.targetPort);
  if (!ports.includes('admin')) out.push(`Service ${name} has no port targeting admin`);
  return out;
}

/** Problems with what the container runs: the image's entry point (the CLI) with `monitor`, as the scorer's runs `scorer`. */
function commandProblems(sts: Obj, scorer: Obj): string[] {
  const c = get<Obj>(sts, 'spec.template.spec.containers.0');
  const s = get<Obj>(scorer, 'spec.template.spec.containers.0');
  const out: string[] = [];
  if (c.command !== undefined) out.push(`command ${JSON.stringify(c.command)} replaces the image's entry point (the fraudscore CLI)`);
  if (JSON.stringify(c.args) !== JSON.stringify(['monitor'])) out.push(`args ${JSON.stringify(c.args)} != ["monitor"]`);
  if (c.image !== s.image) out.push(`image ${String(c.image)} != the scorer's ${String(s.image)}`);
  return out;
}

// ---- scheduled retraining's invariants -------------------------------------------------------

type Mount = { name: string; mountPath: string; readOnly?: boolean };
const mountsOf = (c: Obj | undefined): Mount[] => (c?.volumeMounts ?? []) as Mount[];
const claimOf = (pod: Obj, volume: string): string | undefined =>
  get(((pod.volumes ?? []) as Obj[]).find((v) => v.name === volume), 'persistentVolumeClaim.claimName');

/** The retrain command's long options, as services/cli/src/commands/retrain.ts registers them. */
function retrainOptions(): Map<string, Option> {
  const program = new Command();
  registerRetrain(program);
  const cmd = program.commands.find((c) => c.name() === 'retrain');
  if (!cmd) throw new Error('registerRetrain registered no `retrain` command');
  return new Map(cmd.options.filter((o) => o.long).map((o) => [o.long as string, o]));
}

interface Invocation {
  /** The arguments the image's entry point hands to the CLI: `retrain` and its flags. */
  args: string[];
  /** N of `--since Nd` (the N days before the run's day). */
  sinceDays: number | undefined;
  problems: string[];
}

/**
 * What the retrain container runs: the image's entry point (tini, then the CLI), not replaced,
 * with `retrain` and its flags as args; --since as days before the run (`42d`), which the CLI
 * resolves itself (parseReplayTime), so no shell computes a date.
 */
function retrainInvocation(c: Obj): Invocation {
  const problems: string[] = [];
  if (c.command !== undefined) problems.push(`command ${JSON.stringify(c.command)}: the image's entry point must run (tini, then the CLI)`);
  const args = ((c.args ?? []) as string[]).slice();
  const at = args.indexOf('--since');
  const since = at < 0 ? undefined : /^(\d+)d$/.exec(args[at + 1] ?? '');
  if (!since) problems.push('no --since <N>d: a schedule replays the N days before each run');
  else {
    const now = Date.UTC(2026, 0, 15, 3);
    if (parseReplayTime(`${since[1]}d`, '--since', now) !== Date.UTC(2026, 0, 15) - Number(since[1]) * 86_400_000) problems.push('the CLI does not read --since <N>d as N days before today');
  }
  return { args, sinceDays: since ? Number(since[1]) : undefined, problems };
}

/**
 * Problems with the CLI arguments: `retrain` with options the command has (each with its
 * value), replaying Kafka, --since relative to the run, deployed as shadow only, and the run
 * folder on a writable volume (the root filesystem is read-only; the default is runs/ there).
 */
function retrainArgProblems(args: string[], options: Map<string, Option>, writable: string[]): string[] {
  const out: string[] = [];
  if (args[0] !== 'retrain') out.push(`runs ${String(args[0])}, not retrain`);
  const given = new Map<string, string | true>();
  for (let i = 1; i < args.length; i++) {
    const flag = args[i] as string;
    const opt = options.get(flag);
    if (!opt) {
      out.push(`${flag}: not an option of fraudscore retrain`);
      continue;
    }
    const value = args[i + 1];
    if (!opt.required && !opt.optional) given.set(flag, true);
    else if (value === undefined || value.startsWith('--')) out.push(`${flag} needs a value`);
    else given.set(flag, args[++i] as string);
  }
  if (!given.has('--from-kafka')) out.push('no --from-kafka: a schedule has no other source of history');
  const since = given.get('--since');
  if (typeof since === 'string' && !/^\d+d$/.test(since)) out.push(`--since ${since}: a fixed date; a schedule needs days before the run (42d)`);
  if (given.get('--deploy') !== 'shadow') out.push(`--deploy ${String(given.get('--deploy'))}: a scheduled retrain adds its candidate as shadow only`);
  const dir = given.get('--out');
  if (typeof dir !== 'string') out.push('no --out: the run folder would be runs/ on the read-only root');
  else if (!writable.some((m) => dir === m || dir.startsWith(`${m}/`))) out.push(`--out ${dir} is not on a writable volume`);
  return out;
}

/** Labelled days a retrain needs (window.ts): validation train + delay, training + delay, test. */
const neededDays = (d: Deltas): number => 2 * (d.deltaTrain + d.deltaDelay) + d.deltaTest;

const CRON_FIELDS: [string, number, number, string[]?][] = [
  ['minute', 0, 59], ['hour', 0, 23], ['day of month', 1, 31],
  ['month', 1, 12, ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']],
  ['day of week', 0, 7, ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']],
];

/** Problems with a CronJob schedule read as five cron fields (ranges, lists, steps, month and day names). */
function cronProblems(schedule: string): string[] {
  if (/^\s*(CRON_)?TZ=/.test(schedule)) return ['a time zone in the schedule: Kubernetes refuses it, set spec.timeZone'];
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) return [`${fields.length} fields, expected 5 (minute hour day-of-month month day-of-week)`];
  const out: string[] = [];
  fields.forEach((field, i) => {
    const [name, min, max, names] = CRON_FIELDS[i]!;
    const value = (v: string) => {
      const at = names?.indexOf(v.toUpperCase()) ?? -1;
      if (at >= 0) return at + min;
      return /^\d+$/.test(v) ? Number(v) : Number.NaN;
    };
    for (const part of field.split(',')) {
      const m = /^(?:\*|(\w+)(?:-(\w+))?)(?:\/(\d+))?$/.exec(part);
      const [lo, hi] = m?.[1] === undefined ? [min, max] : [value(m[1]), m[2] === undefined ? value(m[1]) : value(m[2])];
      const step = m?.[3] === undefined ? 1 : Number(m[3]);
      if (!m || !(lo >= min && hi <= max && lo <= hi) || step < 1) out.push(`${name} ${JSON.stringify(part)} is not in ${min}-${max}`);
    }
  });
  return out;
}

/** Problems with the CronJob's run discipline: one at a time, never retried, bounded in time and history. */
function jobProblems(cron: Obj): string[] {
  const out: string[] = [];
  if (get(cron, 'spec.concurrencyPolicy') !== 'Forbid') out.push(`concurrencyPolicy ${String(get(cron, 'spec.concurrencyPolicy'))}: two retrains would race for the shadow slot`);
  // Unset is Kubernetes' default of 6 retries.
  if (get(cron, 'spec.jobTemplate.spec.backoffLimit') !== 0) out.push(`backoffLimit ${String(get(cron, 'spec.jobTemplate.spec.backoffLimit'))}: a failed gate is an answer, not something to retry`);
  // OnFailure restarts the container in place.
  if (get(cron, 'spec.jobTemplate.spec.template.spec.restartPolicy') !== 'Never') out.push('restartPolicy is not Never');
  for (const path of ['spec.startingDeadlineSeconds', 'spec.successfulJobsHistoryLimit', 'spec.failedJobsHistoryLimit', 'spec.jobTemplate.spec.activeDeadlineSeconds', 'spec.jobTemplate.spec.ttlSecondsAfterFinished']) {
    const v = get(cron, path);
    if (typeof v !== 'number' || v <= 0) out.push(`${path} ${String(v)}: set a positive bound`);
  }
  return out;
}

/**
 * Names the retrain container sets that the CLI does not read or that a FRAUD_* scorer setting
 * does not mean the same, and keys not the scorer's own under their own name. Its own identity
 * is not shared: the Kafka security settings (its principal) and its signing key.
 */
function retrainEnvProblems(c: Obj, docs: readonly Obj[]): string[] {
  const cli = cliEnvNames();
  const scorer = scorerConfigNames();
  const own = new Set([...kafkaSecurityNames(), 'FRAUD_MODEL_SIGNING_KEY', 'FRAUD_MODEL_SIGNING_KEY_FILE']);
  const out: string[] = [];
  for (const name of envNames(c, docs)) {
    if (name === 'NODE_OPTIONS') continue; // Node's own
    if (!cli.has(name)) out.push(`${name}: the CLI does not read it`);
    else if (name.startsWith('FRAUD_') && !scorer.has(name) && !own.has(name)) out.push(`${name}: not a scorer setting, so no scorer value to share`);
  }
  for (const e of (c.env ?? []) as { name: string; valueFrom?: Obj }[]) {
    const ref = (e.valueFrom?.configMapKeyRef ?? e.valueFrom?.secretKeyRef) as { name: string; key: string } | undefined;
    if (ref && (ref.name !== 'fraudscore-scorer' || ref.key !== e.name)) out.push(`${e.name}: from ${ref.name}/${ref.key}, not the scorer's own ${e.name}`);
  }
  return out;
}

/**
 * Problems with where the candidate goes: FRAUD_MODELS_DIR is a writable mount of a
 * ReadWriteMany claim in deploy/k8s (shared with the scorers), writable for gid 1000, and an
 * init container seeds that claim from the scorers' image and models folder without
 * overwriting what is there.
 */
function modelsClaimProblems(cron: Obj, modelsDir: string | undefined, docs: readonly Obj[], scorer: { image: unknown; modelsDir: string }): string[] {
  const pod = get<Obj>(cron, 'spec.jobTemplate.spec.template.spec');
  const mount = mountsOf(get(pod, 'containers.0')).find((m) => m.mountPath === modelsDir);
  if (!mount) return [`nothing mounted at FRAUD_MODELS_DIR ${String(modelsDir)}: the candidate would go to the read-only root`];
  const out: string[] = [];
  if (mount.readOnly) out.push(`${String(modelsDir)} is mounted read-only`);
  const claimName = claimOf(pod, mount.name);
  const claim = docs.find((d) => d.kind === 'PersistentVolumeClaim' && get(d, 'metadata.name') === claimName);
  if (!claim) out.push(`volume ${mount.name} is not a claim in deploy/k8s: the candidate would not outlive the Job`);
  else if (!(get<string[]>(claim, 'spec.accessModes') ?? []).includes('ReadWriteMany')) out.push(`claim ${String(claimName)} is not ReadWriteMany: scorers on other nodes cannot mount it`);
  if (typeof get(pod, 'securityContext.fsGroup') !== 'number') out.push('no fsGroup: the claim may not be writable by uid 1000');
  const seed = ((pod.initContainers ?? []) as Obj[]).find((i) => mountsOf(i).some((m) => m.name === mount.name && !m.readOnly));
  if (!seed) return [...out, `no init container seeds ${mount.name}: the claim starts without the champion to gate against`];
  if (seed.image !== scorer.image) out.push(`seeds from ${String(seed.image)}, not the scorers' image ${String(scorer.image)}`);
  const to = mountsOf(seed).find((m) => m.name === mount.name)?.mountPath;
  const copy = /cpSync\('([^']+)', '([^']+)', \{([^}]*)\}\)/.exec(JSON.stringify(seed.command ?? []));
  if (copy?.[1] !== scorer.modelsDir || copy[2] !== to) out.push(`the seed does not copy the scorers' ${scorer.modelsDir} into the claim (${String(to)})`);
  else if (!/force: false/.test(copy[3] ?? '') || !/recursive: true/.test(copy[3] ?? '')) out.push('the seed may overwrite what the claim holds');
  return out;
}

/** Problems with a workload that should read the shared models: a read-only mount of that claim at its models folder. */
function sharedModelsProblems(workload: Obj, modelsDir: string, claimName: string): string[] {
  const pod = get<Obj>(workload, 'spec.template.spec');
  const mount = mountsOf(get(pod, 'containers.0')).find((m) => m.mountPath === modelsDir);
  if (!mount) return [`nothing mounted at its models folder ${modelsDir}`];
  const out: string[] = [];
  const claim = claimOf(pod, mount.name);
  if (claim !== claimName) out.push(`${modelsDir} is ${claim ? `claim ${claim}` : 'not a claim'}, not ${claimName}`);
  if (mount.readOnly !== true) out.push(`${modelsDir} is writable: only the retrain Job writes models`);
  return out;
}

/** JSON patch `add` and `replace` (what the README's overlay uses), on a copy. */
function jsonPatch(doc: Obj, ops: readonly { op: string; path: string; value: unknown }[]): Obj {
  const out = clone(doc);
  for (const { op, path, value } of ops) {
    const keys = path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop() as string;
    const parent = keys.reduce<unknown>((v, k) => (v as Obj | undefined)?.[k], out) as Obj | unknown[] | undefined;
    if (Array.isArray(parent) && op === 'add') parent.splice(last === '-' ? parent.length : Number(last), 0, value);
    else if (parent && !Array.isArray(parent) && (op === 'add' || (op === 'replace' && last in parent))) parent[last] = value;
    else throw new Error(`${op} ${path}: not applicable here`);
  }
  return out;
}

// ---- Alertmanager ------------------------------------------------------------------------------

interface AmRoute { receiver?: string; matchers?: string[]; continue?: boolean; routes?: AmRoute[] }

/** One Alertmanager matcher: name=value, !=, =~, !~ (regexes anchored, as Alertmanager anchors them). */
function matcher(text: string): (labels: Record<string, string>) => boolean {
  const m = /^\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|(.*?))\s*$/.exec(text);
  if (!m) throw new Error(`cannot read matcher ${text}`);
  const [, name = '', op, quoted, bare] = m;
  const value = quoted === undefined ? (bare ?? '') : quoted.replace(/\\(.)/g, '$1');
  const re = op === '=~' || op === '!~' ? new RegExp(`^(?:${value})$`) : undefined;
  return (labels) => {
    const v = labels[name] ?? '';
    return op === '=' ? v === value : op === '!=' ? v !== value : op === '=~' ? re!.test(v) : !re!.test(v);
  };
}

/**
 * The receivers Alertmanager notifies for an alert with these labels: the first child route
 * that matches, and the following ones while `continue` is set; the route itself when no child
 * matches. A child without a receiver inherits its parent's.
 */
function receiversFor(route: AmRoute, labels: Record<string, string>, inherited?: string): string[] {
  const receiver = route.receiver ?? inherited;
  const out: string[] = [];
  for (const child of route.routes ?? []) {
    if ('match' in child || 'match_re' in child) throw new Error('match/match_re are deprecated: use matchers');
    if (!(child.matchers ?? []).every((t) => matcher(t)(labels))) continue;
    out.push(...receiversFor(child, labels, receiver));
    if (child.continue !== true) break;
  }
  return out.length ? out : [String(receiver)];
}

/** Problems Alertmanager would refuse to load: no root receiver, matchers on the root, a receiver used but not defined, one defined twice. */
function alertmanagerProblems(config: Obj): string[] {
  const route = config.route as AmRoute | undefined;
  if (!route?.receiver) return ['the root route needs a receiver'];
  const out: string[] = [];
  if (route.matchers?.length) out.push('the root route must match every alert: no matchers');
  const names = ((config.receivers ?? []) as { name: string }[]).map((r) => r.name);
  for (const n of new Set(names.filter((n, i) => names.indexOf(n) !== i))) out.push(`receiver ${n} defined twice`);
  const used = (r: AmRoute): string[] => [...(r.receiver ? [r.receiver] : []), ...(r.routes ?? []).flatMap(used)];
  for (const n of new Set(used(route))) if (!names.includes(n)) out.push(`receiver ${n} is used but not defined`);
  return out;
}

// ---- Compose ---------------------------------------------------------------------------------
describe('docker-compose.yml', () => {
  it('conforms to the Compose Specification', () => {
    expect(validateCompose(compose)).toEqual([]);
  });

  it('rejects a broken twin (unknown key, bad depends_on condition)', () => {
    const broken = clone(compose) as { services: Record<string, Obj> };
    (broken.services.scorer as Obj).healtcheck = { test: ['CMD', 'true'] };
    (broken.services.simulator as Obj).depends_on = { scorer: { condition: 'service_ready' } };
    const errors = validateCompose(broken);
    expect(errors.join('\n')).toMatch(/healtcheck/);
    expect(errors.join('\n')).toMatch(/depends_on/);
  });

  it('runs the Kafka version the local broker and the tests use (KRaft), Jaeger v2, two scorers in one group', () => {
    const localVersion = readFileSync('deploy/local/kafka.sh', 'utf8').match(/KAFKA_VERSION:-([\d.]+)/)?.[1];
    expect(localVersion).toMatch(/^4\./);
    expect(services.kafka?.image).toBe(`apache/kafka:${localVersion}`);
    expect(get(services.kafka, 'environment.KAFKA_PROCESS_ROLES')).toBe('broker,controller');
    expect(String(services.jaeger?.image)).toMatch(/^jaegertracing\/jaeger:2\./);
    expect(get(services.scorer, 'deploy.replicas')).toBe(2);
    expect(get(services.scorer, 'environment.FRAUD_GROUP_ID')).toBe('fraudscore-scorer');
    expect(services.simulator?.command).toEqual(expect.arrayContaining(['publish', '--simulate', '--rate']));
  });

  it('creates the topics the scorer uses, with the documented partitions; the changelog compacted and co-partitioned', () => {
    const partitions = composePartitions(compose);
    expect(partitions).toBe(DEFAULT_PARTITIONS);
    // The init job creates the default names: the scorers must not be pointed elsewhere.
    const defaults = loadConfig({ FRAUD_KAFKA_BROKERS: 'x:1' }).topics;
    expect(loadConfig(get(services.scorer, 'environment')).topics).toEqual(defaults);
    const specs = new Map(topicSpecs(defaults, partitions).map((t) => [t.topic, t]));
    const changelog = specs.get(defaults.cardState);
    expect(changelog?.numPartitions).toBe(specs.get(defaults.transactions)?.numPartitions);
    expect(changelog?.configEntries).toContainEqual({ name: 'cleanup.policy', value: 'compact' });
  });

  it('waits only on conditions that can become true', () => {
    const imageHasHealthcheck = /^HEALTHCHECK\s/m.test(readText('deploy/docker/Dockerfile'));
    for (const [name, svc] of Object.entries(services)) {
      for (const [dep, spec] of Object.entries((svc.depends_on ?? {}) as Record<string, Obj>)) {
        const target = services[dep];
        expect(target, `${name} depends on missing ${dep}`).toBeDefined();
        if (spec.condition === 'service_healthy') {
          const hc = target?.healthcheck as Obj | undefined;
          const has = hc ? hc.disable !== true : target?.build !== undefined && imageHasHealthcheck;
          expect(has, `${name} waits for ${dep} to be healthy, but it has no healthcheck`).toBe(true);
        }
        if (spec.condition === 'service_completed_successfully') expect(target?.restart, dep).toBe('no');
      }
    }
  });

  it('has no accidental ${VAR} interpolation in commands ($$ is the literal)', () => {
    const text = JSON.stringify(Object.values(services).map((s) => [s.command, s.entrypoint]));
    expect(text.replace(/\$\$/g, '')).not.toMatch(/\$/);
  });

  it('gives the scorers only FRAUD_* settings the scorer knows, with valid values', () => {
    for (const name of ['scorer', 'simulator']) {
      const env = (services[name]?.environment ?? {}) as Record<string, string>;
      expect(unknownFraudVars(Object.keys(env)), name).toEqual([]);
    }
    expect(() => loadConfig(get(services.scorer, 'environment'))).not.toThrow();
    expect(unknownFraudVars(['FRAUD_KAFKA_BROKERS', 'FRAUD_NOT_A_SETTING'])).toEqual(['FRAUD_NOT_A_SETTING']);
  });

  it('scrapes the scorers on the admin port and provisions the dashboard datasource', () => {
    const prom = readYaml('deploy/prometheus/prometheus.yml');
    const job = (prom.scrape_configs as Obj[]).find((j) => j.job_name === 'fraudscore-scorer');
    expect(get(job, 'dns_sd_configs')).toEqual([expect.objectContaining({ names: ['scorer'], port: 9464 })]);
    const sources = get<Obj[]>(readYaml('deploy/grafana/provisioning/datasources/datasources.yml'), 'datasources');
    const dashboard = readJson('deploy/grafana/dashboards/fraudscore.json');
    const used = new Set((dashboard.panels as Obj[]).map((p) => get<string>(p, 'datasource.uid')));
    for (const uid of used) expect(sources.map((s) => s.uid)).toContain(uid);
  });
});

// ---- Kubernetes ------------------------------------------------------------------------------
describe('deploy/k8s', () => {
  it('kustomization lists every manifest in the folder', () => {
    const files = readdirSync(join(REPO, 'deploy/k8s')).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
    expect([...(kustomization.resources as string[])].sort()).toEqual(files.sort());
  });

  it.each(manifests.map((m) => [`${m.file} (${String(m.doc.kind)})`, m.doc] as const))(
    '%s conforms to its schema',
    (_, doc) => expect(validateManifest(doc)).toEqual([]),
  );

  it('rejects broken twins: a typo in a probe field, an unquoted KEDA value, an unknown kind', () => {
    const deployment = clone(byKind('Deployment'));
    const [c] = get<Obj[]>(deployment, 'spec.template.spec.containers');
    (c as Obj).readinesProbe = (c as Obj).readinessProbe;
    expect(validateManifest(deployment).join('\n')).toMatch(/additionalProperty.*readinesProbe/);

    const so = clone(byKind('ScaledObject'));
    const [trigger] = get<Obj[]>(so, 'spec.triggers');
    (trigger?.metadata as Obj).lagThreshold = 5000;
    (trigger?.metadata as Obj).lagTreshold = '5000';
    const errors = validateManifest(so).join('\n');
    expect(errors).toMatch(/lagThreshold.*must be string/);
    expect(errors).toMatch(/lagTreshold/);

    expect(validateManifest({ apiVersion: 'v1', kind: 'Pod' })).toEqual(['no vendored schema for v1/Pod']);
  });

  it('autoscales on lag of the scorer group and topic, never past the partition count', () => {
    const so = byKind('ScaledObject');
    const env = { ...(get<Obj>(byKind('ConfigMap'), 'data')), ...(get<Obj>(byKind('Secret'), 'stringData')) };
    const [trigger] = get<Obj[]>(so, 'spec.triggers');
    expect(trigger?.type).toBe('kafka');
    // KEDA reads these names from the container's environment: they must be set explicitly.
    const meta = trigger?.metadata as Record<string, string>;
    for (const key of Object.keys(meta).filter((k) => k.endsWith('FromEnv'))) expect(env, key).toHaveProperty(meta[key] as string);
    expect(env[meta.consumerGroupFromEnv ?? '']).toBe('fraudscore-scorer');
    expect(env[meta.topicFromEnv ?? '']).toBe('transactions');
    expect(get(so, 'spec.scaleTargetRef.name')).toBe(get(byKind('Deployment'), 'metadata.name'));

    const partitions = composePartitions(compose);
    expect(scalingProblems(so, partitions)).toEqual([]);
    const tooMany = clone(so);
    (tooMany.spec as Obj).maxReplicaCount = partitions + 1;
    expect(scalingProblems(tooMany, partitions)).toHaveLength(1);
  });

  it('probes the admin port, runs non-root on a read-only root, drops all capabilities', () => {
    const deployment = byKind('Deployment');
    const adminPort = loadConfig({ FRAUD_KAFKA_BROKERS: 'x:1', ...get<Obj>(byKind('ConfigMap'), 'data') }).admin.port;
    expect(podProblems(deployment, adminPort)).toEqual([]);
    expect(get(byName('Service', 'fraudscore-scorer'), 'spec.ports.0.targetPort')).toBe('admin');

    const broken = clone(deployment);
    const c = get<Obj>(broken, 'spec.template.spec.containers.0');
    get<Obj>(c, 'livenessProbe.httpGet').path = '/readyz';
    (c.securityContext as Obj).readOnlyRootFilesystem = false;
    expect(podProblems(broken, adminPort)).toHaveLength(2);
  });

  it('selects its own pods everywhere and keeps requests within limits', () => {
    const labels = get<Obj>(byKind('Deployment'), 'spec.template.metadata.labels');
    for (const sel of [
      get<Obj>(byKind('Deployment'), 'spec.selector.matchLabels'),
      get<Obj>(byKind('PodDisruptionBudget'), 'spec.selector.matchLabels'),
      get<Obj>(byName('Service', 'fraudscore-scorer'), 'spec.selector'),
    ]) expect(labels).toMatchObject(sel);
    expect(resourceProblems(byKind('Deployment'))).toEqual([]);
  });

  it('sets only FRAUD_* settings the scorer knows, with values it accepts', () => {
    const deployment = byKind('Deployment');
    const env = get<{ name: string }[]>(deployment, 'spec.template.spec.containers.0.env').map((e) => e.name);
    const data = get<Record<string, string>>(byKind('ConfigMap'), 'data');
    const secret = get<Record<string, string>>(byKind('Secret'), 'stringData');
    expect(unknownFraudVars([...env, ...Object.keys(data), ...Object.keys(secret)])).toEqual([]);
    expect(() => loadConfig({ ...data, ...secret, FRAUD_CLIENT_ID: 'pod-0' })).not.toThrow();
    // ...and with the container's own values, reading the files its mounts show (Kafka password and CA, the model key).
    const literal = Object.fromEntries(get<{ name: string; value?: string }[]>(deployment, 'spec.template.spec.containers.0.env').filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
    const pod = get<Obj>(deployment, 'spec.template.spec');
    const config = loadConfig(onDisk(pod, get<Obj>(pod, 'containers.0'), { ...data, ...secret, FRAUD_CLIENT_ID: 'pod-0', ...literal }, manifests.map((m) => m.doc)));
    expect(config.security.protocol).toBe('SASL_SSL');
    expect(config.modelPublicKeys).toHaveLength(1);
  });
});

// ---- Kubernetes: the model monitor -----------------------------------------------------------
describe('deploy/k8s: the model monitor', () => {
  const docs = manifests.map((m) => m.doc);
  const sts = byName('StatefulSet', 'fraudscore-monitor');
  const container = get<Obj>(sts, 'spec.template.spec.containers.0');
  // With the files its mounts show (its Kafka password and CA are read at start-up).
  const env = onDisk(get<Obj>(sts, 'spec.template.spec'), container, resolveEnv(container, docs).env, docs);
  const config = loadMonitorConfig(env);

  it('validates strictly as a StatefulSet with its headless Service, and a typo is rejected', () => {
    expect(manifests.filter((m) => m.file === 'monitor.yaml').map((m) => m.doc.kind).sort()).toEqual(['Service', 'StatefulSet']);
    expect(validateManifest(sts)).toEqual([]);
    expect(validateManifest(byName('Service', 'fraudscore-monitor'))).toEqual([]);

    const broken = clone(sts);
    const [template] = get<Obj[]>(broken, 'spec.volumeClaimTemplates');
    (template?.spec as Obj).acessModes = ['ReadWriteOnce'];
    (broken.spec as Obj).podManagmentPolicy = 'OrderedReady';
    const errors = validateManifest(broken).join('\n');
    expect(errors).toMatch(/additionalProperty.*acessModes/);
    expect(errors).toMatch(/additionalProperty.*podManagmentPolicy/);
  });

  it('runs exactly one instance per store: replicas 1, OrderedReady, and no autoscaler aims at it', () => {
    expect(singletonProblems(sts, docs)).toEqual([]);
    expect(get(sts, 'spec.podManagementPolicy')).toBe('OrderedReady');
    expect(get(sts, 'spec.updateStrategy.type')).toBe('RollingUpdate');

    const two = clone(sts);
    (two.spec as Obj).replicas = 2;
    expect(singletonProblems(two, docs)).toHaveLength(1);
    const unset = clone(sts);
    delete (unset.spec as Obj).replicas;
    expect(singletonProblems(unset, docs)).toHaveLength(1);
    const scaled = clone(byKind('ScaledObject'));
    (scaled.spec as Obj).scaleTargetRef = { kind: 'StatefulSet', name: 'fraudscore-monitor' };
    const hpa = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'm' }, spec: { scaleTargetRef: { kind: 'StatefulSet', name: 'fraudscore-monitor' } } };
    expect(singletonProblems(sts, [...docs, scaled, hpa])).toHaveLength(2);
  });

  it('probes /healthz and /readyz on the port the container exposes, which is FRAUD_MONITOR_ADMIN_PORT', () => {
    expect(config.admin.port).toBe(9465);
    expect(probeProblems(sts, config.admin.port)).toEqual([]);

    const wrongPort = clone(sts);
    get<Obj>(wrongPort, 'spec.template.spec.containers.0.livenessProbe.httpGet').port = 9464;
    get<Obj>(wrongPort, 'spec.template.spec.containers.0.readinessProbe.httpGet').port = 'metrics';
    expect(probeProblems(wrongPort, config.admin.port)).toHaveLength(2);
    const exposedElsewhere = clone(sts);
    get<Obj>(exposedElsewhere, 'spec.template.spec.containers.0.ports.0').containerPort = 9464;
    expect(probeProblems(exposedElsewhere, config.admin.port)).toHaveLength(3);
    const noReadiness = clone(sts);
    delete get<Obj>(noReadiness, 'spec.template.spec.containers.0').readinessProbe;
    expect(probeProblems(noReadiness, config.admin.port)).toEqual(['no readinessProbe']);
  });

  it('keeps the store on its claim, mounted at the directory of FRAUD_MONITOR_DB, 10Gi ReadWriteOnce', () => {
    expect(config.dbPath).toBe('/var/lib/fraudscore-monitor/monitor.db');
    expect(storeProblems(sts, config.dbPath)).toEqual([]);
    const [template] = get<Obj[]>(sts, 'spec.volumeClaimTemplates');
    expect(get(template, 'metadata.name')).toBe('store');
    expect(get(template, 'spec.accessModes')).toEqual(['ReadWriteOnce']);
    expect(get(template, 'spec.resources.requests.storage')).toBe('10Gi');
    // The image creates this directory owned by uid 1000 (the mount point before fsGroup applies).
    expect(readText('deploy/docker/Dockerfile')).toContain(`chown 1000:1000 ${dirname(config.dbPath)}`);

    expect(storeProblems(sts, '/var/lib/elsewhere/monitor.db')).toHaveLength(1);
    const onEmptyDir = clone(sts);
    get<Obj>(onEmptyDir, 'spec.template.spec.containers.0.volumeMounts.0').name = 'tmp';
    delete get<Obj>(onEmptyDir, 'spec.template.spec.securityContext').fsGroup;
    expect(storeProblems(onEmptyDir, config.dbPath)).toHaveLength(2);
  });

  it('names its headless Service as serviceName; that Service selects the monitor and serves the admin port', () => {
    expect(get(sts, 'spec.serviceName')).toBe('fraudscore-monitor');
    expect(governingServiceProblems(sts, docs)).toEqual([]);

    const misnamed = clone(sts);
    (misnamed.spec as Obj).serviceName = 'fraudscore-scorer';
    // The scorer's Service exists but is neither headless nor selecting the monitor.
    expect(governingServiceProblems(misnamed, docs)).toHaveLength(2);
    const missing = clone(sts);
    (missing.spec as Obj).serviceName = 'monitor';
    expect(governingServiceProblems(missing, docs)).toHaveLength(1);
  });

  it('runs `monitor` through the image entry point, like the scorer runs `scorer`, from the same image', () => {
    expect(commandProblems(sts, byKind('Deployment'))).toEqual([]);
    expect(get(byKind('Deployment'), 'spec.template.spec.containers.0.args')).toEqual(['scorer']);

    const wrong = clone(sts);
    const c = get<Obj>(wrong, 'spec.template.spec.containers.0');
    c.args = ['scorer'];
    c.command = ['node', 'dist/services/cli/src/main.js'];
    c.image = 'fraudscore:latest';
    expect(commandProblems(wrong, byKind('Deployment'))).toHaveLength(3);
  });

  it("sets only settings the monitor's config knows, shared ones from the scorer's ConfigMap and Secret, with values it accepts", () => {
    expect(resolveEnv(container, docs).problems).toEqual([]);
    expect(unknownMonitorVars(envNames(container, docs))).toEqual([]);
    expect(() => loadMonitorConfig(env)).not.toThrow();
    // The monitor reads what the scorers write, where they write it.
    const scorer = loadConfig({ ...get<Record<string, string>>(byKind('ConfigMap'), 'data'), ...get<Record<string, string>>(byKind('Secret'), 'stringData') });
    expect(config.brokers).toEqual(scorer.brokers);
    expect(config.topics).toEqual({ decisions: scorer.topics.decisions, shadowDecisions: scorer.topics.shadowDecisions, outcomes: scorer.topics.outcomes });
    expect(config.wireFormat).toBe(scorer.wireFormat);
    expect(config.modelsDir).toBe(scorer.modelsDir);
    for (const name of ['FRAUD_KAFKA_BROKERS', 'FRAUD_TOPIC_DECISIONS', 'FRAUD_TOPIC_SHADOW_DECISIONS', 'FRAUD_TOPIC_OUTCOMES', 'FRAUD_WIRE_FORMAT', 'FRAUD_MODELS_DIR']) {
      const e = (container.env as { name: string; valueFrom?: Obj }[]).find((x) => x.name === name);
      expect(get(e, 'valueFrom.configMapKeyRef.name') ?? get(e, 'valueFrom.secretKeyRef.name'), name).toBe('fraudscore-scorer');
    }

    const wrong = clone(container);
    (wrong.env as Obj[]).push({ name: 'FRAUD_GROUP_ID', value: 'x' }, { name: 'NODE_OPTIONS', value: '--max-old-space-size=512' });
    expect(unknownMonitorVars(envNames(wrong, docs))).toEqual(['FRAUD_GROUP_ID', 'NODE_OPTIONS']);
    // envFrom the scorer's ConfigMap would hand the monitor every scorer-only setting.
    expect(unknownMonitorVars(envNames({ envFrom: [{ configMapRef: { name: 'fraudscore-scorer' } }] }, docs))).toContain('FRAUD_ADMIN_PORT');
    (wrong.env as Obj[]).push({ name: 'FRAUD_LABEL_HORIZON_DAYS', valueFrom: { configMapKeyRef: { name: 'fraudscore-scorer', key: 'FRAUD_LABEL_HORIZON_DAYS' } } });
    expect(resolveEnv(wrong, docs).problems).toEqual(['FRAUD_LABEL_HORIZON_DAYS: ConfigMap fraudscore-scorer has no key FRAUD_LABEL_HORIZON_DAYS']);
    expect(() => loadMonitorConfig({ ...env, FRAUD_LABEL_HORIZON_DAYS: '0' })).toThrow(/FRAUD_LABEL_HORIZON_DAYS/);
  });

  it('runs non-root on a read-only root like the scorer, within its resources, scraped by Prometheus on the admin port', () => {
    expect(podProblems(sts, config.admin.port)).toEqual([]);
    // The scorer's hardening (uid/gid 1000, fsGroup, seccomp RuntimeDefault, no capabilities), plus the monitor's own.
    expect(get(sts, 'spec.template.spec.securityContext')).toMatchObject(get<Obj>(byKind('Deployment'), 'spec.template.spec.securityContext'));
    expect(get(container, 'securityContext')).toEqual(get(byKind('Deployment'), 'spec.template.spec.containers.0.securityContext'));
    expect(get(sts, 'spec.template.spec.automountServiceAccountToken')).toBe(false);
    expect(resourceProblems(sts)).toEqual([]);
    const annotations = get<Record<string, string>>(sts, 'spec.template.metadata.annotations');
    expect(Object.keys(annotations).sort()).toEqual(Object.keys(get<Obj>(byKind('Deployment'), 'spec.template.metadata.annotations')).sort());
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(Number(annotations['prometheus.io/port'])).toBe(config.admin.port);

    const broken = clone(sts);
    const res = get<Obj>(broken, 'spec.template.spec.containers.0.resources');
    get<Obj>(res, 'requests').memory = '2Gi';
    delete get<Obj>(res, 'limits').cpu;
    expect(resourceProblems(broken)).toHaveLength(2);
  });

  it("keeps the monitor's pods and the scorer's selectors apart", () => {
    const selectors = (labels: Obj) => [
      get<Obj>(byKind('Deployment'), 'spec.selector.matchLabels'),
      get<Obj>(byKind('PodDisruptionBudget'), 'spec.selector.matchLabels'),
      get<Obj>(byName('Service', 'fraudscore-scorer'), 'spec.selector'),
    ].filter((sel) => Object.entries(sel).every(([k, v]) => labels[k] === v));
    expect(selectors(get<Obj>(sts, 'spec.template.metadata.labels'))).toEqual([]);
    // A monitor labelled as a scorer would join the scorer's Service and count in its PDB.
    expect(selectors({ ...get<Obj>(sts, 'spec.template.metadata.labels'), 'app.kubernetes.io/component': 'scorer' })).toHaveLength(3);
  });
});

// ---- Kubernetes: scheduled retraining --------------------------------------------------------
describe('deploy/k8s: scheduled retraining', () => {
  const docs = manifests.map((m) => m.doc);
  const cron = byName('CronJob', 'fraudscore-retrain');
  const claim = byName('PersistentVolumeClaim', 'fraudscore-models');
  const pod = get<Obj>(cron, 'spec.jobTemplate.spec.template.spec');
  const container = get<Obj>(pod, 'containers.0');
  const { env } = resolveEnv(container, docs);
  const scorerDeployment = byKind('Deployment');
  const cm = get<Record<string, string>>(byKind('ConfigMap'), 'data');
  const secret = get<Record<string, string>>(byKind('Secret'), 'stringData');
  const scorer = loadConfig({ ...cm, ...secret });
  const runtime = parseDockerfile(readText('deploy/docker/Dockerfile')).at(-1)!;
  const entrypoint = execForm(all(runtime, 'ENTRYPOINT').at(-1) ?? '[]');
  const writable = mountsOf(container).filter((m) => !m.readOnly).map((m) => m.mountPath);

  it('validates strictly as a CronJob with its claim, and typos are rejected', () => {
    expect(manifests.filter((m) => m.file === 'retrain-cronjob.yaml').map((m) => m.doc.kind).sort()).toEqual(['CronJob', 'PersistentVolumeClaim']);
    expect(validateManifest(cron)).toEqual([]);
    expect(validateManifest(claim)).toEqual([]);

    const broken = clone(cron);
    (broken.spec as Obj).concurencyPolicy = 'Forbid';
    get<Obj>(broken, 'spec.jobTemplate.spec').backofLimit = 0;
    get<Obj>(broken, 'spec.jobTemplate.spec.template.spec.initContainers.0').volumeMount = [];
    const errors = validateManifest(broken).join('\n');
    expect(errors).toMatch(/additionalProperty.*concurencyPolicy/);
    expect(errors).toMatch(/additionalProperty.*backofLimit/);
    expect(errors).toMatch(/additionalProperty.*volumeMount"/);
    const badClaim = clone(claim);
    (badClaim.spec as Obj).accessModes = 'ReadWriteMany';
    expect(validateManifest(badClaim).join('\n')).toMatch(/accessModes must be array/);
  });

  it('runs one at a time and never retries (Forbid, backoffLimit 0), bounded in time and history', () => {
    expect(jobProblems(cron)).toEqual([]);
    expect(get(cron, 'spec.concurrencyPolicy')).toBe('Forbid');
    expect(get(cron, 'spec.jobTemplate.spec.backoffLimit')).toBe(0);
    // A stuck run is killed long before the next weekly one is due.
    expect(get<number>(cron, 'spec.jobTemplate.spec.activeDeadlineSeconds')).toBeLessThan(7 * 86_400);

    const broken = clone(cron);
    (broken.spec as Obj).concurrencyPolicy = 'Allow';
    delete get<Obj>(broken, 'spec.jobTemplate.spec').backoffLimit;
    delete get<Obj>(broken, 'spec.jobTemplate.spec').ttlSecondsAfterFinished;
    get<Obj>(broken, 'spec.jobTemplate.spec.template.spec').restartPolicy = 'OnFailure';
    expect(jobProblems(broken)).toHaveLength(4);
  });

  it('runs on a valid 5-field cron schedule, in an explicit time zone', () => {
    expect(cronProblems(String(get(cron, 'spec.schedule')))).toEqual([]);
    const zone = get<string>(cron, 'spec.timeZone');
    expect(() => new Intl.DateTimeFormat('en', { timeZone: zone })).not.toThrow();

    for (const ok of ['*/15 0-6 1,15 JAN-jun sun', '0 3 * * 7', '5 4 1-31/2 12 1-5']) expect(cronProblems(ok), ok).toEqual([]);
    for (const bad of ['0 0 3 * * 1', '@weekly', '60 3 * * 1', '0 24 * * 1', '0 3 0 * *', '0 3 * 13 1', '0 3 * * 8', '0 3 * * MON-', '0 5-3 * * *', '*/0 * * * *', 'CRON_TZ=UTC 0 3 * * 1']) {
      expect(cronProblems(bad), bad).toHaveLength(1);
    }
    expect(() => new Intl.DateTimeFormat('en', { timeZone: 'Europe/Pariss' })).toThrow();
  });

  it('runs `retrain --from-kafka --since 42d --deploy shadow` through the image entry point, with options the command has', () => {
    const run = retrainInvocation(container);
    expect(run.problems).toEqual([]);
    const options = retrainOptions();
    expect(retrainArgProblems(run.args, options, writable)).toEqual([]);
    expect(run.args.slice(0, 2)).toEqual(['retrain', '--from-kafka']);
    expect(run.args[run.args.indexOf('--deploy') + 1]).toBe('shadow');
    // The entry point is the image's: tini, then the compiled CLI.
    expect(entrypoint.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);

    const swap = (from: string, to: string[]) => run.args.flatMap((a) => (a === from ? to : [a]));
    expect(retrainArgProblems(swap('shadow', ['champion']), options, writable)).toEqual(['--deploy champion: a scheduled retrain adds its candidate as shadow only']);
    expect(retrainArgProblems(swap('42d', ['2024-01-01']), options, writable)).toEqual(['--since 2024-01-01: a fixed date; a schedule needs days before the run (42d)']);
    expect(retrainArgProblems(swap('--from-kafka', ['--kafka']), options, writable)).toHaveLength(2);
    expect(retrainArgProblems(swap('/work/run', ['/app/runs']), options, writable)).toEqual(['--out /app/runs is not on a writable volume']);
    expect(retrainArgProblems(['retrain', '--from-kafka', '--deploy'], options, writable)).toHaveLength(3);

    const wrong = clone(container);
    wrong.command = ['sh', '-c'];
    wrong.args = (wrong.args as string[]).filter((a, i, all) => a !== '--since' && all[i - 1] !== '--since');
    expect(retrainInvocation(wrong).problems).toHaveLength(2);
  });

  it('replays enough history for the retrain window, with a week for late labels', () => {
    const run = retrainInvocation(container);
    // No --delta-* flags: the command's defaults apply.
    expect(run.args.filter((a) => a.startsWith('--delta-'))).toEqual([]);
    expect(neededDays(DEFAULT_DELTAS)).toBe(35);
    expect((run.sinceDays ?? 0) - neededDays(DEFAULT_DELTAS)).toBeGreaterThanOrEqual(7);
    expect((run.sinceDays ?? 0) - neededDays({ ...DEFAULT_DELTAS, deltaTrain: 14 })).toBeLessThan(7);
    // ...and `transactions`, as `fraudscore topics` creates it, still holds those days and the
    // replay's warm-up before them.
    const tx = topicSpecs({ ...TOPICS, cardState: 'card-state' }, 12).find((t) => t.topic === TOPICS.transactions);
    const keptDays = Number(tx?.configEntries?.find((e) => e.name === 'retention.ms')?.value) / 86_400_000;
    expect(keptDays).toBe(TRANSACTIONS_RETENTION_DAYS);
    expect(keptDays).toBeGreaterThanOrEqual((run.sinceDays ?? 0) + LOOKBACK_MS / 86_400_000);
  });

  it("sets only settings the retrain command reads, the shared ones from the scorer's ConfigMap and Secret, with the scorers' values", () => {
    expect(resolveEnv(container, docs).problems).toEqual([]);
    expect(retrainEnvProblems(container, docs)).toEqual([]);
    // It replays what the scorers consume, the way they read it, and writes specs where they read them.
    expect(replayConfig(env)).toEqual({
      topics: { transactions: scorer.topics.transactions, outcomes: scorer.topics.outcomes },
      wireFormat: scorer.wireFormat,
      limits: { maxAmountMinor: scorer.maxAmountMinor, maxFutureSkewMs: scorer.maxFutureSkewMs },
    });
    expect(env.FRAUD_KAFKA_BROKERS?.split(',')).toEqual(scorer.brokers);
    expect(env.FRAUD_TOPIC_DEPLOYMENTS ?? TOPICS.deployments).toBe(scorer.topics.deployments);

    // Optional keys follow the ConfigMap once it sets them.
    const set = docs.map((d) => (d.kind === 'ConfigMap' ? { ...d, data: { ...cm, FRAUD_MAX_AMOUNT_MINOR: '5000', FRAUD_TOPIC_DEPLOYMENTS: 'specs' } } : d));
    const followed = resolveEnv(container, set).env;
    expect(replayConfig(followed).limits.maxAmountMinor).toBe(5000);
    expect(followed.FRAUD_TOPIC_DEPLOYMENTS).toBe('specs');

    const wrong = clone(container);
    (wrong.env as Obj[]).push(
      { name: 'FRAUD_GROUP_ID', value: 'fraudscore-scorer' },
      { name: 'FRAUD_MONITOR_DB', value: '/tmp/m.db' },
      { name: 'FRAUD_TOPIC_OUTCOMES', valueFrom: { configMapKeyRef: { name: 'fraudscore-scorer', key: 'FRAUD_TOPIC_DECISIONS' } } },
    );
    expect(retrainEnvProblems(wrong, docs)).toEqual([
      'FRAUD_GROUP_ID: the CLI does not read it',
      'FRAUD_MONITOR_DB: not a scorer setting, so no scorer value to share',
      "FRAUD_TOPIC_OUTCOMES: from fraudscore-scorer/FRAUD_TOPIC_DECISIONS, not the scorer's own FRAUD_TOPIC_OUTCOMES",
    ]);
    // envFrom would hand it every scorer-only setting.
    expect(retrainEnvProblems({ envFrom: [{ configMapRef: { name: 'fraudscore-scorer' } }] }, docs)).toContain('FRAUD_ADMIN_PORT: the CLI does not read it');
  });

  it('writes the candidate to the ReadWriteMany claim mounted where FRAUD_MODELS_DIR points, seeded from the scorers\' image', () => {
    const scorerSide = { image: get(scorerDeployment, 'spec.template.spec.containers.0.image'), modelsDir: scorer.modelsDir };
    expect(modelsClaimProblems(cron, env.FRAUD_MODELS_DIR, docs, scorerSide)).toEqual([]);
    expect(get(claim, 'spec.accessModes')).toEqual(['ReadWriteMany']);
    expect(get<Obj[]>(pod, 'volumes').find((v) => v.name === 'models')).toEqual({ name: 'models', persistentVolumeClaim: { claimName: 'fraudscore-models' } });

    // The ConfigMap's folder is the image's read-only /app/models: nothing is mounted there.
    expect(modelsClaimProblems(cron, scorer.modelsDir, docs, scorerSide)).toHaveLength(1);
    const rwo = docs.map((d) => (d === claim ? { ...d, spec: { ...(d.spec as Obj), accessModes: ['ReadWriteOnce'] } } : d));
    expect(modelsClaimProblems(cron, env.FRAUD_MODELS_DIR, rwo, scorerSide)).toEqual(['claim fraudscore-models is not ReadWriteMany: scorers on other nodes cannot mount it']);
    const broken = clone(cron);
    const seed = get<Obj>(broken, 'spec.jobTemplate.spec.template.spec.initContainers.0');
    seed.image = 'fraudscore-trainer:0.1.0';
    seed.command = (seed.command as string[]).map((a) => a.replace('force: false', 'force: true'));
    delete get<Obj>(broken, 'spec.jobTemplate.spec.template.spec.securityContext').fsGroup;
    expect(modelsClaimProblems(broken, env.FRAUD_MODELS_DIR, docs, scorerSide)).toHaveLength(3);
    delete get<Obj>(broken, 'spec.jobTemplate.spec.template.spec').initContainers;
    expect(modelsClaimProblems(broken, env.FRAUD_MODELS_DIR, docs, scorerSide).at(-1)).toMatch(/no init container seeds models/);
  });

  it('the shared-models overlay mounts that claim read-only where the scorers and the monitor read models', () => {
    const overlay = parse(readText('deploy/k8s/overlays/shared-models/kustomization.yaml')) as Obj;
    expect(overlay.kind).toBe('Kustomization');
    // It builds on the base itself.
    expect(overlay.resources).toEqual(['../..']);
    let patched = docs;
    for (const p of overlay.patches as { target: { kind: string; name: string }; patch: string }[]) {
      const ops = parse(p.patch) as { op: string; path: string; value: unknown }[];
      const hit = patched.filter((d) => d.kind === p.target.kind && get(d, 'metadata.name') === p.target.name);
      expect(hit, `${p.target.kind} ${p.target.name}`).toHaveLength(1);
      patched = patched.map((d) => (d === hit[0] ? jsonPatch(d, ops) : d));
    }
    const find = (kind: string, name: string) => patched.find((d) => d.kind === kind && get(d, 'metadata.name') === name)!;
    const deployment = find('Deployment', 'fraudscore-scorer');
    const sts = find('StatefulSet', 'fraudscore-monitor');
    const gateway = find('Deployment', 'fraudscore-gateway');
    for (const d of [deployment, sts, gateway]) expect(validateManifest(d)).toEqual([]);
    const scorerDir = loadConfig({ ...get<Record<string, string>>(find('ConfigMap', 'fraudscore-scorer'), 'data'), ...secret }).modelsDir;
    const loaded = (w: Obj) => onDisk(get<Obj>(w, 'spec.template.spec'), get<Obj>(w, 'spec.template.spec.containers.0'), resolveEnv(get<Obj>(w, 'spec.template.spec.containers.0'), patched).env, patched);
    const monitorDir = loadMonitorConfig(loaded(sts)).modelsDir;
    // The gateway reads the same ConfigMap key: it must find the default model there too.
    const gatewayDir = loadGatewayConfig(loaded(gateway)).shared.modelsDir;
    expect(gatewayDir).toBe(scorerDir);
    expect(sharedModelsProblems(deployment, scorerDir, 'fraudscore-models')).toEqual([]);
    expect(sharedModelsProblems(sts, monitorDir, 'fraudscore-models')).toEqual([]);
    expect(sharedModelsProblems(gateway, gatewayDir, 'fraudscore-models')).toEqual([]);
    // The retrain Job writes where the scorers then read.
    expect(env.FRAUD_MODELS_DIR).toBe(scorerDir);

    // Without the overlay, the scorers read the image's models: a candidate never reaches them.
    expect(sharedModelsProblems(scorerDeployment, scorer.modelsDir, 'fraudscore-models')).toEqual([`nothing mounted at its models folder ${scorer.modelsDir}`]);
    const writableMount = clone(deployment);
    delete mountsOf(get<Obj>(writableMount, 'spec.template.spec.containers.0')).find((m) => m.name === 'models')!.readOnly;
    get<Obj>(get<Obj[]>(writableMount, 'spec.template.spec.volumes').find((v) => v.name === 'models'), 'persistentVolumeClaim').claimName = 'models';
    expect(sharedModelsProblems(writableMount, scorerDir, 'fraudscore-models')).toHaveLength(2);
    expect(() => jsonPatch(deployment, [{ op: 'replace', path: '/spec/replicaz', value: 1 }])).toThrow();
  });

  it('runs non-root on a read-only root like the scorer, init container included, within its resources, from images kustomize sets', () => {
    for (const c of [...(pod.initContainers as Obj[]), ...(pod.containers as Obj[])]) {
      expect(hardeningProblems(pod, c), String(c.name)).toEqual([]);
      expect(get(c, 'securityContext'), String(c.name)).toEqual(get(scorerDeployment, 'spec.template.spec.containers.0.securityContext'));
      expect(containerResourceProblems(c.resources as Obj), String(c.name)).toEqual([]);
    }
    expect(pod.securityContext).toMatchObject(get<Obj>(scorerDeployment, 'spec.template.spec.securityContext'));
    expect(pod.automountServiceAccountToken).toBe(false);
    // The run folder and temporary files are scratch on emptyDirs; everything else is read-only.
    expect(writable.sort()).toEqual(['/models', '/tmp', '/work']);

    // Every image is one kustomize sets; the retrain's carries the trainer, which the scorers' image leaves out.
    const images = (kustomization.images as { name: string }[]).map((i) => i.name);
    const name = (image: unknown) => String(image).replace(/[:@].*$/, '');
    for (const c of [...(pod.initContainers as Obj[]), ...(pod.containers as Obj[])]) expect(images).toContain(name(c.image));
    if (!includedInContext(readText('.dockerignore'), 'services/trainer/train.py')) expect(name(container.image)).not.toBe(name(get(scorerDeployment, 'spec.template.spec.containers.0.image')));

    const broken = clone(pod);
    const [seed] = broken.initContainers as Obj[];
    (seed!.securityContext as Obj).readOnlyRootFilesystem = false;
    delete (seed!.securityContext as Obj).capabilities;
    expect(hardeningProblems(broken, seed!)).toHaveLength(2);
    expect(containerResourceProblems({ requests: { cpu: '2', memory: '8Gi' }, limits: { cpu: '1', memory: '4Gi' } })).toHaveLength(2);
  });

  it("keeps the retrain's pods out of the scorer's and the monitor's selectors", () => {
    const labels = get<Obj>(cron, 'spec.jobTemplate.spec.template.metadata.labels');
    const selectors = (l: Obj) => [
      get<Obj>(scorerDeployment, 'spec.selector.matchLabels'),
      get<Obj>(byKind('PodDisruptionBudget'), 'spec.selector.matchLabels'),
      get<Obj>(byName('Service', 'fraudscore-scorer'), 'spec.selector'),
      get<Obj>(byName('StatefulSet', 'fraudscore-monitor'), 'spec.selector.matchLabels'),
    ].filter((sel) => Object.entries(sel).every(([k, v]) => l[k] === v));
    expect(selectors(labels)).toEqual([]);
    // `kubectl create job --from=cronjob/…` copies the job template's labels: manual runs are found by them too.
    expect(get(cron, 'spec.jobTemplate.metadata.labels')).toEqual(labels);
    expect(selectors({ ...labels, 'app.kubernetes.io/component': 'scorer' })).toHaveLength(3);
  });
});

// ---- Alertmanager: the retrain trigger -------------------------------------------------------
describe('deploy/prometheus/alertmanager.yml', () => {
  const am = readYaml('deploy/prometheus/alertmanager.yml');
  const rules = (readYaml('deploy/prometheus/rules/fraudscore-monitor.yml').groups as { rules: { alert: string; labels?: Record<string, string> }[] }[]).flatMap((g) => g.rules);
  const labelsOf = (alert: string): Record<string, string> => {
    const rule = rules.find((r) => r.alert === alert);
    if (!rule) throw new Error(`no alert ${alert} in the rules`);
    return { alertname: alert, ...rule.labels, model: 'fraud-lgbm', version: '1.0.0', feature: 'amount' };
  };
  const TRIGGERS = ['FraudscoreInputDrift', 'FraudscoreChampionAccuracyDrop'];

  it('loads as Alertmanager would: a root receiver, every receiver it routes to defined once', () => {
    expect(alertmanagerProblems(am)).toEqual([]);
    expect(alertmanagerProblems({ ...am, receivers: [...(am.receivers as Obj[]), { name: 'fraudscore-oncall' }] })).toEqual(['receiver fraudscore-oncall defined twice']);
    expect(alertmanagerProblems({ ...am, receivers: (am.receivers as Obj[]).filter((r) => r.name !== 'fraudscore-retrain') })).toEqual(['receiver fraudscore-retrain is used but not defined']);
    expect(alertmanagerProblems({ ...am, route: { ...(am.route as Obj), receiver: undefined } })).toHaveLength(1);
  });

  it('sends the drift and accuracy alerts to the retrain webhook and on to the people on call; other alerts to them only', () => {
    const route = am.route as AmRoute;
    for (const alert of TRIGGERS) expect(receiversFor(route, labelsOf(alert)), alert).toEqual(['fraudscore-retrain', 'fraudscore-oncall']);
    for (const { alert } of rules.filter((r) => !TRIGGERS.includes(r.alert))) expect(receiversFor(route, labelsOf(alert)), alert).toEqual(['fraudscore-oncall']);

    const receiver = (am.receivers as Obj[]).find((r) => r.name === 'fraudscore-retrain');
    const [hook] = get<{ url: string; send_resolved?: boolean }[]>(receiver, 'webhook_configs');
    expect(new URL(hook!.url).protocol).toMatch(/^https?:$/);
    // Only a firing alert starts a retrain.
    expect(hook!.send_resolved).toBe(false);

    const [retrain, ...rest] = route.routes!;
    expect(receiversFor({ ...route, routes: [{ ...retrain!, continue: false }, ...rest] }, labelsOf(TRIGGERS[0]!))).toEqual(['fraudscore-retrain']);
    const typo = { ...retrain!, matchers: ['alertname=~"FraudscoreInputDrift|FraudscoreChampionAccuracyDrops"'] };
    expect(receiversFor({ ...route, routes: [typo, ...rest] }, labelsOf(TRIGGERS[1]!))).toEqual(['fraudscore-oncall']);
    // Anchored as Alertmanager anchors it: a prefix is no match.
    expect(matcher('alertname=~"FraudscoreInput"')({ alertname: 'FraudscoreInputDrift' })).toBe(false);
    expect(matcher('severity!=critical')({ severity: 'warning' })).toBe(true);
  });
});

// ---- Kubernetes: the REST gateway --------------------------------------------------------------
describe('deploy/k8s: the REST gateway', () => {
  const docs = manifests.map((m) => m.doc);
  const deployment = byName('Deployment', 'fraudscore-gateway');
  const service = byName('Service', 'fraudscore-gateway');
  const pod = get<Obj>(deployment, 'spec.template.spec');
  const container = get<Obj>(pod, 'containers.0');
  const resolved = resolveEnv(container, docs);
  const problems = resolved.problems;
  // With the files its mounts show (Kafka password and CA, and the image's model key, are read at start-up).
  const env = onDisk(pod, container, resolved.env, docs);
  const labels = get<Obj>(deployment, 'spec.template.metadata.labels');

  it('starts with the settings it is given: the scorers\' brokers, topics, wire format and models, keys from a file', () => {
    expect(problems).toEqual([]);
    const config = loadGatewayConfig(env);
    const scorer = loadConfig({ ...get<Record<string, string>>(byKind('ConfigMap'), 'data'), ...get<Record<string, string>>(byKind('Secret'), 'stringData') });
    expect(config.shared.brokers).toEqual(scorer.brokers);
    expect(config.shared.topics.transactions).toBe(scorer.topics.transactions);
    expect(config.shared.topics.replies).toBe(scorer.topics.replies);
    expect(config.shared.wireFormat).toBe(scorer.wireFormat);
    expect(config.shared.modelsDir).toBe(scorer.modelsDir);
    expect(config.apiKeysFile).toBeDefined();
    expect(config.apiKeys).toBeUndefined();
    expect(() => loadGatewayConfig({ ...env, FRAUD_GATEWAY_API_KEYS_FILE: undefined })).toThrow(/no API key configured/);
  });

  it('reads the keys from a Secret mounted read-only where FRAUD_GATEWAY_API_KEYS_FILE points', () => {
    const file = env.FRAUD_GATEWAY_API_KEYS_FILE!;
    const mount = mountsOf(container).find((m) => file.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
    const volume = get<Obj[]>(pod, 'volumes').find((v) => v.name === mount?.name);
    expect(get(volume, 'secret.secretName')).toBe('fraudscore-gateway-keys');
    // The Secret itself is made from a file (deploy/k8s holds none: keys never go to git).
    expect(docs.some((d) => d.kind === 'Secret' && get(d, 'metadata.name') === 'fraudscore-gateway-keys')).toBe(false);
  });

  it('serves the API and probes the admin port the gateway listens on; one instance, never two at once', () => {
    const config = loadGatewayConfig(env);
    const ports = Object.fromEntries(get<Obj[]>(container, 'ports').map((p) => [p.name, p.containerPort]));
    expect(ports).toEqual({ api: config.port, admin: config.adminPort });
    expect(get(container, 'readinessProbe.httpGet')).toEqual({ path: '/readyz', port: 'admin' });
    expect(get(container, 'livenessProbe.httpGet')).toEqual({ path: '/healthz', port: 'admin' });
    expect(get(service, 'spec.ports.0.targetPort')).toBe('api');
    expect(get(deployment, 'spec.replicas')).toBe(1);
    expect(get(deployment, 'spec.strategy.type')).toBe('Recreate');
  });

  it('runs non-root on a read-only root like the scorer, within its resources, apart from the scorer\'s selectors', () => {
    expect(hardeningProblems(pod, container)).toEqual([]);
    expect(containerResourceProblems(container.resources as Obj)).toEqual([]);
    const scorerSelectors = [get<Obj>(byKind('Deployment'), 'spec.selector.matchLabels'), get<Obj>(byName('Service', 'fraudscore-scorer'), 'spec.selector')];
    for (const sel of scorerSelectors) expect(Object.entries(sel).every(([k, v]) => labels[k] === v)).toBe(false);
    expect(Object.entries(get<Obj>(service, 'spec.selector')).every(([k, v]) => labels[k] === v)).toBe(true);
  });
});

describe('docker-compose.yml: the REST gateway', () => {
  const gw = services.gateway!;
  it('is opt-in (profile rest), keyed from a secret file outside git, healthy when ready, on the API port', () => {
    expect(gw.profiles).toEqual(['rest']);
    const env = get<Record<string, string>>(gw, 'environment');
    const config = loadGatewayConfig(env);
    expect(config.shared.brokers).toEqual(['kafka:9092']);
    expect(config.apiKeysFile).toBe('/run/secrets/gateway-api-keys');
    const file = get<string>(compose, 'secrets.gateway-api-keys.file');
    expect(readText('.gitignore')).toMatch(new RegExp(`^${file.replace(/^\.\//, '').split('/')[0]!.replace('.', '\\.')}/$`, 'm'));
    expect(gw.secrets).toEqual(['gateway-api-keys']);
    expect(gw.ports).toEqual([`${config.port}:${config.port}`]);
    expect(JSON.stringify(get(gw, 'healthcheck.test'))).toContain(`127.0.0.1:${config.adminPort}/readyz`);
    expect(get(gw, 'depends_on.scorer.condition')).toBe('service_healthy');
  });
});
