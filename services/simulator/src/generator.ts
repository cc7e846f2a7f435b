/**
 * The streaming transaction generator of the fraud-detection handbook (SIMULATION.md).
 *
 * The handbook builds the whole table, then applies the fraud scenarios. Here the run is
 * generated day by day, so memory stays bounded (one day of transactions plus the
 * label-delay's worth of pending outcomes) and events can be published as they are made:
 *
 *   - scenario 2 and 3 compromises are drawn at the start of each day and stay active for
 *     their window (draw day included), which is the handbook's day-range test;
 *   - scenario 3 marks each transaction of a compromised card as fraud with probability 1/3
 *     (the handbook samples exactly a third of the window's transactions, which needs the
 *     future); when several compromises of one card overlap, each may multiply the amount.
 *
 * With `drift` options (drift.ts) the world changes from a given day: card-testing attacks
 * (scenario 4) join the day's transactions, and customer amounts inflate. Without them nothing
 * here draws or changes anything, so the stream stays the handbook's, byte for byte.
 *
 * The merged stream is ordered by time: transactions by eventTime, outcomes by knownAt, and
 * at the same millisecond outcomes come first (a label known at t is usable for a
 * transaction at t).
 */
import type { Transaction, TransactionOutcome } from '../../common/src/contracts.js';
import { DAY_MS, resolveSimulationOptions, type ResolvedSimulationOptions, type SimulationOptions } from './options.js';
import { Compromises } from './compromises.js';
import { amountFactor, CardTesting } from './drift.js';
import { Rng, STREAMS } from './random.js';
import { buildWorld, drawPaymentMethod, type Customer, type PaymentMethod, type Terminal, type World } from './world.js';

/** 0 genuine, 1 amount above threshold, 2 compromised terminal, 3 compromised card, 4 card testing (drift). */
export type FraudScenario = 0 | 1 | 2 | 3 | 4;

export interface TransactionEvent {
  kind: 'transaction';
  tx: Transaction;
  /** Ground truth, known to the simulator only; never part of the Transaction contract. */
  isFraud: boolean;
  fraudScenario: FraudScenario;
}

export interface OutcomeEvent {
  kind: 'outcome';
  outcome: TransactionOutcome;
}

export type SimEvent = TransactionEvent | OutcomeEvent;

export interface Simulation {
  options: ResolvedSimulationOptions;
  /** Customers and terminals, so feature code can map card tokens and terminal ids. */
  world: World;
  /** A fresh, lazily generated event stream; each call starts the run from the beginning. */
  events(): Generator<SimEvent, void, undefined>;
}

const SECONDS_PER_DAY = 86_400;

/** Builds the world now; events are generated only as the stream is read. */
export function createSimulation(opts: SimulationOptions = {}): Simulation {
  const options = resolveSimulationOptions(opts);
  const world = buildWorld(options);
  return { options, world, events: () => runEvents(options, world) };
}

/** The merged, time-ordered event stream of a run. */
export function simulate(opts: SimulationOptions = {}): Generator<SimEvent, void, undefined> {
  return createSimulation(opts).events();
}

export interface GeneratedRun {
  world: World;
  options: ResolvedSimulationOptions;
  /** In eventTime order. */
  transactions: TransactionEvent[];
  /** In knownAt order. */
  outcomes: TransactionOutcome[];
}

/** The whole run in memory: for tests and batch jobs on worlds that fit. */
export function generateAll(opts: SimulationOptions = {}): GeneratedRun {
  const sim = createSimulation(opts);
  const transactions: TransactionEvent[] = [];
  const outcomes: TransactionOutcome[] = [];
  for (const e of sim.events()) {
    if (e.kind === 'transaction') transactions.push(e);
    else outcomes.push(e.outcome);
  }
  return { world: sim.world, options: sim.options, transactions, outcomes };
}

function* runEvents(o: ResolvedSimulationOptions, world: World): Generator<SimEvent, void, undefined> {
  const days = new DayGenerator(o, world);
  // Outcomes wait here until the stream's time reaches their knownAt. The delay is constant
  // and transactions come in eventTime order, so knownAt order is insertion order: a FIFO.
  const pending = new Fifo<TransactionOutcome>();
  for (let day = 0; day < o.days; day++) {
    for (const event of days.generate(day)) {
      const now = event.tx.eventTime;
      while (pending.size > 0 && (pending.peek() as TransactionOutcome).knownAt <= now) {
        yield { kind: 'outcome', outcome: pending.shift() as TransactionOutcome };
      }
      yield event;
      pending.push(outcomeOf(event, o.labelDelayMs));
    }
  }
  if (o.flushOutcomes) {
    while (pending.size > 0) yield { kind: 'outcome', outcome: pending.shift() as TransactionOutcome };
  }
}

function outcomeOf(e: TransactionEvent, delayMs: number): TransactionOutcome {
  return {
    transactionId: e.tx.transactionId,
    terminalId: e.tx.terminalId,
    cardToken: e.tx.cardToken,
    eventTime: e.tx.eventTime,
    isFraud: e.isFraud,
    fraudScenario: e.fraudScenario,
    knownAt: e.tx.eventTime + delayMs,
  };
}

/** A transaction before labels and ids: what the handbook's per-customer loop produces. */
interface Draft {
  second: number;
  customer: Customer;
  terminal: number;
  amountMinor: number;
  /** Set on card-testing transactions only (drift.ts): their payment method, drawn with the attack. */
  cardTesting?: PaymentMethod;
}

