/**
 * Model swaps under load (issue 12's `swap_pause_ms`): while the load generator offers a
 * steady rate, deployment specs that alternate the champion between two models are written
 * every few seconds. The pause a swap causes is the longest *stall* in the seconds after the
 * spec was written: a stretch with inputs waiting and no decision made. (Plain gaps between
 * decisions would mostly measure the generator's pacing: inputs come in bursts.) Between two
 * consecutive decision times d₁ < d₂, the stall is d₂ − max(d₁, earliest publish time of the
 * inputs still undecided at d₁); in steady state that is about one chunk's processing. The
 * same measure over the seconds before each swap is the baseline.
 */
import type { Kafka } from 'kafkajs';
import { createCodecs } from '../../../services/common/src/contracts.js';
import { pinOf, writeSpec } from '../../../services/cli/src/models/deployments.js';

const codec = createCodecs('confluent').deploymentSpec;
/** The champions the swaps rotate through (models/): the first swaps load a graph, later ones may find it still loaded. */
const CHAMPIONS = ['fraud-lr/1.0.0', 'fraud-rf/1.0.0', 'fraud-lgbm/1.0.0'];

export interface SwapWindow {
  writtenAt: number;
  /** Longest stall (inputs waiting, no decision) in [writtenAt, writtenAt + window) and in the window before. */
  gapAfterMs: number;
  gapBeforeMs: number;
  /** p99 decision latency (ms) of inputs published in the window after, and before. */
  p99AfterMs: number;
  p99BeforeMs: number;
}

export interface SwapResult {
  rateEps: number;
  swaps: SwapWindow[];
  /** Longest stall after any swap; the longest before any swap (the baseline). */
  pauseMs: number;
  baselineGapMs: number;
}

/** Writes `count` specs, `everyMs` apart, to the run's deployments topic; resolves with their write times. */
export async function writeSwaps(kafka: Kafka, topic: string, count: number, everyMs: number, aborted: () => boolean): Promise<number[]> {
  const writes: number[] = [];
  for (let i = 0; i < count && !aborted(); i++) {
    await new Promise((r) => setTimeout(r, everyMs));
    const champion = await pinOf('models', CHAMPIONS[i % CHAMPIONS.length]!);
    const at = Date.now();
    await writeSpec(kafka, topic, codec, { champion, shadow: null, canary: null, policy: 'policy-v1', requestedBy: 'bench', requestedAt: at, reason: `bench swap ${i + 1}`, restoresRevision: null });
    writes.push(at);
  }
  return writes;
}

/** Gaps and latency around each write, from the monitor's per-output timestamps (epoch ms). */
export function swapWindows(writes: readonly number[], windowMs: number, sourceTs: ArrayLike<number>, decisionTs: ArrayLike<number>): SwapWindow[] {
  // Outputs in decision order, and the earliest publish time among each output and all later ones.
  const order = Array.from({ length: decisionTs.length }, (_, i) => i).sort((a, b) => decisionTs[a]! - decisionTs[b]!);
  const dec = order.map((i) => decisionTs[i]!);
  const earliestFrom = new Float64Array(order.length + 1).fill(Infinity);
  for (let j = order.length - 1; j >= 0; j--) earliestFrom[j] = Math.min(earliestFrom[j + 1]!, sourceTs[order[j]!]!);
  const maxStall = (from: number, to: number) => {
    let stall = 0;
    for (let j = 1; j < dec.length; j++) {
      if (dec[j]! < from || dec[j] === dec[j - 1]) continue;
      if (dec[j]! >= to) break;
      // inputs undecided at dec[j-1] are those of outputs j.. (decided later)
      stall = Math.max(stall, dec[j]! - Math.max(dec[j - 1]!, earliestFrom[j]!));
    }
    return stall;
  };
  const p99 = (from: number, to: number) => {
    const lat: number[] = [];
    for (let i = 0; i < sourceTs.length; i++) if (sourceTs[i]! >= from && sourceTs[i]! < to) lat.push(decisionTs[i]! - sourceTs[i]!);
    lat.sort((a, b) => a - b);
    return lat.length ? lat[Math.min(lat.length - 1, Math.floor(0.99 * lat.length))]! : NaN;
  };
  return writes.map((w) => ({
    writtenAt: w,
    gapAfterMs: maxStall(w, w + windowMs),
    gapBeforeMs: maxStall(w - windowMs, w),
    p99AfterMs: p99(w, w + windowMs),
    p99BeforeMs: p99(w - windowMs, w),
  }));
}

/** A mode's spec (e.g. a shadow next to the fallback champion), written before its child starts. */
export async function writeModeSpec(kafka: Kafka, topic: string, deploy: { shadow?: string }): Promise<void> {
  const champion = await pinOf('models', 'fraud-lgbm/1.0.0');
  const shadow = deploy.shadow ? await pinOf('models', deploy.shadow) : null;
  await writeSpec(kafka, topic, codec, { champion, shadow, canary: null, policy: 'policy-v1', requestedBy: 'bench', requestedAt: Date.now(), reason: 'bench mode', restoresRevision: null });
}
