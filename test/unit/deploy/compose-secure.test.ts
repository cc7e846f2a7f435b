/**
 * deploy/docker/compose.secure.yml, merged onto docker-compose.yml as `docker compose -f … -f …`
 * merges them, checked offline (Docker does not run here): the result is a valid Compose file
 * whose services, secrets and volumes all resolve; the broker has no plaintext listener, denies
 * by default and knows the SCRAM users before it starts (the format step's shell script is run
 * here against a stand-in kafka-storage.sh); every fraudscore service logs in as its principal
 * with files from compose secrets, and its own config loader accepts that; `fraudscore acls`
 * runs as admin before the other principals connect; no credential is a value in git; and
 * deploy/docker/secure-material.sh writes every file the secrets name, usable as they are used.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { PRINCIPALS } from '../../../services/cli/src/security/acls.js';
import { kafkaSecurityFromEnv } from '../../../services/common/src/kafka-security.js';
import { loadGatewayConfig } from '../../../services/gateway/src/config.js';
import { loadMonitorConfig } from '../../../services/monitor/src/config.js';
import { loadConfig } from '../../../services/scorer/src/config.js';
import { includedInContext } from './dockerfile.js';
import { REPO, get, readText, readYaml, validateCompose, type Obj } from './support.js';

const OVERRIDE = 'deploy/docker/compose.secure.yml';
/** Scratch folders the tests write (stand-in secrets, the script's output), removed at the end. */
const scratch: string[] = [];
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
};
afterAll(() => { for (const d of scratch) rmSync(d, { recursive: true, force: true }); });
const base = readYaml('docker-compose.yml');
const override = readYaml(OVERRIDE);
const clone = <T>(v: T): T => structuredClone(v);

// ---- the merge `docker compose -f a -f b` does ------------------------------------------------

type Secret = string | { source: string; target?: string };
/** Where a service's secret lands: /run/secrets/<source>, or its target (absolute, or under /run/secrets). */
const secretTarget = (s: Secret): string => {
  if (typeof s === 'string') return `/run/secrets/${s}`;
  const t = s.target ?? s.source;
  return t.startsWith('/') ? t : `/run/secrets/${t}`;
};
const secretSource = (s: Secret): string => (typeof s === 'string' ? s : s.source);
const volumeTarget = (v: string | Obj): string => (typeof v === 'string' ? v.split(':')[1] ?? v : String(v.target));

/** Sequences Compose merges by their unique key rather than replacing (the Compose Specification's merge rules). */
const UNION: Record<string, (item: never) => string> = {
  secrets: secretTarget as (item: never) => string,
  volumes: volumeTarget as (item: never) => string,
  ports: (p: never) => String(p),
  expose: (p: never) => String(p),
};

function mergeMaps(a: Obj, b: Obj, path: string[] = []): Obj {
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    const key = UNION[k];
    if (path.length === 2 && path[0] === 'services' && key && Array.isArray(prev) && Array.isArray(v)) {
      const seen = new Map((prev as never[]).map((x) => [key(x), x]));
      for (const x of v as never[]) seen.set(key(x), x);
      out[k] = [...seen.values()];
    } else if (prev && v && typeof prev === 'object' && typeof v === 'object' && !Array.isArray(prev) && !Array.isArray(v)) {
      out[k] = mergeMaps(prev as Obj, v as Obj, [...path, k]);
    } else out[k] = v; // scalars and other sequences (command, entrypoint, healthcheck.test): replaced
  }
  return out;
}

const merged = mergeMaps(base, override);
const services = merged.services as Record<string, Obj>;
const topSecrets = merged.secrets as Record<string, { file: string }>;
const envOf = (svc: Obj | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries((svc?.environment ?? {}) as Obj).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, String(v)]));
const secretsOf = (svc: Obj | undefined): Secret[] => (svc?.secrets ?? []) as Secret[];

