/**
 * The gate's rows: the test days of the candidate's split, known-compromised cards removed by
 * the protocol's own rule (evaluate/protocol.ts selectTestRows, as the trainer's protocol.py),
 * as float32 inputs in the table's CSV_COLUMNS order (= the scorer's feature order), with
 * labels, card codes (card-id order, the CP@k tie rule) and days. Rows without a label
 * (TX_FRAUD empty) are left out, as the trainer leaves them out.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { CSV_COLUMNS, FEATURE_COUNT } from '../../../scorer/src/features/index.js';
import { splitCsvLine } from '../evaluate/dataset.js';
import { dayOf, makeSplit, selectTestRows, type Split, type TestSelection } from '../evaluate/protocol.js';
import { BadInput } from './errors.js';
import type { Deltas, RetrainWindow } from './window.js';

export interface GateRows {
  n: number;
  /** n × FEATURE_COUNT, row-major. */
  X: Float32Array;
  labels: Uint8Array;
  cards: Int32Array;
  days: Int32Array;
  frauds: number;
  selection: Omit<TestSelection, 'rows'>;
}

export function splitOf(w: RetrainWindow, d: Deltas): Split {
  return makeSplit({ trainStart: w.train[0], deltaTrain: d.deltaTrain, deltaDelay: d.deltaDelay, deltaTest: d.deltaTest });
}

export async function loadGateRows(path: string, split: Split): Promise<GateRows> {
  const first = split.trainDays[0];
  const [testFirst, testLast] = split.testDays;
  const width = FEATURE_COUNT;
  const idCols = CSV_COLUMNS.length - width;
  const days: number[] = [];
  const cardRaw: number[] = [];
  const labels: number[] = [];
  /** Index into X of each kept row, -1 outside the test days (only their features are kept). */
  const xIndex: number[] = [];
  let X = new Float32Array(1 << 16);
  let nx = 0;
  const cardCodes = new Map<string, number>();
  let row = 0;
  let header = true;
  const lines = createInterface({ input: createReadStream(path, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (header) {
      header = false;
      continue;
    }
    if (line === '') continue;
    row++;
    const c1 = line.indexOf(',');
    const c2 = line.indexOf(',', c1 + 1);
    const day = dayOf(split, Number(line.slice(c1 + 1, c2)));
    if (!(day >= first && day <= testLast)) continue;
    const f = splitCsvLine(line);
    if (f.length !== CSV_COLUMNS.length) throw new BadInput(`${path}: data row ${row} has ${f.length} fields, expected ${CSV_COLUMNS.length}`);
    const label = f[4];
    if (label === '') continue;
    const cardId = f[2] as string;
    let code = cardCodes.get(cardId);
    if (code === undefined) cardCodes.set(cardId, (code = cardCodes.size));
    days.push(day);
    cardRaw.push(code);
    labels.push(label === '1' ? 1 : 0);
    if (day < testFirst) {
      xIndex.push(-1);
      continue;
    }
    if ((nx + 1) * width > X.length) {
      const grown = new Float32Array(X.length * 2);
      grown.set(X);
      X = grown;
    }
    for (let j = 0; j < width; j++) {
      const v = Number(f[idCols + j]);
      if (f[idCols + j] === '' || !Number.isFinite(v)) throw new BadInput(`${path}: data row ${row}: ${CSV_COLUMNS[idCols + j]} is not a finite number`);
      X[nx * width + j] = v;
    }
    xIndex.push(nx++);
  }
  // Card codes in card-id order, as evaluate/dataset.ts (CP@k breaks ties by code).
  const ids = [...cardCodes.keys()].sort();
  const remap = new Int32Array(ids.length);
  ids.forEach((id, sorted) => (remap[cardCodes.get(id) as number] = sorted));
  const cards = Int32Array.from(cardRaw, (c) => remap[c] as number);

  const sel = selectTestRows({ days, cards, labels }, split);
  const { rows: kept, ...selection } = sel;
  const n = sel.testRows;
  const out: GateRows = {
    n,
    X: new Float32Array(n * width),
    labels: new Uint8Array(n),
    cards: new Int32Array(n),
    days: new Int32Array(n),
    frauds: sel.testFrauds,
    selection,
  };
  kept.forEach((r, i) => {
    const xi = xIndex[r] as number;
    out.X.set(X.subarray(xi * width, (xi + 1) * width), i * width);
    out.labels[i] = labels[r] as number;
    out.cards[i] = cards[r] as number;
    out.days[i] = days[r] as number;
  });
  return out;
}
