/**
 * Card state is partition-local: input is keyed by card token, so one partition holds whole
 * card histories. Each assigned partition gets its own card store and feature engine; the
 * terminal table is shared (every instance reads all outcomes). On assignment a partition's
 * store is restored from the changelog before any of its events is scored; when a rebalance
 * takes a partition away, its store is dropped (the new owner restores it); when a rebalance
 * finds a kept partition with uncommitted chunks, its store is restored afresh.
 */
import { CardStore, createFeatureEngine, FEATURE_NAMES, FEATURE_SET_VERSION, type CardChanges, type TerminalTable } from '../features/index.js';
import type { FeatureComputer } from '../pipeline.js';

export interface PartitionFeatures {
  /** Call only after `ready(partition)` resolved. */
  featuresFor(partition: number): FeatureComputer;
  cardsOf(partition: number): CardStore | undefined;
  /** The (card, day) pairs whose state changed since the last call, for the changelog. */
  takeTouched(partition: number): CardChanges;
  /**
   * Adopts a new assignment: drops revoked partitions, restores new ones (in the background),
   * and restores the `reload` ones afresh (their in-memory state is ahead of what committed).
   */
  assign(partitions: readonly number[], reload?: readonly number[]): void;
  /** Resolves when the partition's state is restored; rejects if restoring failed. */
  ready(partition: number): Promise<void>;
  /** True when every assigned partition is restored. */
  allRestored(): boolean;
}

interface Entry {
  cards: CardStore;
  computer: FeatureComputer;
  restored: Promise<void>;
  done: boolean;
}

export type Restore = (stores: Map<number, CardStore>) => Promise<number>;

/** Every this many events a partition drops idle cards (tombstoned in the changelog). */
const EVICT_EVERY = 20_000;

export function createPartitionFeatures(terminals: TerminalTable, restore: Restore): PartitionFeatures {
  const byPartition = new Map<number, Entry>();
  const scratch = new Float64Array(FEATURE_NAMES.length);

  const create = (restoring: Promise<void>): Entry => {
    const cards = new CardStore({ trackChanges: true });
    const engine = createFeatureEngine({ cards, terminals });
    let sinceEviction = 0;
    let newest = -Infinity;
    const computer: FeatureComputer = {
      width: FEATURE_NAMES.length,
      featureSetVersion: FEATURE_SET_VERSION,
      compute(tx, out, offset) {
        // compute() moves the terminal watermark to this event's time first: outcomes known
        // by then become visible. The card store records the (card, day) pairs it changes.
        engine.compute(tx, scratch);
        out.set(scratch, offset);
        if (tx.eventTime > newest) newest = tx.eventTime;
        if (++sinceEviction >= EVICT_EVERY) {
          sinceEviction = 0;
          // A card idle for longer than every window has nothing left to say: forget it here
          // and in the changelog (the store lists its days for tombstones).
          cards.evictIdle(newest);
          terminals.sweep();
        }
      },
    };
    const entry: Entry = { cards, computer, restored: restoring, done: false };
    restoring.then(() => (entry.done = true), () => {});
    return entry;
  };

  return {
    featuresFor(p) {
      const entry = byPartition.get(p);
      if (!entry?.done) throw new Error(`partition ${p} is not assigned or not restored yet`);
      return entry.computer;
    },
    cardsOf: (p) => byPartition.get(p)?.cards,
    takeTouched: (p) => byPartition.get(p)?.cards.takeChanges() ?? new Map(),
    assign(partitions, reload = []) {
      for (const p of reload) byPartition.delete(p);
      const keep = new Set(partitions);
      for (const p of [...byPartition.keys()]) if (!keep.has(p)) byPartition.delete(p);
      const fresh = partitions.filter((p) => !byPartition.has(p));
      if (fresh.length === 0) return;
      const stores = new Map<number, CardStore>();
      let release: () => void = () => {};
      let fail: (e: unknown) => void = () => {};
      const restoring = new Promise<void>((resolve, reject) => ((release = resolve), (fail = reject)));
      for (const p of fresh) {
        const entry = create(restoring);
        byPartition.set(p, entry);
        stores.set(p, entry.cards);
      }
      restore(stores).then(() => release(), fail);
    },
    ready(p) {
      return byPartition.get(p)?.restored ?? Promise.reject(new Error(`partition ${p} is not assigned`));
    },
    allRestored: () => [...byPartition.values()].every((e) => e.done),
  };
}
