import { describe, expect, it } from 'vitest';
import type { Transaction } from '../../../../services/common/src/contracts.js';
import { TerminalTable } from '../../../../services/scorer/src/features/index.js';
import { createPartitionFeatures } from '../../../../services/scorer/src/state/partition-features.js';

const DAY = 86_400_000;
const tx = (card: string, t: number): Transaction => ({
  transactionId: `tx-${t}`, cardToken: card, terminalId: 'term-1', amountMinor: 1000, currency: 'EUR', eventTime: t,
  merchantId: null, merchantCategoryCode: null, merchantCountry: null, channel: 'POS', entryMode: 'CHIP', cardPresent: true,
});

describe('partition features', () => {
  it('scores only restored partitions, drops revoked ones, and reports touched cards', async () => {
    let restores = 0;
    const pf = createPartitionFeatures(new TerminalTable(), async (stores) => ((restores += stores.size), 0));
    pf.assign([0, 1]);
    expect(() => pf.featuresFor(0)).toThrow(/not restored/);
    await pf.ready(0);
    expect(pf.allRestored()).toBe(true);
    const out = new Float64Array(15);
    pf.featuresFor(0).compute(tx('card-1', Date.UTC(2024, 0, 1)), out, 0);
    expect(out[3]).toBe(1); // one transaction in the card's 1-day window
    const day = Math.floor(Date.UTC(2024, 0, 1) / DAY);
    expect([...pf.takeTouched(0)]).toEqual([['card-1', { days: [day], expired: [], wholeKey: false }]]);
    expect(pf.takeTouched(0).size).toBe(0);
    pf.assign([1]);
    expect(pf.cardsOf(0)).toBeUndefined();
    await expect(pf.ready(0)).rejects.toThrow(/not assigned/);
    expect(restores).toBe(2);
  });

  it('restores a kept partition afresh when told to reload it (uncommitted state thrown away)', async () => {
    const restored: number[][] = [];
    const pf = createPartitionFeatures(new TerminalTable(), async (stores) => (restored.push([...stores.keys()]), 0));
    pf.assign([0, 1]);
    await pf.ready(0);
    const out = new Float64Array(15);
    pf.featuresFor(0).compute(tx('card-1', Date.UTC(2024, 0, 1)), out, 0);
    pf.featuresFor(1).compute(tx('card-2', Date.UTC(2024, 0, 1)), out, 0);
    pf.assign([0, 1], [0]);
    await pf.ready(0);
    // Partition 0 starts again from what the (empty) changelog held; partition 1 keeps its state.
    expect(pf.cardsOf(0)!.has('card-1')).toBe(false);
    expect(pf.takeTouched(0).size).toBe(0);
    expect(pf.cardsOf(1)!.has('card-2')).toBe(true);
    expect(restored).toEqual([[0, 1], [0]]);
  });

  it('evicts cards idle longer than every window and lists their days for tombstones through takeTouched', async () => {
    const pf = createPartitionFeatures(new TerminalTable(), async () => 0);
    pf.assign([0]);
    await pf.ready(0);
    const f = pf.featuresFor(0);
    const out = new Float64Array(15);
    const t0 = Date.UTC(2024, 0, 1);
    f.compute(tx('card-idle', t0), out, 0);
    pf.takeTouched(0);
    // 20,000 events from another card, 40 days later: the idle card is past every window.
    for (let i = 0; i < 20_000; i++) f.compute(tx('card-busy', t0 + 40 * DAY + i), out, 0);
    expect(pf.cardsOf(0)!.has('card-idle')).toBe(false);
    const touched = pf.takeTouched(0);
    expect(touched.get('card-idle')).toEqual({ days: [], expired: [Math.floor(t0 / DAY)], wholeKey: false });
    expect(pf.cardsOf(0)!.dayRecord('card-idle', Math.floor(t0 / DAY))).toBeUndefined();
  });
});
