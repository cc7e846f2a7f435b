/**
 * `demo --scenario drift`: weeks of a simulated world replayed in about a minute, through the
 * scorer (decisions carry their inputs) and the model monitor (`fraudscore monitor`, a child
 * process with its own store), with labels published at their knownAt. From day 40 the world
 * drifts: amounts inflate (a covariate shift the inputs show) and card testers attack (a new
 * fraud pattern the inputs hardly show: the mix of decisions does at once, the labels a week
 * later). At the end the monitor's store is read back day by day, as its operators would have
 * seen it each evening (monitor/history.ts), and the alert conditions of
 * deploy/prometheus/rules are evaluated on it (monitor/alerts.ts).
 *
 * The run has topics of its own (a fresh world: no card state or labels of earlier runs), so
 * the scorer starts cold: its 30-day windows (37 days for the terminals' delayed ones) fill
 * during the first weeks, and the monitor rightly calls that drift. Alerts count from day 37.
 */
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { Alert, AlertRule } from '../../../monitor/src/alerts.js';
import { dailyHistory, type DayView } from '../../../monitor/src/history.js';
import { DAY_MS } from '../../../monitor/src/performance.js';
import { referenceLoader } from '../../../monitor/src/references.js';
import { openStore } from '../../../monitor/src/store.js';
import { resolveSimulationOptions, type DriftOptions } from '../../../simulator/src/index.js';
import type { TopicPlan } from '../../../scorer/src/source/topics.js';
import type { DemoEnd, DemoOptions, DemoScenario } from '../commands/demo.js';
import { DEFAULT_TOPIC_PLAN } from '../commands/topics.js';
import { startMonitorChild, type ScorerChild } from '../scorer-child.js';
import { driftOptions } from '../sim-options.js';
import { say } from './console.js';

/** Events per second offered when --rate is not given: days pass in seconds. */
export const DRIFT_RATE = 20_000;
/** Publishing stops at the end of the simulated days, or after this long. */
export const DRIFT_MAX_SECONDS = 1800;
const DAYS = 54;
const DRIFT_FROM_DAY = 40;
/** The longest look-back of any input (7-day label delay + 30-day terminal window): a cold scorer's inputs are not yet the model's. */
export const WARM_UP_DAYS = 37;
/** Without --drift-* options: both kinds from day 40. */
const DEFAULT_DRIFT: DriftOptions = { amountInflation: { fromDay: DRIFT_FROM_DAY, factor: 1.3 }, cardTesting: { fromDay: DRIFT_FROM_DAY, cardsPerDay: 25 } };

/** The monitor's records counter and frontiers, from its /metrics; undefined when unreadable. */
async function monitorFigures(adminUrl: string): Promise<{ decisions: number; outcomes: number; decided: number; labelled: number } | undefined> {
  const text = await fetch(`${adminUrl}/metrics`).then((r) => (r.ok ? r.text() : ''), () => '');
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  const f = {
    decisions: value(/^fraudscore_monitor_records_total\{[^}]*kind="decision"[^}]*\}\s+(\S+)/m),
    outcomes: value(/^fraudscore_monitor_records_total\{[^}]*kind="outcome"[^}]*\}\s+(\S+)/m),
    decided: value(/^fraudscore_monitor_frontier_seconds\{[^}]*frontier="decided"[^}]*\}\s+(\S+)/m) * 1000,
    labelled: value(/^fraudscore_monitor_frontier_seconds\{[^}]*frontier="labelled"[^}]*\}\s+(\S+)/m) * 1000,
  };
  return Number.isFinite(f.decisions) ? f : undefined;
}

const DESCRIBE: Record<AlertRule, (a: Alert) => string> = {
  FraudscoreInputDrift: (a) => `${a.subject} PSI ${a.value.toFixed(2)}`,
  FraudscoreDecisionMixShift: (a) => `${a.subject} share ×${a.value.toFixed(2)} the week before's`,
  FraudscoreChampionAccuracyDrop: (a) => `${a.subject} AP ${a.value.toFixed(3)}`,
  FraudscoreEstimateOff: (a) => `${a.subject} AP error ${a.value.toFixed(2)}`,
};
const describe = (a: Alert) => DESCRIBE[a.rule](a);
const championAp = (v: DayView | undefined) => v?.performance.find((w) => w.window === '7d' && w.role === 'champion');

