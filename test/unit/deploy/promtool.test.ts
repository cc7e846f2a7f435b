/**
 * Prometheus's own tooling on the monitor's alerting rules: `promtool check rules` (the file
 * loads as Prometheus would load it) and `promtool test rules` (the unit tests in
 * fraudscore-monitor.test.yaml: each alert fires on synthetic series after its `for:`, with its
 * labels and rendered annotations, and stays quiet in the near misses). Broken twins of the
 * rules must make the unit tests fail.
 *
 * promtool: $PROMTOOL, else the binary deploy/local/promtool.sh caches (never built here: that
 * takes minutes). Without one the suite is skipped, unless FRAUDSCORE_REQUIRE_PROMTOOL=1 (CI),
 * where it fails.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readText, REPO } from './support.js';

const RULES = 'deploy/prometheus/rules/fraudscore-monitor.yml';
const TESTS = 'deploy/prometheus/rules/fraudscore-monitor.test.yaml';
const BUILD_HINT = 'run `deploy/local/promtool.sh path` to build it (a few minutes, once), or set PROMTOOL';

const executable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Where promtool is, or why there is none. */
function findPromtool(): { path: string } | { missing: string } {
  const fromEnv = process.env.PROMTOOL;
  if (fromEnv) return executable(fromEnv) ? { path: fromEnv } : { missing: `PROMTOOL=${fromEnv} is not an executable file` };
  // The cache layout of deploy/local/promtool.sh, its default version read from the script.
  const version = process.env.PROMTOOL_MODULE_VERSION ?? /^modver=\$\{PROMTOOL_MODULE_VERSION:-(v[^}]+)\}$/m.exec(readText('deploy/local/promtool.sh'))?.[1];
  if (!version) throw new Error('deploy/local/promtool.sh: the default module version (modver=…) was not found');
  const home = join(process.env.FRAUDSCORE_CACHE ?? join(homedir(), '.cache/fraudscore'), `promtool-${version}`);
  const bin = join(home, 'promtool');
  return executable(bin) && existsSync(join(home, '.complete')) ? { path: bin } : { missing: `no promtool at ${bin}` };
}

const found = findPromtool();
const promtool = 'path' in found ? found.path : undefined;
const required = process.env.FRAUDSCORE_REQUIRE_PROMTOOL === '1';
const title = `promtool on ${RULES}${promtool || required ? '' : ` (skipped: ${'missing' in found ? found.missing : ''}; ${BUILD_HINT})`}`;

function run(...args: string[]): { status: number | null; output: string } {
  if (!promtool) throw new Error(`promtool is required (FRAUDSCORE_REQUIRE_PROMTOOL=1) but unavailable: ${'missing' in found ? found.missing : ''}; ${BUILD_HINT}`);
  const r = spawnSync(promtool, args, { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

// Needs no promtool: runs always.
describe(TESTS, () => {
  it('covers every alert, and is not a rule file Prometheus would load', () => {
    const alerts = [...readText(RULES).matchAll(/^\s*- alert: (\w+)$/gm)].map((m) => m[1]);
    expect(alerts).toHaveLength(5);
    for (const alert of alerts) expect(readText(TESTS), alert).toContain(`alertname: ${alert}\n`);
    // deploy/prometheus/prometheus.yml loads rules/*.yml: the test file must not match that
    expect(readText('deploy/prometheus/prometheus.yml')).toContain('/etc/prometheus/rules/*.yml');
    expect(TESTS).not.toMatch(/\.yml$/);
  });
});

describe.skipIf(!promtool && !required)(title, () => {
  let tmp: string;

  beforeAll(() => {
    if (!promtool) run(); // fails the suite with the message above
    tmp = mkdtempSync(join(tmpdir(), 'fraudscore-promtool-'));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** The unit tests run against a copy of the rules with `from` replaced by `to` in one alert. */
  function testTwin(name: string, alert: string, from: string, to: string): { status: number | null; output: string } {
    const rules = readText(RULES);
    const start = rules.indexOf(`- alert: ${alert}\n`);
    const end = rules.indexOf('- alert: ', start + 1);
    const block = rules.slice(start, end < 0 ? undefined : end);
    expect(start, alert).toBeGreaterThanOrEqual(0);
    expect(block, `${alert} should contain ${from}`).toContain(from);
    const twin = join(tmp, `${name}.yml`);
    writeFileSync(twin, rules.slice(0, start) + block.split(from).join(to) + (end < 0 ? '' : rules.slice(end)));
    const tests = readText(TESTS);
    expect(tests).toContain('\n  - fraudscore-monitor.yml\n');
    const testFile = join(tmp, `${name}.test.yaml`);
    writeFileSync(testFile, tests.replace('\n  - fraudscore-monitor.yml\n', `\n  - ${JSON.stringify(twin)}\n`));
    return run('test', 'rules', testFile);
  }

  it('check rules: the file loads as Prometheus loads it, every expression parses', { timeout: 60_000 }, () => {
    const r = run('check', 'rules', '--lint=all', '--lint-fatal', RULES);
    expect(r.output).toContain('SUCCESS: 5 rules found');
    expect(r.status, r.output).toBe(0);
  });

  it('test rules: every alert fires when it should and only then', { timeout: 60_000 }, () => {
    const r = run('test', 'rules', TESTS);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
  });

  it('a faithful copy passes, so a failing twin fails for its change alone', { timeout: 60_000 }, () => {
    const r = testTwin('same', 'FraudscoreInputDrift', '> 0.2', '> 0.2');
    expect(r.status, r.output).toBe(0);
  });

  it.each([
    ['drift threshold 0.2 → 0.5', 'FraudscoreInputDrift', '> 0.2', '> 0.5'],
    ['accuracy: < → <= (AP exactly at 75 % would fire)', 'FraudscoreChampionAccuracyDrop', '\n          < on', '\n          <= on'],
    ['estimate error without abs (−0.15 would not fire)', 'FraudscoreEstimateOff', '(abs(fraudscore_monitor_estimate_error{metric="ap", window="7d"}))', '(fraudscore_monitor_estimate_error{metric="ap", window="7d"})'],
    ['labels stalled: outcomes over 15m, not 1h', 'FraudscoreLabelsStalled', '{kind="outcome"}[1h]', '{kind="outcome"}[15m]'],
  ])('catches a broken twin: %s', { timeout: 60_000 }, (label, alert, from, to) => {
    const r = testTwin(label.replace(/\W+/g, '-'), alert, from, to);
    expect(r.status, r.output).not.toBe(0);
    expect(r.output).toContain(`alertname: ${alert},`);
  });
});