/** The top-level secret mounted at `path` in a service, if any. */
const secretAt = (svc: Obj | undefined, path: string): string | undefined => {
  const s = secretsOf(svc).find((x) => secretTarget(x) === path);
  return s === undefined ? undefined : secretSource(s);
};

// ---- invariants as functions, fed broken twins too -------------------------------------------

/** Who each service is on Kafka; every service built from the fraudscore image is one of them. */
const PRINCIPAL_OF: Record<string, string> = {
  'kafka-init': 'admin', acls: 'admin', 'schema-register': 'admin',
  scorer: 'scorer', simulator: 'publisher', monitor: 'monitor', gateway: 'gateway',
};
const secretFile = (rel: string) => `./.cache/secure/${rel}`;

/** Problems with how a service logs in: SASL_SSL, SCRAM-SHA-512, its principal, password and CA from its compose secrets. */
function clientProblems(all: Obj, name: string, principal: string): string[] {
  const svc = (all.services as Record<string, Obj>)[name];
  const tops = (all.secrets ?? {}) as Record<string, { file: string }>;
  const env = envOf(svc);
  const out: string[] = [];
  if (env.FRAUD_KAFKA_SECURITY_PROTOCOL !== 'SASL_SSL') out.push(`${name}: FRAUD_KAFKA_SECURITY_PROTOCOL ${String(env.FRAUD_KAFKA_SECURITY_PROTOCOL)}`);
  if (env.FRAUD_KAFKA_SASL_MECHANISM !== 'SCRAM-SHA-512') out.push(`${name}: FRAUD_KAFKA_SASL_MECHANISM ${String(env.FRAUD_KAFKA_SASL_MECHANISM)}`);
  if (env.FRAUD_KAFKA_SASL_USERNAME !== principal) out.push(`${name}: logs in as ${String(env.FRAUD_KAFKA_SASL_USERNAME)}, not ${principal}`);
  if ('FRAUD_KAFKA_SASL_PASSWORD' in env) out.push(`${name}: FRAUD_KAFKA_SASL_PASSWORD is a value`);
  const file = (setting: string, want: string) => {
    const source = secretAt(svc, env[setting] ?? '');
    if (!source) out.push(`${name}: ${setting} ${String(env[setting])} is not one of its secrets`);
    else if (tops[source]?.file !== secretFile(want)) out.push(`${name}: ${setting} is secret ${source} (${String(tops[source]?.file)}), not ${secretFile(want)}`);
  };
  file('FRAUD_KAFKA_SASL_PASSWORD_FILE', `users/${principal}.password`);
  file('FRAUD_KAFKA_SSL_CA_LOCATION', 'tls/ca.pem');
  return out;
}

/** Problems with references: secrets, named volumes and depends_on targets that do not exist; conditions that cannot become true. */
function referenceProblems(all: Obj): string[] {
  const svcs = all.services as Record<string, Obj>;
  const tops = (all.secrets ?? {}) as Obj;
  const vols = (all.volumes ?? {}) as Obj;
  const imageHasHealthcheck = /^HEALTHCHECK\s/m.test(readText('deploy/docker/Dockerfile'));
  const out: string[] = [];
  for (const [name, svc] of Object.entries(svcs)) {
    if (!svc.image && !svc.build) out.push(`${name}: no image and no build`);
    for (const s of secretsOf(svc)) if (!(secretSource(s) in tops)) out.push(`${name}: secret ${secretSource(s)} is not defined`);
    for (const v of (svc.volumes ?? []) as (string | Obj)[]) {
      const source = typeof v === 'string' ? v.split(':')[0]! : String(v.source);
      if (!/^[./~]/.test(source) && !(source in vols)) out.push(`${name}: volume ${source} is not defined`);
    }
    for (const [dep, spec] of Object.entries((svc.depends_on ?? {}) as Record<string, Obj>)) {
      const target = svcs[dep];
      if (!target) {
        out.push(`${name}: depends on missing ${dep}`);
        continue;
      }
      if (spec.condition === 'service_completed_successfully' && target.restart !== 'no') out.push(`${name}: waits for ${dep} to complete, but it restarts`);
      if (spec.condition === 'service_healthy') {
        const hc = target.healthcheck as Obj | undefined;
        const has = hc ? hc.disable !== true : target.build !== undefined && imageHasHealthcheck;
        if (!has) out.push(`${name}: waits for ${dep} to be healthy, but it has no healthcheck`);
      }
    }
  }
  return out;
}

