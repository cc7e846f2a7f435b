/**
 * A PROTOCOL FAKE of a Confluent-compatible schema registry, for tests of how fraudscore and
 * @kafkajs/confluent-schema-registry behave against one: ids cached or fetched, the registry
 * down and back, an id it does not know, wrong credentials, what `topics --register` sends.
 *
 * It is NOT a stand-in for a registry's compatibility checking: it checks no compatibility at
 * all (every new schema under a subject becomes its next version). Whether a schema change is
 * BACKWARD compatible is `fraudscore schemas check`'s job in CI, and the real registry's in
 * production (docker-compose.yml, profile `registry`).
 *
 * What it speaks is the subset of the REST API the client calls (read off
 * node_modules/@kafkajs/confluent-schema-registry/dist/api/index.js): GET /schemas/ids/{id},
 * GET /subjects, POST /subjects/{s}/versions (register), POST /subjects/{s} (lookup),
 * GET /subjects/{s}/versions/{v|latest}, GET and PUT /config/{s}; errors as the registry
 * writes them, `{error_code, message}`, in application/vnd.schemaregistry.v1+json. Like the
 * real one, an id names one schema text whatever the subject: the same schema registered
 * under two subjects gets one id.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export interface FakeRequest {
  method: string;
  path: string;
  status: number;
}

export interface SchemaRegistryFakeOptions {
  /** The first id handed out (default 101: unlike any id in schemas/ids.json, so a test can tell them apart). */
  firstId?: number;
  /** Basic-auth credentials every request must carry; default none asked. */
  auth?: { username: string; password: string };
}

export interface SchemaRegistryFake {
  readonly url: string;
  /** Every request that reached the fake (refused connections never do), in order. */
  readonly requests: readonly FakeRequest[];
  /** Requests with this method whose path starts with `pathPrefix` (both optional). */
  count(method?: string, pathPrefix?: string): number;
  /** Subject-level compatibility, as PUT /config/{subject} set it. */
  readonly configs: ReadonlyMap<string, string>;
  /** Registers a schema as POST /subjects/{subject}/versions would (a test's own setup); its id. */
  add(subject: string, schema: object | string): number;
  /**
   * Goes down: 'refuse' closes the port (connection refused, open connections cut), '503'
   * answers every request 503 as a registry that lost its backing Kafka topic does.
   */
  down(mode?: 'refuse' | '503'): Promise<void>;
  /** Comes back on the same port, with everything it held. */
  up(): Promise<void>;
  /**
   * The next request with this method (and path prefix) gets this error instead of its answer:
   * a registry's own refusal, e.g. 409 on POST /subjects/{s}/versions for an incompatible schema.
   */
  failNext(error: { status: number; errorCode: number; message: string; method?: string; pathPrefix?: string }): void;
  close(): Promise<void>;
}

interface Version {
  version: number;
  id: number;
}

