/**
 * docker-compose.yml and deploy/k8s checked offline: against the Compose Specification and
 * strict Kubernetes schemas (vendored), then for the promises that span files — autoscaling
 * bound by partitions, probes on the admin port, non-root, only FRAUD_* names the scorer knows;
 * the model monitor a single StatefulSet on its own volume, with only settings the monitor knows.
 * Each check has a broken twin that must be rejected, so a validator that accepts anything fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMonitorConfig } from '../../../services/monitor/src/config.js';
import { loadConfig } from '../../../services/scorer/src/config.js';
import { topicSpecs } from '../../../services/scorer/src/source/topics.js';
import {
  REPO, composePartitions, get, monitorConfigNames, readJson, readText, readYaml, readYamlDocs,
  scorerConfigNames, validateCompose, validateManifest, type Obj,
} from './support.js';

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

/** FRAUD_* names that the scorer's config does not declare. */
function unknownFraudVars(names: Iterable<string>): string[] {
  const known = scorerConfigNames();
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
  const sc = { ...(pod.securityContext as Obj), ...(c?.securityContext as Obj) };
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
  const res = get<Obj>(workload, 'spec.template.spec.containers.0.resources');
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

/**
 * A container's environment as the pod gets it: literal values, and ConfigMap/Secret keys
 * resolved against the manifests; a reference to a missing object or key is a problem (the
 * pod would not start), as is any other valueFrom (nothing here can resolve it).
 */
function resolveEnv(container: Obj, docs: readonly Obj[]): { env: Record<string, string>; problems: string[] } {
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
    const ref = (cm ?? secret)!;
    if (value === undefined) problems.push(`${e.name}: ${cm ? 'ConfigMap' : 'Secret'} ${ref.name} has no key ${ref.key}`);
    else env[e.name] = value;
  }
  return { env, problems };
}

/** Every variable name a container sets: its env, and every key of the ConfigMaps and Secrets it takes whole (envFrom). */
function envNames(container: Obj, docs: readonly Obj[]): string[] {
  const names = ((container.env ?? []) as { name: string }[]).map((e) => e.name);
  for (const from of (container.envFrom ?? []) as Obj[]) {
    const [kind, ref] = from.configMapRef ? ['ConfigMap', from.configMapRef] : ['Secret', from.secretRef];
    const doc = docs.find((d) => d.kind === kind && get(d, 'metadata.name') === get(ref, 'name'));
    names.push(...Object.keys({ ...get<Obj>(doc, 'data'), ...get<Obj>(doc, 'stringData') }).map((k) => `${String(from.prefix ?? '')}${k}`));
  }
  return names;
}

/** Names a container sets that the monitor's config schema does not declare (FRAUD_* or not). */
function unknownMonitorVars(names: Iterable<string>): string[] {
  const known = monitorConfigNames();
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
  });
});

// ---- Kubernetes: the model monitor -----------------------------------------------------------
describe('deploy/k8s: the model monitor', () => {
  const docs = manifests.map((m) => m.doc);
  const sts = byName('StatefulSet', 'fraudscore-monitor');
  const container = get<Obj>(sts, 'spec.template.spec.containers.0');
  const { env } = resolveEnv(container, docs);
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
