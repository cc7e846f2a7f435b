/**
 * Reads the feature table that `fraudscore features` writes (CSV_COLUMNS), keeping only what
 * the evaluation needs: the rows from the first training day to the last test day, with their
 * split-relative day, card code, label and the 15 inputs as float32 (the ONNX input type; the
 * Python trainer casts the same decimal text, parsed as float64, to float32 the same way).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { CSV_COLUMNS, FEATURE_COUNT } from '../../../scorer/src/features/index.js';
import { dayOf, type Split } from './protocol.js';

export interface EvalTable {
  /** Rows kept (within the split's days). */
  n: number;
  /** Rows read from the file, kept or not. */
  rowsRead: number;
  days: Int32Array;
  /** Card codes: index into cardIds, which is sorted, so code order is card-id order. */
  cards: Int32Array;
  cardIds: string[];
  labels: Uint8Array;
  /** n × FEATURE_COUNT, row-major, CSV_COLUMNS order. */
  features: Float32Array;
}

/** Splits one CSV line; quoted fields (RFC 4180) only take the slow path. */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

export interface LoadOptions {
  /** Called every ~50,000 rows read and once at the end; frauds counts every row read. */
  onProgress?: (rowsRead: number, rowsKept: number, frauds: number) => void;
}

/** Loads the rows of days [split.trainDays[0], split.testDays[1]] from a features CSV. */
export async function loadEvalTable(path: string, split: Split, opts: LoadOptions = {}): Promise<EvalTable> {
  const first = split.trainDays[0];
  const last = split.testDays[1];
  const width = FEATURE_COUNT;
  const idCols = CSV_COLUMNS.length - width;

  const days: number[] = [];
  const cardRaw: number[] = [];
  const labels: number[] = [];
  let features = new Float32Array(1 << 20);
  const cardCodes = new Map<string, number>();
  let n = 0;
  let rowsRead = 0;
  let frauds = 0;
  let header: string[] | undefined;

  const lines = createInterface({ input: createReadStream(path, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (header === undefined) {
      header = splitCsvLine(line.trim()).map((h) => h.trim());
      if (header.join(',') !== CSV_COLUMNS.join(',')) {
        throw new Error(`${path}: header is not the feature table's.\n  expected: ${CSV_COLUMNS.join(',')}\n  found:    ${header.join(',')}`);
      }
      continue;
    }
    if (line === '') continue;
    rowsRead++;
    if (rowsRead % 50_000 === 0) opts.onProgress?.(rowsRead, n, frauds);
    // Cheap pre-filter on the time column before splitting the whole line.
    const c1 = line.indexOf(',');
    const c2 = line.indexOf(',', c1 + 1);
    const timeMs = Number(line.slice(c1 + 1, c2));
    if (!Number.isFinite(timeMs)) throw new Error(`${path}: line ${rowsRead + 1}: TX_DATETIME_MS is not a number`);
    // TX_FRAUD is the fifth field: counted for every row (progress), before the day filter.
    const c4 = line.indexOf(',', line.indexOf(',', c2 + 1) + 1);
    if (line.charCodeAt(c4 + 1) === 49 /* '1' */ && line.charCodeAt(c4 + 2) === 44 /* ',' */) frauds++;
    const day = dayOf(split, timeMs);
    if (day < first || day > last) continue;

    const f = splitCsvLine(line);
    if (f.length !== CSV_COLUMNS.length) {
      throw new Error(`${path}: line ${rowsRead + 1} has ${f.length} fields, expected ${CSV_COLUMNS.length}`);
    }
    const cardId = f[2] as string;
    let code = cardCodes.get(cardId);
    if (code === undefined) cardCodes.set(cardId, (code = cardCodes.size));
    const label = f[4];
    if (label !== '0' && label !== '1') throw new Error(`${path}: line ${rowsRead + 1}: TX_FRAUD must be 0 or 1, got '${label}'`);
    if ((n + 1) * width > features.length) {
      const grown = new Float32Array(features.length * 2);
      grown.set(features);
      features = grown;
    }
    for (let j = 0; j < width; j++) {
      const v = Number(f[idCols + j]);
      if (!Number.isFinite(v)) {
        throw new Error(`${path}: line ${rowsRead + 1}: ${CSV_COLUMNS[idCols + j]} is not a finite number: '${f[idCols + j]}'`);
      }
      features[n * width + j] = v;
    }
    days.push(day);
    cardRaw.push(code);
    labels.push(label === '1' ? 1 : 0);
    n++;
  }
  if (header === undefined) throw new Error(`${path}: empty file`);
  opts.onProgress?.(rowsRead, n, frauds);

  // Re-code cards so that code order is card-id order (the tie rule of Card Precision@k).
  const cardIds = [...cardCodes.keys()].sort();
  const remap = new Int32Array(cardIds.length);
  cardIds.forEach((id, sorted) => {
    remap[cardCodes.get(id) as number] = sorted;
  });
  const cards = new Int32Array(n);
  for (let i = 0; i < n; i++) cards[i] = remap[cardRaw[i] as number] as number;

  return {
    n,
    rowsRead,
    days: Int32Array.from(days),
    cards,
    cardIds,
    labels: Uint8Array.from(labels),
    features: features.slice(0, n * width),
  };
}

/** The feature rows at the given indices, packed row-major (the model input). */
export function gatherRows(table: EvalTable, rows: ArrayLike<number>): Float32Array {
  const width = FEATURE_COUNT;
  const out = new Float32Array(rows.length * width);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    out.set(table.features.subarray(r * width, (r + 1) * width), i * width);
  }
  return out;
}
