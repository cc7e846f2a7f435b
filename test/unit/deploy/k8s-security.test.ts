/**
 * deploy/k8s secure by default, checked offline: every workload that talks to Kafka logs in over
 * SASL_SSL as its own principal, with its password and the brokers' CA read from files of
 * read-only mounted Secrets (never a value in git), and its own config loader accepts what it
 * is given; the principals are the ones `fraudscore acls` grants, on the groups and topics the
 * workloads use; models are verified (scorer, gateway) and signed (retrain) with keys from
 * where the manifests say; the pods are hardened; KEDA reads the lag with the scorer's
 * credentials; the NetworkPolicies let in exactly Prometheus on the admin ports and the ingress
 * controller on the gateway's API. Secrets that git does not hold are made by commands that
 * deploy/README.md documents. Each check has a broken twin that must be caught.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_PLAN } from '../../../services/cli/src/commands/topics.js';
import { signingKeyFrom } from '../../../services/cli/src/commands/model-signing.js';
import { aclGrants, DEFAULT_ACL_PLAN, PRINCIPALS } from '../../../services/cli/src/security/acls.js';
import { kafkaSecurityFromEnv, type KafkaSecurity } from '../../../services/common/src/kafka-security.js';
import { loadPublicKeys, verifyManifest } from '../../../services/common/src/model-signature.js';
import { loadGatewayConfig } from '../../../services/gateway/src/config.js';
import { loadMonitorConfig } from '../../../services/monitor/src/config.js';
import { loadConfig } from '../../../services/scorer/src/config.js';
import { all, copies, parseDockerfile } from './dockerfile.js';
import {
  REPO, get, mountOf, onDisk, removePodFiles, readJson, readText, readYaml, readYamlDocs, resolveEnv, volumeFiles, type Mount, type Obj,
} from './support.js';


afterAll(removePodFiles);
const kustomization = readYaml('deploy/k8s/kustomization.yaml');
const docs = (kustomization.resources as string[]).flatMap((f) => readYamlDocs(`deploy/k8s/${f}`));
const clone = <T>(v: T): T => structuredClone(v);
const readme = readText('deploy/README.md');

// ---- the workloads and what their processes see ----------------------------------------------

interface Workload { id: string; doc: Obj; pod: Obj; labels: Obj; containers: Obj[] }

const POD_PATH: Record<string, string> = {
  Deployment: 'spec.template', StatefulSet: 'spec.template', DaemonSet: 'spec.template', Job: 'spec.template', CronJob: 'spec.jobTemplate.spec.template',
};

function workloadsOf(all: readonly Obj[]): Workload[] {
  return all.filter((d) => POD_PATH[String(d.kind)]).map((doc) => {
    const template = get<Obj>(doc, POD_PATH[String(doc.kind)]!);
    const pod = get<Obj>(template, 'spec');
    return {
      id: `${String(doc.kind)}/${String(get(doc, 'metadata.name'))}`, doc, pod,
      labels: get<Obj | undefined>(template, 'metadata.labels') ?? {},
      containers: [...((pod.initContainers ?? []) as Obj[]), ...((pod.containers ?? []) as Obj[])],
    };
  });
}
const workloads = workloadsOf(docs);
const workload = (id: string): Workload => {
  const w = workloads.find((x) => x.id === id);
  if (!w) throw new Error(`no ${id} in deploy/k8s`);
  return w;
};

/** The environment the container's process gets: whole ConfigMaps and Secrets (envFrom), then its own env on top. */
function processEnv(container: Obj, all: readonly Obj[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of (container.envFrom ?? []) as Obj[]) {
    const [kind, ref] = from.configMapRef ? ['ConfigMap', from.configMapRef] : ['Secret', from.secretRef];
    const doc = all.find((d) => d.kind === kind && get(d, 'metadata.name') === get(ref, 'name'));
    for (const [k, v] of Object.entries({ ...get<Obj>(doc, 'data'), ...get<Obj>(doc, 'stringData') })) env[`${String(from.prefix ?? '')}${k}`] = String(v);
  }
  return { ...env, ...resolveEnv(container, all).env };
}

const talksToKafka = (env: Record<string, string>): boolean => Boolean(env.FRAUD_KAFKA_BROKERS || env.KAFKA_BROKERS);

/**
 * Who each workload is on Kafka. None is the super user admin: the retrain, which reads history
 * in throwaway consumer groups and writes the deployments topic, is `trainer`, granted exactly
 * that (services/cli/src/security/acls.ts).
 */
const PRINCIPAL_OF: Record<string, string> = {
  'Deployment/fraudscore-scorer': 'scorer',
  'Deployment/fraudscore-gateway': 'gateway',
  'StatefulSet/fraudscore-monitor': 'monitor',
  'CronJob/fraudscore-retrain': 'trainer',
};
const KAFKA_CA = { kind: 'Secret', name: 'fraudscore-kafka-ca', key: 'ca.pem' } as const;
const passwordSecret = (principal: string) => ({ kind: 'Secret', name: `fraudscore-kafka-${principal}`, key: 'password' }) as const;

// ---- invariants as functions, fed broken twins too -------------------------------------------

type Want = { kind: 'Secret' | 'ConfigMap'; name: string; key: string };

