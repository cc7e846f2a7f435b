/**
 * The monitor's state: decisions waiting for their labels, the labels, and how far each input
 * topic was read, in one embedded SQLite database (node:sqlite, built into Node 24: no native
 * dependency to build, one file, transactions).
 *
 * Why SQLite: the join is by transaction id across days (labels arrive weeks later), so the
 * pending decisions must live on disk, be looked up by key and be aggregated by time window —
 * what a B-tree with SQL over it does well; an LSM store (LevelDB, RocksDB) would need the
 * window scans written by hand, DuckDB is built for bulk analytics rather than a stream of
 * small upserts.
 *
 * Crash consistency: every batch read from Kafka is written in one SQLite transaction together
 * with the offsets it ends at, and on start the consumer seeks to those offsets; so the store
 * and the offsets always agree. Inserts are also idempotent (a decision per transaction id
 * and role, a label per transaction id), so even a replay never counts twice.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { Decision, ModelRole, Outcome, TransactionOutcome } from '../../common/src/contracts.js';
import { binOf, outOfRange, type Range } from './drift.js';

export const ROLES: readonly ModelRole[] = ['CHAMPION', 'CANARY', 'SHADOW'];
export const OUTCOMES: readonly Outcome[] = ['ALLOW', 'REVIEW', 'BLOCK'];

export interface ModelKey {
  name: string;
  version: string;
  digest: string;
}

/** One labelled (or not yet labelled) decision, as the window metrics read it. */
export interface DecisionRow {
  model: number;
  role: ModelRole;
  score: number;
  outcome: Outcome;
  eventTime: number;
  card: string;
  /** 1 fraud, 0 genuine, null no label yet. */
  fraud: number | null;
}

/** A model's reference bin edges (its manifest): one list per feature, in feature order, and the score's; and their ranges where known. */
export interface ReferenceEdges {
  features: readonly (readonly number[])[];
  score: readonly number[];
  featureRanges?: readonly (Range | undefined)[];
  scoreRange?: Range;
}

/** The bin under which a day's out-of-range values are counted (beside, not instead of, their bin). */
export const OUT_OF_RANGE_BIN = -1;

/** The score's row in the drift counts (features are 0 … n−1). */
export const SCORE_FEATURE = -1;

export interface Store {
  /** Writes a batch's decisions and labels and the offsets it ends at, atomically. */
  write(batch: { decisions: readonly Decision[]; labels: readonly TransactionOutcome[]; offsets: readonly { topic: string; partition: number; next: bigint }[] }): void;
  /** Where each topic-partition was read up to (next offset), as of the last write. */
  offsets(): Map<string, bigint>;
  /** The models seen, by id. */
  models(): Map<number, ModelKey>;
  /** Decisions with event time in [from, to), joined with their labels (only those known by `asOf`, when given). */
  decisionsBetween(from: number, to: number, asOf?: number): DecisionRow[];
  /**
   * Newest event time of any decision, and of any labelled decision (0 when none); with
   * `asOf`, as they were at that time: decisions made by then, labels known by then.
   */
  frontiers(asOf?: number): { decided: number; labelled: number };
  /** Decisions per model, role and outcome with event time in [from, to). */
  outcomeCounts(from: number, to: number): { model: number; role: ModelRole; outcome: Outcome; n: number }[];
  /** Live histogram counts of one model over the UTC days [fromDay, toDay): feature → counts per bin, and values outside the reference range. */
  binCounts(model: number, fromDay: number, toDay: number): Map<number, { bins: number[]; outOfRange: number }>;
  /** Deletes decisions, labels and drift counts with event time before `before`; returns how many decisions went. */
  prune(before: number): number;
  /** Rows and bytes on disk, for the cost per pending decision. */
  size(): { decisions: number; labels: number; bytes: number };
  close(): void;
}

/**
 * @param edgesFor the reference edges of a model, to count its inputs and scores into drift
 *   histograms as decisions are stored (undefined: no drift counts for that model).
 */
