// `npm run test:all`: the unit tests and the secure-broker tests once, then every suite that talks to Kafka once per Kafka
// client (integration + e2e on the real broker, and the CI subset of the fault suite), since
// both clients are supported. Every suite runs even when an earlier one failed; the closing
// line sums vitest's JSON reports (test/summary.mjs) and the exit code says whether all passed.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

const CLIENTS = ['librdkafka', 'kafkajs'];
const FAULT_CI = ['test/fault/audit-self-test.test.ts', 'test/fault/crash-points.test.ts', 'test/fault/input.test.ts', 'test/fault/lifecycle.test.ts'];
// The model lifecycle (shadow → canary → promote → rollback, swaps between chunks) is above the
// transport; its kill -9 recovery is the crash-point scenarios' on each client. In CI it runs on
// the default client only (80 s); `FRAUD_KAFKA_CLIENT=kafkajs npm run test:fault` runs it all.
const FAULT_CI_FOR = { librdkafka: FAULT_CI, kafkajs: FAULT_CI.filter((f) => !f.endsWith('lifecycle.test.ts')) };

const suites = [
  // Two workers on two cores: ~80 s here instead of ~127 s with vitest's default of one.
  { name: 'unit', args: ['--project', 'unit', '--maxWorkers=2'] },
  // The secure broker's tests run once: the scoring test there covers both clients itself.
  { name: 'secure', args: ['--project', 'secure'] },
  ...CLIENTS.flatMap((client) => [
    { name: `integration-${client}`, client, args: ['--project', 'integration'] },
    { name: `fault-ci-${client}`, client, args: ['--project', 'fault', ...FAULT_CI_FOR[client]] },
  ]),
];

mkdirSync('.cache', { recursive: true });
const reports = [];
let ok = true;
for (const s of suites) {
  const report = `.cache/vitest-${s.name}.json`;
  reports.push(report);
  console.log(`\n== ${s.name}${s.client ? ` (FRAUD_KAFKA_CLIENT=${s.client})` : ''}`);
  const started = Date.now();
  const r = spawnSync('vitest', ['run', ...s.args, '--reporter=default', '--reporter=json', `--outputFile=${report}`], {
    stdio: 'inherit',
    env: { ...process.env, ...(s.client ? { FRAUD_KAFKA_CLIENT: s.client } : {}) },
  });
  console.log(`== ${s.name}: ${r.status === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s`);
  if (r.status !== 0) ok = false;
}
spawnSync('node', ['test/summary.mjs', ...reports], { stdio: 'inherit' });
process.exit(ok ? 0 : 1);