/** Generates one day at a time, carrying the active compromises from day to day. */
class DayGenerator {
  private readonly txRng: Rng;
  private readonly attrRng: Rng;
  private readonly fraudRng: Rng;
  private readonly compromises: Compromises;
  private readonly cardTesting: CardTesting | undefined;
  private seq = 0;

  constructor(private readonly o: ResolvedSimulationOptions, private readonly world: World) {
    this.txRng = new Rng(o.seed, STREAMS.transactions);
    this.attrRng = new Rng(o.seed, STREAMS.transactionAttributes);
    this.fraudRng = new Rng(o.seed, STREAMS.fraud);
    this.compromises = new Compromises(o.terminalCompromiseDays, o.customerCompromiseDays);
    const cardTesting = o.drift?.cardTesting;
    this.cardTesting = cardTesting && new CardTesting(o.seed, cardTesting, world);
  }

  /** The day's transactions, labelled, in eventTime order. */
  generate(day: number): TransactionEvent[] {
    const { o, world, fraudRng } = this;
    // The day's compromises are drawn first, like the handbook's per-day sample(n, random_state=day).
    this.compromises.startDay(
      day,
      fraudRng.sampleIndices(world.terminals.length, o.compromisedTerminalsPerDay),
      fraudRng.sampleIndices(world.customers.length, o.compromisedCustomersPerDay),
    );
    const drafts = this.draw(amountFactor(o.drift, day));
    // Attacks go after the customers' drafts, so at an equal second the handbook's come first.
    if (this.cardTesting) drafts.push(...this.cardTesting.day(day));
    // Stable sort: equal seconds keep customer order, then per-customer draw order.
    drafts.sort((a, b) => a.second - b.second);
    const dayStartMs = o.startMs + day * DAY_MS;
    return drafts.map((d) => this.finish(d, dayStartMs));
  }

  /** The handbook's per-customer, per-day draws; `inflation` multiplies amounts (drift, else 1). */
  private draw(inflation: number): Draft[] {
    const rng = this.txRng;
    const drafts: Draft[] = [];
    for (const customer of this.world.customers) {
      const n = rng.poisson(customer.meanTxPerDay);
      for (let i = 0; i < n; i++) {
        // int() of the normal draw, like the handbook; times outside the day are dropped.
        const second = Math.trunc(rng.normal(SECONDS_PER_DAY / 2, 20_000));
        if (second <= 0 || second >= SECONDS_PER_DAY) continue;
        let amount = rng.normal(customer.meanAmount, customer.stdAmount);
        if (amount < 0) amount = rng.uniform(0, 2 * customer.meanAmount);
        // Rounded to cents, as the handbook's np.round(amount, 2). Inflation scales the draw
        // itself, before rounding and the fraud rules; x * 1 is exact, so no drift changes nothing.
        const amountMinor = Math.round(amount * inflation * 100);
        // A customer with no terminal in reach makes no transaction (handbook), but the draws
        // above still happen so the rest of the run does not depend on reachability.
        if (customer.terminals.length === 0) continue;
        drafts.push({ second, customer, terminal: rng.choice(customer.terminals), amountMinor });
      }
    }
    return drafts;
  }

  /**
   * Adds ids and payment attributes, then applies the three fraud scenarios in order. Card
   * testing is fraud by construction and skips them: it must not consume the handbook's fraud
   * draws, or turning it on would relabel other transactions.
   */
  private finish(d: Draft, dayStartMs: number): TransactionEvent {
    const { o } = this;
    const terminal = this.world.terminals[d.terminal];
    if (!terminal) throw new Error(`terminal index ${d.terminal} out of range`);
    if (d.cardTesting) return this.event(d, terminal, dayStartMs, d.amountMinor, d.cardTesting, 4);
    let amountMinor = d.amountMinor;
    let scenario: FraudScenario = 0;
    // 1: large amounts (compared in cents, so 220.00 is genuine and 220.01 fraud).
    if (amountMinor > Math.round(o.fraudAmountThreshold * 100)) scenario = 1;
    // 2: any transaction on a compromised terminal.
    if (this.compromises.terminal(d.terminal)) scenario = 2;
    // 3: a share of a compromised card's transactions, with inflated amounts.
    const compromises = this.compromises.card(d.customer.index);
    for (let i = 0; i < compromises; i++) {
      if (this.fraudRng.bernoulli(o.compromisedShare)) {
        amountMinor = Math.round(amountMinor * o.compromisedAmountFactor);
        scenario = 3;
      }
    }

    return this.event(d, terminal, dayStartMs, amountMinor, drawPaymentMethod(terminal.kind, this.attrRng), scenario);
  }

  private event(d: Draft, terminal: Terminal, dayStartMs: number, amountMinor: number, payment: PaymentMethod, scenario: FraudScenario): TransactionEvent {
    const tx: Transaction = {
      transactionId: `${this.o.idPrefix}-${String(++this.seq).padStart(9, '0')}`,
      cardToken: d.customer.cardToken,
      terminalId: terminal.terminalId,
      amountMinor,
      currency: 'EUR',
      eventTime: dayStartMs + d.second * 1000,
      merchantId: terminal.merchantId,
      merchantCategoryCode: terminal.merchantCategoryCode,
      merchantCountry: terminal.merchantCountry,
      channel: payment.channel,
      entryMode: payment.entryMode,
      cardPresent: payment.cardPresent,
    };
    return { kind: 'transaction', tx, isFraud: scenario !== 0, fraudScenario: scenario };
  }
}

/** An array-backed queue with amortised O(1) shift (Array#shift is O(n) on big arrays). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    // Drop the consumed prefix once it is at least half the array.
    if (this.head > 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