export function openStore(path: string, edgesFor: (m: ModelKey) => ReferenceEdges | undefined = () => undefined): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE IF NOT EXISTS models (id INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL, UNIQUE (name, version, digest));
    -- WITHOUT ROWID: the primary key is the table, so a pending decision costs one B-tree entry.
    CREATE TABLE IF NOT EXISTS decisions (tx TEXT NOT NULL, role INTEGER NOT NULL, model INTEGER NOT NULL, score REAL NOT NULL, outcome INTEGER NOT NULL, event_time INTEGER NOT NULL, card TEXT NOT NULL, PRIMARY KEY (tx, role)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS decisions_by_time ON decisions (event_time);
    CREATE TABLE IF NOT EXISTS labels (tx TEXT PRIMARY KEY, fraud INTEGER NOT NULL, known_at INTEGER NOT NULL, event_time INTEGER NOT NULL) WITHOUT ROWID;
    -- Drift: per model, UTC day, feature (-1: the score) and reference bin, how many decisions fell there.
    CREATE TABLE IF NOT EXISTS bins (model INTEGER NOT NULL, day INTEGER NOT NULL, feature INTEGER NOT NULL, bin INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (model, day, feature, bin)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS offsets (topic TEXT NOT NULL, partition INTEGER NOT NULL, next INTEGER NOT NULL, PRIMARY KEY (topic, partition)) WITHOUT ROWID;
  `);
  const modelIds = new Map<string, number>();
  for (const r of db.prepare('SELECT id, name, version, digest FROM models').all() as { id: number; name: string; version: string; digest: string }[]) {
    modelIds.set(`${r.name}/${r.version}@${r.digest}`, r.id);
  }
  const insertModel = db.prepare('INSERT INTO models (name, version, digest) VALUES (?, ?, ?)');
  const insertDecision = db.prepare('INSERT OR IGNORE INTO decisions (tx, role, model, score, outcome, event_time, card) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insertLabel = db.prepare('INSERT OR IGNORE INTO labels (tx, fraud, known_at, event_time) VALUES (?, ?, ?, ?)');
  const addBin = db.prepare('INSERT INTO bins (model, day, feature, bin, n) VALUES (?, ?, ?, ?, ?) ON CONFLICT (model, day, feature, bin) DO UPDATE SET n = n + excluded.n');
  const edgesOf = new Map<number, ReferenceEdges | undefined>();
  const upsertOffset = db.prepare('INSERT INTO offsets (topic, partition, next) VALUES (?, ?, ?) ON CONFLICT (topic, partition) DO UPDATE SET next = excluded.next');
  const between: StatementSync = db.prepare(`
    SELECT d.model AS model, d.role AS role, d.score AS score, d.outcome AS outcome, d.event_time AS eventTime, d.card AS card, l.fraud AS fraud
    FROM decisions d LEFT JOIN labels l ON l.tx = d.tx AND l.known_at <= ?
    WHERE d.event_time >= ? AND d.event_time < ?`);
  const modelOf = (m: ModelKey): number => {
    const key = `${m.name}/${m.version}@${m.digest}`;
    let id = modelIds.get(key);
    if (id === undefined) {
      id = Number(insertModel.run(m.name, m.version, m.digest).lastInsertRowid);
      modelIds.set(key, id);
    }
    return id;
  };

  return {
    write({ decisions, labels, offsets }) {
      db.exec('BEGIN');
      try {
        // Drift counts are summed over the batch in memory and written once per cell; only
        // decisions actually inserted count (a replayed one is ignored, as its row is).
        const cells = new Map<string, number>();
        const count = (model: number, day: number, feature: number, bin: number) => {
          const key = `${model},${day},${feature},${bin}`;
          cells.set(key, (cells.get(key) ?? 0) + 1);
        };
        for (const d of decisions) {
          const model = modelOf(d.model);
          const inserted = insertDecision.run(d.transactionId, ROLES.indexOf(d.role), model, d.score, OUTCOMES.indexOf(d.decision), d.eventTime, d.cardToken).changes > 0;
          if (!inserted) continue;
          if (!edgesOf.has(model)) edgesOf.set(model, edgesFor(d.model));
          const edges = edgesOf.get(model);
          if (!edges) continue;
          const day = Math.floor(d.eventTime / 86_400_000);
          count(model, day, SCORE_FEATURE, binOf(edges.score, d.score));
          if (outOfRange(edges.scoreRange, d.score)) count(model, day, SCORE_FEATURE, OUT_OF_RANGE_BIN);
          if (d.features.length === edges.features.length) {
            for (let f = 0; f < d.features.length; f++) {
              const x = d.features[f]!;
              count(model, day, f, binOf(edges.features[f]!, x));
              if (outOfRange(edges.featureRanges?.[f], x)) count(model, day, f, OUT_OF_RANGE_BIN);
            }
          }
        }
        for (const [key, n] of cells) {
          const [model, day, feature, bin] = key.split(',').map(Number) as [number, number, number, number];
          addBin.run(model, day, feature, bin, n);
        }
        for (const l of labels) insertLabel.run(l.transactionId, l.isFraud ? 1 : 0, l.knownAt, l.eventTime);
        for (const o of offsets) upsertOffset.run(o.topic, o.partition, o.next);
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    },
    offsets() {
      const out = new Map<string, bigint>();
      for (const r of db.prepare('SELECT topic, partition, next FROM offsets').all() as { topic: string; partition: number; next: number }[]) {
        out.set(`${r.topic}/${r.partition}`, BigInt(r.next));
      }
      return out;
    },
    models() {
      const out = new Map<number, ModelKey>();
      for (const r of db.prepare('SELECT id, name, version, digest FROM models').all() as { id: number; name: string; version: string; digest: string }[]) {
        out.set(r.id, { name: r.name, version: r.version, digest: r.digest });
      }
      return out;
    },
    decisionsBetween(from, to, asOf = Number.MAX_SAFE_INTEGER) {
      // Codes to names in place: windows are tens of thousands of rows, read every interval.
      const rows = between.all(asOf, from, to) as unknown as (Omit<DecisionRow, 'role' | 'outcome'> & { role: number | ModelRole; outcome: number | Outcome })[];
      for (const r of rows) {
        r.role = ROLES[r.role as number]!;
        r.outcome = OUTCOMES[r.outcome as number]!;
      }
      return rows as DecisionRow[];
    },
    frontiers(asOf = Number.MAX_SAFE_INTEGER) {
      const d = db.prepare('SELECT max(event_time) AS t FROM decisions WHERE event_time <= ?').get(asOf) as { t: number | null };
      const l = db.prepare('SELECT max(d.event_time) AS t FROM decisions d JOIN labels l ON l.tx = d.tx WHERE l.known_at <= ? AND d.event_time <= ?').get(asOf, asOf) as { t: number | null };
      return { decided: d.t ?? 0, labelled: l.t ?? 0 };
    },
    outcomeCounts(from, to) {
      return (db.prepare('SELECT model, role, outcome, count(*) AS n FROM decisions WHERE event_time >= ? AND event_time < ? GROUP BY model, role, outcome').all(from, to) as { model: number; role: number; outcome: number; n: number }[]).map((r) => ({
        ...r,
        role: ROLES[r.role]!,
        outcome: OUTCOMES[r.outcome]!,
      }));
    },
    binCounts(model, fromDay, toDay) {
      const out = new Map<number, { bins: number[]; outOfRange: number }>();
      for (const r of db.prepare('SELECT feature, bin, sum(n) AS n FROM bins WHERE model = ? AND day >= ? AND day < ? GROUP BY feature, bin').all(model, fromDay, toDay) as { feature: number; bin: number; n: number }[]) {
        let counts = out.get(r.feature);
        if (!counts) out.set(r.feature, (counts = { bins: [], outOfRange: 0 }));
        if (r.bin === OUT_OF_RANGE_BIN) counts.outOfRange = r.n;
        else counts.bins[r.bin] = r.n;
      }
      for (const { bins } of out.values()) for (let i = 0; i < bins.length; i++) bins[i] ??= 0;
      return out;
    },
    prune(before) {
      db.exec('BEGIN');
      try {
        const gone = Number(db.prepare('DELETE FROM decisions WHERE event_time < ?').run(before).changes);
        db.prepare('DELETE FROM labels WHERE event_time < ?').run(before);
        db.prepare('DELETE FROM bins WHERE day < ?').run(Math.floor(before / 86_400_000));
        db.exec('COMMIT');
        return gone;
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    },
    size() {
      const count = (t: string) => (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
      const page = db.prepare('PRAGMA page_size').get() as { page_size: number };
      const pages = db.prepare('PRAGMA page_count').get() as { page_count: number };
      return { decisions: count('decisions'), labels: count('labels'), bytes: page.page_size * pages.page_count };
    },
    close: () => db.close(),
  };
}
