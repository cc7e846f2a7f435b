/**
 * Latency at a fair load: a fresh child on an empty topic first has its *sustainable live rate*
 * searched — the highest offered rate at which the lag (inputs published − outputs visible to a
 * read_committed reader) stays bounded while the load generator runs — then gets the same
 * simulation at 25, 50 and 75 % of that rate. Latency = decision CreateTime − input CreateTime
 * (its fs-source header), as the demo's monitor measures it; also reported: when the decision became
 * visible to a read_committed consumer (what a downstream service sees; for exactly-once this
 * includes the transaction commit).
 *
 * The search: probe at the drained maximum (or --max-eps); a probe of `probeSeconds` is
 * sustainable when over its last third the lag stays ≤ lagBoundSeconds of traffic and does not
 * grow by more than a quarter of that (least-squares slope). After an unsustainable probe the
 * next one is at 95 % of the output rate it achieved (its capacity; at least 3/4 of the failed
 * rate unless that capacity was below half of it), then bisection between the highest
 * sustainable and the lowest unsustainable rate until they are within the tolerance or
 * maxProbes are spent. Between probes the child catches up (lag back to 0). "Decided" is the
 * higher of the outputs the monitor has seen and the child's committed input offsets (both
 * lower bounds of its progress); the generator runs in a process of its own.
 */
import { randomUUID } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { join } from 'node:path';
import { committedSum, createTopics, deleteTopics, retrying, runPlan, startLiveMonitor, type LiveMonitor } from './kafka-io.js';
import { startLoadGenerator, type LoadGenerator } from './load-generator.js';
import { REST_RATE, restPhase, startRestProbe, type RestPhase, type RestProbe } from './rest.js';
import { type Ctx, runName, saveMetrics, startChild, StartupError } from './drain.js';
import type { ModeDef, ModeKey } from './options.js';
import { CpuSampler, type BenchChild } from './proc.js';
import { cdfPoints, fmt, fmtInt, percentileSorted, sortedCopy } from './stats.js';
import { say, stamp, status } from './ui.js';
import { swapWindows, writeSwaps, type SwapResult } from './swaps.js';

export const LOADS = [0.25, 0.5, 0.75];

export interface LatencyPhase {
  loadPct: number;
  offeredEps: number;
  /** Inputs published per second in the measured window. */
  achievedEps: number;
  samples: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  visibleP50: number;
  visibleP99: number;
  visibleP999: number;
  cpuCores: number;
  cpuUsPerEvent: number;
  cdf: [number, number][];
  visibleCdf: [number, number][];
}

export interface Probe {
  offeredEps: number;
  /** Inputs the generator got acknowledged per second over the probe. */
  publishedEps: number;
  /** Outputs seen per second over the probe's last two thirds (its capacity when overloaded). */
  decidedEps: number;
  seconds: number;
  /** Lag (published − visible outputs) at the end, its maximum over the last third, and its slope there (events/s). */
  lagEnd: number;
  lagMaxLastThird: number;
  lagSlopeEps: number;
  /** The bound: lagBoundSeconds × offered rate. */
  boundEvents: number;
  sustainable: boolean;
  /** The generator could not offer the rate (< 97 % of it published): the probe says nothing about higher rates. */
  publisherLimited: boolean;
  reason: string;
  cpuCores: number;
  /** Seconds the child needed afterwards to clear the lag. */
  recoverySeconds: number;
  /** [seconds since the probe's start, lag] about once a second. */
  lag: [number, number][];
}

export interface LatencyResult {
  mode: ModeKey;
  ok: boolean;
  error?: string;
  /** The drained maximum (or --max-eps): where the search started. */
  maxEps: number;
  /** The highest live rate with bounded lag (NaN when not searched, or when no probe held). */
  sustainableEps: number;
  /** The rate the latency loads are fractions of. */
  loadBaseEps: number;
  /**
   * search: the sustainable rate measured here; given: --sustainable-eps; max: --no-search, the
   * drained maximum as before issue 11; capacity: no probe held, 95 % of the last probe's output rate.
   */
  basis: 'search' | 'given' | 'max' | 'capacity';
  probes: Probe[];
  peakRssMb: number;
  /** Mean ms per event in each stage over the whole latency run (child's /metrics). */
  stageMs?: Record<string, number>;
  unaccounted: number;
  phases: LatencyPhase[];
  /** Issue 12: model swaps at 50 % load (the swap mode only). */
  swaps?: SwapResult;
  /** Issue 15: REST requests at 50 % load. */
  rest?: RestPhase;
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den > 0 ? num / den : 0;
}