/** Problems with the broker's security settings. */
function brokerProblems(all: Obj): string[] {
  const kafka = (all.services as Record<string, Obj>).kafka!;
  const env = envOf(kafka);
  const out: string[] = [];
  const map = new Map((env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '').split(',').map((p) => p.split(':') as [string, string]));
  const listeners = (env.KAFKA_LISTENERS ?? '').split(',').map((l) => l.split('://')[0]!);
  for (const l of listeners) if (map.get(l) !== 'SASL_SSL') out.push(`listener ${l} is ${String(map.get(l))}, not SASL_SSL`);
  for (const a of (env.KAFKA_ADVERTISED_LISTENERS ?? '').split(',').map((x) => x.split('://')[0]!)) if (!listeners.includes(a)) out.push(`advertised ${a} is not a listener`);
  if (env.KAFKA_AUTHORIZER_CLASS_NAME !== 'org.apache.kafka.metadata.authorizer.StandardAuthorizer') out.push('no StandardAuthorizer');
  if (env.KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND !== 'false') out.push('allow.everyone.if.no.acl.found is not false');
  const supers = (env.KAFKA_SUPER_USERS ?? '').split(';');
  if (!supers.includes('User:admin')) out.push('admin is not a super user');
  for (const p of PRINCIPALS) if (supers.includes(`User:${p}`)) out.push(`${p} is a super user: its ACLs would mean nothing`);
  if (env.KAFKA_SASL_ENABLED_MECHANISMS !== 'SCRAM-SHA-512') out.push(`sasl.enabled.mechanisms ${String(env.KAFKA_SASL_ENABLED_MECHANISMS)}`);
  // Files the image reads: /etc/kafka/secrets/<name> for the keystore and its passwords; the JAAS file and truststore by path.
  const mounted = (path: string, what: string) => { if (!secretAt(kafka, path)) out.push(`${what} ${path} is not a mounted secret`); };
  for (const k of ['KAFKA_SSL_KEYSTORE_FILENAME', 'KAFKA_SSL_KEYSTORE_CREDENTIALS', 'KAFKA_SSL_KEY_CREDENTIALS']) mounted(`/etc/kafka/secrets/${String(env[k])}`, k);
  mounted(String(env.KAFKA_SSL_TRUSTSTORE_LOCATION), 'KAFKA_SSL_TRUSTSTORE_LOCATION');
  mounted(/java\.security\.auth\.login\.config=(\S+)/.exec(env.KAFKA_OPTS ?? '')?.[1] ?? '(none)', 'the JAAS file');
  const config = /--command-config (\S+)/.exec(JSON.stringify(get(kafka, 'healthcheck.test')))?.[1];
  mounted(config ?? '(none)', 'the healthcheck client config');
  return out;
}

