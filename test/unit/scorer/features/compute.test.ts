import { describe, expect, it } from 'vitest';
import {
  CardStore,
  createFeatureEngine,
  FEATURE_NAMES,
  FEATURE_SET_VERSION,
  isNightUtc,
  isWeekendUtc,
  TerminalTable,
} from '../../../../services/scorer/src/features/index.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

function tx(eventTime: number, amountMinor: number, cardToken = 'card-1', terminalId = 'term-1') {
  return { cardToken, terminalId, amountMinor, eventTime };
}

describe('feature contract', () => {
  it('has 15 names in the handbook order and a version', () => {
    expect(FEATURE_NAMES).toHaveLength(15);
    expect(FEATURE_NAMES[0]).toBe('TX_AMOUNT');
    expect(FEATURE_NAMES[3]).toBe('CUSTOMER_ID_NB_TX_1DAY_WINDOW');
    expect(FEATURE_NAMES[14]).toBe('TERMINAL_ID_RISK_30DAY_WINDOW');
    expect(FEATURE_SET_VERSION).toBe('handbook-15-v1');
  });
});

describe('time features (UTC)', () => {
  it('weekend is Saturday 00:00 to Sunday 23:59:59.999', () => {
    expect(isWeekendUtc(Date.UTC(2018, 3, 6, 23, 59, 59, 999))).toBe(false); // Friday
    expect(isWeekendUtc(Date.UTC(2018, 3, 7))).toBe(true); // Saturday
    expect(isWeekendUtc(Date.UTC(2018, 3, 8, 23, 59, 59, 999))).toBe(true); // Sunday
    expect(isWeekendUtc(Date.UTC(2018, 3, 9))).toBe(false); // Monday
  });

  it('night is hour <= 6: 06:59:59.999 is night, 07:00 is not', () => {
    expect(isNightUtc(Date.UTC(2018, 3, 2, 0, 0))).toBe(true);
    expect(isNightUtc(Date.UTC(2018, 3, 2, 6, 59, 59, 999))).toBe(true);
    expect(isNightUtc(Date.UTC(2018, 3, 2, 7, 0))).toBe(false);
    expect(isNightUtc(Date.UTC(2018, 3, 2, 23, 59, 59, 999))).toBe(false);
  });

  it('agree with Date for arbitrary instants, before 1970 too', () => {
    for (let i = 0; i < 2000; i++) {
      const t = Math.round((Math.sin(i) * 2e12 + 1e12) / 1000) * 1000 + (i % 1000);
      const d = new Date(t);
      expect(isWeekendUtc(t)).toBe(d.getUTCDay() === 0 || d.getUTCDay() === 6);
      expect(isNightUtc(t)).toBe(d.getUTCHours() <= 6);
    }
  });
});

describe('createFeatureEngine', () => {
  it('computes all 15 features of a hand-made case', () => {
    const engine = createFeatureEngine();
    const t = Date.UTC(2018, 3, 21, 3, 15); // Saturday, 03:15
    // Terminal: two outcomes in the 1-day window (one fraud), one more in the 7-day window.
    engine.terminals.addOutcome({ transactionId: 'a', terminalId: 'term-1', eventTime: t - 7 * DAY - HOUR, knownAt: t - HOUR, isFraud: true });
    engine.terminals.addOutcome({ transactionId: 'b', terminalId: 'term-1', eventTime: t - 7 * DAY - 2 * HOUR, knownAt: t, isFraud: false });
    engine.terminals.addOutcome({ transactionId: 'c', terminalId: 'term-1', eventTime: t - 10 * DAY, knownAt: t - 3 * DAY, isFraud: false });
    engine.terminals.addOutcome({ transactionId: 'd', terminalId: 'term-1', eventTime: t - 7 * DAY - 3 * HOUR, knownAt: t + 1, isFraud: true });
    engine.compute(tx(t - 20 * DAY, 4000));
    engine.compute(tx(t - 3 * DAY, 1000));
    const out = engine.compute(tx(t, 2551));
    const expected: Record<(typeof FEATURE_NAMES)[number], number> = {
      TX_AMOUNT: 25.51,
      TX_DURING_WEEKEND: 1,
      TX_DURING_NIGHT: 1,
      CUSTOMER_ID_NB_TX_1DAY_WINDOW: 1,
      CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW: 25.51,
      CUSTOMER_ID_NB_TX_7DAY_WINDOW: 2,
      CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW: 3551 / 200,
      CUSTOMER_ID_NB_TX_30DAY_WINDOW: 3,
      CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW: 7551 / 300,
      TERMINAL_ID_NB_TX_1DAY_WINDOW: 2,
      TERMINAL_ID_RISK_1DAY_WINDOW: 0.5,
      TERMINAL_ID_NB_TX_7DAY_WINDOW: 3,
      TERMINAL_ID_RISK_7DAY_WINDOW: 1 / 3,
      TERMINAL_ID_NB_TX_30DAY_WINDOW: 3,
      TERMINAL_ID_RISK_30DAY_WINDOW: 1 / 3,
    };
    expect(Object.fromEntries(FEATURE_NAMES.map((name, i) => [name, out[i]]))).toEqual(expected);
  });

  it('writes into the given array and rejects bad input without changing state', () => {
    const cards = new CardStore();
    const terminals = new TerminalTable();
    const engine = createFeatureEngine({ cards, terminals });
    expect(engine.cards).toBe(cards);
    const out = new Float64Array(15);
    expect(engine.compute(tx(Date.UTC(2018, 3, 2, 12), 100), out)).toBe(out);
    expect(out[0]).toBe(1);
    expect(() => engine.compute(tx(Date.UTC(2018, 3, 3), 100), new Float64Array(14))).toThrow(RangeError);
    expect(() => engine.compute(tx(Date.UTC(2018, 3, 3), 2 ** 40, 'card-2'))).toThrow(RangeError);
    expect(cards.size).toBe(1);
    expect(terminals.watermark).toBe(Date.UTC(2018, 3, 2, 12));
  });
});
