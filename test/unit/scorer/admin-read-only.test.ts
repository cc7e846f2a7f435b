/**
 * The admin port (scorer, monitor, gateway: /healthz, /readyz, /metrics) changes nothing: every
 * state change of the system goes through Kafka topics under ACLs (a deployment is a record on
 * the deployments topic, which only the admin principal may write). So the port answers reads
 * only, and any other method on any path is refused; what it exposes is kept to the cluster
 * network by deploy/k8s/networkpolicy.yaml.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../../services/scorer/src/http/admin.js';

describe('admin port is read-only', () => {
  let server: AdminServer;
  beforeAll(async () => {
    server = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      health: { liveness: () => null, readiness: () => ({ model: true }) },
      metrics: (_req, res) => res.end('# metrics\n'),
    });
  });
  afterAll(() => server.close());

  it('answers GET on its three paths', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await fetch(`${server.url}${path}`)).status).toBe(200);
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'])('refuses %s on every path', async (method) => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/models', '/deploy', '/admin', '/']) {
      const res = await fetch(`${server.url}${path}`, method === 'DELETE' ? { method } : { method, body: '{}', headers: { 'content-type': 'application/json' } });
      expect([404, 405], `${method} ${path}`).toContain(res.status);
    }
  });
});
