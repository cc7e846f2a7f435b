/**
 * writeFeaturesCsv: the feature table as CSV, formatted and written by a worker thread
 * (worker.ts) while this thread computes the rows. Rows cross in chunks of CHUNK_ROWS as
 * columns (columns.ts); at most MAX_IN_FLIGHT chunks wait for the worker, so memory stays
 * bounded when the engine outruns the formatting. The file holds exactly what
 * featureRowToCsv makes of each row, in order, whichever thread formats it.
 */
import { Worker } from 'node:worker_threads';
import type { FeatureRow } from '../batch.js';
import { appendRow, emptyColumns } from './columns.js';

const CHUNK_ROWS = 4096;
const MAX_IN_FLIGHT = 8;

/**
 * The worker's entry. Run from source (tsx, vitest), the worker needs the TypeScript loader;
 * built (dist/), it is plain JavaScript beside this file.
 */
function startWorker(path: string): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const hasLoader = process.execArgv.some((a) => a.includes('tsx'));
  return new Worker(new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url), {
    workerData: { path },
    execArgv: fromSource && !hasLoader ? [...process.execArgv, '--import', 'tsx'] : undefined,
  });
}

/** Writes rows as CSV (header CSV_COLUMNS) to `path`; resolves with the number of rows. */
export async function writeFeaturesCsv(rows: AsyncIterable<FeatureRow> | Iterable<FeatureRow>, path: string): Promise<number> {
  const worker = startWorker(path);
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  let settle = { done: (_rows: number): void => {}, fail: (_err: Error): void => {} };
  const written = new Promise<number>((done, fail) => (settle = { done, fail }));
  written.catch(() => {}); // awaited below; a failure before that is not unhandled
  const fail = (err: Error): void => {
    failure ??= err;
    settle.fail(failure);
    wake?.();
  };
  worker.on('message', (msg: { ack?: true; done?: number; error?: string }) => {
    if (msg.ack) {
      inFlight--;
      wake?.();
    } else if (msg.done !== undefined) settle.done(msg.done);
    else if (msg.error !== undefined) fail(new Error(`writing ${path}: ${msg.error}`));
  });
  worker.on('error', fail);
  // After `done` this changes nothing (the promise is settled).
  worker.on('exit', (code) => fail(new Error(`the CSV worker for ${path} stopped (exit ${code}) before the table was complete`)));

  let chunk = emptyColumns(CHUNK_ROWS);
  const send = async (): Promise<void> => {
    const c = chunk;
    chunk = emptyColumns(CHUNK_ROWS);
    worker.postMessage({ rows: c }, [c.idLengths.buffer, c.eventTimes.buffer, c.frauds.buffer, c.scenarios.buffer, c.features.buffer]);
    inFlight++;
    while (inFlight >= MAX_IN_FLIGHT && !failure) await new Promise<void>((resolve) => (wake = resolve));
    if (failure) throw failure;
  };
  try {
    // A row costs no promise: only a full chunk is awaited.
    if (Symbol.iterator in rows) {
      for (const row of rows) {
        appendRow(chunk, row);
        if (chunk.n === CHUNK_ROWS) await send();
      }
    } else {
      for await (const row of rows) {
        appendRow(chunk, row);
        if (chunk.n === CHUNK_ROWS) await send();
      }
    }
    if (chunk.n > 0) await send();
    worker.postMessage({ end: true });
    return await written;
  } finally {
    await worker.terminate();
  }
}
