/**
 * The benchmark's JSON: every run, medians per mode, and the figures and targets issues 4, 6
 * and 11 ask for. Keys of earlier runs keep their meaning: `alo_eps`, `eos_eps`,
 * `alo_p99_ms_at_50pct`, … are the scorer on the *default* Kafka client (the scorer config's
 * default); `<client>_…` keys give each client's own.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { loadConfig } from '../../../services/scorer/src/config.js';
import type { DrainResult } from './drain.js';
import type { Broker, TraceBackend } from './infra.js';
import type { LatencyResult } from './latency.js';
import type { MonitorStoreResult } from './monitor-store.js';
import type { FeaturesReplayResult } from './features-replay.js';
import type { ReasonsResult } from './reasons.js';
import type { TlsResult } from './tls.js';
import { clientSuffix, KAFKA_CLIENTS, MODE, NODE_MAJOR, NODES, type KafkaClient, type ModeKey, type Options } from './options.js';
import type { ProfileSummary } from './profile.js';
import type { StateResult } from './state-memory.js';
import { median } from './stats.js';

export type Profiles = Record<string, { file: string; eps: number; summary: ProfileSummary }>;

/** The scorer's default Kafka client, as its config says (kafkajs before the setting existed). */
export function defaultClient(): KafkaClient {
  try {
    const c = loadConfig({ FRAUD_KAFKA_BROKERS: 'x:1' }) as { kafkaClient?: string };
    return c.kafkaClient === 'librdkafka' ? 'librdkafka' : 'kafkajs';
  } catch {
    return 'kafkajs';
  }
}

export type Result = ReturnType<typeof summarise>;

