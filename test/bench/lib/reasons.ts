/** Issue 15: what reason codes cost per flagged decision (test/bench/reasons.ts, a child process). */
import { childJson } from './child-json.js';
import { say, stamp } from './ui.js';

export interface ReasonsResult {
  model: string;
  method: string;
  /** The policy's decide for a flag (contributions, top three, codes), median µs. */
  usPerFlag: number;
  /** The same for an ALLOW (no reasons): the baseline. */
  usPerAllow: number;
  explainUs: number;
  /** onnxruntime scoring one row, and per row in chunks of 500: the score beside its explanation. */
  scoreOneUs: number;
  scoreChunkUs: number;
  buildMs: number;
}

export async function reasonsCost(): Promise<ReasonsResult> {
  say(`bench: [${stamp()}] reason codes: the policy's decide for a flag vs an ALLOW, on the default model (test/bench/reasons.ts)`);
  const r = await childJson<ReasonsResult>('test/bench/reasons.ts', []);
  say(`  ${r.model} (${r.method}): ${r.usPerFlag.toFixed(1)} µs per flag (an ALLOW ${r.usPerAllow.toFixed(2)} µs; onnxruntime ${r.scoreChunkUs.toFixed(1)} µs per row in chunks of 500); explainer built in ${r.buildMs.toFixed(0)} ms`);
  return r;
}
