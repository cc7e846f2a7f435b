/**
 * The latency runs' load generator, in a child process of its own: the bench process keeps
 * its event loop for the monitor that timestamps visible outputs, and the generator's CPU is
 * accounted like an external producer's. One kafkajs producer stays connected across calls
 * (no connection set-up inside a timed window) and publishes the simulation's transactions
 * at a steady rate — same keys, Avro values and fs-published-at header as the project's
 * publisher (services/simulator/src/publisher.ts), acks=-1, idempotent, one batch in flight.
 *
 * Parent side: `startLoadGenerator(...)`; child side: this file run by node with tsx, talking
 * over the IPC channel: {type:'publish', rate, seconds} → {type:'progress'|'done', transactions}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { logLevel, Partitioners, type Message } from 'kafkajs';
import { createCodecs } from '../../../services/common/src/contracts.js';
import { createKafka } from '../../../services/common/src/kafka.js';
import { createTokenBucket, sleep } from '../../../services/simulator/src/pacing.js';
import { PUBLISHED_AT_HEADER } from '../../../services/simulator/src/publisher.js';
import { simulationEvents } from './kafka-io.js';

export interface GeneratorConfig {
  brokers: string[];
  topic: string;
  seed: number;
  customers: number;
}

type ToChild = { type: 'publish'; rate: number; seconds: number } | { type: 'stop' };
type FromChild = { type: 'ready' } | { type: 'progress' | 'done'; transactions: number; elapsedMs: number; eventTime: number } | { type: 'error'; message: string };

export interface LoadGenerator {
  readonly pid: number;
  /** Transactions acknowledged so far, over all calls (updated about every 100 ms while publishing). */
  published(): number;
  /** The newest event time published (the stream's clock; 0 before any), about every 100 ms. */
  eventTime(): number;
  /** Publishes at `rate` tx/s for `seconds`; resolves with what this call published. */
  publish(rate: number, seconds: number): Promise<{ transactions: number; elapsedMs: number }>;
  stop(): Promise<void>;
}

export async function startLoadGenerator(config: GeneratorConfig, logFile: string): Promise<LoadGenerator> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  let total = 0;
  let eventTime = 0;
  let pending: { resolve: (r: { transactions: number; elapsedMs: number }) => void; reject: (e: Error) => void; before: number } | undefined;
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (raw) => {
      const m = raw as FromChild;
      if (m.type === 'ready') resolve();
      else if (m.type === 'error') {
        const err = new Error(`load generator: ${m.message}`);
        reject(err);
        pending?.reject(err);
        pending = undefined;
      } else {
        total = m.transactions;
        eventTime = Math.max(eventTime, m.eventTime);
        if (m.type === 'done' && pending) {
          pending.resolve({ transactions: total - pending.before, elapsedMs: m.elapsedMs });
          pending = undefined;
        }
      }
    });
    void exit.then(() => {
      const err = new Error(`load generator exited; see ${logFile}`);
      reject(err);
      pending?.reject(err);
      pending = undefined;
    });
  });
  await ready;
  return {
    pid: child.pid!,
    published: () => total,
    eventTime: () => eventTime,
    publish: (rate, seconds) =>
      new Promise((resolve, reject) => {
        if (exited) return reject(new Error(`load generator exited; see ${logFile}`));
        if (pending) return reject(new Error('load generator: one publish at a time'));
        pending = { resolve, reject, before: total };
        child.send({ type: 'publish', rate, seconds } satisfies ToChild);
      }),
    stop: async () => {
      if (!exited) child.send({ type: 'stop' } satisfies ToChild);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The child.

async function runChild(config: GeneratorConfig): Promise<void> {
  const send = (m: FromChild) => process.send!(m);
  const kafka = createKafka({ brokers: config.brokers, clientId: 'fraudscore-bench-load', logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const codecs = createCodecs('confluent');
  const events = simulationEvents(config.seed, config.customers, Number.MAX_SAFE_INTEGER, false);
  let acked = 0;
  let newest = 0;
  let busy = false;

  const publish = async (rate: number, seconds: number) => {
    const bucket = createTokenBucket({ rate });
    const started = performance.now();
    const end = started + seconds * 1000;
    let batch: Message[] = [];
    let inFlight: Promise<void> | undefined;
    const flush = async () => {
      if (batch.length === 0) return;
      const messages = batch;
      batch = [];
      if (inFlight) await inFlight;
      const headers = { [PUBLISHED_AT_HEADER]: String(Date.now()) };
      for (const m of messages) m.headers = headers;
      inFlight = producer.sendBatch({ topicMessages: [{ topic: config.topic, messages }], acks: -1 }).then(() => {
        acked += messages.length;
      });
    };
    const progress = setInterval(() => send({ type: 'progress', transactions: acked, elapsedMs: performance.now() - started, eventTime: newest }), 100);
    try {
      for (;;) {
        const now = performance.now();
        if (now >= end) break;
        const wait = bucket.take();
        if (wait > 0) {
          // About to idle: send what we have, so low rates are not held back by batching.
          await flush();
          await sleep(Math.min(wait, end - performance.now()));
          continue;
        }
        const e = events.next();
        if (e.done) break;
        if (e.value.kind !== 'transaction') continue;
        batch.push({ key: e.value.tx.cardToken, value: codecs.transaction.encode(e.value.tx) });
        if (e.value.tx.eventTime > newest) newest = e.value.tx.eventTime;
        if (batch.length >= 500) await flush();
      }
      await flush();
      await inFlight;
    } finally {
      clearInterval(progress);
    }
    send({ type: 'done', transactions: acked, elapsedMs: performance.now() - started, eventTime: newest });
  };

  process.on('message', (raw) => {
    const m = raw as ToChild;
    if (m.type === 'stop') {
      void producer.disconnect().finally(() => process.exit(0));
      return;
    }
    if (busy) {
      send({ type: 'error', message: 'one publish at a time' });
      return;
    }
    busy = true;
    publish(m.rate, m.seconds).then(
      () => (busy = false),
      (err: unknown) => {
        send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.send) {
  runChild(JSON.parse(process.argv[2] ?? '{}') as GeneratorConfig).catch((err: unknown) => {
    process.stderr.write(`load generator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
