/**
 * schemas/asyncapi.yaml (issue 16): the AsyncAPI 3.0 document of every topic. CI proves it
 * valid with the AsyncAPI parser (Avro payloads through the Avro schema parser, $refs to the
 * .avsc files resolved from the file's path), and checks it against the code so it cannot go
 * stale silently: the topics (TOPICS, every FRAUD_TOPIC_* default, `fraudscore topics`), the
 * topic settings `fraudscore topics` creates, the Avro contract each message carries (the one
 * the codecs write, the newest version in ids.json), and every header name the code produces.
 * A deliberately broken copy is reported as an error, so the check can fail.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { DiagnosticSeverity, fromFile, Parser, type AsyncAPIDocumentInterface, type Diagnostic } from '@asyncapi/parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SCHEMAS_DIR, schemaIdOf } from '../../../services/common/src/avro.js';
import { SCHEMA_FILES } from '../../../services/common/src/contracts.js';
import { TOPICS } from '../../../services/common/src/kafka.js';
import { PROJECT_ROOT } from '../../../services/common/src/paths.js';
import { contractVersions } from '../../../services/common/src/schema-compat.js';
import { DEFAULT_TOPIC_PLAN } from '../../../services/cli/src/commands/topics.js';
import { aclGrants, DEFAULT_ACL_PLAN, PRINCIPALS as SERVICE_PRINCIPALS } from '../../../services/cli/src/security/acls.js';
import { loadConfig } from '../../../services/scorer/src/config.js';
import { ERROR_CODES } from '../../../services/scorer/src/errors.js';
import { topicSpecs } from '../../../services/scorer/src/source/topics.js';

const DOC = join(SCHEMAS_DIR, 'asyncapi.yaml');
const AVRO = 'application/vnd.apache.avro;version=1.9.0';
/** The principals `fraudscore acls` grants, and the super user: each runs some operation of the document. */
const PRINCIPALS: string[] = [...SERVICE_PRINCIPALS, 'admin'];
/** Header names in the code that no producer writes, each with why (the document says so too). */
const NOT_ON_THE_WIRE = {
  // kafka-codecs.ts: on synthetic records the kafkajs decompression codec makes of a batch it cannot decode.
  'fs-undecodable-batch': 'consumer-side only',
};

interface RawMessage {
  payload?: { schemaFormat?: string; schema?: { $ref?: string } };
  'x-fraudscore-schema-id'?: number;
}
interface RawDoc {
  components: { messages: Record<string, RawMessage>; 'x-fraudscore-headers-not-on-the-wire'?: Record<string, string> };
}

function newParser(): Parser {
  const parser = new Parser();
  parser.registerSchemaParser(AvroSchemaParser());
  return parser;
}

/** Parses a document from its path, so relative $refs resolve beside it. */
async function parseFile(path: string): Promise<{ document: AsyncAPIDocumentInterface | undefined; errors: Diagnostic[]; warnings: Diagnostic[] }> {
  const { document, diagnostics } = await fromFile(newParser(), path).parse();
  return {
    document,
    errors: diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error),
    warnings: diagnostics.filter((d) => d.severity === DiagnosticSeverity.Warning),
  };
}

const show = (ds: Diagnostic[]): string => ds.map((d) => `${d.code} at ${d.path.join('.') || '(root)'}: ${d.message}`).join('\n');

/** Every .ts file under services/, with its text. */
function serviceSources(): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules') continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts')) out.push({ file: relative(PROJECT_ROOT, path), text: readFileSync(path, 'utf8') });
    }
  };
  walk(join(PROJECT_ROOT, 'services'));
  return out;
}

/**
 * Header names the code uses, read from the sources: the values of the shared HEADERS object
 * (services/scorer/src/sink/messages.ts) and every `…_HEADER = '<name>'` constant.
 */
function headerNamesInCode(): Map<string, string> {
  const names = new Map<string, string>();
  for (const { file, text } of serviceSources()) {
    const block = /export const HEADERS = \{([\s\S]*?)\} as const/.exec(text);
    if (block) for (const m of block[1]!.matchAll(/^\s*\w+:\s*'([^']+)'/gm)) names.set(m[1]!, file);
    for (const m of text.matchAll(/\b[A-Z][A-Z0-9_]*_HEADER\s*=\s*'([^']+)'/g)) names.set(m[1]!, file);
  }
  return names;
}

