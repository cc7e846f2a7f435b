/**
 * The simulation as JSON Lines files, and streaming readers for them and for users' files.
 *
 *   transactions.jsonl  one Transaction per line, contract fields only (no labels: a file of
 *                       transactions must look exactly like what a producer would send)
 *   outcomes.jsonl      one TransactionOutcome per line, in knownAt order (the labels)
 *   manifest.json       the resolved options and counts, so a data set can be regenerated
 *
 * Everything streams: the writer holds one chunk per file and waits for 'drain', the readers
 * go line by line with readline, so a 1.75 M-transaction run never sits in memory.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createCodecs, type Transaction, type TransactionOutcome } from '../../common/src/contracts.js';
import { createSimulation, type SimEvent } from './generator.js';
import type { SimulationOptions } from './options.js';
import { emptyStats, type EventStats } from './stats.js';
import { checkTransactionLine, JsonLinesError } from './validate.js';

export const TRANSACTIONS_FILE = 'transactions.jsonl';
export const OUTCOMES_FILE = 'outcomes.jsonl';
export const MANIFEST_FILE = 'manifest.json';

export interface WriteOptions {
  /** Called about every `progressEvery` events and once at the end. */
  onProgress?: (stats: EventStats) => void;
  progressEvery?: number;
  /** Stops writing early; the files then hold a consistent prefix of the stream. */
  signal?: AbortSignal;
}

export interface FilesResult extends EventStats {
  dir: string;
  transactionsFile: string;
  outcomesFile: string;
  /** False when the signal stopped the run early. */
  complete: boolean;
}

/** Buffers lines into ~64 KiB writes and honours back-pressure. */
class LineSink {
  private chunk: string[] = [];
  private bytes = 0;
  constructor(private readonly out: WriteStream) {}

  /** Returns a promise only when a write happened (awaiting every line would cost ~1 µs each). */
  add(line: string): Promise<void> | undefined {
    this.chunk.push(line);
    this.bytes += line.length + 1;
    return this.bytes >= 65_536 ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    if (this.chunk.length === 0) return;
    const text = `${this.chunk.join('\n')}\n`;
    this.chunk = [];
    this.bytes = 0;
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    this.out.end();
    await once(this.out, 'finish');
  }
}

/** Writes any event stream to `dir` (created if needed). */
export async function writeEventsToDir(dir: string, events: Iterable<SimEvent>, opts: WriteOptions = {}): Promise<FilesResult> {
  await mkdir(dir, { recursive: true });
  const transactionsFile = join(dir, TRANSACTIONS_FILE);
  const outcomesFile = join(dir, OUTCOMES_FILE);
  const txOut = createWriteStream(transactionsFile);
  const outcomeOut = createWriteStream(outcomesFile);
  // An open error (permissions, missing disk) surfaces here instead of as an unhandled event.
  await Promise.all([once(txOut, 'open'), once(outcomeOut, 'open')]);
  const txSink = new LineSink(txOut);
  const outcomeSink = new LineSink(outcomeOut);

  const started = performance.now();
  const stats = emptyStats();
  const every = opts.progressEvery ?? 50_000;
  let complete = true;
  let n = 0;
  try {
    for (const e of events) {
      if (opts.signal?.aborted) {
        complete = false;
        break;
      }
      if (e.kind === 'transaction') {
        // Only the contract's fields: the label goes to outcomes.jsonl.
        const wrote = txSink.add(JSON.stringify(e.tx));
        if (wrote) await wrote;
        stats.transactions++;
        if (e.isFraud) stats.frauds++;
      } else {
        const wrote = outcomeSink.add(JSON.stringify(e.outcome));
        if (wrote) await wrote;
        stats.outcomes++;
      }
      if (++n % every === 0 && opts.onProgress) {
        stats.elapsedMs = performance.now() - started;
        opts.onProgress({ ...stats });
      }
    }
  } finally {
    await Promise.all([txSink.close(), outcomeSink.close()]);
  }
  stats.elapsedMs = performance.now() - started;
  opts.onProgress?.({ ...stats });
  return { ...stats, dir, transactionsFile, outcomesFile, complete };
}

export interface SimulateToFilesOptions extends SimulationOptions, WriteOptions {
  dir: string;
}

/** Runs a simulation into `dir`: transactions.jsonl, outcomes.jsonl and manifest.json. */
export async function simulateToFiles(opts: SimulateToFilesOptions): Promise<FilesResult> {
  const { dir, onProgress, progressEvery, signal, ...simOptions } = opts;
  const sim = createSimulation(simOptions);
  const result = await writeEventsToDir(dir, sim.events(), { onProgress, progressEvery, signal });
  const manifest = {
    generator: 'fraudscore simulator (fraud-detection handbook, Le Borgne et al.)',
    options: { ...sim.options, startDate: new Date(sim.options.startMs).toISOString() },
    world: { customers: sim.world.customers.length, terminals: sim.world.terminals.length },
    counts: { transactions: result.transactions, outcomes: result.outcomes, frauds: result.frauds },
    complete: result.complete,
    files: { transactions: TRANSACTIONS_FILE, outcomes: OUTCOMES_FILE },
  };
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return result;
}

/** Non-blank lines of a file with their 1-based line numbers, streamed. */
export async function* readLines(file: string): AsyncGenerator<{ line: number; text: string }> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      if (text.trim() !== '') yield { line, text };
    }
  } finally {
    // A consumer that stops early (break, maxEvents) must not leave the file open.
    rl.close();
    input.destroy();
  }
}

/** Parses our own JSON Lines files; a broken line fails with its number (not its text). */
async function* readJson<T>(file: string): AsyncGenerator<T> {
  for await (const { line, text } of readLines(file)) {
    let value: T;
    try {
      value = JSON.parse(text) as T;
    } catch {
      throw new JsonLinesError(line, [{ path: '', message: 'not valid JSON' }]);
    }
    yield value;
  }
}

/** Reads a transactions.jsonl written by writeEventsToDir (trusted: not re-validated). */
export function readTransactionsFile(file: string): AsyncGenerator<Transaction> {
  return readJson<Transaction>(file);
}

/** Reads an outcomes.jsonl written by writeEventsToDir. */
export function readOutcomesFile(file: string): AsyncGenerator<TransactionOutcome> {
  return readJson<TransactionOutcome>(file);
}

export type UserRecord = { line: number; tx: Transaction; error?: undefined } | { line: number; tx?: undefined; error: JsonLinesError };

/**
 * Reads a user's own JSON Lines transactions, checking each against the Transaction Avro
 * schema. Yields each line's transaction or its error (line number, field paths, no values);
 * the caller decides whether to stop, skip or collect.
 */
export async function* readUserTransactions(file: string): AsyncGenerator<UserRecord> {
  const type = createCodecs('plain').transaction.type;
  for await (const { line, text } of readLines(file)) {
    const check = checkTransactionLine(text, type);
    yield check.ok ? { line, tx: check.tx } : { line, error: new JsonLinesError(line, check.problems) };
  }
}
