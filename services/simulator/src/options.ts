/**
 * Simulation options and their defaults (the handbook's default run, SIMULATION.md).
 * Kept apart from the generator so the CLI can show and validate them without running it.
 */
import { resolveDrift, type DriftOptions, type ResolvedDrift } from './drift.js';

export interface SimulationOptions {
  /** The one seed every random draw derives from. Default 0. */
  seed?: number;
  /** Default 5,000. */
  customers?: number;
  /** Default 10,000. */
  terminals?: number;
  /** Reach of a customer, on a 100 x 100 square. Default 5. */
  radius?: number;
  /** Default 183. */
  days?: number;
  /** First simulated day, UTC midnight: ISO date, Date or epoch ms. Default 2018-04-01. */
  startDate?: string | number | Date;
  /** Outcome knownAt = eventTime + this. Default 7 (may be fractional). */
  labelDelayDays?: number;
  /** Scenario 1: amounts strictly above this (EUR) are fraud. Default 220. */
  fraudAmountThreshold?: number;
  /** Scenario 2: terminals compromised each day. Default 2. */
  compromisedTerminalsPerDay?: number;
  /** Scenario 2: days a compromised terminal stays compromised, the draw day included. Default 28. */
  terminalCompromiseDays?: number;
  /** Scenario 3: cards compromised each day. Default 3. */
  compromisedCustomersPerDay?: number;
  /** Scenario 3: days a compromised card stays compromised, the draw day included. Default 14. */
  customerCompromiseDays?: number;
  /** Scenario 3: chance each transaction of a compromised card is fraudulent. Default 1/3. */
  compromisedShare?: number;
  /** Scenario 3: fraudulent amounts are multiplied by this. Default 5. */
  compromisedAmountFactor?: number;
  /**
   * At the end of the run, emit the outcomes whose knownAt lies after the last transaction
   * (in knownAt order). Default true, so every transaction gets its label; set false to
   * stop exactly at the last transaction like a live stream would.
   */
  flushOutcomes?: boolean;
  /** Transaction ids are `<idPrefix>-<9-digit sequence>`. Default 'tx'. */
  idPrefix?: string;
  /** Changes of the world from a given day (drift.ts): card testing, amount inflation. Default none. */
  drift?: DriftOptions;
}

export type ResolvedSimulationOptions = Required<Omit<SimulationOptions, 'startDate' | 'drift'>> & {
  /** Epoch ms of the first day's midnight (UTC). */
  startMs: number;
  labelDelayMs: number;
  /** Absent when the world does not drift, so a stationary run's resolved options are unchanged. */
  drift?: ResolvedDrift;
};

export const DEFAULT_SIMULATION = {
  seed: 0,
  customers: 5_000,
  terminals: 10_000,
  radius: 5,
  days: 183,
  startDate: '2018-04-01',
  labelDelayDays: 7,
  fraudAmountThreshold: 220,
  compromisedTerminalsPerDay: 2,
  terminalCompromiseDays: 28,
  compromisedCustomersPerDay: 3,
  customerCompromiseDays: 14,
  compromisedShare: 1 / 3,
  compromisedAmountFactor: 5,
  flushOutcomes: true,
  idPrefix: 'tx',
} as const;

export const DAY_MS = 86_400_000;

/** Fills defaults and fails fast with a message that names the bad option. */
export function resolveSimulationOptions(opts: SimulationOptions = {}): ResolvedSimulationOptions {
  const o = { ...DEFAULT_SIMULATION, ...ownOptions(opts) };
  const int = (name: keyof SimulationOptions, min: number): void => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new RangeError(`simulation option ${name} must be an integer >= ${min}, got ${String(v)}`);
    }
  };
  const num = (name: keyof SimulationOptions, min: number, max = Infinity): void => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      throw new RangeError(`simulation option ${name} must be a number in [${min}, ${max}], got ${String(v)}`);
    }
  };
  if (!Number.isSafeInteger(o.seed)) throw new RangeError(`simulation option seed must be a safe integer, got ${String(o.seed)}`);
  int('customers', 1);
  int('terminals', 1);
  int('days', 1);
  num('radius', Number.MIN_VALUE);
  num('labelDelayDays', 0);
  num('fraudAmountThreshold', 0);
  int('compromisedTerminalsPerDay', 0);
  int('terminalCompromiseDays', 0);
  int('compromisedCustomersPerDay', 0);
  int('customerCompromiseDays', 0);
  num('compromisedShare', 0, 1);
  num('compromisedAmountFactor', 0);
  if (o.compromisedTerminalsPerDay > o.terminals) throw new RangeError('compromisedTerminalsPerDay exceeds terminals');
  if (o.compromisedCustomersPerDay > o.customers) throw new RangeError('compromisedCustomersPerDay exceeds customers');
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,31}$/.test(o.idPrefix)) {
    throw new RangeError('simulation option idPrefix must be 1-32 characters, letters first, then letters, digits, _ . -');
  }

  const { startDate, drift, ...rest } = o;
  const resolved: ResolvedSimulationOptions = { ...rest, startMs: parseStartDate(startDate), labelDelayMs: Math.round(o.labelDelayDays * DAY_MS) };
  const resolvedDrift = resolveDrift(drift, o.customers);
  if (resolvedDrift) resolved.drift = resolvedDrift;
  return resolved;
}

function parseStartDate(value: string | number | Date): number {
  const ms = value instanceof Date ? value.getTime()
    : typeof value === 'number' ? value
    // A bare date is read as UTC midnight (Date.parse does that for YYYY-MM-DD already).
    : Date.parse(value);
  if (!Number.isFinite(ms)) throw new RangeError(`simulation option startDate is not a date: ${String(value)}`);
  if (ms % DAY_MS !== 0) throw new RangeError('simulation option startDate must be a UTC midnight');
  return ms;
}

/** The simulation's own options that are set: callers may pass a wider object (CLI, publisher options). */
function ownOptions(obj: SimulationOptions): Partial<SimulationOptions> {
  const known = new Set([...Object.keys(DEFAULT_SIMULATION), 'drift']);
  return Object.fromEntries(Object.entries(obj).filter(([k, v]) => known.has(k) && v !== undefined)) as Partial<SimulationOptions>;
}