/** Problems with a setting that names a file: it must be under a read-only mount whose volume shows that object's key there. */
function fileProblems(pod: Obj, container: Obj, all: readonly Obj[], setting: string, file: string | undefined, want: Want): string[] {
  if (!file) return [`${setting} is not set`];
  const at = mountOf(pod, container, file);
  if (!at) return [`${setting} ${file}: nothing is mounted there`];
  const out: string[] = [];
  if (at.mount.readOnly !== true) out.push(`${setting}: volume ${at.mount.name} is mounted writable`);
  const shown = volumeFiles(at.volume, all).find((f) => f.path === at.rel);
  if (!shown) out.push(`${setting} ${file}: volume ${at.mount.name} shows no ${at.rel}`);
  else if (shown.kind !== want.kind || shown.name !== want.name || shown.key !== want.key) {
    out.push(`${setting} ${file} is ${shown.kind} ${shown.name}/${shown.key}, not ${want.kind} ${want.name}/${want.key}`);
  }
  return out;
}

/** Problems with how a container logs in to Kafka: SASL_SSL, SCRAM-SHA-512, as `principal`, password and CA from mounted Secrets only. */
function kafkaProblems(pod: Obj, container: Obj, all: readonly Obj[], principal: string): string[] {
  const env = processEnv(container, all);
  const out: string[] = [];
  if (env.FRAUD_KAFKA_SECURITY_PROTOCOL !== 'SASL_SSL') out.push(`FRAUD_KAFKA_SECURITY_PROTOCOL ${String(env.FRAUD_KAFKA_SECURITY_PROTOCOL)}, not SASL_SSL`);
  if (env.FRAUD_KAFKA_SASL_MECHANISM !== 'SCRAM-SHA-512') out.push(`FRAUD_KAFKA_SASL_MECHANISM ${String(env.FRAUD_KAFKA_SASL_MECHANISM)}, not SCRAM-SHA-512`);
  if (env.FRAUD_KAFKA_SASL_USERNAME !== principal) out.push(`FRAUD_KAFKA_SASL_USERNAME ${String(env.FRAUD_KAFKA_SASL_USERNAME)}, not its principal ${principal}`);
  if ('FRAUD_KAFKA_SASL_PASSWORD' in env) out.push('FRAUD_KAFKA_SASL_PASSWORD is set: the password comes from a file only (FRAUD_KAFKA_SASL_PASSWORD_FILE)');
  out.push(...fileProblems(pod, container, all, 'FRAUD_KAFKA_SASL_PASSWORD_FILE', env.FRAUD_KAFKA_SASL_PASSWORD_FILE, passwordSecret(principal)));
  out.push(...fileProblems(pod, container, all, 'FRAUD_KAFKA_SSL_CA_LOCATION', env.FRAUD_KAFKA_SSL_CA_LOCATION, KAFKA_CA));
  return out;
}

/** The security a container's process would run with, reading the files its mounts show. */
function securityOf(w: Workload, container: Obj, all: readonly Obj[] = docs): KafkaSecurity {
  return kafkaSecurityFromEnv(onDisk(w.pod, container, processEnv(container, all), all));
}

/** Variables that hold a credential: never a value in git, nor an env var from a Secret (files only). */
const CREDENTIAL = /(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|SIGNING_KEY|API_KEYS?)$/;

/** Problems with credentials in a container's env: set as a value, or from a Secret into the environment. */
function credentialEnvProblems(container: Obj): string[] {
  const out: string[] = [];
  for (const e of (container.env ?? []) as { name: string; value?: string; valueFrom?: Obj }[]) {
    if (!CREDENTIAL.test(e.name)) continue;
    if (e.value !== undefined) out.push(`${e.name} has a value in git`);
    else if (e.valueFrom?.secretKeyRef) out.push(`${e.name} comes from a Secret into the environment: mount it and set ${e.name}_FILE`);
  }
  return out;
}

/** Problems with what git holds in Secrets: a key or a value that looks like a credential. */
function secretObjectProblems(all: readonly Obj[]): string[] {
  const out: string[] = [];
  for (const d of all.filter((x) => x.kind === 'Secret')) {
    for (const [k, v] of Object.entries({ ...get<Obj>(d, 'data'), ...get<Obj>(d, 'stringData') })) {
      const name = `Secret ${String(get(d, 'metadata.name'))} key ${k}`;
      if (CREDENTIAL.test(k.toUpperCase().replace(/[^A-Z0-9]/g, '_')) || /\.(pem|key|p12|jks)$/.test(k)) out.push(`${name}: a credential in git`);
      if (/password\s*=|PRIVATE KEY|:\/\/[^/\s:@]+:[^/\s@]+@/i.test(String(v))) out.push(`${name}: its value carries a credential`);
    }
  }
  return out;
}

/** Every (Secret, key) a pod, or KEDA on its behalf, needs. */
function secretRefs(all: readonly Obj[]): { name: string; key: string | undefined; by: string }[] {
  const out: { name: string; key: string | undefined; by: string }[] = [];
  for (const w of workloadsOf(all)) {
    for (const v of (w.pod.volumes ?? []) as Obj[]) {
      for (const f of volumeFiles(v, [])) if (f.kind === 'Secret') out.push({ name: f.name, key: f.key, by: w.id });
      if (v.secret && !get(v, 'secret.items')) out.push({ name: String(get(v, 'secret.secretName')), key: undefined, by: w.id });
    }
    for (const c of w.containers) {
      for (const e of (c.env ?? []) as { valueFrom?: Obj }[]) {
        const ref = e.valueFrom?.secretKeyRef as { name: string; key: string } | undefined;
        if (ref) out.push({ name: ref.name, key: ref.key, by: w.id });
      }
      for (const f of (c.envFrom ?? []) as Obj[]) if (f.secretRef) out.push({ name: String(get(f, 'secretRef.name')), key: undefined, by: w.id });
    }
  }
  for (const ta of all.filter((d) => d.kind === 'TriggerAuthentication')) {
    for (const r of get<{ name: string; key: string }[] | undefined>(ta, 'spec.secretTargetRef') ?? []) out.push({ name: r.name, key: r.key, by: `TriggerAuthentication/${String(get(ta, 'metadata.name'))}` });
  }
  return out;
}

