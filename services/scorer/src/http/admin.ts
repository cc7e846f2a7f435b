/**
 * The admin port: liveness (/healthz), readiness (/readyz) and Prometheus metrics (/metrics).
 * Readiness means the scorer can score right now: model loaded, terminal table and card state
 * restored, partitions assigned.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify from 'fastify';

export interface HealthSource {
  /** Null when alive; otherwise why not (the process is about to exit). */
  liveness(): string | null;
  /** The checks that make the scorer ready, each true or false. */
  readiness(): Record<string, boolean>;
}

/** Writes the Prometheus exposition to a raw response (the OTel Prometheus exporter's handler). */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface AdminServer {
  url: string;
  close(): Promise<void>;
}

export async function startAdminServer(opts: { host: string; port: number; health: HealthSource; metrics?: MetricsHandler }): Promise<AdminServer> {
  const app = Fastify({ logger: false });
  app.get('/healthz', async (_req, reply) => {
    const problem = opts.health.liveness();
    return reply.code(problem ? 503 : 200).send({ status: problem ? 'failing' : 'ok', problem });
  });
  app.get('/readyz', async (_req, reply) => {
    const checks = opts.health.readiness();
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ ready, checks });
  });
  if (opts.metrics) {
    const serve = opts.metrics;
    app.get('/metrics', (req, reply) => {
      reply.hijack();
      serve(req.raw, reply.raw);
    });
  }
  const url = await app.listen({ host: opts.host, port: opts.port });
  return { url, close: () => app.close() };
}
