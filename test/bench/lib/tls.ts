/**
 * Issue 16: what SASL_SSL costs. The same backlog (same seed, customers and size) is published
 * to the project's secure broker (kafka.sh up --secure: TLS, SCRAM-SHA-512, deny-by-default
 * ACLs), and the exactly-once scorer drains it there as its own principal, `scorer`, under
 * ACLs granted on the run's prefix; each round it also drains the plaintext bench broker's
 * backlog, back to back, so both see the same machine. tls_eos_ratio = median secure ev/s ÷
 * median plaintext ev/s over those rounds (default client; kafkajs alongside).
 */
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { createKafka } from '../../../services/common/src/kafka.js';
import { kafkaSecurityFromEnv } from '../../../services/common/src/kafka-security.js';
import { CACHE_DIR } from '../../../services/cli/src/env.js';
import { acquireSecureBroker, securePrincipalEnv } from '../../../services/cli/src/local-broker.js';
import { aclEntries, type Grant } from '../../../services/cli/src/security/acls.js';
import { type Ctx, drainRun, type DrainResult } from './drain.js';
import { buildBacklog, createTopics, deleteTopics, endOffsetSum, runPlan } from './kafka-io.js';
import { MODE, type ModeKey } from './options.js';
import { pidFromFile } from './proc.js';
import { fmtInt, median } from './stats.js';
import { say, stamp, status } from './ui.js';

const { logLevel } = kafkajs;

export interface TlsResult {
  /** Per mode: median ev/s on plaintext and on SASL_SSL, and the rounds behind them. */
  modes: Record<string, { plainEps: number; secureEps: number; ratio: number; plain: number[]; secure: number[] }>;
}

/** The scorer principal may use every topic, group and transactional id of this run (prefixed ACLs). */
async function grantRun(admin: kafkajs.Admin, prefix: string): Promise<void> {
  const scorer = (resource: Grant['resource'], operations: Grant['operations']): Grant => ({ principal: 'scorer', resource, name: prefix, prefixed: true, operations });
  await admin.createAcls({ acl: aclEntries([scorer('TOPIC', ['READ', 'WRITE', 'DESCRIBE']), scorer('GROUP', ['READ', 'DESCRIBE']), scorer('TRANSACTIONAL_ID', ['WRITE', 'DESCRIBE'])]) });
}

export async function tlsPhase(ctx: Ctx, modes: ModeKey[]): Promise<TlsResult> {
  const broker = acquireSecureBroker();
  const admin = createKafka({ brokers: broker.brokers, clientId: 'fraudscore-bench-tls', logLevel: logLevel.NOTHING, security: kafkaSecurityFromEnv(securePrincipalEnv('admin')) });
  const prefix = `${ctx.prefix}-tls`;
  const backlogTopics = { transactions: `${prefix}-transactions`, outcomes: `${prefix}-outcomes` };
  const secure: Ctx = {
    ...ctx,
    kafka: admin,
    prefix,
    broker: { brokers: broker.brokers, pid: pidFromFile(join(CACHE_DIR, 'run', 'kafka-secure', 'broker.pid')), description: 'secure broker', stop: broker.stop },
    backlog: { ...backlogTopics, total: 0, outcomesTotal: 0 },
  };
  const drains = new Map<string, { plain: DrainResult[]; secure: DrainResult[] }>(modes.map((m) => [m, { plain: [], secure: [] }]));
  try {
    const a = admin.admin();
    await a.connect();
    await grantRun(a, prefix);
    await a.disconnect();
    await createTopics(admin, runPlan(prefix, 'backlog', backlogTopics), ctx.opts.partitions, ['transactions', 'outcomes']);
    say(`bench: [${stamp()}] TLS: publishing the same backlog (${fmtInt(ctx.opts.backlog)} tx) to the secure broker at ${broker.brokers.join(',')} as admin`);
    await buildBacklog(admin, backlogTopics, {
      seed: ctx.opts.seed,
      customers: ctx.opts.customers,
      transactions: ctx.opts.backlog,
      onProgress: (s) => status(`  [${stamp()}] TLS backlog: ${fmtInt(s.transactions)} / ${fmtInt(ctx.opts.backlog)} tx`),
    });
    secure.backlog.total = (await endOffsetSum(admin, backlogTopics.transactions)).total;
    secure.backlog.outcomesTotal = (await endOffsetSum(admin, backlogTopics.outcomes)).total;
    if (secure.backlog.total !== ctx.backlog.total) say(`bench: TLS: WARNING the secure backlog has ${secure.backlog.total} transactions, the plaintext one ${ctx.backlog.total}`);
    const scorerEnv = securePrincipalEnv('scorer');
    for (let r = 1; r <= ctx.opts.runs && !ctx.aborted; r++) {
      say(`bench: [${stamp()}] TLS round ${r}/${ctx.opts.runs}: exactly-once, plaintext then SASL_SSL`);
      for (const m of modes) {
        const mode = MODE(m);
        drains.get(m)!.plain.push(await drainRun(ctx, mode, `tls-plain-r${r}`));
        if (ctx.aborted) break;
        drains.get(m)!.secure.push(await drainRun(secure, { ...mode, label: `${mode.label} over SASL_SSL`, env: { ...mode.env, ...scorerEnv } }, `tls-secure-r${r}`));
      }
    }
  } finally {
    await deleteTopics(admin, Object.values(backlogTopics)).catch(() => {});
    broker.stop();
  }
  const result: TlsResult = { modes: {} };
  for (const [m, d] of drains) {
    const plain = d.plain.filter((x) => x.ok).map((x) => x.eps);
    const sec = d.secure.filter((x) => x.ok).map((x) => x.eps);
    const plainEps = median(plain);
    const secureEps = median(sec);
    result.modes[m] = { plainEps, secureEps, ratio: secureEps / plainEps, plain, secure: sec };
    say(`bench: TLS ${m}: plaintext ${fmtInt(plainEps)} ev/s, SASL_SSL ${fmtInt(secureEps)} ev/s, ratio ${(secureEps / plainEps).toFixed(3)}`);
  }
  return result;
}