export function summarise(
  opts: Options,
  started: Date,
  broker: Broker,
  traces: TraceBackend,
  backlog: { transactions: number; outcomes: number; seconds: number; eps: number },
  drains: DrainResult[],
  latency: LatencyResult[],
  profiles: Profiles,
  state: StateResult | undefined,
  monitor?: MonitorStoreResult,
  replay?: FeaturesReplayResult,
  reasons?: ReasonsResult,
  tls?: TlsResult,
) {
  const client = defaultClient();
  const sfx = clientSuffix(client);
  const ok = (m: ModeKey) => drains.filter((d) => d.mode === m && d.ok && d.round !== 'profile');
  const med = (m: ModeKey, f: (d: DrainResult) => number) => median(ok(m).map(f));
  const eps = (m: ModeKey) => med(m, (d) => d.eps);
  const cpuUs = (m: ModeKey) => med(m, (d) => d.cpuUsPerEvent);
  /** The first of these keys that was measured (variants fall back to the base tree's runs). */
  const measured = (...keys: ModeKey[]) => keys.find((k) => ok(k).length > 0) ?? keys[0]!;
  const pipeFor = (m: ModeKey) => {
    const d = MODE(m);
    const pipe = `${d.delivery === 'exactly-once' ? 'pipe-eos' : 'pipe-alo'}${clientSuffix(d.client)}`;
    const variant = d.variant;
    return measured(...(variant ? [`${pipe}@${variant}`] : []), pipe, `${pipe}@base`);
  };
  const baseOf = (m: ModeKey) => measured(MODE(m).base, `${MODE(m).base}@base`);
  const latOf = (m: ModeKey) => latency.find((l) => l.mode === m);
  const swaps = latency.find((l) => l.swaps)?.swaps;
  const lat = (m: ModeKey, load: number) => latOf(m)?.phases.find((p) => p.loadPct === load);
  const sustainable = (m: ModeKey) => latOf(m)?.sustainableEps ?? NaN;
  const rdkPipe = eps('rdk-pipe');
  const kjsRaw = eps('kjs-raw');
  const modes = Object.fromEntries(
    opts.modes.map((m) => {
      const d = MODE(m);
      return [
        m,
        {
          label: d.label,
          kind: d.kind,
          client: d.client,
          source_tree: d.cwd ?? process.cwd(),
          node: d.node?.version ?? process.version,
          delivery: d.delivery,
          trace_sample_ratio: d.sample,
          median_eps: eps(m),
          /** To the (base) pipe of the same delivery mode and client. */
          ratio_to_pipe: d.kind === 'baseline' ? NaN : eps(m) / eps(pipeFor(m)),
          ratio_to_rdk_pipe: eps(m) / rdkPipe,
          ratio_to_kjs_raw: eps(m) / kjsRaw,
          /** A variant's throughput relative to its base mode's in the same run (mode, else mode@base). */
          ratio_to_base: eps(m) / eps(baseOf(m)),
          ratio_cpu_per_event_to_base: cpuUs(m) / cpuUs(baseOf(m)),
          median_cpu_cores: med(m, (x) => x.cpuCores),
          median_cpu_us_per_event: cpuUs(m),
          median_broker_cpu_cores: med(m, (x) => x.brokerCpuCores),
          max_peak_rss_mb: Math.max(...ok(m).map((x) => x.peakRssMb)),
          /** The highest live rate with bounded lag (latency modes only). */
          sustainable_eps: sustainable(m),
          runs: drains.filter((x) => x.mode === m && x.round !== 'profile').map(({ perSecond: _p, ...x }) => x),
        },
      ];
    }),
  );
  const pipeAlo = eps(`pipe-alo${sfx}`);
  const pipeEos = eps(`pipe-eos${sfx}`);
  const alo = eps(`alo${sfx}`);
  const eos = eps(`eos${sfx}`);
  // Tracing overhead: on the default client when its tracing modes ran, else on kafkajs (as before issue 11).
  const tsfx = ok(`alo-off${sfx}`).length ? sfx : '';
  const tracedAlo = eps(`alo${tsfx}`);
  const off = eps(`alo-off${tsfx}`);
  const full = eps(`alo-100${tsfx}`);
  const scorerRss = drains.filter((d) => /^(alo|eos)(-rdk)?$/.test(d.mode) && d.ok).map((d) => d.peakRssMb);
  const aloP99 = lat(`alo${sfx}`, 50)?.p99 ?? NaN;
  const eosP99 = lat(`eos${sfx}`, 50)?.p99 ?? NaN;
  const aloVisibleP99 = lat(`alo${sfx}`, 50)?.visibleP99 ?? NaN;
  const eosVisibleP99 = lat(`eos${sfx}`, 50)?.visibleP99 ?? NaN;
  // Issue 15: REST at 50 % load, on the default client's at-least-once and exactly-once runs.
  const restOf = (m: string) => latency.find((l) => l.mode === m && l.rest)?.rest;
  const restAlo = restOf(`alo${sfx}`);
  const restEos = restOf(`eos${sfx}`);
  const stateBytes = state?.processBytesPerCard ?? NaN;
  const verdict = (value: number, target: number, lowerIsBetter: boolean) =>
    !Number.isFinite(value) ? 'not measured' : (lowerIsBetter ? value <= target : value >= target) ? 'PASS' : 'MISS';

  // Each client's own figures.
  const perClient: Record<string, number> = {};
  for (const c of KAFKA_CLIENTS) {
    const s = clientSuffix(c);
    for (const d of ['alo', 'eos'] as const) {
      const m = `${d}${s}`;
      perClient[`${c}_${d}_eps`] = eps(m);
      perClient[`${c}_${d}_cpu_us_per_event`] = cpuUs(m);
      perClient[`${c}_${d}_sustainable_eps`] = sustainable(m);
      perClient[`${c}_${d}_p99_ms_at_50pct`] = lat(m, 50)?.p99 ?? NaN;
      perClient[`${c}_${d}_visible_p99_ms_at_50pct`] = lat(m, 50)?.visibleP99 ?? NaN;
      perClient[`${c}_pipe_${d}_eps`] = eps(`pipe-${d}${s}`);
      perClient[`${c}_pipe_${d}_cpu_us_per_event`] = cpuUs(`pipe-${d}${s}`);
    }
  }
  // Node versions: the kafkajs scorer, at-least-once, under each node (`alo` runs under the bench's own).
  const perNode: Record<string, number> = { node20_alo_eps: NaN, node24_alo_eps: NaN, node20_alo_cpu_us_per_event: NaN, node24_alo_cpu_us_per_event: NaN };
  const nodeVersions: Record<string, string> = { [`node${NODE_MAJOR}`]: process.version };
  perNode[`node${NODE_MAJOR}_alo_eps`] = eps('alo');
  perNode[`node${NODE_MAJOR}_alo_cpu_us_per_event`] = cpuUs('alo');
  for (const [name, n] of NODES) {
    if (!ok(`alo@${name}`).length && Number.isFinite(perNode[`node${n.major}_alo_eps`] ?? NaN)) continue;
    perNode[`node${n.major}_alo_eps`] = eps(`alo@${name}`);
    perNode[`node${n.major}_alo_cpu_us_per_event`] = cpuUs(`alo@${name}`);
    nodeVersions[`node${n.major}`] = n.version;
  }

  return {
    bench: 'fraudscore issues 6, 4 and 11: throughput, latency at the sustainable rate, tracing overhead, clients and baselines',
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    quick: opts.quick,
    /** The scorer's default Kafka client: what the unprefixed keys (alo_eps, …) measure. */
    default_kafka_client: client,
    config: {
      partitions: opts.partitions,
      backlog_transactions: backlog.transactions,
      backlog_outcomes: backlog.outcomes,
      backlog_publish_seconds: backlog.seconds,
      backlog_publish_eps: backlog.eps,
      rounds: opts.runs,
      load_seconds: opts.loadSeconds,
      warm_seconds: opts.warmSeconds,
      settle_seconds: opts.settleSeconds,
      search: opts.search,
      probe_seconds: opts.probeSeconds,
      lag_bound_seconds: opts.lagBoundSeconds,
      search_tolerance: opts.searchTolerance,
      max_probes: opts.maxProbes,
      simulation: { seed: opts.seed, customers: opts.customers, terminals: opts.customers * 2 },
      extra_env: opts.extraEnv,
      broker: broker.description,
      trace_backend: `${traces.kind} ${traces.otlpHttp}`,
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, memory_gb: totalmem() / 2 ** 30, node: process.version },
      nodes: nodeVersions,
      git: gitState(),
    },
    // The keys issue 6 asks for (the default client).
    pipe_eps: pipeAlo,
    alo_eps: alo,
    eos_eps: eos,
    alo_ratio: alo / pipeAlo,
    eos_ratio: eos / pipeEos,
    alo_p99_ms_at_50pct: aloP99,
    eos_p99_ms_at_50pct: eosP99,
    alo_visible_p99_ms_at_50pct: aloVisibleP99,
    eos_visible_p99_ms_at_50pct: eosVisibleP99,
    state_bytes_per_card: stateBytes,
    peak_rss_mb: scorerRss.length ? Math.max(...scorerRss) : NaN,
    // More of the same.
    pipe_eos_eps: pipeEos,
    eos_ratio_to_alo_pipe: eos / pipeAlo,
    state_store_bytes_per_card: state?.storeBytesPerCard ?? NaN,
    state_cards: state?.cards ?? 0,
    // Issue 11: the bare clients, the scorer against them, each client's own figures.
    kjs_raw_eps: kjsRaw,
    rdk_pipe_eps: rdkPipe,
    kjs_raw_cpu_us_per_event: cpuUs('kjs-raw'),
    rdk_pipe_cpu_us_per_event: cpuUs('rdk-pipe'),
    scorer_alo_eps: alo,
    scorer_eos_eps: eos,
    scorer_alo_ratio_to_rdk_pipe: alo / rdkPipe,
    scorer_eos_ratio_to_rdk_pipe: eos / rdkPipe,
    scorer_alo_sustainable_eps: sustainable(`alo${sfx}`),
    scorer_eos_sustainable_eps: sustainable(`eos${sfx}`),
    ...perClient,
    ...perNode,
    // FRAUD_DECISION_FEATURES (default false): the default client's scorer with the 15 model inputs in every Decision.
    decision_features_alo_eps: eps(`alo-features${sfx}`),
    decision_features_eos_eps: eps(`eos-features${sfx}`),
    decision_features_alo_cpu_us_per_event: cpuUs(`alo-features${sfx}`),
    decision_features_eos_cpu_us_per_event: cpuUs(`eos-features${sfx}`),
    // Issue 12: a shadow model costs one more model call per chunk and a second output per event.
    shadow_eos_eps: eps(`eos-shadow${sfx}`),
    shadow_eos_ratio: eps(`eos-shadow${sfx}`) / eos,
    shadow_eos_cpu_us_per_event: cpuUs(`eos-shadow${sfx}`),
    // Issue 13: the monitor end to end through Kafka (its feed: fetch, decode, store with drift
    // counts; decisions carrying their inputs), beside a bare kafkajs consumer on the same topics;
    // and its store path alone (decode + store, in process).
    monitor_eps: monitor?.kafka?.eps ?? NaN,
    monitor_eps_scope: 'end to end: kafkajs read_committed fetch + Avro decode + SQLite store (with drift counts) of decisions carrying their 15 inputs and of outcomes, from a backlog',
    monitor_kafka_raw_eps: monitor?.kafka?.rawEps ?? NaN,
    monitor_kafka_ratio_to_raw: monitor?.kafka?.ratio ?? NaN,
    monitor_compute_ms: monitor?.kafka?.computeMs ?? NaN,
    monitor_store_eps: monitor?.eps ?? NaN,
    monitor_bytes_per_pending: monitor?.bytesPerPending ?? NaN,
    monitor_rss_mb_per_million_pending: monitor?.rssMbPerMillionPending ?? NaN,
    // Issue 14: features --from-kafka (read, decode, check, order, features, CSV) vs the same
    // events in memory through the same engine and CSV writer, in the same run. That ratio is
    // informational: what the replay adds to the in-memory path (Kafka, decoding, checks, the
    // join and the sort); the target is the next one.
    replay_features_eps: replay?.eps ?? NaN,
    replay_features_in_process_eps: replay?.inProcessEps ?? NaN,
    replay_features_ratio: replay?.ratio ?? NaN,
    // The reading: the replay in transactions/s over bench:features (engine + model call, transactions/s), same run.
    replay_features_tx_eps: replay?.txEps ?? NaN,
    replay_features_bench_features_tx_eps: replay?.benchFeaturesTxEps ?? NaN,
    replay_features_ratio_to_bench_features: (replay?.txEps ?? NaN) / (replay?.benchFeaturesTxEps ?? NaN),
    // Issue 15: REST requests answered by the gateway at 50 % of the sustainable rate (client
    // side, request sent to answer), with the stream's own latency in the same window.
    rest_p50_ms: restEos?.p50 ?? NaN,
    rest_p99_ms: restEos?.p99 ?? NaN,
    rest_alo_p50_ms: restAlo?.p50 ?? NaN,
    rest_alo_p99_ms: restAlo?.p99 ?? NaN,
    rest_alo_stream_p99_ms: restAlo?.streamP99 ?? NaN,
    rest_alo_stream_visible_p99_ms: restAlo?.streamVisibleP99 ?? NaN,
    rest_alo_degraded: restAlo?.degraded ?? NaN,
    rest_alo_errors: restAlo?.errors ?? NaN,
    rest_eos_p50_ms: restEos?.p50 ?? NaN,
    rest_eos_p99_ms: restEos?.p99 ?? NaN,
    rest_eos_stream_p99_ms: restEos?.streamP99 ?? NaN,
    rest_eos_stream_visible_p99_ms: restEos?.streamVisibleP99 ?? NaN,
    rest_eos_degraded: restEos?.degraded ?? NaN,
    rest_eos_errors: restEos?.errors ?? NaN,
    // Issue 15: reason codes per flagged decision (the policy's decide with TreeSHAP), beside an
    // ALLOW's decide and onnxruntime's per-row cost in chunks, same run.
    reasons_us_per_flag: reasons?.usPerFlag ?? NaN,
    reasons_us_per_allow: reasons?.usPerAllow ?? NaN,
    reasons_model_us_per_row: reasons?.scoreChunkUs ?? NaN,
    reasons_explainer_build_ms: reasons?.buildMs ?? NaN,
    // Issue 16: exactly-once over SASL_SSL (SCRAM-SHA-512, ACLs) ÷ plaintext, same rounds and backlog.
    tls_eos_ratio: tls?.modes[`eos${sfx}`]?.ratio ?? NaN,
    tls_eos_eps: tls?.modes[`eos${sfx}`]?.secureEps ?? NaN,
    tls_plain_eos_eps: tls?.modes[`eos${sfx}`]?.plainEps ?? NaN,
    tls_kafkajs_eos_ratio: tls?.modes.eos?.ratio ?? NaN,
    tls_rounds: tls?.modes ?? null,
    // Issue 12: model swaps at 50 % of the sustainable rate (--swap-mode, default eos-rdk).
    swap_mode: opts.swapMode,
    swap_pause_ms: swaps?.pauseMs ?? NaN,
    swap_pause_baseline_ms: swaps?.baselineGapMs ?? NaN,
    swap_rate_eps: swaps?.rateEps ?? NaN,
    swaps: swaps?.swaps ?? [],
    /** Per mode: the highest live rate with bounded lag (latency modes), and CPU µs per event while draining. */
    sustainable_eps: Object.fromEntries(latency.map((l) => [l.mode, l.sustainableEps])),
    cpu_us_per_event: Object.fromEntries(opts.modes.map((m) => [m, cpuUs(m)])),
    // Issue 4: tracing overhead (at-least-once), in the same run.
    tracing_client: tsfx ? 'librdkafka' : 'kafkajs',
    tracing_off_eps: off,
    tracing_1pct_eps: tracedAlo,
    tracing_100pct_eps: full,
    tracing_1pct_ratio: tracedAlo / off,
    tracing_100pct_ratio: full / off,
    // The same as CPU per event (less sensitive to other load on a shared machine than ev/s):
    // tracing-off µs/ev ÷ traced µs/ev.
    tracing_1pct_cpu_ratio: cpuUs(`alo-off${tsfx}`) / cpuUs(`alo${tsfx}`),
    tracing_100pct_cpu_ratio: cpuUs(`alo-off${tsfx}`) / cpuUs(`alo-100${tsfx}`),
    targets: {
      scorer_alo_ratio_to_rdk_pipe: { target: `>= 0.35 of the bare librdkafka pipe (scorer on ${client}, ALO)`, value: alo / rdkPipe, verdict: verdict(alo / rdkPipe, 0.35, false) },
      scorer_eos_ratio_to_rdk_pipe: { target: `>= 0.30 of the bare librdkafka pipe (scorer on ${client}, EOS)`, value: eos / rdkPipe, verdict: verdict(eos / rdkPipe, 0.3, false) },
      alo_ratio: { target: '>= 0.80 of the pipe', value: alo / pipeAlo, verdict: verdict(alo / pipeAlo, 0.8, false) },
      eos_ratio: { target: '>= 0.60 of the pipe (exactly-once pipe)', value: eos / pipeEos, verdict: verdict(eos / pipeEos, 0.6, false) },
      eos_ratio_to_alo_pipe: { target: '>= 0.60 of the at-least-once pipe (stricter reading)', value: eos / pipeAlo, verdict: verdict(eos / pipeAlo, 0.6, false) },
      alo_p99_ms_at_50pct: { target: '<= 25 ms at 50 % of the sustainable rate', value: aloP99, verdict: verdict(aloP99, 25, true) },
      eos_p99_ms_at_50pct: { target: '<= 100 ms at 50 % of the sustainable rate', value: eosP99, verdict: verdict(eosP99, 100, true) },
      alo_visible_p99_ms_at_50pct: { target: '<= 25 ms (as a read_committed consumer sees it)', value: aloVisibleP99, verdict: verdict(aloVisibleP99, 25, true) },
      eos_visible_p99_ms_at_50pct: { target: '<= 100 ms (as a read_committed consumer sees it)', value: eosVisibleP99, verdict: verdict(eosVisibleP99, 100, true) },
      state_bytes_per_card: { target: '<= 1024 bytes', value: stateBytes, verdict: verdict(stateBytes, 1024, true) },
      monitor_eps: { target: ">= the scorer's exactly-once throughput (issue 13; end to end through Kafka)", value: monitor?.kafka?.eps ?? NaN, verdict: verdict(monitor?.kafka?.eps ?? NaN, eos, false) },
      replay_features_ratio_to_bench_features: { target: '>= 0.5 of bench:features, transactions/s (issue 14)', value: (replay?.txEps ?? NaN) / (replay?.benchFeaturesTxEps ?? NaN), verdict: verdict((replay?.txEps ?? NaN) / (replay?.benchFeaturesTxEps ?? NaN), 0.5, false) },
      // The stream's p99 as its readers see it (read_committed: after the commit), the moment a reply can be read too.
      rest_alo_p99_ms: { target: "<= the stream's visible p99 in the same window + 10 ms (issue 15, at-least-once)", value: restAlo?.p99 ?? NaN, verdict: verdict(restAlo?.p99 ?? NaN, (restAlo?.streamVisibleP99 ?? NaN) + 10, true) },
      rest_eos_p99_ms: { target: "<= the stream's visible p99 in the same window + 10 ms (issue 15, exactly-once)", value: restEos?.p99 ?? NaN, verdict: verdict(restEos?.p99 ?? NaN, (restEos?.streamVisibleP99 ?? NaN) + 10, true) },
      reasons_us_per_flag: { target: '<= 50 µs per flagged decision, default LightGBM (issue 15)', value: reasons?.usPerFlag ?? NaN, verdict: verdict(reasons?.usPerFlag ?? NaN, 50, true) },
      monitor_bytes_per_pending: { target: '<= 100 B per pending decision (issue 13)', value: monitor?.bytesPerPending ?? NaN, verdict: verdict(monitor?.bytesPerPending ?? NaN, 100, true) },
      swap_pause_ms: { target: '<= 50 ms at 50 % load (issue 12)', value: swaps?.pauseMs ?? NaN, verdict: verdict(swaps?.pauseMs ?? NaN, 50, true) },
      shadow_eos_ratio: { target: '>= 0.85 of exactly-once without a shadow (issue 12)', value: eps(`eos-shadow${sfx}`) / eos, verdict: verdict(eps(`eos-shadow${sfx}`) / eos, 0.85, false) },
      tls_eos_ratio: { target: '>= 0.85 of plaintext, exactly-once over SASL_SSL (issue 16)', value: tls?.modes[`eos${sfx}`]?.ratio ?? NaN, verdict: verdict(tls?.modes[`eos${sfx}`]?.ratio ?? NaN, 0.85, false) },
      tracing_1pct_ratio: { target: '>= 0.95 of tracing off (issue 4)', value: tracedAlo / off, verdict: verdict(tracedAlo / off, 0.95, false) },
    },
    modes,
    latency: latency.map((l) => ({
      ...l,
      phases: l.phases.map(({ cdf: _c, visibleCdf: _v, ...p }) => p),
    })),
    latency_cdf: Object.fromEntries(latency.map((l) => [l.mode, Object.fromEntries(l.phases.map((p) => [String(p.loadPct), { decision: p.cdf, visible: p.visibleCdf }]))])),
    throughput_per_second: Object.fromEntries(
      opts.modes.map((m) => {
        const runs = ok(m);
        const mid = runs.slice().sort((a, b) => a.eps - b.eps)[Math.floor((runs.length - 1) / 2)];
        return [m, mid ? { round: mid.round, eps: mid.eps, per_second: mid.perSecond } : null];
      }),
    ),
    profiles: Object.fromEntries(Object.entries(profiles).map(([m, p]) => [m, { file: p.file, eps_under_profiler: p.eps, ...p.summary }])),
    state: state ? { ...state } : null,
  };
}

/** The commit and the uncommitted changes under services/ the measured code had. */
function gitState(): { head: string; modified_services: string[] } | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { head: git('rev-parse', 'HEAD'), modified_services: git('status', '--short', '--', 'services').split('\n').filter(Boolean) };
  } catch {
    return null;
  }
}
