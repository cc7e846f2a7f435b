/**
 * Model swaps under load (issue 12's `swap_pause_ms`): while the load generator offers a
 * steady rate, deployment specs that alternate the champion between two models are written
 * every few seconds. The pause a swap causes is the longest gap between consecutive decisions
 * (their append times) in the seconds after the spec was written; the same measure in the
 * seconds before each swap is the baseline a steady stream shows anyway.
 */
import type { Kafka } from 'kafkajs';
import { createCodecs } from '../../../services/common/src/contracts.js';
import { pinOf, writeSpec } from '../../../services/cli/src/models/deployments.js';

const codec = createCodecs('confluent').deploymentSpec;
/** The champions the swaps rotate through (models/): the first swaps load a graph, later ones may find it still loaded. */
const CHAMPIONS = ['fraud-lr/1.0.0', 'fraud-rf/1.0.0', 'fraud-lgbm/1.0.0'];

export interface SwapWindow {
  writtenAt: number;
  /** Longest gap between decisions in [writtenAt, writtenAt + window) and in the window before. */
  gapAfterMs: number;
  gapBeforeMs: number;
  /** p99 decision latency (ms) of inputs published in the window after, and before. */
  p99AfterMs: number;
  p99BeforeMs: number;
}

export interface SwapResult {
  rateEps: number;
  swaps: SwapWindow[];
  /** Longest gap after any swap; the longest before any swap (the baseline). */
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
  const decided = Float64Array.from(decisionTs).sort();
  const maxGap = (from: number, to: number) => {
    let gap = 0;
    let prev = NaN;
    for (const t of decided) {
      if (t < from) continue;
      if (t >= to) break;
      if (prev === prev) gap = Math.max(gap, t - prev);
      prev = t;
    }
    return gap;
  };
  const p99 = (from: number, to: number) => {
    const lat: number[] = [];
    for (let i = 0; i < sourceTs.length; i++) if (sourceTs[i]! >= from && sourceTs[i]! < to) lat.push(decisionTs[i]! - sourceTs[i]!);
    lat.sort((a, b) => a - b);
    return lat.length ? lat[Math.min(lat.length - 1, Math.floor(0.99 * lat.length))]! : NaN;
  };
  return writes.map((w) => ({
    writtenAt: w,
    gapAfterMs: maxGap(w, w + windowMs),
    gapBeforeMs: maxGap(w - windowMs, w),
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
