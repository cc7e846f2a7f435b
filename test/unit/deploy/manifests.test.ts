/**
 * docker-compose.yml and deploy/k8s checked offline: against the Compose Specification and
 * strict Kubernetes schemas (vendored), then for the promises that span files — autoscaling
 * bound by partitions, probes on the admin port, non-root, only FRAUD_* names the scorer knows.
 * Each check has a broken twin that must be rejected, so a validator that accepts anything fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../services/scorer/src/config.js';
import { topicSpecs } from '../../../services/scorer/src/source/topics.js';
import {
  REPO, composePartitions, get, readJson, readText, readYaml, readYamlDocs, scorerConfigNames,
  validateCompose, validateManifest, type Obj,
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
  if (admin?.containerPort !== adminPort) out.push(`admin containerPort ${admin?.containerPort} != FRAUD_ADMIN_PORT ${adminPort}`);
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
    expect(get(byKind('Service'), 'spec.ports.0.targetPort')).toBe('admin');

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
      get<Obj>(byKind('Service'), 'spec.selector'),
    ]) expect(labels).toMatchObject(sel);
    const res = get<Obj>(byKind('Deployment'), 'spec.template.spec.containers.0.resources');
    // Kubernetes quantities: cpu "1" / "500m", memory "512Mi" / "1Gi" (the forms used here).
    const cpu = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));
    const mem = (q: string) => Number(q.replace(/[MG]i$/, '')) * (q.endsWith('Gi') ? 1024 : 1);
    expect(cpu(get(res, 'requests.cpu'))).toBeLessThanOrEqual(cpu(get(res, 'limits.cpu')));
    expect(mem(get(res, 'requests.memory'))).toBeLessThanOrEqual(mem(get(res, 'limits.memory')));
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
