/**
 * A drifting world (issue 13, item 6): options that change the simulated world from a given
 * day, so a monitor has a known drift to detect. Both are off unless asked for, and while off
 * they draw nothing and change nothing: the stream stays the handbook's, byte for byte.
 *
 *   - Card testing (fraud scenario 4), a pattern the 15 reference features only partly see:
 *     from `cardTesting.fromDay`, each day `cardsPerDay` cards fall to card testers, who
 *     check the stolen card with a burst of a few tiny online payments within minutes, at one
 *     or two web merchants, then cash out with one to three large payments minutes to hours
 *     later. The probes are tiny, land at web shops with no particular fraud history and
 *     barely move the card's amount averages, so of the 15 features mainly the card's counts
 *     react; the cash-outs (100-400 EUR) resemble scenarios 1 and 3, so a model trained on the
 *     stationary world should catch some cash-outs but few probes.
 *   - Amount inflation (a covariate shift): from `amountInflation.fromDay`, every amount a
 *     customer draws is multiplied by `factor`. Scenarios 1 and 3 then apply to the inflated
 *     amount, as they would to real prices; card-testing amounts are the testers' own and stay.
 *
 * Card testing is the one fraud that uses the cosmetic attributes (world.ts): testers pay
 * online, so its transactions are ECOM, typed in, at web shops. The 15 features do not read
 * them; a model that does would have a lead here.
 *
 * Card testing draws from its own random sub-stream, never from the handbook's, so turning it
 * on adds transactions without moving any other draw: every other transaction keeps its time,
 * card, terminal, amount and label (only the sequence numbers in the ids shift).
 */
import { Rng, STREAMS } from './random.js';
import type { Customer, PaymentMethod, World } from './world.js';

export interface DriftOptions {
  cardTesting?: {
    /** First simulated day (0-based) with attacks. */
    fromDay: number;
    /** Cards attacked each day from then on. Default 5. */
    cardsPerDay?: number;
  };
  amountInflation?: {
    /** First simulated day (0-based) whose amounts are inflated. */
    fromDay: number;
    /** Multiplier of every customer amount. Default 1.3. */
    factor?: number;
  };
}

export interface ResolvedDrift {
  cardTesting?: { fromDay: number; cardsPerDay: number };
  amountInflation?: { fromDay: number; factor: number };
}

export const DEFAULT_CARDS_TESTED_PER_DAY = 5;
export const DEFAULT_AMOUNT_FACTOR = 1.3;

/**
 * Fills defaults and validates. Undefined when no drift is asked for, so the resolved options
 * (and the manifest and cache keys made from them) are unchanged for a stationary run.
 */
export function resolveDrift(drift: DriftOptions | undefined, customers: number): ResolvedDrift | undefined {
  if (!drift || (!drift.cardTesting && !drift.amountInflation)) return undefined;
  const check = (name: string, v: unknown, ok: boolean, want: string): void => {
    if (!ok) throw new RangeError(`simulation option drift.${name} must be ${want}, got ${String(v)}`);
  };
  const day = (name: string, v: number): void => check(name, v, Number.isInteger(v) && v >= 0, 'an integer >= 0');
  const out: ResolvedDrift = {};
  if (drift.cardTesting) {
    const { fromDay, cardsPerDay = DEFAULT_CARDS_TESTED_PER_DAY } = drift.cardTesting;
    day('cardTesting.fromDay', fromDay);
    check('cardTesting.cardsPerDay', cardsPerDay, Number.isInteger(cardsPerDay) && cardsPerDay >= 1 && cardsPerDay <= customers,
      `an integer in [1, ${customers}] (the customers)`);
    out.cardTesting = { fromDay, cardsPerDay };
  }
  if (drift.amountInflation) {
    const { fromDay, factor = DEFAULT_AMOUNT_FACTOR } = drift.amountInflation;
    day('amountInflation.fromDay', fromDay);
    check('amountInflation.factor', factor, Number.isFinite(factor) && factor > 0, 'a number > 0');
    out.amountInflation = { fromDay, factor };
  }
  return out;
}

