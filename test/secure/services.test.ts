/**
 * The other services as their own principals on the secure broker, with only their ACLs: the
 * REST gateway (principal `gateway`) publishes requests and reads the scorer's replies, and the
 * model monitor (principal `monitor`) reads decisions and outcomes into its store. What the
 * ACLs grant each of them is enough to do its job (the refusals are access.test.ts's).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCodecs } from '../../services/common/src/contracts.js';
import { freePort } from '../../services/cli/src/scorer-child.js';
import { applyAcls, DEFAULT_ACL_PLAN } from '../../services/cli/src/security/acls.js';
import { gatewayEnv, score, spawnGateway, type ChildGateway } from '../helpers/gateway.js';
import { deleteTopics, freshTopics, readTopic, testKafka, type TestTopics } from '../helpers/kafka.js';
import { scorerEnv, spawnScorer, type ChildScorer } from '../helpers/scorer.js';
import { adminByDefault, principalEnv } from '../helpers/secure-kafka.js';

adminByDefault();
const codecs = createCodecs('confluent');

describe('gateway and monitor over SASL_SSL as their own principals', () => {
  let topics: TestTopics;
  let scorer: ChildScorer | undefined;
  let gateway: ChildGateway | undefined;
  let monitor: ChildProcess | undefined;
  const monitorGroup = () => `m-${topics.group}`;

  beforeAll(async () => {
    topics = await freshTopics(testKafka(), 2);
    const admin = testKafka().admin();
    await admin.connect();
    await applyAcls(admin, { ...DEFAULT_ACL_PLAN, topics, scorerGroup: topics.group, monitorGroup: monitorGroup() });
    await admin.disconnect();
    scorer = await spawnScorer(scorerEnv(topics, principalEnv('scorer')), 'secure-services-scorer');
    gateway = await spawnGateway(gatewayEnv(topics, { ...principalEnv('gateway'), FRAUD_DECISION_DEADLINE_MS: '2000' }), 'secure-services-gateway');
  }, 180_000);

  afterAll(async () => {
    for (const c of [scorer?.child, gateway?.child, monitor]) c?.kill('SIGKILL');
    if (topics) await deleteTopics(testKafka(), topics);
  });

  it('the gateway answers REST requests with the scorer\'s decisions', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const tx = {
        transactionId: `sec-gw-${i}`, cardToken: `card-${i % 5}`, terminalId: `term-${i % 7}`, amountMinor: 1000 + i * 97, currency: 'EUR', eventTime: Date.now() - 1000,
        merchantId: null, merchantCategoryCode: null, merchantCountry: null, channel: 'POS', entryMode: 'CHIP', cardPresent: true,
      };
      const r = await score(gateway!.url, tx);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.degraded).toBe(false);
      ids.push(tx.transactionId);
    }
    const decided = (await readTopic(testKafka(), topics.decisions, ids.length)).map((r) => codecs.decision.decode(r.value!).transactionId);
    expect(new Set(decided)).toEqual(new Set(ids));
  });

  it('the monitor reads the decisions into its store', async () => {
    const port = await freePort();
    const db = join(mkdtempSync(join(tmpdir(), 'secure-monitor-')), 'monitor.db');
    monitor = spawn(process.execPath, ['--import', 'tsx', 'services/cli/src/main.ts', 'monitor'], {
      env: {
        ...process.env,
        ...principalEnv('monitor'),
        FRAUD_MONITOR_GROUP_ID: monitorGroup(),
        FRAUD_TOPIC_DECISIONS: topics.decisions,
        FRAUD_TOPIC_SHADOW_DECISIONS: topics.shadowDecisions,
        FRAUD_TOPIC_OUTCOMES: topics.outcomes,
        FRAUD_MONITOR_DB: db,
        FRAUD_MONITOR_INTERVAL_MS: '200',
        FRAUD_MONITOR_ADMIN_HOST: '127.0.0.1',
        FRAUD_MONITOR_ADMIN_PORT: String(port),
        FRAUD_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logFile = 'runs/test-logs/secure-services-monitor.log';
    const log = createWriteStream(logFile);
    monitor.stdout!.pipe(log);
    monitor.stderr!.pipe(log);
    let held = 0;
    const deadline = Date.now() + 60_000;
    while (held < 20 && Date.now() < deadline && monitor.exitCode === null) {
      await new Promise((r) => setTimeout(r, 500));
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
      held = Number(/fraudscore_monitor_store\{[^}]*what="decisions"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    }
    expect(held, readFileSync(logFile, 'utf8').slice(-2000)).toBeGreaterThanOrEqual(20);
    expect(readFileSync(logFile, 'utf8')).not.toMatch(/AUTHORIZATION_FAILED/);
  });
});