export function driftScenario(opts: DemoOptions): DemoScenario {
  const drift = driftOptions(opts) ?? DEFAULT_DRIFT;
  const driftDay = Math.min(drift.amountInflation?.fromDay ?? Infinity, drift.cardTesting?.fromDay ?? Infinity);
  const days = opts.days ?? DAYS;
  const sim = resolveSimulationOptions({ seed: opts.seed, customers: opts.customers, terminals: opts.terminals, days, drift });
  const dayOf = (ms: number) => Math.floor((ms - sim.startMs) / DAY_MS);
  let monitor: ScorerChild | undefined;
  let dbPath = '';
  let monitorEnv: Record<string, string> = {};
  let live: Awaited<ReturnType<typeof monitorFigures>>;
  let polling: NodeJS.Timeout | undefined;
  let stopped = false;

  return {
    async prepare(_kafka: Kafka, stamp: string, scorerEnv) {
      const plan = Object.fromEntries(Object.entries(DEFAULT_TOPIC_PLAN).map(([k, t]) => [k, `${t}-drift-${stamp}`])) as unknown as TopicPlan;
      dbPath = join('runs', `demo-${stamp}`, 'monitor.db');
      monitorEnv = {
        FRAUD_KAFKA_BROKERS: scorerEnv.FRAUD_KAFKA_BROKERS!,
        FRAUD_MONITOR_GROUP_ID: `fraudscore-monitor-drift-${stamp}`,
        FRAUD_TOPIC_DECISIONS: plan.decisions,
        FRAUD_TOPIC_SHADOW_DECISIONS: plan.shadowDecisions,
        FRAUD_TOPIC_OUTCOMES: plan.outcomes,
        FRAUD_MONITOR_DB: dbPath,
        FRAUD_MONITOR_INTERVAL_MS: '2000',
        FRAUD_LOG_LEVEL: 'info',
      };
      const kinds = [drift.amountInflation && `amounts ×${drift.amountInflation.factor ?? 1.3} from day ${drift.amountInflation.fromDay}`, drift.cardTesting && `card testing on ${drift.cardTesting.cardsPerDay ?? 5} cards a day from day ${drift.cardTesting.fromDay}`].filter(Boolean);
      say(`drift: ${days} simulated days (${new Date(sim.startMs).toISOString().slice(0, 10)} = day 0); drift: ${kinds.join(', ')}; this run's topics end in -drift-${stamp}`);
      return {
        topics: [],
        plan,
        // The model monitor needs the inputs on each decision for drift.
        env: { FRAUD_GROUP_ID: `fraudscore-scorer-drift-${stamp}`, FRAUD_DECISION_FEATURES: 'true' },
        // Labels at their knownAt: the last week stays unlabelled, as it would be live.
        simulation: { days, drift, flushOutcomes: false },
      };
    },

    async publishing() {
      monitor = await startMonitorChild(monitorEnv, dbPath.replace(/monitor\.db$/, 'monitor.log'));
      say(`drift: model monitor running (${monitor.adminUrl}/metrics), its store ${dbPath}`);
      const poll = async () => {
        live = (await monitorFigures(monitor!.adminUrl)) ?? live;
        if (!stopped) polling = setTimeout(() => void poll(), 1000).unref();
      };
      void poll();
    },

    progress: () => (live?.decided ? ` | monitor: day ${dayOf(live.decided)} decided, labels to day ${live.labelled ? dayOf(live.labelled) : '-'}` : ''),

    async finish(end: DemoEnd) {
      stopped = true;
      clearTimeout(polling);
      if (!monitor) return 1;
      // The monitor reads the committed decisions and labels of the run before the store is read.
      const deadline = Date.now() + 120_000;
      for (;;) {
        live = (await monitorFigures(monitor.adminUrl)) ?? live;
        if (live && live.decisions >= end.scored && live.outcomes >= end.outcomes) break;
        if (Date.now() > deadline) {
          say(`drift: WARNING the monitor read ${live?.decisions ?? 0} of ${end.scored} decisions and ${live?.outcomes ?? 0} of ${end.outcomes} outcomes in time`);
          break;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      const monitorExit = await monitor.stop();

      const refs = referenceLoader('models', (msg) => say(`drift: ${msg}`));
      const store = openStore(dbPath, refs);
      let history: DayView[];
      try {
        const { decided } = store.frontiers();
        history = dailyHistory(store, refs, sim.startMs + WARM_UP_DAYS * DAY_MS, decided);
      } finally {
        store.close();
      }
      const simDay = (v: DayView) => v.day - Math.floor(sim.startMs / DAY_MS);
      const firstOf = new Map<string, { day: number; alert: Alert }>();
      for (const v of history) for (const a of v.alerts) if (!firstOf.has(a.rule)) firstOf.set(a.rule, { day: simDay(v), alert: a });
      const falseAlarms = history.filter((v) => simDay(v) < driftDay && v.alerts.length > 0);
      say(`drift: the monitor's view each evening, days ${WARM_UP_DAYS}–${history.length ? simDay(history.at(-1)!) : '-'} (days before ${WARM_UP_DAYS}: the cold scorer's windows filling):`);
      for (const [rule, f] of firstOf) say(`drift:   ${rule} first fires on day ${f.day} (${describe(f.alert)})`);
      say(`drift:   ${falseAlarms.length ? `alerts before the drift on days ${falseAlarms.map(simDay).join(', ')}` : `no alert from day ${WARM_UP_DAYS} until the drift starts on day ${driftDay}`}`);

      // The line names the first alert after the drift starts and, as the format asks, that
      // day's most drifted input and its PSI (the alert's own figure beside it if it is not PSI).
      const firstAlert = history.find((v) => simDay(v) >= driftDay && v.alerts.length > 0);
      const topDrift = firstAlert?.drift.filter((d) => d.window === '1d').sort((a, b) => b.psi - a.psi)[0];
      const before = [...history].reverse().find((v) => (championAp(v)?.to ?? Infinity) <= sim.startMs + driftDay * DAY_MS);
      const last = history.at(-1);
      const apBefore = championAp(before)?.performance.ap;
      const apAfter = championAp(last);
      const error = last?.estimates.find((e) => e.anchor === 'matured' && e.window === '7d' && e.role === 'champion');
      const errorValue = error && apAfter ? error.estimate.ap - apAfter.performance.ap : NaN;
      if (apAfter) say(`drift: champion's 7-day realized AP: before the drift (days ${dayOf(championAp(before)?.from ?? NaN)}–${dayOf((championAp(before)?.to ?? NaN) - 1)}) ${apBefore?.toFixed(3)}, at the end (days ${dayOf(apAfter.from)}–${dayOf(apAfter.to - 1)}, labels known by then) ${apAfter.performance.ap.toFixed(3)}; CBPE estimated ${error?.estimate.ap.toFixed(3)} for the same days`);
      say(`drift: the day-by-day report: npm run fraudscore -- monitor report --db ${dbPath}`);
      const first = firstAlert?.alerts[0];
      const detail = first && (first.rule === 'FraudscoreInputDrift' ? describe(first) : `${topDrift ? `${topDrift.feature} PSI ${topDrift.psi.toFixed(2)}, ` : ''}${describe(first)}`);
      const alertText = first ? `alert ${first.rule} at day ${simDay(firstAlert)} (${detail})` : 'no alert';
      say(`drift: ${alertText}, champion AP before ${apBefore?.toFixed(3) ?? '-'} after ${apAfter?.performance.ap.toFixed(3) ?? '-'}, estimated AP error ${Number.isFinite(errorValue) ? errorValue.toFixed(3) : '-'}`);
      const detected = firstAlert !== undefined && simDay(firstAlert) <= driftDay + 2;
      return detected && falseAlarms.length === 0 && end.drained && end.scorerExit === 0 && monitorExit === 0 ? 0 : 1;
    },
  };
}
