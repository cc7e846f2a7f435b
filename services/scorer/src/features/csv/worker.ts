/**
 * The CSV worker: formats feature rows (columns.ts) as CSV lines and writes them to one file.
 * Formatting numbers as text is the largest cost of writing a feature table, and it needs no
 * state: run here, it overlaps with the feature engine on the main thread (write.ts).
 *
 * workerData: { path }. Messages in: { rows: RowColumns } then { end: true }. Out: { ack: true }
 * after each chunk is written, then { done: rows } once the file is closed, or { error }.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CSV_COLUMNS, featureRowToCsv } from './format.js';
import { rowsOf, type RowColumns } from './columns.js';

const port = parentPort;
if (!port) throw new Error('csv/worker.ts runs as a worker thread (write.ts starts it)');

const fd = openSync((workerData as { path: string }).path, 'w');
let rows = 0;
let text = CSV_COLUMNS.join(',') + '\n';

port.on('message', (msg: { rows?: RowColumns; end?: boolean }) => {
  try {
    if (msg.rows) {
      const c = msg.rows;
      for (const row of rowsOf(c)) {
        text += featureRowToCsv(row) + '\n';
        // ~64 KB per write: one write per line is several times slower.
        if (text.length >= 65_536) {
          writeSync(fd, text);
          text = '';
        }
      }
      rows += c.n;
      port.postMessage({ ack: true });
    }
    if (msg.end) {
      writeSync(fd, text);
      closeSync(fd);
      port.postMessage({ done: rows });
      port.close();
    }
  } catch (err) {
    port.postMessage({ error: (err as Error).message });
    port.close();
  }
});
