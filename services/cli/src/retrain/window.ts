/**
 * Which days a retrain trains and tests on: the most recent window the feature table allows,
 * laid out as the handbook protocol (evaluate/protocol.ts, services/trainer/protocol.py) lays
 * out its split, counted back from the newest labelled day:
 *
 *   validation train (Δtrain) | delay (Δdelay) | validation test = candidate train (Δtrain) | delay (Δdelay) | test (Δtest)
 *
 * The test days end on the newest day with a labelled row (or --test-end). The candidate is
 * trained on the Δtrain days that end Δdelay days before them, as the trainer's test split;
 * the trainer's validation split (model choice, thresholds, calibration) ends Δdelay days
 * before the candidate's training days start, as `evaluate --train` places it. The gate then
 * scores the test days, which neither the candidate nor (checked from its manifest) the
 * champion trained on.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { CSV_COLUMNS, DAY_MS } from '../../../scorer/src/features/index.js';
import { splitCsvLine } from '../evaluate/dataset.js';
import { BadInput } from './errors.js';

export interface DayCounts {
  rows: number;
  labelled: number;
  frauds: number;
}

/** One cheap pass over a features CSV: rows, labels and frauds per UTC day (days since 1970-01-01). */
export interface TableScan {
  rows: number;
  labelled: number;
  frauds: number;
  days: Map<number, DayCounts>;
  firstDay?: number;
  lastDay?: number;
  firstLabelledDay?: number;
  lastLabelledDay?: number;
}

export const dayOfMs = (ms: number): number => Math.floor(ms / DAY_MS);
export const isoOfDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);
export function dayOfIso(iso: string, flag = 'date'): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? Date.parse(`${iso}T00:00:00Z`) : Number.NaN;
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== iso) throw new BadInput(`${flag}: expected a date YYYY-MM-DD, got ${JSON.stringify(iso)}`);
  return dayOfMs(ms);
}

