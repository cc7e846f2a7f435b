/**
 * Card state is partition-local: input is keyed by card token, so one partition holds whole
 * card histories. Each assigned partition gets its own card store and feature engine; the
 * terminal table is shared (every instance reads all outcomes). When a rebalance takes a
 * partition away, its card state is dropped: the new owner restores it from the changelog.
 */
import { CardStore, createFeatureEngine, FEATURE_NAMES, FEATURE_SET_VERSION, type TerminalTable } from '../features/index.js';
import type { FeatureComputer } from '../pipeline.js';

export interface PartitionFeatures {
  featuresFor(partition: number): FeatureComputer;
  cardsOf(partition: number): CardStore | undefined;
  /** Keeps the listed partitions' state and drops the rest. */
  retain(partitions: readonly number[]): void;
}

export function createPartitionFeatures(terminals: TerminalTable): PartitionFeatures {
  const byPartition = new Map<number, { cards: CardStore; computer: FeatureComputer }>();
  const scratch = new Float64Array(FEATURE_NAMES.length);

  const create = (partition: number) => {
    const cards = new CardStore();
    const engine = createFeatureEngine({ cards, terminals });
    const computer: FeatureComputer = {
      width: FEATURE_NAMES.length,
      featureSetVersion: FEATURE_SET_VERSION,
      compute(tx, out, offset) {
        // The watermark is this event's time: outcomes known by then become visible.
        terminals.advanceTo(tx.eventTime);
        engine.compute(tx, scratch);
        out.set(scratch, offset);
      },
    };
    const entry = { cards, computer };
    byPartition.set(partition, entry);
    return entry;
  };

  return {
    featuresFor: (p) => (byPartition.get(p) ?? create(p)).computer,
    cardsOf: (p) => byPartition.get(p)?.cards,
    retain(partitions) {
      const keep = new Set(partitions);
      for (const p of [...byPartition.keys()]) if (!keep.has(p)) byPartition.delete(p);
    },
  };
}