/** The `kubectl create secret generic <name> --from-file=<key>=…` commands of a text (lines continued with `\`): name → keys. */
function documentedSecrets(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of text.replace(/\\\n\s*/g, ' ').matchAll(/kubectl\b[^\n]*?\bcreate secret generic ([\w.-]+)([^\n]*)/g)) {
    const keys = out.get(m[1]!) ?? new Set<string>();
    for (const f of m[2]!.matchAll(/--from-file=([\w.-]+)=/g)) keys.add(f[1]!);
    out.set(m[1]!, keys);
  }
  return out;
}

/** Secrets the pods need that deploy/k8s does not hold and the text does not say how to make (with the key). */
function undocumentedSecrets(all: readonly Obj[], text: string): string[] {
  const inGit = new Set(all.filter((d) => d.kind === 'Secret').map((d) => String(get(d, 'metadata.name'))));
  const documented = documentedSecrets(text);
  const missing = new Map<string, { by: Set<string>; keys: Set<string> }>();
  for (const r of secretRefs(all)) {
    if (inGit.has(r.name)) continue;
    const keys = documented.get(r.name);
    if (keys && (r.key === undefined || keys.has(r.key))) continue;
    const m = missing.get(r.name) ?? { by: new Set<string>(), keys: new Set<string>() };
    m.by.add(r.by);
    if (keys && r.key !== undefined) m.keys.add(r.key);
    missing.set(r.name, m);
  }
  return [...missing].map(([name, m]) => `${name} (needed by ${[...m.by].join(', ')}): ${m.keys.size ? `made without key ${[...m.keys].join(', ')}` : `no kubectl create secret generic ${name}`}`);
}

