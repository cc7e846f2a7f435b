/**
 * The simulated world: customers (cards) and terminals on a 100 x 100 square, as in the
 * fraud-detection handbook (see /work/shared/SIMULATION.md), plus the cosmetic merchant
 * attributes our Transaction contract carries (MCC, country, channel) that the handbook lacks.
 *
 * The cosmetic attributes come from their own random sub-streams and never feed a fraud
 * rule, so they add no signal: the reference features and results stay the handbook's.
 * (The one exception is opt-in: card-testing drift, drift.ts, happens online.)
 */
import type { Channel, EntryMode } from '../../common/src/contracts.js';
import { Rng, STREAMS } from './random.js';

/** Side of the square customers and terminals live on. */
export const WORLD_SIZE = 100;

export interface WorldOptions {
  seed: number;
  customers: number;
  terminals: number;
  /** A customer uses the terminals closer than this (Euclidean) to its location. */
  radius: number;
}

/** How a terminal takes cards; decides channel, entry mode and card-present per transaction. */
export type TerminalKind = 'pos' | 'ecom' | 'moto' | 'atm';

export interface Customer {
  index: number;
  /** The card token used on the wire: `card-000042`. */
  cardToken: string;
  x: number;
  y: number;
  meanAmount: number;
  stdAmount: number;
  meanTxPerDay: number;
  /** Indices of reachable terminals, ascending (the handbook's np.where order). */
  terminals: Uint32Array;
}

export interface Terminal {
  index: number;
  /** The terminal id used on the wire: `term-000042`. */
  terminalId: string;
  x: number;
  y: number;
  merchantId: string;
  merchantCategoryCode: string;
  merchantCountry: string;
  kind: TerminalKind;
}

export interface World {
  customers: Customer[];
  terminals: Terminal[];
}

// Ids are short zero-padded numbers behind a prefix: they can never form the 13-19 digit
// run that a PAN detector looks for (6 digits, growing only past a million entities).
const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export const cardTokenOf = (customerIndex: number): string => `card-${pad(customerIndex, 6)}`;
export const terminalIdOf = (terminalIndex: number): string => `term-${pad(terminalIndex, 6)}`;
export const merchantIdOf = (terminalIndex: number): string => `merch-${pad(terminalIndex, 6)}`;

/** Customer index of a simulator card token, or undefined when it is not one. */
export function customerIndexOf(cardToken: string): number | undefined {
  const m = /^card-(\d{1,12})$/.exec(cardToken);
  return m ? Number(m[1]) : undefined;
}

/** Terminal index of a simulator terminal id, or undefined when it is not one. */
export function terminalIndexOf(terminalId: string): number | undefined {
  const m = /^term-(\d{1,12})$/.exec(terminalId);
  return m ? Number(m[1]) : undefined;
}

/** A small, realistic set of ISO 18245 merchant category codes with a rough share of terminals. */
export const MERCHANT_CATEGORIES: readonly { mcc: string; weight: number; kind: TerminalKind; what: string }[] = [
  { mcc: '5411', weight: 24, kind: 'pos', what: 'grocery stores, supermarkets' },
  { mcc: '5812', weight: 14, kind: 'pos', what: 'restaurants' },
  { mcc: '5814', weight: 9, kind: 'pos', what: 'fast food' },
  { mcc: '5541', weight: 8, kind: 'pos', what: 'service stations' },
  { mcc: '5912', weight: 6, kind: 'pos', what: 'drug stores, pharmacies' },
  { mcc: '5651', weight: 6, kind: 'pos', what: 'family clothing' },
  { mcc: '5311', weight: 5, kind: 'pos', what: 'department stores' },
  { mcc: '4111', weight: 4, kind: 'pos', what: 'commuter transport' },
  { mcc: '5732', weight: 6, kind: 'ecom', what: 'electronics' },
  { mcc: '5815', weight: 4, kind: 'ecom', what: 'digital goods: media' },
  { mcc: '5999', weight: 5, kind: 'ecom', what: 'miscellaneous retail' },
  { mcc: '4722', weight: 3, kind: 'moto', what: 'travel agencies' },
  { mcc: '6011', weight: 6, kind: 'atm', what: 'ATM cash disbursement' },
];

interface Weighted {
  code: string;
  weight: number;
}

// Physical terminals are mostly domestic; online merchants are spread wider.
const COUNTRIES_PHYSICAL: readonly Weighted[] = [
  { code: 'FR', weight: 60 }, { code: 'BE', weight: 10 }, { code: 'DE', weight: 10 },
  { code: 'ES', weight: 8 }, { code: 'IT', weight: 7 }, { code: 'NL', weight: 5 },
];
const COUNTRIES_REMOTE: readonly Weighted[] = [
  { code: 'FR', weight: 30 }, { code: 'GB', weight: 15 }, { code: 'IE', weight: 15 },
  { code: 'NL', weight: 15 }, { code: 'DE', weight: 10 }, { code: 'US', weight: 15 },
];