export async function scanTable(path: string): Promise<TableScan> {
  const scan: TableScan = { rows: 0, labelled: 0, frauds: 0, days: new Map() };
  let header = false;
  const lines = createInterface({ input: createReadStream(path, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (!header) {
        const found = splitCsvLine(line.trim()).map((h) => h.trim());
        if (found.join(',') !== CSV_COLUMNS.join(',')) {
          throw new BadInput(`${path}: header is not the feature table's (fraudscore features writes ${CSV_COLUMNS.slice(0, 5).join(',')},…)`);
        }
        header = true;
        continue;
      }
      if (line === '') continue;
      scan.rows++;
      let timeText: string;
      let label: string;
      if (line.includes('"')) {
        const f = splitCsvLine(line);
        timeText = f[1] ?? '';
        label = f[4] ?? '';
      } else {
        const c1 = line.indexOf(',');
        const c2 = line.indexOf(',', c1 + 1);
        const c3 = line.indexOf(',', c2 + 1);
        const c4 = line.indexOf(',', c3 + 1);
        const c5 = line.indexOf(',', c4 + 1);
        timeText = line.slice(c1 + 1, c2);
        label = c4 < 0 ? '' : line.slice(c4 + 1, c5 < 0 ? undefined : c5);
      }
      const ms = Number(timeText);
      // Row numbers only, never values: the table may hold a user's own history.
      if (timeText === '' || !Number.isFinite(ms)) throw new BadInput(`${path}: data row ${scan.rows}: TX_DATETIME_MS is not a number`);
      if (label !== '' && label !== '0' && label !== '1') throw new BadInput(`${path}: data row ${scan.rows}: TX_FRAUD must be 0, 1 or empty`);
      const day = dayOfMs(ms);
      let c = scan.days.get(day);
      if (!c) scan.days.set(day, (c = { rows: 0, labelled: 0, frauds: 0 }));
      c.rows++;
      scan.firstDay = scan.firstDay === undefined ? day : Math.min(scan.firstDay, day);
      scan.lastDay = scan.lastDay === undefined ? day : Math.max(scan.lastDay, day);
      if (label === '') continue;
      c.labelled++;
      scan.labelled++;
      if (label === '1') {
        c.frauds++;
        scan.frauds++;
      }
      scan.firstLabelledDay = scan.firstLabelledDay === undefined ? day : Math.min(scan.firstLabelledDay, day);
      scan.lastLabelledDay = scan.lastLabelledDay === undefined ? day : Math.max(scan.lastLabelledDay, day);
    }
  } finally {
    lines.close();
  }
  if (!header) throw new BadInput(`${path}: empty file`);
  return scan;
}

export interface Deltas {
  deltaTrain: number;
  deltaDelay: number;
  deltaTest: number;
}

export const DEFAULT_DELTAS: Deltas = { deltaTrain: 7, deltaDelay: 7, deltaTest: 7 };

/** Inclusive ISO date ranges. */
export type Range = [string, string];

export interface RetrainWindow {
  /** The candidate's training days (the trainer's --train-start and --delta-train). */
  train: Range;
  delay_days: number;
  /** The gate's test days: the newest labelled days. */
  test: Range;
  /** The trainer's validation split (--val-train-start): model choice, thresholds, calibration. */
  validation: { train: Range; test: Range };
  /** The table's labelled days, first to last. */
  labelled: Range;
  /** Feature history before the validation split's first day, in days (37 are needed for warm features). */
  history_days: number;
}

/** Days of history a row's features need (card windows 30 d, terminal windows 7 + 30 d). */
export const FEATURE_LOOKBACK_DAYS = 37;

export function windowDays(w: RetrainWindow): { trainFirst: number; testFirst: number; testLast: number } {
  return { trainFirst: dayOfIso(w.train[0]), testFirst: dayOfIso(w.test[0]), testLast: dayOfIso(w.test[1]) };
}

/**
 * The newest window the table allows; throws BadInput when its labelled days are too few
 * (saying how many are needed and which days it has).
 */
export function chooseWindow(scan: Pick<TableScan, 'firstDay' | 'firstLabelledDay' | 'lastLabelledDay'>, d: Deltas, testEnd?: string): RetrainWindow {
  for (const [name, v, min] of [['--delta-train', d.deltaTrain, 1], ['--delta-delay', d.deltaDelay, 0], ['--delta-test', d.deltaTest, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new BadInput(`${name} must be a whole number >= ${min}, got ${v}`);
  }
  if (d.deltaTest > d.deltaTrain + d.deltaDelay) {
    // The trainer's validation test days start on the candidate's first training day and must end before the test days.
    throw new BadInput(`--delta-test ${d.deltaTest} is longer than --delta-train + --delta-delay (${d.deltaTrain + d.deltaDelay}): the validation split would reach the test days`);
  }
  if (scan.firstLabelledDay === undefined || scan.lastLabelledDay === undefined || scan.firstDay === undefined) {
    throw new BadInput('the feature table has no labelled row (TX_FRAUD 0 or 1): nothing to train or test on (give --outcomes with --transactions)');
  }
  let testLast = scan.lastLabelledDay;
  if (testEnd !== undefined) {
    testLast = dayOfIso(testEnd, '--test-end');
    if (testLast > scan.lastLabelledDay) throw new BadInput(`--test-end ${testEnd} is after the table's newest labelled day ${isoOfDay(scan.lastLabelledDay)}`);
  }
  const testFirst = testLast - d.deltaTest + 1;
  const trainLast = testFirst - d.deltaDelay - 1;
  const trainFirst = trainLast - d.deltaTrain + 1;
  const valTrainFirst = trainFirst - d.deltaTrain - d.deltaDelay;
  const need = testLast - valTrainFirst + 1;
  if (valTrainFirst < scan.firstLabelledDay) {
    throw new BadInput(
      `the table's labelled days are ${isoOfDay(scan.firstLabelledDay)}..${isoOfDay(scan.lastLabelledDay)}; a retrain ending ${isoOfDay(testLast)} needs ` +
        `${need} labelled days (validation ${d.deltaTrain} + ${d.deltaDelay} delay, training ${d.deltaTrain} + ${d.deltaDelay} delay, test ${d.deltaTest}) from ${isoOfDay(valTrainFirst)}: ` +
        'give a longer history (or smaller --delta-* days)',
    );
  }
  return {
    train: [isoOfDay(trainFirst), isoOfDay(trainLast)],
    delay_days: d.deltaDelay,
    test: [isoOfDay(testFirst), isoOfDay(testLast)],
    validation: {
      train: [isoOfDay(valTrainFirst), isoOfDay(valTrainFirst + d.deltaTrain - 1)],
      test: [isoOfDay(trainFirst), isoOfDay(trainFirst + d.deltaTest - 1)],
    },
    labelled: [isoOfDay(scan.firstLabelledDay), isoOfDay(scan.lastLabelledDay)],
    history_days: valTrainFirst - scan.firstDay,
  };
}

export interface HeldOut {
  /** True when the champion's training days are known and do not meet the test days. */
  ok: boolean;
  /** The champion's training days, as its manifest records them. */
  trainedOn?: Range;
  detail: string;
}

/**
 * Whether a champion's manifest shows it did not train on the test days (training_data.train,
 * which train.py writes). Unknown counts as not held out: the comparison could favour it.
 */
export function championHeldOut(ref: string, trainingData: unknown, test: Range): HeldOut {
  const train = (trainingData as { train?: unknown } | undefined)?.train;
  if (!Array.isArray(train) || train.length !== 2 || !train.every((s) => typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s))) {
    return { ok: false, detail: `${ref}: its manifest has no training_data.train [first, last] day, so it cannot be shown not to have trained on the test days ${test[0]}..${test[1]}` };
  }
  const [a, b] = train as [string, string];
  const trainedOn: Range = [a, b];
  if (a <= test[1] && b >= test[0]) {
    return { ok: false, trainedOn, detail: `${ref} trained on ${a}..${b}, which overlaps the test days ${test[0]}..${test[1]}: its scores there are in-sample and the comparison would favour it` };
  }
  const when = b < test[0] ? 'before' : 'after';
  return { ok: true, trainedOn, detail: `${ref} trained on ${a}..${b}, ${when} the test days ${test[0]}..${test[1]}` };
}