export async function startSchemaRegistryFake(opts: SchemaRegistryFakeOptions = {}): Promise<SchemaRegistryFake> {
  let nextId = opts.firstId ?? 101;
  const schemas = new Map<number, string>();
  const idOfText = new Map<string, number>();
  const subjects = new Map<string, Version[]>();
  const configs = new Map<string, string>();
  const requests: FakeRequest[] = [];
  let mode: 'up' | 'refuse' | '503' = 'up';
  let injected: Parameters<SchemaRegistryFake['failNext']>[0] | undefined;
  const expectedAuth = opts.auth ? `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}` : undefined;

  /** The registry compares schemas as canonical text: whitespace does not make a new schema. */
  const canonical = (schema: string): string => JSON.stringify(JSON.parse(schema));

  const register = (subject: string, schema: string): number => {
    const text = canonical(schema);
    let id = idOfText.get(text);
    if (id === undefined) {
      id = nextId++;
      idOfText.set(text, id);
      schemas.set(id, text);
    }
    const versions = subjects.get(subject) ?? [];
    if (!versions.some((v) => v.id === id)) versions.push({ version: versions.length + 1, id });
    subjects.set(subject, versions);
    return id;
  };

  type Answer = [status: number, body: unknown];
  const error = (status: number, errorCode: number, message: string): Answer => [status, { error_code: errorCode, message }];
  const subjectNotFound = (s: string) => error(404, 40401, `Subject '${s}' not found.`);

  const route = (method: string, path: string, body: unknown): Answer => {
    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^\/schemas\/ids\/(\d+)$/.exec(path))) {
      const schema = schemas.get(Number(m[1]));
      return schema ? [200, { schema }] : error(404, 40403, `Schema ${m[1]} not found`);
    }
    if (method === 'GET' && path === '/subjects') return [200, [...subjects.keys()]];
    if (method === 'POST' && (m = /^\/subjects\/([^/]+)\/versions$/.exec(path))) {
      const schema = (body as { schema?: unknown } | undefined)?.schema;
      if (typeof schema !== 'string') return error(422, 42201, 'Either the input schema or one its references is invalid');
      try {
        return [200, { id: register(decodeURIComponent(m[1]!), schema) }];
      } catch {
        return error(422, 42201, 'Either the input schema or one its references is invalid');
      }
    }
    if (method === 'POST' && (m = /^\/subjects\/([^/]+)$/.exec(path))) {
      const subject = decodeURIComponent(m[1]!);
      const versions = subjects.get(subject);
      if (!versions) return subjectNotFound(subject);
      const schema = (body as { schema?: unknown } | undefined)?.schema;
      const id = typeof schema === 'string' ? idOfText.get(canonical(schema)) : undefined;
      const hit = versions.find((v) => v.id === id);
      return hit ? [200, { subject, id: hit.id, version: hit.version, schema: schemas.get(hit.id) }] : error(404, 40403, 'Schema not found');
    }
    if (method === 'GET' && (m = /^\/subjects\/([^/]+)\/versions\/(latest|\d+)$/.exec(path))) {
      const subject = decodeURIComponent(m[1]!);
      const versions = subjects.get(subject);
      if (!versions) return subjectNotFound(subject);
      const hit = m[2] === 'latest' ? versions.at(-1) : versions.find((v) => v.version === Number(m![2]));
      return hit ? [200, { subject, id: hit.id, version: hit.version, schema: schemas.get(hit.id) }] : error(404, 40402, `Version ${m[2]} not found.`);
    }
    if ((m = /^\/config\/([^/]+)$/.exec(path))) {
      const subject = decodeURIComponent(m[1]!);
      if (method === 'GET') {
        const level = configs.get(subject);
        return level ? [200, { compatibilityLevel: level }] : error(404, 40408, `Subject '${subject}' does not have subject-level compatibility configured`);
      }
      if (method === 'PUT') {
        const level = (body as { compatibility?: unknown } | undefined)?.compatibility;
        if (typeof level !== 'string') return error(422, 42203, 'Invalid compatibility level');
        configs.set(subject, level);
        return [200, { compatibility: level }];
      }
    }
    return error(404, 404, 'HTTP 404 Not Found');
  };

  const answer = (res: ServerResponse, [status, body]: Answer): void => {
    res.writeHead(status, { 'content-type': CONTENT_TYPE });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      let reply: Answer;
      if (mode === '503') reply = error(503, 50003, 'Error while forwarding the request to the primary');
      else if (expectedAuth && req.headers.authorization !== expectedAuth) reply = error(401, 401, 'Unauthorized');
      else if (injected && (!injected.method || injected.method === method) && (!injected.pathPrefix || path.startsWith(injected.pathPrefix))) {
        reply = error(injected.status, injected.errorCode, injected.message);
        injected = undefined;
      } else {
        let body: unknown;
        try {
          body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
        } catch {
          body = undefined;
        }
        reply = route(method, path, body);
      }
      requests.push({ method, path, status: reply[0] });
      answer(res, reply);
    });
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const stopListening = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    count: (method, prefix) => requests.filter((r) => (!method || r.method === method) && (!prefix || r.path.startsWith(prefix))).length,
    configs,
    add: (subject, schema) => register(subject, typeof schema === 'string' ? schema : JSON.stringify(schema)),
    async down(how = 'refuse') {
      if (how === '503') {
        mode = '503';
        return;
      }
      if (mode !== 'refuse') await stopListening();
      mode = 'refuse';
    },
    async up() {
      if (mode === 'refuse') await listen(port);
      mode = 'up';
    },
    failNext(e) {
      injected = e;
    },
    async close() {
      if (mode !== 'refuse') await stopListening();
      mode = 'refuse';
    },
  };
}
