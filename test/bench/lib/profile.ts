/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function (name, file, line),
 * the top-N list the benchmark report shows; plus self time grouped by file area.
 *
 *   tsx test/bench/lib/profile.ts <file.cpuprofile> [top] [events]
 * With events, only the drain is summarised (first to last sample under handleBatch) and each
 * area is also given in µs per event.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  function: string;
  location: string;
  selfMs: number;
  selfPct: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** The window summarised: from the first to the last sample inside `windowFunction` (the drain), ms. */
  windowMs: number;
  windowFunction?: string;
  /** Events processed in the window (when given): per-area figures are then also µs per event. */
  events?: number;
  /** Share of samples that were idle (waiting for I/O), program (native) or GC. */
  idlePct: number;
  gcPct: number;
  top: ProfileEntry[];
  /** Self time by area: scorer features, model, kafkajs, avsc, otel, node internals, … */
  byArea: { area: string; selfMs: number; selfPct: number; usPerEvent?: number }[];
}

export interface SummariseOptions {
  topN?: number;
  /** Only samples between the first and the last one whose stack holds this function (e.g. handleBatch). */
  windowFunction?: string;
  events?: number;
}

function where(url: string, line: number): string {
  if (!url) return '(native)';
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = relative(process.cwd(), fileURLToPath(url));
    } catch {
      // keep the URL
    }
  }
  return `${path}:${line + 1}`;
}

function areaOf(fn: string, url: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(program)') return 'program (native, unattributed)';
  if (url.includes('/services/scorer/src/features/')) return 'scorer: features';
  if (url.includes('/services/scorer/src/state/')) return 'scorer: card-state changelog';
  if (url.includes('/services/scorer/src/telemetry/') || url.includes('@opentelemetry')) return 'telemetry (otel, metrics, tracing)';
  if (url.includes('/services/scorer/src/')) return 'scorer: loop, decode, pipeline, sink';
  if (url.includes('/services/common/src/')) return 'common: avro codecs';
  if (url.includes('onnxruntime')) return 'onnxruntime';
  if (url.includes('/kafkajs/')) return 'kafkajs';
  if (url.includes('/@confluentinc/kafka-javascript/')) return 'librdkafka client (JS side)';
  if (url.includes('/avsc/')) return 'avsc';
  if (url.includes('/zod/') || url.includes('/pino') || url.includes('/fastify')) return 'other deps';
  if (url.startsWith('node:') || !url) return 'node internals / native';
  return 'other';
}

export function summariseProfile(file: string, options: SummariseOptions | number = {}): ProfileSummary {
  const opts = typeof options === 'number' ? { topN: options } : options;
  const topN = opts.topN ?? 25;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let from = 0;
  let to = samples.length - 1;
  if (opts.windowFunction) {
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const inside = new Map<number, boolean>();
    const isInside = (id: number): boolean => {
      const known = inside.get(id);
      if (known !== undefined) return known;
      const n = byId.get(id);
      const p = parent.get(id);
      const v = n?.callFrame.functionName === opts.windowFunction || (p !== undefined && isInside(p));
      inside.set(id, v);
      return v;
    };
    const hits = samples.map((id, i) => (isInside(id) ? i : -1)).filter((i) => i >= 0);
    if (hits.length) {
      from = hits[0]!;
      to = hits.at(-1)!;
    }
  }
  let windowUs = 0;
  for (let i = from; i <= to; i++) {
    // timeDeltas[i] is the time before sample i; attribute the next delta to sample i.
    const d = Math.max(0, deltas[i + 1] ?? deltas[i] ?? 0);
    windowUs += d;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + d);
  }
  const fnTotals = new Map<string, { fn: string; loc: string; us: number }>();
  const areaTotals = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const fn = n.callFrame.functionName || '(anonymous)';
    const loc = where(n.callFrame.url, n.callFrame.lineNumber);
    const key = `${fn} ${loc}`;
    const e = fnTotals.get(key) ?? { fn, loc, us: 0 };
    e.us += us;
    fnTotals.set(key, e);
    const area = areaOf(fn, n.callFrame.url);
    areaTotals.set(area, (areaTotals.get(area) ?? 0) + us);
    total += us;
  }
  const pctOf = (us: number) => (total > 0 ? (100 * us) / total : 0);
  const top = [...fnTotals.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((e) => ({ function: e.fn, location: e.loc, selfMs: e.us / 1000, selfPct: pctOf(e.us) }));
  const byArea = [...areaTotals.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([area, us]) => ({ area, selfMs: us / 1000, selfPct: pctOf(us), ...(opts.events ? { usPerEvent: us / opts.events } : {}) }));
  return {
    totalMs: total / 1000,
    windowMs: windowUs / 1000,
    windowFunction: opts.windowFunction,
    events: opts.events,
    idlePct: pctOf(areaTotals.get('idle') ?? 0),
    gcPct: pctOf(areaTotals.get('gc') ?? 0),
    top,
    byArea,
  };
}

export function formatProfile(label: string, s: ProfileSummary, topN = 20): string {
  const window = s.windowFunction ? ` (window: first to last sample in ${s.windowFunction}${s.events ? `, ${s.events} events` : ''})` : '';
  const lines = [`${label}: ${(s.totalMs / 1000).toFixed(1)} s sampled${window}, idle ${s.idlePct.toFixed(1)} %, GC ${s.gcPct.toFixed(1)} %`];
  lines.push(`  by area${s.events ? ' (% of samples, µs per event)' : ''}:`);
  for (const a of s.byArea) lines.push(`    ${a.selfPct.toFixed(1).padStart(5)} %${a.usPerEvent !== undefined ? `  ${a.usPerEvent.toFixed(1).padStart(6)} µs` : ''}  ${a.area}`);
  lines.push('  top self time:');
  for (const e of s.top.slice(0, topN)) lines.push(`    ${e.selfPct.toFixed(1).padStart(5)} %  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.function}  ${e.location}`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx test/bench/lib/profile.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 30);
  const events = process.argv[4] ? Number(process.argv[4]) : undefined;
  console.log(formatProfile(file, summariseProfile(file, { topN: top, windowFunction: events ? 'handleBatch' : undefined, events }), top));
}
