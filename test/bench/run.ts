/**
 * The benchmark (issues 6, 4 and 11): throughput, CPU, memory and latency of fraudscore on both
 * Kafka clients, side by side with "the pipe" (test/bench/pipe.ts: the same consumer → producer
 * path without features and model) and with bare pass-through baselines of each client
 * (test/bench/baselines/: kafkajs, and librdkafka's native API), on a real local broker.
 *
 *   npm run bench                         full run (about 75 minutes on 2 quiet cores)
 *   npm run bench:quick                   same code paths, small backlog, one round, 3 s probes (about 3 minutes)
 *   npm run bench -- --out runs/bench.json   also writes the JSON, and the plots beside it
 *
 * Each measured configuration runs as its own child process (own event loop and CPU, as in
 * production): `node --import tsx services/cli/src/main.ts scorer` for fraudscore, `… pipe.ts`
 * for the pipe, `… baselines/<client>.ts` for a baseline, configured by FRAUD_* variables
 * (FRAUD_KAFKA_CLIENT picks the client: `alo` runs kafkajs, `alo-rdk` librdkafka).
 *
 * Maximum throughput (lib/drain.ts): a backlog of simulated transactions is published once per
 * run; each configuration drains it from offset 0 with a fresh consumer group and fresh output
 * topics. events/s = backlog / (last output CreateTime − first output CreateTime); CPU µs/event
 * = the child's CPU time over that span ÷ backlog. The rounds are interleaved (every
 * configuration once per round) so drift in a shared machine's load hits all of them alike;
 * the figure is the median over rounds.
 *
 * Latency (lib/latency.ts): a fresh child on an empty topic first has its sustainable live rate
 * searched — the highest offered rate at which the lag (published − outputs visible) stays
 * bounded (≤ 1 s of traffic, not growing, over the last third of a 60 s probe) with the load
 * generator running, starting from the drained maximum — then gets the same simulation at 25,
 * 50 and 75 % of it; latency = decision CreateTime − input CreateTime (its fs-source header), and when
 * the decision became visible to a read_committed consumer (exactly-once: after the commit).
 *
 * Modes: kjs-raw, rdk-pipe (bare baselines); pipe-alo, pipe-eos, alo, eos, alo-off, alo-100
 * (kafkajs; tracing 1 %, off, 100 %) and the same with -rdk (librdkafka). Default: all but the
 * -rdk tracing modes, plus alo@node20 when /usr/bin/node is Node 20. JSON keys: see lib/summary.ts
 * (alo_eps, eos_eps, alo_p99_ms_at_50pct, … are the scorer on the default client; kafkajs_… and
 * librdkafka_… each client's; kjs_raw_eps, rdk_pipe_eps; node20_alo_eps, node24_alo_eps;
 * issue 12: shadow_eos_ratio (eos-shadow over eos) and swap_pause_ms).
 *
 * Issue 16: exactly-once on the secure broker (SASL_SSL, SCRAM-SHA-512, ACLs; lib/tls.ts) beside
 * plaintext in the same rounds: tls_eos_ratio. On by default (--secure); --no-secure skips it.
 *
 * Options: --quick, --out <file.json>, --partitions <n>, --backlog <tx>, --runs <n>,
 * --load-seconds <s> (each latency phase), --warm-seconds <s>, --customers <n>, --seed <n>,
 * --modes a,b,…, --latency-modes a,b,…, --no-profile, --profile, --state-cards <n> (0 skips),
 * --no-latency, --no-throughput (skip the throughput rounds), --env KEY=VALUE (extra FRAUD_* for
 * every child, repeatable), --keep-topics, --render <file.json> (redraw an earlier run's table
 * and plots).
 * The search: --probe-seconds <s> (60; quick 3), --lag-bound-seconds <s> (1),
 * --search-tolerance <share> (0.05; quick 0.25), --max-probes <n> (6; quick 3), --no-search (latency at
 * 25/50/75 % of the drained maximum, as before), --max-eps <n> | mode=<n>,… (where the search
 * starts instead of the drained maximum), --sustainable-eps <n> | mode=<n>,… (no search: the
 * latency loads are fractions of these: the same absolute loads for an A/B).
 * Model swaps (issue 12): --swaps <n> (6; quick 2; 0 skips) deployment specs, 5 s apart, written
 * at 50 % load after the latency phases of --swap-mode <mode> (eos-rdk); swap_pause_ms is the
 * longest stall (inputs waiting, no decision) after a swap (swap_pause_baseline_ms: before one).
 * Node versions: --node name=<node binary> runs `alo@name` (kafkajs modes only; any mode can be
 * given @name in --modes); --no-node drops the automatic alo@node20.
 * BENCH_LATENCY_NODE_FLAGS="--cpu-prof --cpu-prof-dir=<dir>" (or --trace-gc, …) passes node
 * flags to each latency run's child; summarise a profile with test/bench/lib/profile.ts.
 *
 * A/B of a change: copy the tree, change it, and run it beside the original in the same run:
 *   npm run bench -- --variant base=/tmp/a --variant x=/tmp/b --modes alo@base,alo@x,eos@base,eos@x
 * (`mode@variant` runs the child from that tree; variants of a mode run back to back in each
 * round, so both see the same machine load; the table adds each variant's ratio to base).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { logLevel } from 'kafkajs';
import { createKafka } from '../../services/common/src/kafka.js';
import { type Ctx, drainRun, type DrainResult } from './lib/drain.js';
import { acquireBroker, acquireTraceBackend } from './lib/infra.js';
import { buildBacklog, createTopics, deleteTopics, endOffsetSum, runPlan } from './lib/kafka-io.js';
import { latencyRun, type LatencyResult } from './lib/latency.js';
import { MODE, NODES, parseArgs, perMode, type ModeKey } from './lib/options.js';
import { formatProfile, summariseProfile } from './lib/profile.js';
import { writeOutputs } from './lib/render.js';
import { stateMemory, type StateResult } from './lib/state-memory.js';
import { monitorStore, type MonitorStoreResult } from './lib/monitor-store.js';
import { featuresReplay, type FeaturesReplayResult } from './lib/features-replay.js';
import { reasonsCost, type ReasonsResult } from './lib/reasons.js';
import { tlsPhase, type TlsResult } from './lib/tls.js';
import { fmt, fmtInt, median } from './lib/stats.js';
import { defaultClient, summarise, type Profiles, type Result } from './lib/summary.js';
import { say, stamp, status } from './lib/ui.js';

async function main(): Promise<number> {
  const renderAt = process.argv.indexOf('--render');
  if (renderAt > 0) {
    // Re-render the table, HTML and PNG of an earlier run from its JSON (nothing is measured).
    const file = resolve(process.argv[renderAt + 1] ?? '');
    await writeOutputs(JSON.parse(readFileSync(file, 'utf8')) as Result, file);
    return 0;
  }
  const opts = parseArgs(process.argv.slice(2));
  const started = new Date();
  const outFile = resolve(opts.out ?? join('runs', `bench-${started.toISOString().replace(/[:.]/g, '-')}`, 'bench.json'));
  const outDir = dirname(outFile);
  const logDir = join(outDir, `${basename(outFile, '.json')}-logs`);
  mkdirSync(logDir, { recursive: true });
  say(`bench: ${opts.quick ? 'QUICK' : 'full'} run | ${opts.partitions} partitions | backlog ${fmtInt(opts.backlog)} tx | ${opts.runs} round(s) | modes ${opts.modes.join(', ')}`);
  say(`bench: latency ${opts.latency ? `${opts.latencyModes.join(', ')}, ${opts.search ? `at 25/50/75 % of the sustainable live rate (probes of ${opts.probeSeconds} s, lag bound ${opts.lagBoundSeconds} s of traffic, tolerance ${opts.searchTolerance * 100} %, ≤ ${opts.maxProbes} probes)` : 'at 25/50/75 % of the drained maximum'}` : 'off'}`);
  say(`bench: default Kafka client ${defaultClient()}${NODES.size ? ` | node binaries: ${[...NODES.values()].map((n) => `${n.name}=${n.bin} (${n.version})`).join(', ')}` : ''}`);
  say(`bench: machine ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${fmt(totalmem() / 2 ** 30, 0)} GB, load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  say(`bench: output ${outFile} (child logs in ${logDir})`);

  const broker = acquireBroker();
  say(`bench: Kafka: ${broker.description}`);
  const traces = await acquireTraceBackend();
  say(`bench: traces: ${traces.kind === 'discard' ? `no Jaeger built: an in-process OTLP sink that discards (${traces.otlpHttp})` : `${traces.kind} ${traces.otlpHttp}`}`);
  // The bench's own client (admin, publisher, readers) logs nothing: right after topic creation
  // kafkajs logs every retried "not the leader" at ERROR; real failures still throw.
  const kafka = createKafka({ brokers: broker.brokers, clientId: 'fraudscore-bench', logLevel: logLevel.NOTHING });
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const backlogTopics = { transactions: `${prefix}-transactions`, outcomes: `${prefix}-outcomes` };
  const ctx: Ctx = { opts, kafka, broker, traces, prefix, backlog: { ...backlogTopics, total: 0, outcomesTotal: 0 }, logDir, outDir, aborted: false, cannotStart: new Map() };
  const onSignal = () => {
    if (ctx.aborted) process.exit(130);
    ctx.aborted = true;
    say('bench: interrupted; stopping the current child and cleaning up (again to force)');
    ctx.current?.process.kill('SIGTERM');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const drains: DrainResult[] = [];
  const latency: LatencyResult[] = [];
  const profiles: Profiles = {};
  let state: StateResult | undefined;
  let monitor: MonitorStoreResult | undefined;
  let replay: FeaturesReplayResult | undefined;
  let reasons: ReasonsResult | undefined;
  let tls: TlsResult | undefined;
  let backlogInfo = { transactions: 0, outcomes: 0, seconds: 0, eps: 0 };
  try {
    // 1. The backlog, once.
    const plan = runPlan(prefix, 'backlog', backlogTopics);
    await createTopics(kafka, plan, opts.partitions, ['transactions', 'outcomes']);
    say(`bench: [${stamp()}] publishing the backlog: ${fmtInt(opts.backlog)} simulated transactions (+ their outcomes) to ${backlogTopics.transactions}`);
    const pub = await buildBacklog(kafka, backlogTopics, {
      seed: opts.seed,
      customers: opts.customers,
      transactions: opts.backlog,
      onProgress: (s) => status(`  [${stamp()}] backlog: ${fmtInt(s.transactions)} / ${fmtInt(opts.backlog)} tx, ${fmtInt(s.outcomes)} outcomes, ${fmtInt(((s.transactions + s.outcomes) * 1000) / Math.max(1, s.elapsedMs))} ev/s`),
    });
    const ends = await endOffsetSum(kafka, backlogTopics.transactions);
    ctx.backlog.total = ends.total;
    ctx.backlog.outcomesTotal = (await endOffsetSum(kafka, backlogTopics.outcomes)).total;
    backlogInfo = { transactions: ends.total, outcomes: ctx.backlog.outcomesTotal, seconds: pub.elapsedMs / 1000, eps: ((pub.transactions + pub.outcomes) * 1000) / pub.elapsedMs };
    say(`bench: [${stamp()}] backlog ready: ${fmtInt(ends.total)} transactions over ${opts.partitions} partitions (${[...ends.perPartition.values()].join(' / ')}), ${fmtInt(ctx.backlog.outcomesTotal)} outcomes, in ${fmt(pub.elapsedMs / 1000)} s`);

    // 2. Maximum throughput: interleaved rounds.
    for (let r = 1; r <= (opts.throughput ? opts.runs : 0) && !ctx.aborted; r++) {
      say(`bench: [${stamp()}] throughput round ${r}/${opts.runs}`);
      for (const m of opts.modes) {
        if (ctx.aborted) break;
        drains.push(await drainRun(ctx, MODE(m), `r${r}`));
      }
    }
    const maxOf = (m: ModeKey) => median(drains.filter((d) => d.mode === m && d.ok).map((d) => d.eps));

    // 3. Latency at 25/50/75 % of each mode's sustainable live rate (searched from its drained maximum).
    if (opts.latency) {
      for (const m of opts.latencyModes) {
        if (ctx.aborted) break;
        const mode = MODE(m);
        const cannot = ctx.cannotStart.get(m);
        if (cannot) {
          say(`bench: [${stamp()}] latency, ${mode.label}: skipped (could not start: ${cannot})`);
          latency.push({ mode: m, ok: false, error: `skipped: could not start (${cannot})`, maxEps: NaN, sustainableEps: NaN, loadBaseEps: NaN, basis: 'search', probes: [], peakRssMb: NaN, unaccounted: 0, phases: [] });
          continue;
        }
        const max = perMode(opts.maxEps, mode) ?? maxOf(m);
        const given = perMode(opts.sustainableEps, mode);
        if (!Number.isFinite(max) && given === undefined) {
          say(`bench: no maximum for ${m}; skipping its latency run`);
          continue;
        }
        say(
          `bench: [${stamp()}] latency, ${mode.label}: ` +
            (given !== undefined
              ? `25/50/75 % of the given ${fmtInt(given)} tx/s`
              : opts.search
                ? `searching the sustainable live rate from ${fmtInt(max)} tx/s, then 25/50/75 % of it`
                : `25/50/75 % of ${fmtInt(max)} tx/s`) +
            `, ${opts.loadSeconds} s each`,
        );
        latency.push(await latencyRun(ctx, mode, { maxEps: max, sustainableEps: given }));
      }
    }

    // 4. Profiles under load (not counted in the medians: the profiler costs throughput).
    if (opts.profile && !ctx.aborted) {
      const profileDir = join(outDir, `${basename(outFile, '.json')}-profiles`);
      mkdirSync(profileDir, { recursive: true });
      for (const m of opts.modes.filter((k) => ['alo', 'eos', 'pipe-alo', 'alo-rdk', 'eos-rdk'].includes(k))) {
        if (ctx.aborted) break;
        if (ctx.cannotStart.has(m)) continue;
        say(`bench: [${stamp()}] profiling ${MODE(m).label} (node --cpu-prof) while it drains the backlog`);
        const d = await drainRun(ctx, MODE(m), 'profile', profileDir);
        const file = d.profile;
        if (file) {
          try {
            // The drain window: from the first to the last sample in the transport's per-batch function.
            const windowFunction = MODE(m).client === 'librdkafka' ? 'scorePartition' : 'handleBatch';
            const summary = summariseProfile(file, { topN: 30, windowFunction, events: ctx.backlog.total });
            profiles[m] = { file, eps: d.eps, summary };
            say(formatProfile(`  profile ${m} (${fmtInt(d.eps)} ev/s under the profiler)`, summary, 15));
          } catch (err) {
            say(`  profile ${m}: cannot read ${file}: ${(err as Error).message}`);
          }
        }
      }
    }

    // 5. State bytes per card.
    if (opts.stateCards > 0 && !ctx.aborted) {
      say(`bench: [${stamp()}] card state memory with ${fmtInt(opts.stateCards)} cards (test/bench/features-card-memory.ts)`);
      state = await stateMemory(opts.stateCards);
    }
    if (!ctx.aborted) {
      monitor = await monitorStore(opts.quick ? 20_000 : 200_000, broker.brokers).catch((err: Error) => {
        say(`bench: monitor store phase failed: ${err.message}`);
        return undefined;
      });
    }
    if (!ctx.aborted) {
      replay = await featuresReplay(broker.brokers, opts.quick ? 10 : 30).catch((err: Error) => {
        say(`bench: features replay phase failed: ${err.message}`);
        return undefined;
      });
    }
    if (!ctx.aborted) {
      reasons = await reasonsCost().catch((err: Error) => {
        say(`bench: reasons phase failed: ${err.message}`);
        return undefined;
      });
    }
    // 6. Exactly-once over SASL_SSL beside plaintext (issue 16), on the same backlog content.
    if (opts.secure && !ctx.aborted) {
      const sfx = defaultClient() === 'librdkafka' ? '-rdk' : '';
      tls = await tlsPhase(ctx, [...new Set<ModeKey>([`eos${sfx}`, 'eos'])]).catch((err: Error) => {
        say(`bench: TLS phase failed: ${err.message}`);
        return undefined;
      });
    }
  } finally {
    if (!opts.keepTopics) await deleteTopics(kafka, Object.values(backlogTopics)).catch((err: Error) => say(`bench: could not delete the backlog topics: ${err.message}`));
    await traces.stop().catch(() => {});
    try {
      broker.stop();
    } catch (err) {
      say(`bench: could not stop the broker: ${(err as Error).message}`);
    }
  }

  // 7. Results.
  const result = summarise(opts, started, broker, traces, backlogInfo, drains, latency, profiles, state, monitor, replay, reasons, tls);
  writeFileSync(outFile, `${JSON.stringify(result, null, 1)}\n`);
  await writeOutputs(result, outFile);
  const failedDrains = [...new Set(drains.filter((d) => !d.ok).map((d) => d.mode))];
  const failedLatency = latency.filter((l) => !l.ok).map((l) => l.mode);
  if (failedDrains.length || failedLatency.length) {
    say(`bench: FAILED modes: ${[...failedDrains.map((m) => `${m} (throughput)`), ...failedLatency.map((m) => `${m} (latency)`)].join(', ')}; see the logs in ${logDir}`);
    for (const [m, why] of ctx.cannotStart) say(`  ${m} could not start: ${why}`);
  }
  return ctx.aborted ? 130 : failedDrains.length || failedLatency.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