export async function latencyRun(ctx: Ctx, mode: ModeDef, start: { maxEps: number; sustainableEps?: number }): Promise<LatencyResult> {
  const o = ctx.opts;
  const name = runName(mode, 'latency');
  const live = `${ctx.prefix}-${name}-transactions`;
  const plan = runPlan(ctx.prefix, name, { transactions: live, outcomes: ctx.backlog.outcomes });
  const group = `${ctx.prefix}-${name}-${randomUUID().slice(0, 6)}`;
  const basis: LatencyResult['basis'] = start.sustainableEps !== undefined ? 'given' : o.search ? 'search' : 'max';
  const result: LatencyResult = { mode: mode.key, ok: false, maxEps: start.maxEps, sustainableEps: NaN, loadBaseEps: NaN, basis, probes: [], peakRssMb: NaN, unaccounted: 0, phases: [] };
  let child: BenchChild | undefined;
  let sampler: CpuSampler | undefined;
  let created: string[] = [];
  let monitor: LiveMonitor | undefined;
  let generator: LoadGenerator | undefined;
  let admin: Admin | undefined;
  try {
    created = await createTopics(ctx.kafka, plan, o.partitions, ['transactions', 'decisions', 'flags', 'dlq', 'cardState', 'shadowDecisions', 'deployments', 'deploymentStatus', 'replies']);
    const m = await retrying('starting the latency monitor', () => startLiveMonitor(ctx.kafka, plan));
    monitor = m;
    // BENCH_LATENCY_NODE_FLAGS: node flags for the child while it serves the offered loads.
    child = await startChild(ctx, mode, plan, group, name, (process.env.BENCH_LATENCY_NODE_FLAGS ?? '').split(' ').filter(Boolean));
    const c = child;
    sampler = new CpuSampler([c.pid], 500);
    const cpu = sampler;
    // Same simulation as the backlog (its outcomes are in the outcomes topic), transactions
    // only, from a generator process of its own (so this process's event loop stays free for
    // the monitor that timestamps the outputs).
    const gen = await startLoadGenerator({ brokers: ctx.broker.brokers, topic: live, seed: o.seed, customers: o.customers }, join(ctx.logDir, `${name}-generator.log`));
    generator = gen;
    const publishedNow = () => gen.published();
    let published = 0;
    const publish = async (rate: number, seconds: number, what: () => string) => {
      const ticker = setInterval(() => status(what()), 1000);
      try {
        const s = await gen.publish(rate, seconds);
        published = gen.published();
        return s;
      } finally {
        clearInterval(ticker);
      }
    };
    /** Waits until every input published so far has its output, so phases and probes do not overlap. */
    const caughtUp = async (timeoutMs: number, what: string) => {
      const deadline = Date.now() + timeoutMs;
      while (m.accounted() < published && Date.now() < deadline) {
        if (ctx.aborted) throw new Error('aborted');
        await new Promise((r) => setTimeout(r, 200));
        status(`  [${stamp()}] ${name}: ${what}: waiting for the outputs to catch up ${fmtInt(m.accounted())} / ${fmtInt(published)}`);
      }
      return m.accounted() >= published;
    };
    const rss = () => `rss ${fmt(c.peakRssMb(), 0)} MB`;
    // Decided so far: outputs the monitor has seen, or (if it is behind) the child's committed
    // input offsets, whichever is higher — both are lower bounds of what the child has done.
    admin = ctx.kafka.admin();
    await admin.connect();
    const adm = admin;
    let committed = 0;
    let refreshing = false;
    const refreshCommitted = () => {
      if (refreshing) return;
      refreshing = true;
      committedSum(adm, group, live).then(
        (n) => ((committed = Math.max(committed, n)), (refreshing = false)),
        () => (refreshing = false),
      );
    };
    const decidedNow = () => Math.max(m.accounted(), committed);

    // Warm-up (JIT, connections, model) at a low load, excluded from the figures.
    const warmRate = (start.sustainableEps ?? start.maxEps) * LOADS[0]!;
    if (o.warmSeconds > 0) await publish(warmRate, o.warmSeconds, () => `  [${stamp()}] ${name}: warm-up at ${fmtInt(warmRate)} tx/s | outputs seen ${fmtInt(m.accounted())} | ${rss()}`);
    if (!(await caughtUp(60_000, 'warm-up'))) throw new Error(`the warm-up's ${fmtInt(published - m.accounted())} inputs still without an output after 60 s`);

    // 1. The sustainable live rate.
    if (basis === 'given') result.sustainableEps = result.loadBaseEps = start.sustainableEps!;
    else if (basis === 'max') result.loadBaseEps = start.maxEps;
    else {
      let lo = 0; // highest sustainable rate
      let hi = Infinity; // lowest unsustainable rate
      let rate = start.maxEps;
      for (let i = 1; i <= o.maxProbes; i++) {
        if (ctx.aborted) throw new Error('aborted');
        const range = () => `[${fmtInt(lo)} … ${Number.isFinite(hi) ? fmtInt(hi) : '?'}]`;
        const t0 = Date.now();
        const from = { published: publishedNow(), decided: decidedNow() };
        const lag: [number, number][] = [];
        let third: { t: number; decided: number } | undefined;
        let tick = 0;
        const probeSeconds = o.probeSeconds;
        const sampleTimer = setInterval(() => {
          const t = (Date.now() - t0) / 1000;
          if (tick++ % 2 === 0) refreshCommitted();
          lag.push([t, publishedNow() - decidedNow()]);
          if (!third && t >= probeSeconds / 3) third = { t, decided: decidedNow() };
        }, 250);
        try {
          await publish(rate, probeSeconds, () => {
            const l = lag.at(-1)?.[1] ?? 0;
            return `  [${stamp()}] ${name}: search probe ${i}/${o.maxProbes} at ${fmtInt(rate)} tx/s, ${fmt((Date.now() - t0) / 1000, 0)}/${probeSeconds} s | lag ${fmtInt(l)} (${fmt(l / rate, 2)} s) | sustainable range ${range()} | ${rss()}`;
          });
        } finally {
          clearInterval(sampleTimer);
        }
        const t1 = Date.now();
        const seconds = (t1 - t0) / 1000;
        const last = lag.filter(([t]) => t >= (2 * seconds) / 3);
        const bound = o.lagBoundSeconds * rate;
        const lagMax = Math.max(0, ...last.map(([, l]) => l));
        const lagSlope = slope(last);
        const growth = lagSlope * (seconds / 3);
        const publishedEps = (publishedNow() - from.published) / seconds;
        const th = third ?? { t: 0, decided: from.decided };
        const decidedEps = (decidedNow() - th.decided) / Math.max(1e-3, seconds - th.t);
        const publisherLimited = publishedEps < 0.97 * rate;
        const sustainable = last.length > 0 && lagMax <= bound && growth <= 0.25 * bound;
        const reason = sustainable
          ? `lag ≤ ${fmtInt(lagMax)} (bound ${fmtInt(bound)}), growth ${fmtInt(growth)} over the last third`
          : lagMax > bound
            ? `lag ${fmtInt(lagMax)} > bound ${fmtInt(bound)} (${o.lagBoundSeconds} s of traffic)`
            : `lag growing: +${fmtInt(growth)} over the last third (> ${fmtInt(0.25 * bound)})`;
        const probe: Probe = {
          offeredEps: rate, publishedEps, decidedEps, seconds, lagEnd: lag.at(-1)?.[1] ?? NaN, lagMaxLastThird: lagMax, lagSlopeEps: lagSlope,
          boundEvents: bound, sustainable, publisherLimited, reason, cpuCores: cpu.cpuBetween(c.pid, t0, t1) / seconds, recoverySeconds: NaN,
          lag: lag.filter((_, k) => k % 4 === 3).map(([t, l]) => [Number(t.toFixed(2)), l]),
        };
        result.probes.push(probe);
        const r0 = Date.now();
        const recovered = await caughtUp(Math.max(60_000, (3_000 * Math.max(0, probe.lagEnd)) / Math.max(1, decidedEps)), `after probe ${i}`);
        probe.recoverySeconds = (Date.now() - r0) / 1000;
        // The effective rate of a sustainable probe: what was really offered.
        const effective = publisherLimited ? publishedEps : rate;
        if (sustainable) lo = Math.max(lo, effective);
        else hi = Math.min(hi, effective);
        say(
          `  [${stamp()}] ${name}: probe ${i} at ${fmtInt(rate)} tx/s (${fmtInt(publishedEps)} published, ${fmtInt(decidedEps)} decided/s, cpu ${fmt(probe.cpuCores, 2)} cores): ` +
            `${sustainable ? 'SUSTAINABLE' : 'not sustainable'}: ${reason}${publisherLimited ? ' [the generator could not offer the rate]' : ''} | recovered in ${fmt(probe.recoverySeconds, 1)} s | range ${range()}`,
        );
        if (!recovered) throw new Error(`the child did not catch up within ${fmt(probe.recoverySeconds, 0)} s after probe ${i}`);
        if (sustainable && !Number.isFinite(hi)) break; // held at the drained maximum (or at what the generator could offer of it)
        if (lo > 0 && Number.isFinite(hi) && (hi - lo) / hi <= o.searchTolerance) break;
        if (lo === 0) {
          // Overloaded: its output rate meanwhile estimates its live capacity; probe just under
          // it, but not below 3/4 of the failed rate unless the estimate is that low (on a
          // shared machine an overloaded probe's output rate can undershoot).
          const capacity = 0.95 * decidedEps;
          rate = Math.min(0.95 * hi, capacity > 0 && capacity < 0.5 * hi ? Math.max(capacity, 0.25 * hi) : Math.max(capacity, 0.75 * hi));
        } else rate = (lo + hi) / 2;
      }
      if (lo === 0) {
        // None held: the latency loads are fractions of the last probe's output rate instead,
        // and the result says so (no sustainable_eps).
        const lastProbe = result.probes.at(-1);
        result.basis = 'capacity';
        result.loadBaseEps = 0.95 * (lastProbe?.decidedEps ?? NaN);
        say(`  [${stamp()}] ${name}: no sustainable rate found in ${result.probes.length} probe(s) (lowest tried ${fmtInt(Math.min(...result.probes.map((p) => p.offeredEps)))} tx/s); latency at fractions of 95 % of the last probe's output rate, ${fmtInt(result.loadBaseEps)} tx/s`);
        if (!(result.loadBaseEps > 0)) throw new Error('no sustainable rate found and no output rate to fall back on');
      } else {
        result.sustainableEps = lo;
        result.loadBaseEps = lo;
        say(`  [${stamp()}] ${name}: sustainable live rate ${fmtInt(lo)} tx/s (${result.probes.length} probe(s) of ${o.probeSeconds} s; drained maximum ${fmtInt(start.maxEps)})`);
      }
    }

    // 2. Latency at 25/50/75 % of it.
    const windows: { loadPct: number; from: number; to: number; offered: number }[] = [];
    for (const load of LOADS) {
      if (ctx.aborted) throw new Error('aborted');
      const from = Date.now();
      const rate = result.loadBaseEps * load;
      await publish(rate, o.loadSeconds, () => `  [${stamp()}] ${name}: ${load * 100} % load at ${fmtInt(rate)} tx/s | outputs seen ${fmtInt(m.accounted())} | ${rss()}`);
      windows.push({ loadPct: load * 100, from: from + o.settleSeconds * 1000, to: Date.now(), offered: rate });
      await caughtUp(120_000, `${load * 100} % load`);
    }
    // 3. REST requests at 50 % load (issue 15): a gateway answers from this scorer meanwhile.
    let restWindow: { from: number; to: number; offered: number; answers: Awaited<ReturnType<RestProbe['stop']>> } | undefined;
    if (o.rest) {
      const rate = result.loadBaseEps * 0.5;
      const probe = await startRestProbe(ctx.broker.brokers, plan, name, ctx.logDir, () => gen.eventTime());
      try {
        const from = Date.now();
        await publish(rate, o.loadSeconds, () => `  [${stamp()}] ${name}: REST at ${REST_RATE} requests/s beside 50 % load (${fmtInt(rate)} tx/s) | outputs seen ${fmtInt(m.accounted())} | ${rss()}`);
        const answers = await probe.stop();
        restWindow = { from: from + o.settleSeconds * 1000, to: Date.now(), offered: rate, answers };
        await caughtUp(120_000, 'REST at 50 % load');
      } finally {
        await probe.close();
      }
    }
    // 4. Model swaps at 50 % load: specs written while the load runs.
    let swapWrites: number[] = [];
    const swapRate = result.loadBaseEps * 0.5;
    if (mode.key === o.swapMode && o.swaps > 0) {
      const seconds = (o.swaps + 1) * o.swapEverySeconds;
      const writing = writeSwaps(ctx.kafka, plan.deployments, o.swaps, o.swapEverySeconds * 1000, () => ctx.aborted);
      await publish(swapRate, seconds, () => `  [${stamp()}] ${name}: ${o.swaps} model swaps at 50 % load (${fmtInt(swapRate)} tx/s) | outputs seen ${fmtInt(m.accounted())} | ${rss()}`);
      swapWrites = await writing;
      await caughtUp(120_000, 'model swaps');
    }
    result.unaccounted = Math.max(0, published - m.accounted());
    result.peakRssMb = c.peakRssMb();
    result.stageMs = await saveMetrics(c, join(ctx.logDir, `${name}.metrics.prom`));
    cpu.stop();
    const src = m.sourceTs.view();
    const dec = m.decisionTs.view();
    const arr = m.arrivalTs.view();
    for (const w of windows) {
      const lat: number[] = [];
      const vis: number[] = [];
      for (let i = 0; i < src.length; i++) {
        if (src[i]! >= w.from && src[i]! < w.to) {
          lat.push(dec[i]! - src[i]!);
          vis.push(arr[i]! - src[i]!);
        }
      }
      const l = sortedCopy(lat);
      const v = sortedCopy(vis);
      const seconds = (w.to - w.from) / 1000;
      const cores = cpu.cpuBetween(c.pid, w.from, w.to) / seconds;
      result.phases.push({
        loadPct: w.loadPct,
        offeredEps: w.offered,
        achievedEps: l.length / seconds,
        samples: l.length,
        p50: percentileSorted(l, 0.5),
        p99: percentileSorted(l, 0.99),
        p999: percentileSorted(l, 0.999),
        max: l.length ? l[l.length - 1]! : NaN,
        visibleP50: percentileSorted(v, 0.5),
        visibleP99: percentileSorted(v, 0.99),
        visibleP999: percentileSorted(v, 0.999),
        cpuCores: cores,
        cpuUsPerEvent: l.length ? (cores * seconds * 1e6) / l.length : NaN,
        cdf: cdfPoints(l),
        visibleCdf: cdfPoints(v),
      });
    }
    if (restWindow) {
      const [stream, visible]: number[][] = [[], []];
      for (let i = 0; i < src.length; i++) {
        if (src[i]! >= restWindow.from && src[i]! < restWindow.to) {
          stream.push(dec[i]! - src[i]!);
          visible.push(arr[i]! - src[i]!);
        }
      }
      result.rest = restPhase(restWindow.offered, restWindow.answers, stream, visible);
      const r = result.rest;
      say(`  [${stamp()}] ${name}: REST ${fmtInt(r.requests)} requests at 50 % load: p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms (the stream's own p99 there ${fmt(r.streamP99)} ms, ${fmt(r.streamVisibleP99)} ms as a read_committed consumer sees it), ${r.degraded} degraded, ${r.errors} errors`);
    }
    if (swapWrites.length) {
      const swaps = swapWindows(swapWrites, o.swapEverySeconds * 500, src, dec);
      result.swaps = { rateEps: swapRate, swaps, pauseMs: Math.max(...swaps.map((s) => s.gapAfterMs)), baselineGapMs: Math.max(...swaps.map((s) => s.gapBeforeMs)) };
      say(`  [${stamp()}] ${name}: ${swaps.length} model swaps at ${fmtInt(swapRate)} tx/s: longest stall (inputs waiting, no decision) after a swap ${fmt(result.swaps.pauseMs)} ms (before: ${fmt(result.swaps.baselineGapMs)} ms); p99 after ${swaps.map((s) => fmt(s.p99AfterMs)).join('/')} ms, before ${swaps.map((s) => fmt(s.p99BeforeMs)).join('/')} ms`);
    }
    result.ok = result.unaccounted === 0;
    if (!result.ok) result.error = `${result.unaccounted} inputs without an output after 120 s`;
  } catch (err) {
    result.error = (err as Error).message;
    if (err instanceof StartupError) ctx.cannotStart.set(mode.key, err.message);
  } finally {
    sampler?.stop();
    await generator?.stop().catch(() => {});
    await admin?.disconnect().catch(() => {});
    await monitor?.stop().catch(() => {});
    if (child) await child.stop(10_000).catch(() => null);
    ctx.current = undefined;
    if (!o.keepTopics) await deleteTopics(ctx.kafka, created, [group]).catch(() => {});
  }
  for (const p of result.phases) {
    say(
      `  [${stamp()}] ${name} @ ${p.loadPct} % of ${fmtInt(result.loadBaseEps)} (${fmtInt(p.offeredEps)} tx/s offered, ${fmtInt(p.achievedEps)} published): ` +
        `p50 ${fmt(p.p50)} p99 ${fmt(p.p99)} p99.9 ${fmt(p.p999)} ms | visible p99 ${fmt(p.visibleP99)} ms | cpu ${fmt(p.cpuCores, 2)} cores | n=${fmtInt(p.samples)}`,
    );
  }
  if (!result.ok) say(`  [${stamp()}] ${name}: FAILED: ${result.error}`);
  return result;
}