/** Every FRAUD_TOPIC_* variable declared with a default, in any service's config, and the default. */
function topicDefaultsInCode(): Map<string, string> {
  const out = new Map<string, string>();
  for (const { file, text } of serviceSources()) {
    for (const m of text.matchAll(/\b(FRAUD_TOPIC_\w+):\s*z\.string\(\)[^\n]*?\.default\('([^']+)'\)/g)) {
      const known = out.get(m[1]!);
      if (known !== undefined && known !== m[2]) throw new Error(`${m[1]} defaults to ${known} in one config and ${m[2]} in ${file}`);
      out.set(m[1]!, m[2]!);
    }
  }
  return out;
}

describe('schemas/asyncapi.yaml', () => {
  let doc: AsyncAPIDocumentInterface;
  let raw: RawDoc;

  beforeAll(async () => {
    const { document, errors, warnings } = await parseFile(DOC);
    if (warnings.length) console.warn(`asyncapi.yaml warnings:\n${show(warnings)}`);
    expect(errors, `asyncapi.yaml errors:\n${show(errors)}`).toEqual([]);
    expect(document).toBeDefined();
    doc = document!;
    raw = parseYaml(readFileSync(DOC, 'utf8')) as RawDoc;
  }, 60_000);

  it('parses with the AsyncAPI parser, Avro payloads included, without errors', () => {
    expect(doc.version()).toBe('3.0.0');
    for (const m of doc.messages().all()) {
      const payload = m.payload();
      expect(payload, `message ${m.id()} has no payload`).toBeDefined();
      if (m.schemaFormat() === AVRO) expect(payload!.type(), `${m.id()}: the Avro record became a JSON Schema object`).toBe('object');
    }
  });

  it('has a channel for every topic the code names, and none other', () => {
    const addresses = doc.channels().all().map((c) => c.address());
    expect(new Set(addresses).size, 'one channel per topic').toBe(addresses.length);
    const defaults = topicDefaultsInCode();
    expect(defaults.size).toBeGreaterThanOrEqual(10);
    const scorer = loadConfig({ FRAUD_KAFKA_BROKERS: 'localhost:9092', FRAUD_ADMIN_PORT: '0' }).topics;
    const inCode = new Set([...Object.values(TOPICS), ...defaults.values(), ...Object.values(scorer), ...Object.values(DEFAULT_TOPIC_PLAN)]);
    expect([...addresses].sort()).toEqual([...inCode].sort());
  });

  it('says how `fraudscore topics` creates each topic: partitions, retention, compaction', () => {
    const byAddress = new Map(doc.channels().all().map((c) => [c.address(), c]));
    for (const spec of topicSpecs(DEFAULT_TOPIC_PLAN, 4)) {
      const binding = byAddress.get(spec.topic)?.bindings().get('kafka')?.value() as { partitions?: number; topicConfiguration?: Record<string, unknown> } | undefined;
      expect(binding, `channel ${spec.topic} has no kafka binding`).toBeDefined();
      expect(binding!.partitions, `${spec.topic} partitions`).toBe(spec.numPartitions);
      const want: Record<string, unknown> = { 'cleanup.policy': ['delete'] };
      for (const { name, value } of spec.configEntries ?? []) want[name] = name === 'cleanup.policy' ? value.split(',') : Number(value);
      expect(binding!.topicConfiguration, `${spec.topic} topicConfiguration`).toEqual(want);
    }
  });

  it('carries, on each Avro message, the contract the codecs write: the newest version in ids.json, with its id', () => {
    const versions = contractVersions(SCHEMAS_DIR);
    const newest = new Map([...versions.values()].map((vs) => [vs.at(-1)!.file, vs.at(-1)!]));
    const referenced = new Set<string>();
    for (const [id, m] of Object.entries(raw.components.messages)) {
      if (m.payload?.schemaFormat !== AVRO) continue;
      const ref = m.payload.schema?.$ref;
      expect(ref, `message ${id}: the Avro payload is not a $ref to a .avsc file`).toMatch(/^\.\/.+\.avsc$/);
      const file = ref!.slice(2);
      expect(existsSync(join(SCHEMAS_DIR, file)), `message ${id}: ${file} does not exist`).toBe(true);
      const version = newest.get(file);
      expect(version, `message ${id}: ${file} is not the newest version of a contract in ids.json`).toBeDefined();
      expect(m['x-fraudscore-schema-id'], `message ${id}: x-fraudscore-schema-id`).toBe(schemaIdOf(file));
      // The parsed payload is that file's record: its fields are the JSON Schema's properties.
      const fields = (JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as { fields: { name: string }[] }).fields.map((f) => f.name);
      expect(Object.keys(doc.messages().get(id)!.payload()!.properties() ?? {}), `message ${id}: parsed payload`).toEqual(fields);
      referenced.add(file);
    }
    // Every contract a codec writes is on some topic, and every contract's newest version is.
    expect(referenced).toEqual(new Set(Object.values(SCHEMA_FILES)));
    expect(referenced).toEqual(new Set(newest.keys()));
  });

  it('names every header the code writes, and no other', () => {
    const inCode = headerNamesInCode();
    expect([...inCode.keys()]).toEqual(expect.arrayContaining(['fs-source', 'fs-reply-partition', 'fs-correlation-id', 'fs-reply-kind', 'traceparent', 'fs-published-at']));
    const inDoc = new Set<string>();
    for (const m of doc.messages().all()) for (const name of Object.keys(m.headers()?.properties() ?? {})) inDoc.add(name);
    const written = [...inCode.keys()].filter((h) => !(h in NOT_ON_THE_WIRE));
    expect(written.filter((h) => !inDoc.has(h)), 'headers in the code that the document does not name').toEqual([]);
    expect([...inDoc].filter((h) => !inCode.has(h)), 'headers in the document that the code does not write').toEqual([]);
    // A header that is never produced is explained, not listed on a message.
    expect(Object.keys(raw.components['x-fraudscore-headers-not-on-the-wire'] ?? {}).sort()).toEqual(Object.keys(NOT_ON_THE_WIRE).sort());
    for (const h of Object.keys(NOT_ON_THE_WIRE)) {
      expect(inCode.has(h), `${h} is no longer in the code: drop it from NOT_ON_THE_WIRE`).toBe(true);
      expect(inDoc.has(h)).toBe(false);
    }
  });

  it('lists the error codes of fs-error-code as the scorer has them', () => {
    const errorCode = doc.components().schemas().get('fsErrorCode');
    expect(errorCode?.enum()).toEqual([...ERROR_CODES]);
  });

  it('has, for every topic, a sender and a receiver, each naming its service and a known principal', () => {
    const ops = doc.operations().all();
    for (const channel of doc.channels().all()) {
      const on = ops.filter((o) => o.channels().all().some((c) => c.address() === channel.address()));
      expect(on.some((o) => o.isSend()), `nobody sends to ${channel.address()}`).toBe(true);
      expect(on.some((o) => o.isReceive()), `nobody receives from ${channel.address()}`).toBe(true);
    }
    const principals = new Set<unknown>();
    for (const o of ops) {
      expect(o.extensions().get('x-fraudscore-service')?.value(), `operation ${o.id()}: x-fraudscore-service`).toMatch(/^(scorer|gateway|monitor|simulator|cli)$/);
      const principal = o.extensions().get('x-fraudscore-principal')?.value();
      expect(PRINCIPALS, `operation ${o.id()}: x-fraudscore-principal`).toContain(principal);
      principals.add(principal);
    }
    expect(principals).toEqual(new Set(PRINCIPALS));
  });

  it('gives each service principal exactly the topic access its ACLs grant (services/cli/src/security/acls.ts)', () => {
    // admin is a super user on the broker: it has no ACLs, and its operations are not compared.
    const fromDoc = new Set<string>();
    for (const o of doc.operations().all()) {
      const principal = String(o.extensions().get('x-fraudscore-principal')?.value());
      if (principal === 'admin') continue;
      for (const c of o.channels().all()) fromDoc.add(`${principal} ${o.isSend() ? 'WRITE' : 'READ'} ${c.address()}`);
    }
    const fromAcls = new Set<string>();
    for (const g of aclGrants({ topics: DEFAULT_TOPIC_PLAN, ...DEFAULT_ACL_PLAN })) {
      if (g.resource !== 'TOPIC') continue;
      for (const op of g.operations) if (op !== 'DESCRIBE') fromAcls.add(`${g.principal} ${op} ${g.name}`);
    }
    expect([...fromDoc].sort()).toEqual([...fromAcls].sort());
  });

  it('has a plaintext local server and a SASL_SSL one with SCRAM-SHA-512', () => {
    const local = doc.servers().get('local')!;
    expect([local.protocol(), local.host()]).toEqual(['kafka', '127.0.0.1:9092']);
    const secure = doc.servers().get('secure')!;
    expect(secure.protocol()).toBe('kafka-secure');
    const schemes = secure.security().flatMap((requirements) => requirements.all().map((r) => r.scheme()));
    expect(schemes.map((s) => s.type())).toEqual(['scramSha512']);
    const description = schemes[0]!.description() ?? '';
    expect(description).toMatch(/TLS/);
    expect(description).toMatch(/CA/);
    for (const p of PRINCIPALS) expect(secure.description()).toContain(`\`${p}\``);
  });
});

