/**
 * Bookkeeping of fraud scenarios 2 and 3: which terminals and cards are compromised on a
 * given day. A compromise drawn on day d is active on days d .. d + length - 1 (the
 * handbook's `day <= TX_TIME_DAYS < day + length`). Expired entries are forgotten, so the
 * state stays a few dozen entries however long the run.
 */
export class Compromises {
  /** Terminal index -> first day it is no longer compromised. */
  private readonly terminalUntil = new Map<number, number>();
  /** One entry per card draw, so overlapping compromises of a card count separately. */
  private cards: { customer: number; until: number }[] = [];
  private activeCards = new Map<number, number>();
  private day = -1;

  constructor(private readonly terminalDays: number, private readonly cardDays: number) {}

  /** Starts day `day`: records the day's draws and drops what has expired. */
  startDay(day: number, terminals: readonly number[], customers: readonly number[]): void {
    if (day <= this.day) throw new RangeError(`days must increase: ${day} after ${this.day}`);
    this.day = day;
    for (const t of terminals) this.terminalUntil.set(t, Math.max(this.terminalUntil.get(t) ?? 0, day + this.terminalDays));
    for (const c of customers) this.cards.push({ customer: c, until: day + this.cardDays });
    for (const [t, until] of this.terminalUntil) if (until <= day) this.terminalUntil.delete(t);
    this.cards = this.cards.filter((c) => c.until > day);
    this.activeCards = new Map();
    for (const c of this.cards) this.activeCards.set(c.customer, (this.activeCards.get(c.customer) ?? 0) + 1);
  }

  /** Whether the terminal is compromised on the current day (the last startDay). */
  terminal(index: number): boolean {
    return (this.terminalUntil.get(index) ?? 0) > this.day;
  }

  /** How many active compromises the card has on the current day (usually 0 or 1). */
  card(index: number): number {
    return this.activeCards.get(index) ?? 0;
  }
}