/** Problems with the format step: same image and settings as the broker, its volume at the broker's log dir, done before the broker starts. */
function formatProblems(all: Obj): string[] {
  const svcs = all.services as Record<string, Obj>;
  const kafka = svcs.kafka!;
  const format = svcs['kafka-format'];
  if (!format) return ['no kafka-format service'];
  const out: string[] = [];
  if (format.image !== kafka.image) out.push(`kafka-format runs ${String(format.image)}, the broker ${String(kafka.image)}`);
  const [fenv, kenv] = [envOf(format), envOf(kafka)];
  for (const [k, v] of Object.entries(fenv)) if (kenv[k] !== v) out.push(`kafka-format formats with ${k}=${v}, the broker runs with ${String(kenv[k])}`);
  for (const k of ['KAFKA_NODE_ID', 'KAFKA_PROCESS_ROLES', 'KAFKA_CONTROLLER_QUORUM_VOTERS', 'KAFKA_LISTENERS', 'KAFKA_LOG_DIRS', 'CLUSTER_ID']) if (!(k in fenv)) out.push(`kafka-format has no ${k}`);
  const at = (svc: Obj) => ((svc.volumes ?? []) as string[]).find((v) => v.split(':')[1] === kenv.KAFKA_LOG_DIRS)?.split(':')[0];
  if (!at(kafka) || at(kafka) !== at(format)) out.push(`the broker's log dir ${String(kenv.KAFKA_LOG_DIRS)} is not the volume kafka-format formats`);
  if (get(kafka, 'depends_on.kafka-format.condition') !== 'service_completed_successfully') out.push('the broker does not wait for kafka-format');
  return out;
}

/** Variables that hold a credential: never a value in git. */
const CREDENTIAL = /(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|SIGNING_KEY|API_KEYS?|JAAS_CONFIG)$/;

