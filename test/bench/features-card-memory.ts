/**
 * Card state memory: 100,000 cards paying ~2 times a day (Poisson), event time driven.
 * Prints bytes per card as the store counts them (typed arrays) and as the process sees them
 * (heap + array buffers, including the Map and the card-token strings), after 30 days and
 * after 60 (steady state: each card holds 30 days + the 1-day margin).
 *
 *   node --expose-gc --import tsx test/bench/features-card-memory.ts [cards] [txPerDay]
 */
import { CardStore } from '../../services/scorer/src/features/index.js';

const CARDS = Number(process.argv[2] ?? 100_000);
const RATE = Number(process.argv[3] ?? 2);
const DAY = 86_400_000;
const T0 = Date.UTC(2018, 3, 1);

let seed = 42;
function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function poisson(lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}

const gc = (globalThis as { gc?: () => void }).gc;
function processBytes(): number {
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

// Each day's events are drawn first (card by card, time-sorted per card) so that the timed
// loop measures the store only.
const dayCards = new Int32Array(Math.ceil(CARDS * RATE * 2) + 1024);
const dayTimes = new Float64Array(dayCards.length);
const dayAmounts = new Int32Array(dayCards.length);
const before = processBytes();
// Created after the baseline: the store's Map keeps one token string per card alive.
const tokens = Array.from({ length: CARDS }, (_, i) => `tok_${i.toString(36).padStart(12, '0')}`);
const store = new CardStore();
const out = new Float64Array(6);
const times: number[] = [];
let events = 0;
let busyMs = 0;

function report(day: number): void {
  const heap = processBytes() - before;
  console.log(
    `day ${String(day).padStart(2)}: ${store.size} cards, ${events} tx | ` +
      `bytesUsed()/card ${(store.bytesUsed() / store.size).toFixed(0)} B | ` +
      `process heap+buffers/card ${gc ? (heap / store.size).toFixed(0) + ' B' : 'n/a (run with --expose-gc)'} | ` +
      `${((busyMs * 1e6) / events).toFixed(0)} ns per observe+windows`,
  );
}

for (let day = 0; day < 60; day++) {
  let n = 0;
  for (let card = 0; card < CARDS; card++) {
    times.length = 0;
    for (let k = poisson(RATE); k > 0; k--) times.push(T0 + day * DAY + Math.floor(random() * DAY));
    times.sort((a, b) => a - b);
    for (const t of times) {
      dayCards[n] = card;
      dayTimes[n] = t;
      dayAmounts[n++] = 500 + Math.floor(random() * 20_000);
    }
  }
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const token = tokens[dayCards[i]];
    store.observe(token, dayTimes[i], dayAmounts[i]);
    store.windows(token, dayTimes[i], out, 0);
  }
  busyMs += performance.now() - started;
  events += n;
  if (day === 29 || day === 59) report(day + 1);
}