/** Problems with a pod's hardening: non-root, seccomp, no token; each container without privileges on a read-only root; writable only scratch and claims. */
function hardeningProblems(w: Workload): string[] {
  const out: string[] = [];
  const psc = (w.pod.securityContext ?? {}) as Obj;
  if (psc.runAsNonRoot !== true) out.push('runAsNonRoot is not true');
  if (get(psc, 'seccompProfile.type') !== 'RuntimeDefault') out.push('seccompProfile is not RuntimeDefault');
  if (w.pod.automountServiceAccountToken !== false) out.push('a service-account token is mounted');
  const claims = new Set((get<Obj[] | undefined>(w.doc, 'spec.volumeClaimTemplates') ?? []).map((t) => String(get(t, 'metadata.name'))));
  for (const c of w.containers) {
    const sc = (c.securityContext ?? {}) as Obj;
    const name = String(c.name);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${name}: privilege escalation allowed`);
    if (sc.privileged === true) out.push(`${name}: privileged`);
    if (sc.readOnlyRootFilesystem !== true) out.push(`${name}: root filesystem writable`);
    if (!(get<string[]>(sc, 'capabilities.drop') ?? []).includes('ALL')) out.push(`${name}: capabilities not all dropped`);
    if ((get<string[]>(sc, 'capabilities.add') ?? []).length) out.push(`${name}: adds capabilities`);
    if (sc.runAsUser === 0 || psc.runAsUser === 0) out.push(`${name}: runs as uid 0`);
    for (const m of (c.volumeMounts ?? []) as Mount[]) {
      const v = ((w.pod.volumes ?? []) as Obj[]).find((x) => x.name === m.name);
      const scratch = Boolean(v?.emptyDir) || Boolean(v?.persistentVolumeClaim) || claims.has(m.name);
      if (!m.readOnly && !scratch) out.push(`${name}: ${m.mountPath} (${m.name}) is writable but neither scratch nor a claim`);
    }
  }
  return out;
}

/** Problems with KEDA's access to the lag: the trigger speaks what the scorer speaks, with the scorer's own credentials and CA. */
function kedaProblems(so: Obj, all: readonly Obj[]): string[] {
  const [trigger] = get<Obj[]>(so, 'spec.triggers');
  const meta = (trigger?.metadata ?? {}) as Record<string, string>;
  const target = workloadsOf(all).find((w) => w.doc.kind === 'Deployment' && get(w.doc, 'metadata.name') === get(so, 'spec.scaleTargetRef.name'));
  if (!target) return ['the ScaledObject scales no Deployment of deploy/k8s'];
  const container = (get<Obj[]>(target.pod, 'containers'))[0]!;
  const env = processEnv(container, all);
  const out: string[] = [];
  if (env.FRAUD_KAFKA_SECURITY_PROTOCOL === 'SASL_SSL' && meta.tls !== 'enable') out.push(`tls ${String(meta.tls)}: the scorer speaks SASL_SSL`);
  const sasl = String(env.FRAUD_KAFKA_SASL_MECHANISM ?? '').toLowerCase().replace(/-(\d+)$/, '$1').replace(/-/g, '_');
  if (meta.sasl !== sasl) out.push(`sasl ${String(meta.sasl)}, not the scorer's ${sasl}`);
  const authName = get<string | undefined>(trigger, 'authenticationRef.name');
  const ta = all.find((d) => d.kind === 'TriggerAuthentication' && get(d, 'metadata.name') === authName);
  if (!ta) return [...out, `authenticationRef ${String(authName)} names no TriggerAuthentication in deploy/k8s`];
  const secretParam = (p: string) => (get<{ parameter: string; name: string; key: string }[] | undefined>(ta, 'spec.secretTargetRef') ?? []).find((r) => r.parameter === p);
  const envParam = (p: string) => (get<{ parameter: string; name: string; containerName?: string }[] | undefined>(ta, 'spec.env') ?? []).find((r) => r.parameter === p);
  const user = envParam('username');
  const userContainer = ((target.pod.containers ?? []) as Obj[]).find((c) => c.name === (user?.containerName ?? container.name));
  const username = userContainer && user ? processEnv(userContainer, all)[user.name] : undefined;
  if (username !== env.FRAUD_KAFKA_SASL_USERNAME) out.push(`username ${String(username)}, not the scorer's ${String(env.FRAUD_KAFKA_SASL_USERNAME)}`);
  const same = (p: string, setting: string) => {
    const ref = secretParam(p);
    const at = mountOf(target.pod, container, env[setting] ?? '');
    const shown = at && volumeFiles(at.volume, all).find((f) => f.path === at.rel);
    if (!ref || !shown || ref.name !== shown.name || ref.key !== shown.key) out.push(`${p} from ${ref ? `${ref.name}/${ref.key}` : 'nowhere'}, not from what the scorer mounts (${shown ? `${shown.name}/${shown.key}` : '?'})`);
  };
  same('password', 'FRAUD_KAFKA_SASL_PASSWORD_FILE');
  same('ca', 'FRAUD_KAFKA_SSL_CA_LOCATION');
  return out;
}

// ---- NetworkPolicy -----------------------------------------------------------------------------

/** The namespaces the documented peers are, by the label Kubernetes puts on every namespace. */
const NAMESPACE_LABEL = 'kubernetes.io/metadata.name';
const MONITORING = 'monitoring';
const INGRESS = 'ingress-nginx';
/** Who may reach a container port, by its name: Prometheus the admin ports, the ingress controller the API. */
const DOCUMENTED_PEER: Record<string, string> = { admin: MONITORING, api: INGRESS };

const policies = (all: readonly Obj[]) => all.filter((d) => d.kind === 'NetworkPolicy');
const selects = (selector: Obj | undefined, labels: Obj): boolean =>
  Object.entries((selector?.matchLabels ?? {}) as Obj).every(([k, v]) => labels[k] === v);
const selectsAll = (selector: Obj | undefined): boolean =>
  !selector || (!Object.keys((selector.matchLabels ?? {}) as Obj).length && !((selector.matchExpressions ?? []) as unknown[]).length);

/** The ports a workload's containers declare: name → number. */
const portsOf = (w: Workload): Map<string, number> =>
  new Map(w.containers.flatMap((c) => ((c.ports ?? []) as { name?: string; containerPort: number }[]).map((p) => [String(p.name), p.containerPort] as [string, number])));

/** What the policies let reach a workload's pods, as "<port>/<protocol> from <namespace>" (policy problems alongside). */
function allowedIngress(w: Workload, all: readonly Obj[]): { allowed: Set<string>; problems: string[] } {
  const allowed = new Set<string>();
  const problems: string[] = [];
  const ports = portsOf(w);
  for (const p of policies(all).filter((x) => selects(get(x, 'spec.podSelector'), w.labels))) {
    const name = String(get(p, 'metadata.name'));
    if (((get<Obj | undefined>(p, 'spec.podSelector.matchExpressions') as unknown[] | undefined) ?? []).length) problems.push(`${name}: matchExpressions are not read here`);
    for (const rule of (get<Obj[] | undefined>(p, 'spec.ingress') ?? [])) {
      const from = (rule.from ?? []) as Obj[];
      const rulePorts = (rule.ports ?? []) as { port?: number | string; protocol?: string }[];
      if (!from.length) problems.push(`${name}: a rule without \`from\` admits every source`);
      if (!rulePorts.length) problems.push(`${name}: a rule without \`ports\` opens every port`);
      for (const peer of from) {
        const labels = get<Obj | undefined>(peer, 'namespaceSelector.matchLabels') ?? {};
        const ns = labels[NAMESPACE_LABEL];
        if (peer.ipBlock || peer.podSelector || typeof ns !== 'string' || Object.keys(labels).length !== 1) {
          problems.push(`${name}: peer ${JSON.stringify(peer)} is not one namespace by ${NAMESPACE_LABEL}`);
          continue;
        }
        for (const rp of rulePorts) {
          const port = typeof rp.port === 'string' ? ports.get(rp.port) : rp.port;
          allowed.add(`${String(port)}/${rp.protocol ?? 'TCP'} from ${ns}`);
        }
      }
    }
  }
  return { allowed, problems };
}

/** What the documentation promises for a workload: each named port it declares, from that name's peer. */
function documentedIngress(w: Workload): Set<string> {
  return new Set([...portsOf(w)].map(([name, port]) => `${port}/TCP from ${DOCUMENTED_PEER[name] ?? `(undocumented port ${name})`}`));
}

/** Problems with the namespace-wide policy: one policy selecting every pod, for Ingress, that allows nothing. */
function defaultDenyProblems(all: readonly Obj[]): string[] {
  const deny = policies(all).filter((p) => selectsAll(get(p, 'spec.podSelector')));
  if (deny.length !== 1) return [`${deny.length} policies select every pod; expected one default deny`];
  const [p] = deny;
  const out: string[] = [];
  if (!(get<string[] | undefined>(p, 'spec.policyTypes') ?? []).includes('Ingress')) out.push('the default policy does not cover Ingress');
  if ((get<unknown[] | undefined>(p, 'spec.ingress') ?? []).length) out.push('the default policy allows some ingress');
  return out;
}

// ---- tests ------------------------------------------------------------------------------------

describe('deploy/k8s: Kafka over SASL_SSL, one principal per workload', () => {
  const kafkaClients = workloads.flatMap((w) => w.containers.filter((c) => talksToKafka(processEnv(c, docs))).map((c) => ({ w, c })));

  it('every container that talks to Kafka is a workload of the table, and logs in as its principal with files from mounted Secrets', () => {
    expect(kafkaClients.map(({ w }) => w.id).sort()).toEqual(Object.keys(PRINCIPAL_OF).sort());
    for (const { w, c } of kafkaClients) expect(kafkaProblems(w.pod, c, docs, PRINCIPAL_OF[w.id]!), w.id).toEqual([]);
    // The seed init container copies files only: no Kafka, so no credentials either.
    const seed = workload('CronJob/fraudscore-retrain').containers.find((c) => c.name === 'seed-models')!;
    expect(talksToKafka(processEnv(seed, docs))).toBe(false);
    expect(seed.volumeMounts).toEqual([expect.objectContaining({ name: 'models' })]);
  });

  it('catches broken twins: plaintext, a password value, another principal, a writable or missing mount, a CA from elsewhere', () => {
    const w = workload('Deployment/fraudscore-scorer');
    const twin = (edit: (pod: Obj, c: Obj) => void): string[] => {
      const pod = clone(w.pod);
      const c = get<Obj>(pod, 'containers.0');
      edit(pod, c);
      return kafkaProblems(pod, c, docs, 'scorer');
    };
    const setEnv = (c: Obj, name: string, value: string | undefined) => {
      const env = c.env as { name: string; value?: string }[];
      const at = env.findIndex((e) => e.name === name);
      if (value === undefined) env.splice(at, 1);
      else if (at < 0) env.push({ name, value });
      else env[at] = { name, value };
    };
    expect(twin((_, c) => setEnv(c, 'FRAUD_KAFKA_SECURITY_PROTOCOL', 'PLAINTEXT'))).toEqual(['FRAUD_KAFKA_SECURITY_PROTOCOL PLAINTEXT, not SASL_SSL']);
    expect(twin((_, c) => setEnv(c, 'FRAUD_KAFKA_SASL_MECHANISM', undefined))).toHaveLength(1);
    expect(twin((_, c) => setEnv(c, 'FRAUD_KAFKA_SASL_PASSWORD', 'hunter2'))).toHaveLength(1);
    expect(twin((_, c) => setEnv(c, 'FRAUD_KAFKA_SASL_USERNAME', 'admin'))).toEqual(['FRAUD_KAFKA_SASL_USERNAME admin, not its principal scorer']);
    expect(twin((pod) => {
      const v = (pod.volumes as Obj[]).find((x) => x.name === 'kafka')!;
      get<Obj>(v, 'projected.sources.0.secret').name = 'fraudscore-kafka-admin';
    })).toEqual(['FRAUD_KAFKA_SASL_PASSWORD_FILE /var/run/secrets/fraudscore/kafka/password is Secret fraudscore-kafka-admin/password, not Secret fraudscore-kafka-scorer/password']);
    expect(twin((_, c) => { delete (c.volumeMounts as Mount[]).find((m) => m.name === 'kafka')!.readOnly; })).toHaveLength(2);
    expect(twin((_, c) => { c.volumeMounts = (c.volumeMounts as Mount[]).filter((m) => m.name !== 'kafka'); })).toHaveLength(2);
    expect(twin((_, c) => setEnv(c, 'FRAUD_KAFKA_SSL_CA_LOCATION', '/tmp/ca.pem'))).toEqual([
      'FRAUD_KAFKA_SSL_CA_LOCATION: volume tmp is mounted writable',
      'FRAUD_KAFKA_SSL_CA_LOCATION /tmp/ca.pem: volume tmp shows no ca.pem',
    ]);
  });

  it("each service's own config loader accepts it, reading the password and the CA from the files its mounts show", () => {
    for (const { w, c } of kafkaClients) {
      const s = securityOf(w, c);
      expect(s.protocol, w.id).toBe('SASL_SSL');
      expect(s.sasl?.username, w.id).toBe(PRINCIPAL_OF[w.id]);
      expect(s.sasl?.mechanism, w.id).toBe('SCRAM-SHA-512');
      expect(s.ca?.pem, w.id).toContain('BEGIN CERTIFICATE');
    }
    const scorer = workload('Deployment/fraudscore-scorer');
    const env = (w: Workload) => onDisk(w.pod, get<Obj>(w.pod, 'containers.0'), { ...processEnv(get<Obj>(w.pod, 'containers.0'), docs), FRAUD_CLIENT_ID: 'pod-0', FRAUD_INSTANCE_ID: 'pod-0' }, docs);
    expect(loadConfig(env(scorer)).security.sasl?.username).toBe('scorer');
    expect(loadGatewayConfig(env(workload('Deployment/fraudscore-gateway'))).shared.security.sasl?.username).toBe('gateway');
    expect(() => loadMonitorConfig(env(workload('StatefulSet/fraudscore-monitor')))).not.toThrow();

    // Without the mount, the file is not there and the scorer refuses to start, naming the setting.
    const unmounted = clone(scorer);
    const c = get<Obj>(unmounted.pod, 'containers.0');
    c.volumeMounts = (c.volumeMounts as Mount[]).filter((m) => m.name !== 'kafka');
    expect(() => loadConfig(env(unmounted))).toThrow(/FRAUD_KAFKA_SASL_PASSWORD_FILE=\/var\/run\/secrets\/fraudscore\/kafka\/password: cannot read it/);
  });

  it('uses principals `fraudscore acls` knows, on the groups and topics it grants them; no workload is admin', () => {
    // Every workload is a principal with grants: admin (the super user, no ACLs) is not one of them.
    for (const p of Object.values(PRINCIPAL_OF)) expect(PRINCIPALS as readonly string[]).toContain(p);
    expect(Object.entries(PRINCIPAL_OF).filter(([, p]) => p === 'admin').map(([id]) => id)).toEqual([]);
    // `fraudscore acls` applies the default plan: the workloads must use its groups and topics.
    const plan = { ...DEFAULT_ACL_PLAN, topics: DEFAULT_TOPIC_PLAN };
    const scorerEnv = processEnv(get<Obj>(workload('Deployment/fraudscore-scorer').pod, 'containers.0'), docs);
    const scorer = loadConfig({ ...scorerEnv, FRAUD_KAFKA_SECURITY_PROTOCOL: undefined, FRAUD_KAFKA_SASL_USERNAME: undefined, FRAUD_KAFKA_SASL_PASSWORD_FILE: undefined, FRAUD_KAFKA_SSL_CA_LOCATION: undefined, FRAUD_MODEL_PUBLIC_KEYS: undefined });
    expect(scorer.groupId).toBe(plan.scorerGroup);
    expect(scorer.topics).toEqual(plan.topics);
    const monitorEnv = processEnv(get<Obj>(workload('StatefulSet/fraudscore-monitor').pod, 'containers.0'), docs);
    expect(monitorEnv.FRAUD_MONITOR_GROUP_ID).toBe(plan.monitorGroup);
    const gatewayEnv = processEnv(get<Obj>(workload('Deployment/fraudscore-gateway').pod, 'containers.0'), docs);
    expect(`fraudscore-gateway-${String(gatewayEnv.FRAUD_GATEWAY_INSTANCE_ID)}`.startsWith(plan.gatewayGroupPrefix)).toBe(true);
    // Each principal has grants, and a group of its own.
    const grants = aclGrants(plan);
    for (const p of Object.values(PRINCIPAL_OF)) {
      expect(grants.some((g) => g.principal === p && g.resource === 'GROUP'), p).toBe(true);
    }
    // The retrain replays the topics the scorers consume, and writes its spec where they read specs.
    const retrainEnv = processEnv(get<Obj>(workload('CronJob/fraudscore-retrain').pod, 'containers.0'), docs);
    const trainerMay = (op: 'READ' | 'WRITE', topic: string) =>
      grants.some((g) => g.principal === 'trainer' && g.resource === 'TOPIC' && g.name === topic && g.operations.includes(op));
    expect(retrainEnv.FRAUD_TOPIC_TRANSACTIONS ?? plan.topics.transactions).toBe(plan.topics.transactions);
    expect(retrainEnv.FRAUD_TOPIC_OUTCOMES ?? plan.topics.outcomes).toBe(plan.topics.outcomes);
    expect(trainerMay('READ', plan.topics.transactions) && trainerMay('READ', plan.topics.outcomes)).toBe(true);
    expect(trainerMay('READ', plan.topics.deployments) && trainerMay('WRITE', plan.topics.deployments)).toBe(true);
    // Besides admin, only the retrain's trainer may write the deployments topic (the scorers
    // still serve only signed models), and it writes no other topic.
    expect(grants.filter((g) => g.name === plan.topics.deployments && g.operations.includes('WRITE')).map((g) => g.principal)).toEqual(['trainer']);
    expect(grants.filter((g) => g.principal === 'trainer' && g.resource === 'TOPIC' && g.operations.includes('WRITE')).map((g) => g.name)).toEqual([plan.topics.deployments]);
  });

  it('keeps every credential out of git: no value in an env, no credential in a Secret manifest, none in the YAML text', () => {
    for (const w of workloads) for (const c of w.containers) expect(credentialEnvProblems(c), `${w.id} ${String(c.name)}`).toEqual([]);
    const everything = [
      ...docs,
      ...readYamlDocs('deploy/k8s/overlays/shared-models/kustomization.yaml'),
    ];
    expect(secretObjectProblems(everything)).toEqual([]);
    const files = [...(kustomization.resources as string[]).map((f) => `deploy/k8s/${f}`), 'deploy/k8s/kustomization.yaml', 'deploy/k8s/overlays/shared-models/kustomization.yaml'];
    for (const f of files) expect(readText(f), f).not.toMatch(/password\s*=|BEGIN [A-Z ]*PRIVATE KEY|sasl\.jaas\.config/i);

    expect(credentialEnvProblems({ env: [{ name: 'FRAUD_KAFKA_SASL_PASSWORD', value: 'x' }, { name: 'FRAUD_SCHEMA_REGISTRY_PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }, { name: 'FRAUD_KAFKA_SASL_PASSWORD_FILE', value: '/f' }, { name: 'FRAUD_MODEL_PUBLIC_KEYS', value: '/k' }] })).toHaveLength(2);
    expect(credentialEnvProblems({ env: [{ name: 'FRAUD_MODEL_SIGNING_KEY', value: '-----BEGIN' }, { name: 'FRAUD_GATEWAY_API_KEYS', value: 'a b' }] })).toHaveLength(2);
    expect(secretObjectProblems([{ kind: 'Secret', metadata: { name: 's' }, stringData: { password: 'x', 'ca.pem': 'x', FRAUD_KAFKA_BROKERS: 'u:p@h:1', url: 'https://user:pw@host/' } }])).toHaveLength(3);
  });

  it('every Secret the pods (and KEDA) need that git does not hold is made by a kubectl command in deploy/README.md, with its keys', () => {
    expect(undocumentedSecrets(docs, readme)).toEqual([]);
    const needed = new Set(secretRefs(docs).map((r) => r.name));
    for (const name of ['fraudscore-kafka-scorer', 'fraudscore-kafka-gateway', 'fraudscore-kafka-monitor', 'fraudscore-kafka-trainer', 'fraudscore-kafka-ca', 'fraudscore-model-signing', 'fraudscore-gateway-keys']) {
      expect(needed, name).toContain(name);
    }
    // No pod holds the super user's password.
    expect(needed).not.toContain('fraudscore-kafka-admin');
    const without = readme.replace(/create secret generic fraudscore-kafka-ca/g, 'create secret generic elsewhere');
    expect(undocumentedSecrets(docs, without)).toEqual([expect.stringMatching(/^fraudscore-kafka-ca \(needed by/)]);
    expect(undocumentedSecrets(docs, readme.replace(/--from-file=ca\.pem=/g, '--from-file=ca='))).toEqual([expect.stringMatching(/made without key ca\.pem/)]);
  });
});

describe('deploy/k8s: model signatures', () => {
  const RELEASE_KEY = '/app/models/keys/fraudscore-release-1.pub';

  it('the scorer and the gateway trust the release key the image ships, and the models the image ships verify with it', async () => {
    // The retrain checks its spec with the scorers' rule (models/deployments.ts verifySpec), so it trusts the same keys.
    for (const id of ['Deployment/fraudscore-scorer', 'Deployment/fraudscore-gateway', 'CronJob/fraudscore-retrain']) {
      const c = get<Obj>(workload(id).pod, 'containers.0');
      expect(processEnv(c, docs).FRAUD_MODEL_PUBLIC_KEYS, id).toBe(RELEASE_KEY);
    }
    expect(readText('services/cli/src/models/deployments.ts')).toMatch(/env\.FRAUD_MODEL_PUBLIC_KEYS/);
    // The image is the repository's layout under /app: models/ (keys included) is copied there.
    const runtime = parseDockerfile(readText('deploy/docker/Dockerfile')).at(-1)!;
    expect(all(runtime, 'WORKDIR').at(-1)).toBe('/app');
    expect(copies(runtime)).toContainEqual({ from: undefined, sources: ['models'], dest: './models' });
    const keys = loadPublicKeys(RELEASE_KEY.replace('/app/', `${REPO}/`));
    const def = readJson('models/default.json') as { name: string; version: string };
    await expect(verifyManifest(`${REPO}/models/${def.name}/${def.version}`, keys)).resolves.toMatchObject({ key: { keyId: keys[0]!.keyId } });
  });

  it('only the retrain Job holds a signing key: a read-only mount of fraudscore-model-signing, an Ed25519 key its loader accepts', () => {
    const w = workload('CronJob/fraudscore-retrain');
    const c = get<Obj>(w.pod, 'containers.0');
    const env = processEnv(c, docs);
    expect(fileProblems(w.pod, c, docs, 'FRAUD_MODEL_SIGNING_KEY_FILE', env.FRAUD_MODEL_SIGNING_KEY_FILE, { kind: 'Secret', name: 'fraudscore-model-signing', key: 'signing-key.pem' })).toEqual([]);
    expect(signingKeyFrom(undefined, onDisk(w.pod, c, env, docs))).toContain('PRIVATE KEY');
    const holders = secretRefs(docs).filter((r) => r.name === 'fraudscore-model-signing').map((r) => r.by);
    expect([...new Set(holders)]).toEqual(['CronJob/fraudscore-retrain']);
    expect(() => signingKeyFrom(undefined, { FRAUD_MODEL_SIGNING_KEY_FILE: env.FRAUD_MODEL_SIGNING_KEY_FILE })).toThrow(/cannot read it/);
  });
});

describe('deploy/k8s: pod hardening', () => {
  it('every pod runs non-root with seccomp and no token; every container unprivileged on a read-only root; writable only scratch and claims', () => {
    expect(workloads.map((w) => w.id).sort()).toEqual(['CronJob/fraudscore-retrain', 'Deployment/fraudscore-gateway', 'Deployment/fraudscore-scorer', 'StatefulSet/fraudscore-monitor']);
    for (const w of workloads) expect(hardeningProblems(w), w.id).toEqual([]);
    // /tmp, where node and onnxruntime write, is an emptyDir in each.
    for (const w of workloads) {
      const c = get<Obj>(w.pod, 'containers.0');
      const tmp = (c.volumeMounts as Mount[]).find((m) => m.mountPath === '/tmp');
      expect(((w.pod.volumes ?? []) as Obj[]).find((v) => v.name === tmp?.name)?.emptyDir, w.id).toBeDefined();
    }

    const broken = clone(workload('StatefulSet/fraudscore-monitor'));
    const c = get<Obj>(broken.pod, 'containers.0');
    (c.securityContext as Obj).allowPrivilegeEscalation = true;
    get<Obj>(c, 'securityContext.capabilities').add = ['NET_ADMIN'];
    delete (c.volumeMounts as Mount[]).find((m) => m.name === 'kafka')!.readOnly;
    delete get<Obj>(broken.pod, 'securityContext').seccompProfile;
    expect(hardeningProblems(broken)).toHaveLength(4);
  });
});

describe('deploy/k8s: KEDA reads the lag as the scorer does', () => {
  const so = docs.find((d) => d.kind === 'ScaledObject')!;

  it('speaks SASL_SSL with SCRAM-SHA-512, with the scorer\'s username, password and CA', () => {
    expect(kedaProblems(so, docs)).toEqual([]);
    const ta = docs.find((d) => d.kind === 'TriggerAuthentication')!;
    // The password and the CA come from Secrets (KEDA reads them itself), never from a value.
    expect(Object.keys(get<Obj>(ta, 'spec')).sort()).toEqual(['env', 'secretTargetRef']);
  });

  it('catches broken twins: plaintext sasl, no TLS, another principal\'s password, a missing TriggerAuthentication', () => {
    const twin = (edit: (meta: Obj, ta: Obj) => void) => {
      const all = clone(docs);
      const s = all.find((d) => d.kind === 'ScaledObject')!;
      edit(get<Obj>(s, 'spec.triggers.0.metadata'), all.find((d) => d.kind === 'TriggerAuthentication')!);
      return kedaProblems(s, all);
    };
    expect(twin((m) => { m.sasl = 'plaintext'; })).toEqual(["sasl plaintext, not the scorer's scram_sha512"]);
    expect(twin((m) => { delete m.tls; })).toHaveLength(1);
    expect(twin((_, ta) => { get<Obj>(ta, 'spec.secretTargetRef.0').name = 'fraudscore-kafka-admin'; })).toHaveLength(1);
    expect(twin((_, ta) => { get<Obj>(ta, 'spec.env.0').name = 'FRAUD_GROUP_ID'; })).toEqual(["username fraudscore-scorer, not the scorer's scorer"]);
    expect(twin((_, ta) => { (ta.metadata as Obj).name = 'other'; })).toHaveLength(1);
  });
});

describe('deploy/k8s: NetworkPolicy', () => {
  it('denies all ingress to the namespace by default, and restricts no egress (documented choice)', () => {
    expect(defaultDenyProblems(docs)).toEqual([]);
    for (const p of policies(docs)) expect(get<string[]>(p, 'spec.policyTypes'), String(get(p, 'metadata.name'))).toEqual(['Ingress']);
    const open = clone(docs);
    get<Obj>(policies(open).find((p) => selectsAll(get(p, 'spec.podSelector')))!, 'spec').ingress = [{}];
    expect(defaultDenyProblems(open)).toEqual(['the default policy allows some ingress']);
    expect(defaultDenyProblems(docs.filter((d) => get(d, 'metadata.name') !== 'fraudscore-default-deny-ingress'))).toHaveLength(1);
  });

  it("lets in exactly the documented peers on each workload's ports: Prometheus on the admin ports, the ingress controller on the API, nothing else", () => {
    const seen: Record<string, string[]> = {};
    for (const w of workloads) {
      const { allowed, problems } = allowedIngress(w, docs);
      expect(problems, w.id).toEqual([]);
      expect([...allowed].sort(), w.id).toEqual([...documentedIngress(w)].sort());
      seen[w.id] = [...allowed].sort();
    }
    expect(seen).toEqual({
      'Deployment/fraudscore-scorer': ['9464/TCP from monitoring'],
      'StatefulSet/fraudscore-monitor': ['9465/TCP from monitoring'],
      'Deployment/fraudscore-gateway': ['8080/TCP from ingress-nginx', '9465/TCP from monitoring'],
      'CronJob/fraudscore-retrain': [],
    });
    // Every policy but the default selects the pods of exactly one workload, by their template labels.
    for (const p of policies(docs).filter((x) => !selectsAll(get(x, 'spec.podSelector')))) {
      expect(workloads.filter((w) => selects(get(p, 'spec.podSelector'), w.labels)).length, String(get(p, 'metadata.name'))).toBe(1);
    }
  });

  it('catches broken twins: an extra port, a selector that misses the pods, an open source, a peer by IP', () => {
    const twin = (policy: string, edit: (spec: Obj) => void) => {
      const all = clone(docs);
      edit(get<Obj>(policies(all).find((p) => get(p, 'metadata.name') === policy), 'spec'));
      return Object.fromEntries(workloadsOf(all).map((w) => {
        const { allowed, problems } = allowedIngress(w, all);
        return [w.id, { extra: [...allowed].filter((a) => !documentedIngress(w).has(a)), missing: [...documentedIngress(w)].filter((a) => !allowed.has(a)), problems }];
      }));
    };
    expect(twin('fraudscore-scorer-metrics', (s) => { get<Obj[]>(s, 'ingress.0.ports').push({ protocol: 'TCP', port: 9999 }); })['Deployment/fraudscore-scorer']!.extra).toEqual(['9999/TCP from monitoring']);
    expect(twin('fraudscore-monitor-metrics', (s) => { get<Obj>(s, 'podSelector.matchLabels')['app.kubernetes.io/component'] = 'monitoring'; })['StatefulSet/fraudscore-monitor']!.missing).toEqual(['9465/TCP from monitoring']);
    expect(twin('fraudscore-gateway', (s) => { delete get<Obj>(s, 'ingress.0').from; })['Deployment/fraudscore-gateway']!.problems).toHaveLength(1);
    expect(twin('fraudscore-gateway', (s) => { get<Obj[]>(s, 'ingress.0.from').push({ ipBlock: { cidr: '0.0.0.0/0' } }); })['Deployment/fraudscore-gateway']!.problems).toHaveLength(1);
    expect(twin('fraudscore-gateway', (s) => { get<Obj>(s, 'ingress.0.from.0.namespaceSelector.matchLabels')[NAMESPACE_LABEL] = 'default'; })['Deployment/fraudscore-gateway']!.extra).toEqual(['8080/TCP from default']);
  });

  it('is documented: the namespaces, their label, the read-only admin ports, and that probes are not blocked', () => {
    const text = readText('deploy/k8s/networkpolicy.yaml');
    for (const t of [readme, text]) {
      expect(t).toContain(NAMESPACE_LABEL);
      expect(t).toContain(MONITORING);
      expect(t).toContain(INGRESS);
    }
    expect(text).toMatch(/kubelet/);
    expect(readme).toMatch(/read-only/);
    expect(readme).toMatch(/fraudscore acls --print/);
  });
});
