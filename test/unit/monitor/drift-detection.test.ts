/**
 * The monitor's alerts on simulated worlds, evaluated at the end of every simulated day as
 * Prometheus would evaluate deploy/prometheus/rules on the monitor's figures: the store, the
 * windows and the alert conditions are the monitor's own (monitor/alerts.ts, checked against
 * the rules by test/unit/deploy/monitor-rules.test.ts), fed by the scorer's feature engine and
 * the real fraud-lgbm model (test/helpers/monitor-world.ts). No Kafka: the Kafka path of the
 * same figures is test/integration/monitor and `demo --scenario drift`.
 *
 * Days 0–36 are the scorer's cold start (its 30-day windows, 37 days for the terminals'
 * delayed ones, are filling), which the monitor rightly calls drift; watching starts on day 37.
 */
import { describe, expect, it } from 'vitest';
import { estimateErrors, type AlertRule } from '../../../services/monitor/src/alerts.js';
import { replayWorld, type WorldDay } from '../../helpers/monitor-world.js';
import type { DriftOptions } from '../../../services/simulator/src/index.js';

const DAY_MS = 86_400_000;
const START = Date.UTC(2018, 3, 1);
const WARM = 37;
const DRIFT_DAY = 40;

async function watch(days: number, drift?: DriftOptions): Promise<WorldDay[]> {
  const out: WorldDay[] = [];
  const store = await replayWorld({ sim: { days, ...(drift ? { drift } : {}) }, computeFromDay: WARM }, (d) => out.push(d));
  store.close();
  return out;
}

const firstDay = (days: readonly WorldDay[], rule: AlertRule) => days.find((d) => d.alerts.some((a) => a.rule === rule))?.day;
const alarms = (days: readonly WorldDay[]) => days.filter((d) => d.alerts.length > 0).map((d) => `day ${d.day}: ${d.alerts.map((a) => `${a.rule} ${a.subject} ${a.value.toFixed(3)}`).join(', ')}`);

describe('drift detection, day by day (monitor store, windows and alert conditions)', () => {
  it('a stationary world: no alert on any of days 37–59, and CBPE within ±0.05 of the realized AP on every matured 7-day window', async () => {
    const days = await watch(60);
    expect(days.map((d) => d.day)).toEqual(Array.from({ length: 23 }, (_, i) => WARM + i));
    expect(alarms(days)).toEqual([]);

    // Matured windows that start after the cold start (the first from day 51).
    const errors = days.flatMap((d) => {
      const w = d.performance.find((p) => p.window === '7d' && p.role === 'champion');
      if (!w || w.from < START + WARM * DAY_MS) return [];
      return estimateErrors(d).filter((e) => e.window === '7d' && e.role === 'champion').map((e) => ({ day: d.day, ...e }));
    });
    expect(errors.length).toBeGreaterThanOrEqual(5);
    for (const e of errors) expect(Math.abs(e.apError), `day ${e.day}: estimated ${e.estimated}, realized ${e.realized}`).toBeLessThanOrEqual(0.05);
  }, 300_000);

  it('amounts inflated 30 % from day 40: FraudscoreDecisionMixShift the same day, FraudscoreInputDrift within 2 days, none before', async () => {
    const days = await watch(43, { amountInflation: { fromDay: DRIFT_DAY, factor: 1.3 } });
    expect(alarms(days.filter((d) => d.day < DRIFT_DAY))).toEqual([]);
    // More amounts cross the model's learnt large-amount boundary: the flags jump at once.
    expect(firstDay(days, 'FraudscoreDecisionMixShift')).toBe(DRIFT_DAY);
    const first = firstDay(days, 'FraudscoreInputDrift');
    expect(first).toBeDefined();
    expect(first!).toBeLessThanOrEqual(DRIFT_DAY + 2);
    // The amount and the inputs built on it are what drifted.
    const drifted = days.find((d) => d.day === first)!.alerts.filter((a) => a.rule === 'FraudscoreInputDrift').map((a) => a.subject);
    expect(drifted.some((f) => f === 'score' || f.includes('AMOUNT'))).toBe(true);
    expect(drifted.some((f) => f.includes('TERMINAL'))).toBe(false);
  }, 300_000);

  it('card testing on 25 cards a day from day 40: FraudscoreDecisionMixShift within 2 days, then the label-based alerts once labels come (7-day delay)', async () => {
    const days = await watch(49, { cardTesting: { fromDay: DRIFT_DAY, cardsPerDay: 25 } });
    expect(alarms(days.filter((d) => d.day < DRIFT_DAY))).toEqual([]);
    const shift = firstDay(days, 'FraudscoreDecisionMixShift');
    expect(shift).toBeDefined();
    expect(shift!).toBeLessThanOrEqual(DRIFT_DAY + 2);
    // Inputs barely move (the probes hide in the smallest amounts): no input-drift alert.
    expect(firstDay(days, 'FraudscoreInputDrift')).toBeUndefined();
    // The estimate, blind to a pattern the scores do not see, is caught out by the first labels.
    const off = firstDay(days, 'FraudscoreEstimateOff');
    expect(off).toBeDefined();
    expect(off!).toBeLessThanOrEqual(DRIFT_DAY + 7 + 2);
  }, 300_000);
});