function credentialProblems(all: Obj): string[] {
  const out: string[] = [];
  for (const [name, svc] of Object.entries(all.services as Record<string, Obj>)) {
    for (const [k, v] of Object.entries(envOf(svc))) {
      if (CREDENTIAL.test(k)) out.push(`${name}: ${k} is a value`);
      if (/password\s*=\s*["']?[^"'$\s]|PRIVATE KEY/i.test(v)) out.push(`${name}: ${k} carries a credential`);
    }
  }
  return out;
}

/** The format step's script as Compose hands it to bash ($$ is a literal $). */
const formatScript = (): string => String((get<string[]>(services['kafka-format'], 'command'))[0]).replace(/\$\$/g, '$');

// ---- tests ------------------------------------------------------------------------------------

describe('deploy/docker/compose.secure.yml merged onto docker-compose.yml', () => {
  it('is valid Compose, alone and merged, and every secret, volume and dependency it names exists', () => {
    expect(validateCompose(override)).toEqual([]);
    expect(validateCompose(merged)).toEqual([]);
    expect(referenceProblems(merged)).toEqual([]);
    // Every service it adds to exists in the base, or is complete on its own.
    for (const name of Object.keys(override.services as Obj)) {
      if (!(name in (base.services as Obj))) expect(services[name]!.image ?? services[name]!.build, name).toBeDefined();
    }
    // Every secret it defines is used, and lives under .cache/secure/ (ignored by git).
    const used = new Set(Object.values(services).flatMap((s) => secretsOf(s).map(secretSource)));
    for (const [name, s] of Object.entries(override.secrets as Record<string, { file: string }>)) {
      expect(used, name).toContain(name);
      expect(s.file, name).toMatch(/^\.\/\.cache\/secure\//);
    }
    expect(readText('.gitignore')).toMatch(/^\.cache\/$/m);
    // The profiles of the base stay as they were.
    expect(services.gateway!.profiles).toEqual(['rest']);
    expect(services['schema-registry']!.profiles).toEqual(['registry']);

    const broken = clone(merged);
    ((broken.services as Record<string, Obj>).scorer!.secrets as Secret[]).push('kafka-scorer-pasword');
    ((broken.services as Record<string, Obj>).kafka!.volumes as string[]).push('kafka-logs:/logs');
    get<Obj>(broken, 'services.monitor.depends_on').acl = { condition: 'service_completed_successfully' };
    delete (broken.services as Record<string, Obj>).acls!.restart;
    const problems = referenceProblems(broken);
    expect(problems.slice(0, 3)).toEqual(expect.arrayContaining(['scorer: secret kafka-scorer-pasword is not defined', 'kafka: volume kafka-logs is not defined']));
    // The four clients that wait for the ACLs, and the dangling dependency.
    expect(problems.filter((p) => /waits for acls to complete, but it restarts/.test(p))).toHaveLength(4);
    expect(problems).toContain('monitor: depends on missing acl');
    expect(problems).toHaveLength(7);
  });

  it('merges as Compose does: environment and secrets added to the base service, commands and healthcheck tests replaced', () => {
    expect(envOf(services.scorer).FRAUD_GROUP_ID).toBe('fraudscore-scorer');
    expect(envOf(services.scorer).FRAUD_KAFKA_SASL_USERNAME).toBe('scorer');
    expect(secretsOf(services.gateway).map(secretSource).sort()).toEqual(['gateway-api-keys', 'kafka-ca', 'kafka-gateway-password']);
    expect(get(services.scorer, 'depends_on.kafka-init.condition')).toBe('service_completed_successfully');
    expect(JSON.stringify(get(services.kafka, 'healthcheck.test'))).toContain('--command-config');
    expect(get(services.kafka, 'healthcheck.interval')).toBe('10s');
  });

  it('runs a broker with no plaintext listener, deny by default, admin the only client super user, files from secrets', () => {
    expect(brokerProblems(merged)).toEqual([]);
    expect(envOf(services.kafka).KAFKA_LISTENERS).not.toMatch(/PLAINTEXT/);
    // The host port stays 9094, now SASL_SSL.
    expect(services.kafka!.ports).toEqual(['9094:9094']);

    const broken = clone(merged);
    const env = get<Obj>(broken, 'services.kafka.environment');
    env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP = 'SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT,EXTERNAL:SASL_SSL';
    env.KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND = 'true';
    env.KAFKA_SUPER_USERS = 'User:admin;User:scorer';
    env.KAFKA_SSL_KEYSTORE_FILENAME = 'kafka.p12';
    expect(brokerProblems(broken)).toHaveLength(4);
  });

  it('formats the broker\'s volume first, with its own settings, so the SCRAM users exist before it starts', () => {
    expect(formatProblems(merged)).toEqual([]);
    const broken = clone(merged);
    get<Obj>(broken, 'services.kafka-format.environment').KAFKA_CONTROLLER_QUORUM_VOTERS = '1@localhost:9093';
    (get<Obj>(broken, 'services.kafka-format').volumes as string[])[0] = 'other:/var/lib/kafka/data';
    delete get<Obj>(broken, 'services.kafka').depends_on;
    expect(formatProblems(broken)).toHaveLength(3);
  });

  it("the format script writes the broker's settings as server.properties and adds every principal with the password of its secret", () => {
    const dir = tempDir('fraudscore-format-');
    const stub = join(dir, 'kafka-storage.sh');
    writeFileSync(stub, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
    chmodSync(stub, 0o755);
    mkdirSync(join(dir, 'secrets'));
    const format = services['kafka-format']!;
    for (const s of secretsOf(format)) writeFileSync(join(dir, 'secrets', secretSource(s)), `pw-of-${secretSource(s)}\n`);
    const script = formatScript().replaceAll('/opt/kafka/bin/kafka-storage.sh', stub).replaceAll('/run/secrets/', `${dir}/secrets/`).replaceAll('/tmp/format.properties', join(dir, 'format.properties'));
    const entrypoint = get<string[]>(format, 'entrypoint');
    expect(entrypoint).toEqual(['/bin/bash', '-ec']);
    const run = spawnSync('bash', ['-ec', script], { env: { PATH: process.env.PATH, ...envOf(format) }, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const args = run.stdout.trim().split('\n');
    expect(args.slice(0, 2)).toEqual(['format', '--cluster-id']);
    expect(args[2]).toBe(envOf(format).CLUSTER_ID);
    expect(args).toContain('--ignore-formatted');
    const users = args.filter((_, i) => args[i - 1] === '--add-scram');
    expect(users.sort()).toEqual([...PRINCIPALS, 'admin', 'broker'].map((u) => `SCRAM-SHA-512=[name=${u},password=pw-of-kafka-${u}-password]`).sort());
    // server.properties keys as the image derives them from KAFKA_* (___ → -, __ → _, _ → .).
    const props = Object.fromEntries(readFileSync(join(dir, 'format.properties'), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const kenv = envOf(services.kafka);
    expect(props).toMatchObject({
      'node.id': kenv.KAFKA_NODE_ID,
      'process.roles': kenv.KAFKA_PROCESS_ROLES,
      'controller.quorum.voters': kenv.KAFKA_CONTROLLER_QUORUM_VOTERS,
      listeners: kenv.KAFKA_LISTENERS,
      'listener.security.protocol.map': kenv.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP,
      'inter.broker.listener.name': kenv.KAFKA_INTER_BROKER_LISTENER_NAME,
      'listener.name.controller.sasl.enabled.mechanisms': kenv.KAFKA_LISTENER_NAME_CONTROLLER_SASL_ENABLED_MECHANISMS,
      'log.dirs': kenv.KAFKA_LOG_DIRS,
    });
    expect(Object.keys(props).every((k) => /^[a-z]+([._-][a-z]+)*$/.test(k)), Object.keys(props).join(' ')).toBe(true);
    // A user left out of the loop would not exist on the broker.
    const missing = spawnSync('bash', ['-ec', script.replace(' publisher ', ' ')], { env: { PATH: process.env.PATH, ...envOf(format) }, encoding: 'utf8' });
    expect(missing.stdout).not.toContain('name=publisher');
  });

  it('gives every fraudscore service its own principal, password and CA from compose secrets', () => {
    const built = Object.entries(services).filter(([, s]) => s.build !== undefined).map(([n]) => n);
    expect(built.sort()).toEqual(Object.keys(PRINCIPAL_OF).sort());
    for (const [name, principal] of Object.entries(PRINCIPAL_OF)) expect(clientProblems(merged, name, principal), name).toEqual([]);
    for (const name of ['scorer', 'gateway']) expect(envOf(services[name]).FRAUD_MODEL_PUBLIC_KEYS, name).toBe('/app/models/keys/fraudscore-release-1.pub');

    const broken = clone(merged);
    get<Obj>(broken, 'services.simulator.environment').FRAUD_KAFKA_SASL_USERNAME = 'scorer';
    get<Obj>(broken, 'services.monitor.environment').FRAUD_KAFKA_SASL_PASSWORD_FILE = '/run/secrets/kafka-admin-password';
    delete get<Obj>(broken, 'services.gateway.environment').FRAUD_KAFKA_SECURITY_PROTOCOL;
    expect(clientProblems(broken, 'simulator', 'publisher')).toHaveLength(1);
    expect(clientProblems(broken, 'monitor', 'monitor')).toEqual(['monitor: FRAUD_KAFKA_SASL_PASSWORD_FILE /run/secrets/kafka-admin-password is not one of its secrets']);
    expect(clientProblems(broken, 'gateway', 'gateway')).toHaveLength(1);
  });

  it("each service's config loader accepts what it is given, reading the secrets' files", () => {
    const dir = tempDir('fraudscore-secrets-');
    const onDisk = (svc: Obj): Record<string, string> => {
      const env = envOf(svc);
      for (const s of secretsOf(svc)) writeFileSync(join(dir, secretSource(s)), secretSource(s) === 'kafka-ca' ? '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n' : 'placeholder\n');
      const local = (v: string) => v.split(',').map((p) => {
        const source = secretAt(svc, p);
        return source ? join(dir, source) : p.startsWith('/app/') ? join(REPO, p.slice(5)) : p;
      }).join(',');
      return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, /_FILE$|_LOCATION$|^FRAUD_MODEL_PUBLIC_KEYS$/.test(k) ? local(v) : v]));
    };
    expect(loadConfig(onDisk(services.scorer!)).security.sasl?.username).toBe('scorer');
    expect(loadGatewayConfig(onDisk(services.gateway!)).shared.security.sasl?.username).toBe('gateway');
    expect(() => loadMonitorConfig(onDisk(services.monitor!))).not.toThrow();
    for (const name of ['kafka-init', 'acls', 'schema-register', 'simulator']) {
      expect(kafkaSecurityFromEnv(onDisk(services[name]!)).sasl?.username, name).toBe(PRINCIPAL_OF[name]);
    }
    // Without the secret mounted, the file is not there: the scorer refuses to start.
    const unmounted = clone(services.scorer!);
    unmounted.secrets = [];
    expect(() => loadConfig(onDisk(unmounted))).toThrow(/FRAUD_KAFKA_SASL_PASSWORD_FILE=\/run\/secrets\/kafka-scorer-password: cannot read it/);
  });

  it('applies the ACLs as admin once the broker is up, before any other principal connects', () => {
    const acls = services.acls!;
    expect(acls.command).toEqual(['acls']);
    expect(acls.restart).toBe('no');
    expect(get(acls, 'depends_on.kafka.condition')).toBe('service_healthy');
    expect(acls.build).toEqual(get(services.scorer, 'build'));
    expect(acls.image).toBe(services.scorer!.image);
    for (const [name, principal] of Object.entries(PRINCIPAL_OF)) {
      if (principal === 'admin') continue;
      expect(get(services[name], 'depends_on.acls.condition'), name).toBe('service_completed_successfully');
    }
  });

  it('keeps every credential out of git: no password, key or JAAS value in any environment or in the file', () => {
    expect(credentialProblems(merged)).toEqual([]);
    expect(readText(OVERRIDE)).not.toMatch(/password\s*=\s*["']?[^"'$\s]|BEGIN [A-Z ]*PRIVATE KEY|sasl\.jaas\.config/i);
    // ...nor in an image: the build context (the repository root) leaves .cache/ out.
    for (const s of Object.values(override.secrets as Record<string, { file: string }>)) expect(includedInContext(readText('.dockerignore'), s.file.replace(/^\.\//, '')), s.file).toBe(false);
    // No ${VAR} interpolation in commands ($$ is the literal).
    const text = JSON.stringify(Object.values(override.services as Record<string, Obj>).map((s) => [s.command, s.entrypoint]));
    expect(text.replace(/\$\$/g, '')).not.toMatch(/\$/);

    const broken = clone(merged);
    get<Obj>(broken, 'services.scorer.environment').FRAUD_KAFKA_SASL_PASSWORD = 'hunter2';
    get<Obj>(broken, 'services.schema-registry.environment').SCHEMA_REGISTRY_KAFKASTORE_SASL_JAAS_CONFIG = 'ScramLoginModule required username="admin" password="x";';
    expect(credentialProblems(broken)).toHaveLength(3);
  });
});

// ---- deploy/docker/secure-material.sh ---------------------------------------------------------

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe.skipIf(!hasOpenssl)('deploy/docker/secure-material.sh', () => {
  const dir = join(tempDir('fraudscore-secure-'), 'secure');
  const make = () => spawnSync('bash', [join(REPO, 'deploy/docker/secure-material.sh')], { env: { ...process.env, FRAUDSCORE_SECURE_DIR: dir }, encoding: 'utf8' });
  const file = (name: string): string => join(dir, topSecrets[name]!.file.replace('./.cache/secure/', ''));
  const text = (name: string): string => readFileSync(file(name), 'utf8');
  const first = make();

  it('writes every file the secrets name, the folder closed to other users, the mounted files readable by the containers\' uid', () => {
    expect(first.status, first.stderr).toBe(0);
    for (const name of Object.keys(override.secrets as Obj)) expect(existsSync(file(name)), name).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const name of Object.keys(override.secrets as Obj)) expect(statSync(file(name)).mode & 0o777, name).toBe(0o644);
    expect(statSync(join(dir, 'tls/ca.key')).mode & 0o777).toBe(0o600);
  });

  it('makes a broker certificate the clients accept for every name they use, in a keystore its password opens', () => {
    const ca = new X509Certificate(text('kafka-ca'));
    const p12 = readFileSync(file('kafka-keystore'));
    // Opens with the password the image reads from KAFKA_SSL_KEYSTORE_CREDENTIALS.
    expect(() => createSecureContext({ pfx: p12, passphrase: text('kafka-keystore-password').trim() })).not.toThrow();
    expect(() => createSecureContext({ pfx: p12, passphrase: 'wrong' })).toThrow();
    const cert = new X509Certificate(readFileSync(join(dir, 'tls/broker.pem')));
    expect(cert.verify(ca.publicKey)).toBe(true);
    // Hostnames are verified: every address a client or the broker itself dials must be in the certificate.
    const kenv = envOf(services.kafka);
    const hosts = new Set([
      ...kenv.KAFKA_ADVERTISED_LISTENERS!.split(',').map((l) => l.split('://')[1]!.split(':')[0]!),
      ...kenv.KAFKA_CONTROLLER_QUORUM_VOTERS!.split(',').map((v) => v.split('@')[1]!.split(':')[0]!),
      ...[...JSON.stringify(get(services.kafka, 'healthcheck.test')).matchAll(/--bootstrap-server ([\w.-]+):/g)].map((m) => m[1]!),
      ...Object.values(services).map((s) => envOf(s).FRAUD_KAFKA_BROKERS ?? envOf(s).KAFKA_BROKERS).filter(Boolean).map((b) => b!.split(':')[0]!),
    ]);
    expect([...hosts].sort()).toEqual(['kafka', 'localhost']);
    for (const h of hosts) expect(cert.checkHost(h), h).toBe(h);
  });

  it("writes the broker's JAAS file with the broker's and the controller's passwords, and admin's client files", () => {
    const pw = (p: string) => readFileSync(join(dir, `users/${p}.password`), 'utf8').trim();
    const jaas = text('kafka-server-jaas');
    expect(jaas).toContain(`username="broker" password="${pw('broker')}"`);
    // The controller listener's section is its name in lower case; PLAIN, as the broker is told.
    const controller = envOf(services.kafka).KAFKA_CONTROLLER_LISTENER_NAMES!.toLowerCase();
    expect(jaas).toMatch(new RegExp(`${controller}\\.KafkaServer \\{\\s*org\\.apache\\.kafka\\.common\\.security\\.plain\\.PlainLoginModule required\\s*username="controller" password="${pw('controller')}" user_controller="${pw('controller')}";`));
    expect(envOf(services.kafka).KAFKA_SUPER_USERS!.split(';')).toEqual(expect.arrayContaining(['User:broker', 'User:controller']));
    const client = text('kafka-admin-client');
    expect(client).toContain(`username="admin" password="${pw('admin')}"`);
    // The truststore it names is where the broker's container has the CA.
    expect(secretAt(services.kafka, /ssl\.truststore\.location=(\S+)/.exec(client)![1]!)).toBe('kafka-ca');
    expect(text('kafka-registry-jaas')).toContain(`username="admin" password="${pw('admin')}"`);
    expect(text('kafka-scorer-password').trim()).toMatch(/^[0-9a-f]{48}$/);
  });

  it('keeps what it made when run again (the broker formatted with those passwords still knows them)', () => {
    const before = Object.keys(override.secrets as Obj).map((n) => readFileSync(file(n)).toString('base64'));
    const again = make();
    expect(again.status, again.stderr).toBe(0);
    expect(Object.keys(override.secrets as Obj).map((n) => readFileSync(file(n)).toString('base64'))).toEqual(before);
  });
});
