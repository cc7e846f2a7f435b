/**
 * What the stateful features cost, in one run, on the same events and the same model:
 * the full 15-feature engine (card windows + terminal table) versus the stateless three
 * (amount, weekend, night; the other 12 inputs left at zero), each followed by the model call
 * in chunks of 500 as the scorer does. Prints events/s (median of 5 passes) and the ratio, and
 * the card state's bytes per card after the run.
 *
 *   node --import tsx test/bench/features-throughput.ts [customers] [days]
 */
import { createFeatureEngine, FEATURE_NAMES, FEATURE_SET_VERSION, isNightUtc, isWeekendUtc } from '../../services/scorer/src/features/index.js';
import { loadModel, resolveModelDir } from '../../services/scorer/src/model/load.js';
import { simulate, type SimEvent } from '../../services/simulator/src/index.js';

const CUSTOMERS = Number(process.argv[2] ?? 5000);
const DAYS = Number(process.argv[3] ?? 60);
const CHUNK = 500;
const WIDTH = FEATURE_NAMES.length;

const events: SimEvent[] = [...simulate({ seed: 42, customers: CUSTOMERS, terminals: CUSTOMERS * 2, days: DAYS })];
const txCount = events.filter((e) => e.kind === 'transaction').length;
const model = await loadModel(await resolveModelDir('models', ''), { features: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION });
console.log(`features-throughput: ${txCount} transactions (${CUSTOMERS} cards, ${DAYS} days), model ${model.ref.name}/${model.ref.version}`);

type Fill = (tx: Extract<SimEvent, { kind: 'transaction' }>['tx'], out: Float64Array, offset: number) => void;

async function pass(fill: Fill, onOutcome: (e: Extract<SimEvent, { kind: 'outcome' }>) => void): Promise<number> {
  const rows64 = new Float64Array(CHUNK * WIDTH);
  const rows32 = new Float32Array(CHUNK * WIDTH);
  let n = 0;
  const started = performance.now();
  for (const e of events) {
    if (e.kind === 'outcome') {
      onOutcome(e);
      continue;
    }
    fill(e.tx, rows64, n * WIDTH);
    if (++n === CHUNK) {
      for (let j = 0; j < n * WIDTH; j++) rows32[j] = rows64[j]!;
      await model.score(rows32, n);
      n = 0;
    }
  }
  if (n) await model.score(rows32, n);
  return txCount / ((performance.now() - started) / 1000);
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stateful: number[] = [];
const stateless: number[] = [];
let bytesPerCard = 0;
for (let i = 0; i < 5; i++) {
  const engine = createFeatureEngine();
  const scratch = new Float64Array(WIDTH);
  stateful.push(
    await pass(
      (tx, out, o) => {
        engine.compute(tx, scratch);
        out.set(scratch, o);
      },
      (e) => engine.terminals.addOutcome(e.outcome),
    ),
  );
  bytesPerCard = engine.cards.bytesUsed() / engine.cards.size;
  stateless.push(
    await pass(
      (tx, out, o) => {
        out.fill(0, o, o + WIDTH);
        out[o] = tx.amountMinor / 100;
        out[o + 1] = isWeekendUtc(tx.eventTime) ? 1 : 0;
        out[o + 2] = isNightUtc(tx.eventTime) ? 1 : 0;
      },
      () => {},
    ),
  );
  process.stderr.write(`pass ${i + 1}/5: stateful ${stateful[i]!.toFixed(0)} ev/s, stateless ${stateless[i]!.toFixed(0)} ev/s\n`);
}
await model.dispose();
const s = median(stateful);
const l = median(stateless);
console.log(`features + model, stateful (15 features):  ${s.toFixed(0)} events/s (median of 5)`);
console.log(`features + model, stateless (3 features):  ${l.toFixed(0)} events/s (median of 5)`);
console.log(`ratio stateful / stateless: ${(s / l).toFixed(3)}; card state ${bytesPerCard.toFixed(0)} bytes per card (${CUSTOMERS} cards)`);