describe('the check fails on a broken document', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A copy of schemas/ (so the .avsc refs resolve) with each named file edited; returns the copy's asyncapi.yaml. */
  const brokenCopy = (changes: Record<string, (text: string) => string>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'asyncapi-'));
    dirs.push(dir);
    cpSync(SCHEMAS_DIR, dir, { recursive: true });
    for (const [file, change] of Object.entries(changes)) {
      const text = readFileSync(join(dir, file), 'utf8');
      const changed = change(text);
      expect(changed, `the edit of ${file} changed nothing`).not.toBe(text);
      writeFileSync(join(dir, file), changed);
    }
    return join(dir, 'asyncapi.yaml');
  };

  it('a channel whose message is an unknown $ref is an error', async () => {
    const path = brokenCopy({ 'asyncapi.yaml': (t) => t.replace("$ref: '#/components/messages/flag'", "$ref: '#/components/messages/noSuchMessage'") });
    const { errors } = await parseFile(path);
    expect(errors.length, 'the broken copy parsed without errors').toBeGreaterThan(0);
    expect(show(errors)).toMatch(/noSuchMessage/);
  }, 60_000);

  it('a payload referring to a missing .avsc file is an error', async () => {
    const path = brokenCopy({ 'asyncapi.yaml': (t) => t.replace("$ref: './TransactionOutcome.avsc'", "$ref: './TransactionOutcome.v9.avsc'") });
    const { errors } = await parseFile(path);
    expect(errors.length, 'the broken copy parsed without errors').toBeGreaterThan(0);
    expect(show(errors)).toMatch(/TransactionOutcome\.v9\.avsc/);
  }, 60_000);

  it('an invalid Avro schema is an error', async () => {
    const path = brokenCopy({ 'DeploymentStatus.avsc': (t) => t.replace('"name": "appliedRevision", "type": "long"', '"name": "appliedRevision", "type": "no-such-type"') });
    const { errors } = await parseFile(path);
    expect(errors.length, 'the broken copy parsed without errors').toBeGreaterThan(0);
    expect(errors.some((e) => e.path.join('.') === 'components.messages.deploymentStatus.payload'), show(errors)).toBe(true);
  }, 60_000);

  it('an operation sending a message its channel does not carry is an error', async () => {
    const path = brokenCopy({
      'asyncapi.yaml': (t) => t.replace("      - $ref: '#/channels/flags/messages/flag'\n    x-fraudscore-service: scorer", "      - $ref: '#/channels/decisions/messages/decision'\n    x-fraudscore-service: scorer"),
    });
    const { errors } = await parseFile(path);
    expect(errors.map((e) => e.code), show(errors)).toContain('asyncapi3-operation-messages-from-referred-channel');
  }, 60_000);
});