/** The multiplier of customer amounts on `day`: 1 unless inflation has started. */
export function amountFactor(drift: ResolvedDrift | undefined, day: number): number {
  const inflation = drift?.amountInflation;
  return inflation && day >= inflation.fromDay ? inflation.factor : 1;
}

/** One card-testing transaction, before ids: always fraud, scenario 4. */
export interface CardTestingDraft {
  second: number;
  customer: Customer;
  terminal: number;
  amountMinor: number;
  /** The payment method; the generator knows a card-testing draft by it. */
  cardTesting: PaymentMethod;
}

// The shape of one attack. Probes are tiny so they pass unnoticed by the cardholder and by
// amount rules; the cash-out waits a little so it does not look like part of the burst.
const PROBES = [3, 8] as const;
const PROBE_GAP_S = [5, 120] as const;
const PROBE_MINOR = [50, 300] as const;
const PROBE_TERMINALS = [1, 2] as const;
const WAIT_S = [600, 6 * 3600] as const;
const CASH_OUTS = [1, 3] as const;
const CASH_OUT_GAP_S = [30, 600] as const;
const CASH_OUT_MINOR = [10_000, 40_000] as const;
const SECONDS_PER_DAY = 86_400;
/** Testers type the stolen card's number into web forms. */
const TYPED_ONLINE: PaymentMethod = { channel: 'ECOM', entryMode: 'MANUAL', cardPresent: false };

/** Plans the day's card-testing attacks. */
export class CardTesting {
  private readonly rng: Rng;
  /** Card testers pay online, so they use web shops; any terminal if the world has none. */
  private readonly terminals: readonly number[];

  constructor(seed: number, private readonly o: { fromDay: number; cardsPerDay: number }, private readonly world: World) {
    this.rng = new Rng(seed, STREAMS.cardTesting);
    const ecom = world.terminals.filter((t) => t.kind === 'ecom').map((t) => t.index);
    this.terminals = ecom.length > 0 ? ecom : world.terminals.map((t) => t.index);
  }

  /** The day's attacks, in no particular order; none before fromDay. Call once per day, in order. */
  day(day: number): CardTestingDraft[] {
    if (day < this.o.fromDay) return [];
    const drafts: CardTestingDraft[] = [];
    for (const c of this.rng.sampleIndices(this.world.customers.length, this.o.cardsPerDay)) {
      drafts.push(...this.attack(this.world.customers[c] as Customer));
    }
    return drafts;
  }

  /** One attack on one card, kept within the day so the day's stream stays self-contained. */
  private attack(customer: Customer): CardTestingDraft[] {
    const rng = this.rng;
    const between = ([lo, hi]: readonly [number, number]): number => rng.intBetween(lo, hi);
    const shops = rng.sample(this.terminals, Math.min(between(PROBE_TERMINALS), this.terminals.length));
    // Offsets from the attack's start, then the start itself so that the whole attack fits.
    const planned: { offset: number; terminal: number; amountMinor: number }[] = [];
    let offset = 0;
    const probes = between(PROBES);
    for (let i = 0; i < probes; i++) {
      if (i > 0) offset += between(PROBE_GAP_S);
      planned.push({ offset, terminal: rng.choice(shops), amountMinor: between(PROBE_MINOR) });
    }
    offset += between(WAIT_S);
    const cashOuts = between(CASH_OUTS);
    for (let i = 0; i < cashOuts; i++) {
      if (i > 0) offset += between(CASH_OUT_GAP_S);
      planned.push({ offset, terminal: rng.choice(this.terminals), amountMinor: between(CASH_OUT_MINOR) });
    }
    // Seconds 1 .. 86,399 like the handbook's (0 and the day's end are excluded there too).
    const start = rng.intBetween(1, SECONDS_PER_DAY - 1 - offset);
    return planned.map((p) => ({ second: start + p.offset, customer, terminal: p.terminal, amountMinor: p.amountMinor, cardTesting: TYPED_ONLINE }));
  }
}