/**
 * Builds customers and terminals. Draw order follows the handbook: customers (x, y, mean
 * amount, mean transactions per day), then terminals (x, y), then the reachable lists.
 */
export function buildWorld(opts: WorldOptions): World {
  const rng = new Rng(opts.seed, STREAMS.world);
  const attrs = new Rng(opts.seed, STREAMS.worldAttributes);

  const customers: Customer[] = [];
  for (let i = 0; i < opts.customers; i++) {
    const x = rng.uniform(0, WORLD_SIZE);
    const y = rng.uniform(0, WORLD_SIZE);
    const meanAmount = rng.uniform(5, 100);
    const meanTxPerDay = rng.uniform(0, 4);
    customers.push({ index: i, cardToken: cardTokenOf(i), x, y, meanAmount, stdAmount: meanAmount / 2, meanTxPerDay, terminals: new Uint32Array(0) });
  }

  const terminals: Terminal[] = [];
  for (let i = 0; i < opts.terminals; i++) {
    const x = rng.uniform(0, WORLD_SIZE);
    const y = rng.uniform(0, WORLD_SIZE);
    const category = attrs.weighted(MERCHANT_CATEGORIES, (c) => c.weight);
    const countries = category.kind === 'pos' || category.kind === 'atm' ? COUNTRIES_PHYSICAL : COUNTRIES_REMOTE;
    const country = attrs.weighted(countries, (c) => c.weight).code;
    terminals.push({
      index: i, terminalId: terminalIdOf(i), x, y, merchantId: merchantIdOf(i),
      merchantCategoryCode: category.mcc, merchantCountry: country, kind: category.kind,
    });
  }

  assignReachableTerminals(customers, terminals, opts.radius);
  return { customers, terminals };
}

/**
 * Fills each customer's reachable terminal list. A uniform grid with cells of side `radius`
 * means only the 3 x 3 neighbouring cells need checking, instead of every terminal
 * (5,000 x 10,000 distance checks in the default world). A radius above the side still
 * works: one cell holds everything.
 */
function assignReachableTerminals(customers: Customer[], terminals: Terminal[], radius: number): void {
  // Cells no smaller than 1/256 of the side, so a tiny radius cannot allocate a huge grid.
  const cellSize = Math.max(radius, WORLD_SIZE / 256);
  const cells = Math.max(1, Math.ceil(WORLD_SIZE / cellSize));
  const span = Math.ceil(radius / cellSize);
  const cellOf = (v: number): number => Math.min(cells - 1, Math.max(0, Math.floor(v / cellSize)));
  const grid: number[][] = Array.from({ length: cells * cells }, () => []);
  for (const t of terminals) grid[cellOf(t.y) * cells + cellOf(t.x)]?.push(t.index);

  const r2 = radius * radius;
  for (const c of customers) {
    const found: number[] = [];
    const cx = cellOf(c.x);
    const cy = cellOf(c.y);
    for (let gy = Math.max(0, cy - span); gy <= Math.min(cells - 1, cy + span); gy++) {
      for (let gx = Math.max(0, cx - span); gx <= Math.min(cells - 1, cx + span); gx++) {
        for (const ti of grid[gy * cells + gx] ?? []) {
          const t = terminals[ti] as Terminal;
          const dx = t.x - c.x;
          const dy = t.y - c.y;
          // Strictly closer than r, like the handbook's `dist < r`.
          if (dx * dx + dy * dy < r2) found.push(ti);
        }
      }
    }
    c.terminals = Uint32Array.from(found.sort((a, b) => a - b));
  }
}

/** Channel, entry mode and card-present for one transaction on a terminal of this kind. */
export interface PaymentMethod {
  channel: Channel;
  entryMode: EntryMode;
  cardPresent: boolean;
}

/** Draws a plausible payment method; card-present follows from the channel. */
export function drawPaymentMethod(kind: TerminalKind, rng: Rng): PaymentMethod {
  const u = rng.float();
  switch (kind) {
    case 'pos': {
      const entryMode: EntryMode = u < 0.55 ? 'CONTACTLESS' : u < 0.95 ? 'CHIP' : u < 0.99 ? 'MAGSTRIPE' : 'MANUAL';
      return { channel: 'POS', entryMode, cardPresent: true };
    }
    case 'ecom':
      return { channel: 'ECOM', entryMode: u < 0.4 ? 'CARD_ON_FILE' : 'MANUAL', cardPresent: false };
    case 'moto':
      // Travel agencies take orders by phone as well as online.
      return u < 0.3
        ? { channel: 'MOTO', entryMode: 'MANUAL', cardPresent: false }
        : { channel: 'ECOM', entryMode: u < 0.6 ? 'CARD_ON_FILE' : 'MANUAL', cardPresent: false };
    case 'atm':
      return { channel: 'ATM', entryMode: u < 0.95 ? 'CHIP' : 'MAGSTRIPE', cardPresent: true };
  }
}
