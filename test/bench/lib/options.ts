/**
 * The benchmark's modes (what each measured child process is) and its command-line options.
 *
 * A mode key is a base mode, optionally qualified: `<base>[@<qualifier>…]`, where a qualifier
 * names a source tree (--variant name=dir: the child runs from that tree, for an A/B) or a node
 * binary (--node name=path: the child runs under that node, e.g. Node 20 against the pinned 24).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export type KafkaClient = 'kafkajs' | 'librdkafka';
export const KAFKA_CLIENTS: readonly KafkaClient[] = ['kafkajs', 'librdkafka'];
/** The suffix of a client's modes: `alo` is kafkajs, `alo-rdk` librdkafka. */
export const clientSuffix = (client: KafkaClient): string => (client === 'librdkafka' ? '-rdk' : '');

export type ModeKind = 'baseline' | 'pipe' | 'scorer';
export type Delivery = 'at-least-once' | 'exactly-once';

export interface BaseDef {
  label: string;
  kind: ModeKind;
  client: KafkaClient;
  delivery: Delivery;
  /** Trace sampling ratio; null: tracing off (no endpoint). */
  sample: number | null;
  /** Script run by `node --import tsx`, relative to the source tree. */
  entry: string;
  args: string[];
  /** Extra FRAUD_* settings of this mode's child. */
  env?: Record<string, string>;
  /** A deployment spec written before the child starts (models/ name/version): e.g. a shadow. */
  deploy?: { shadow?: string };
}

const SCORER = 'services/cli/src/main.ts';
const PIPE = 'test/bench/pipe.ts';

export const BASE: Record<string, BaseDef> = {
  'kjs-raw': { label: 'bare kafkajs pass-through', kind: 'baseline', client: 'kafkajs', delivery: 'at-least-once', sample: null, entry: 'test/bench/baselines/kafkajs-raw.ts', args: [] },
  'rdk-pipe': { label: 'bare librdkafka pass-through', kind: 'baseline', client: 'librdkafka', delivery: 'at-least-once', sample: null, entry: 'test/bench/baselines/librdkafka-pipe.ts', args: [] },
};
for (const client of KAFKA_CLIENTS) {
  const s = clientSuffix(client);
  const def = (label: string, kind: ModeKind, delivery: Delivery, sample: number | null): BaseDef => ({
    label: `${label}, ${client}`, kind, client, delivery, sample, entry: kind === 'pipe' ? PIPE : SCORER, args: kind === 'pipe' ? [] : ['scorer'],
  });
  BASE[`pipe-alo${s}`] = def('pipe at-least-once', 'pipe', 'at-least-once', 0.01);
  BASE[`pipe-eos${s}`] = def('pipe exactly-once', 'pipe', 'exactly-once', 0.01);
  BASE[`alo${s}`] = def('fraudscore at-least-once', 'scorer', 'at-least-once', 0.01);
  BASE[`eos${s}`] = def('fraudscore exactly-once', 'scorer', 'exactly-once', 0.01);
  BASE[`alo-off${s}`] = def('fraudscore ALO tracing off', 'scorer', 'at-least-once', null);
  BASE[`alo-100${s}`] = def('fraudscore ALO tracing 100 %', 'scorer', 'at-least-once', 1);
  // The cost of carrying the 15 model inputs in every Decision (FRAUD_DECISION_FEATURES).
  BASE[`alo-features${s}`] = { ...def('fraudscore ALO, features in decisions', 'scorer', 'at-least-once', 0.01), env: { FRAUD_DECISION_FEATURES: 'true' } };
  BASE[`eos-features${s}`] = { ...def('fraudscore EOS, features in decisions', 'scorer', 'exactly-once', 0.01), env: { FRAUD_DECISION_FEATURES: 'true' } };
  // Issue 12: a shadow model deployed (one more model call per chunk, a second output per event).
  BASE[`eos-shadow${s}`] = { ...def('fraudscore EOS with a shadow model', 'scorer', 'exactly-once', 0.01), deploy: { shadow: 'fraud-lr/1.0.0' } };
}

/** Modes of a default run, in the order each round runs them. */
export const DEFAULT_MODES = ['kjs-raw', 'rdk-pipe', 'pipe-alo', 'pipe-eos', 'alo', 'eos', 'pipe-alo-rdk', 'pipe-eos-rdk', 'alo-rdk', 'eos-rdk', 'alo-features-rdk', 'eos-features-rdk', 'eos-shadow-rdk', 'alo-off', 'alo-100'];

/** A base mode, or `<base>@<qualifier>…`. */
export type ModeKey = string;

export interface NodeBin {
  name: string;
  bin: string;
  /** `node --version` of the binary, e.g. v20.20.2. */
  version: string;
  major: number;
}

export interface ModeDef extends BaseDef {
  key: ModeKey;
  base: string;
  /** Source tree the child runs from (a variant's); default this one. */
  cwd?: string;
  variant?: string;
  /** Node binary the child runs under; default the bench's own (process.execPath). */
  node?: NodeBin;
}

/** Variants (--variant name=dir) and node binaries (--node name=path) known to this run. */
export const VARIANTS = new Map<string, string>();
export const NODES = new Map<string, NodeBin>();

export const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

export function MODE(key: ModeKey): ModeDef {
  const [base, ...qualifiers] = key.split('@') as [string, ...string[]];
  const def = BASE[base];
  if (!def) throw new Error(`unknown mode ${key} (known: ${Object.keys(BASE).join(', ')}, each optionally @variant or @node)`);
  const mode: ModeDef = { ...def, key, base };
  for (const q of qualifiers) {
    const cwd = VARIANTS.get(q);
    const node = NODES.get(q);
    if (cwd) {
      mode.cwd = cwd;
      mode.variant = q;
      mode.label += ` [${q}]`;
    } else if (node) {
      if (def.client === 'librdkafka') throw new Error(`${key}: the librdkafka native addon is built for the pinned node only; run kafkajs modes under ${q}`);
      mode.node = node;
      mode.label += ` [node ${node.version}]`;
    } else throw new Error(`unknown variant or node ${q} in ${key} (declare it with --variant ${q}=<dir> or --node ${q}=<node binary>)`);
  }
  return mode;
}

/** `<bin> --version` → NodeBin, or an error naming the binary. */
export function nodeBin(name: string, bin: string): NodeBin {
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  const major = Number(version.replace(/^v/, '').split('.')[0]);
  if (!Number.isFinite(major)) throw new Error(`--node ${name}=${bin}: cannot read its version (${version})`);
  return { name, bin, version, major };
}

/** The machine's /usr/bin/node when it is another major than the pinned one (Node 20 here). */
function systemNode(): NodeBin | undefined {
  const bin = '/usr/bin/node';
  if (!existsSync(bin)) return undefined;
  try {
    const n = nodeBin('', bin);
    return n.major !== NODE_MAJOR ? { ...n, name: `node${n.major}` } : undefined;
  } catch {
    return undefined;
  }
}

export interface Options {
  quick: boolean;
  out?: string;
  partitions: number;
  backlog: number;
  runs: number;
  /** Seconds of each latency phase (25/50/75 %). */
  loadSeconds: number;
  warmSeconds: number;
  settleSeconds: number;
  customers: number;
  seed: number;
  modes: ModeKey[];
  latencyModes: ModeKey[];
  latency: boolean;
  throughput: boolean;
  /** Where each latency mode's search starts (events/s), by mode or base mode ('*' for all); default its drained maximum. */
  maxEps: Record<string, number>;
  /** Sustainable rates given (by mode, base or '*'): no search, the latency loads are taken from these (an A/B on equal loads). */
  sustainableEps: Record<string, number>;
  /** Search the sustainable live rate (else: latency at 25/50/75 % of the drained maximum, as before issue 11). */
  search: boolean;
  /** Length of each probe of the search, s. */
  probeSeconds: number;
  /** A probe is sustainable when the lag over its last third stays under this many seconds of traffic … */
  lagBoundSeconds: number;
  /** … and is not trending up. The search stops when (lowest unsustainable − highest sustainable) ≤ this share. */
  searchTolerance: number;
  maxProbes: number;
  profile: boolean;
  stateCards: number;
  /** Issue 12: deployment specs written during the swap phase of this latency mode (0: none), `swapEverySeconds` apart, at 50 % load. */
  swapMode: ModeKey;
  swaps: number;
  swapEverySeconds: number;
  /** Issue 15: a REST phase (gateway, requests at a steady rate) at 50 % load in each latency run. */
  rest: boolean;
  /** Issue 16: exactly-once on the secure broker (SASL_SSL, SCRAM, ACLs) beside plaintext, same rounds. */
  secure: boolean;
  extraEnv: Record<string, string>;
  keepTopics: boolean;
}

export function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const o: Options = {
    quick,
    partitions: 4,
    backlog: quick ? 25_000 : 500_000,
    runs: quick ? 1 : 3,
    loadSeconds: quick ? 2 : 20,
    warmSeconds: quick ? 1 : 5,
    settleSeconds: quick ? 0.5 : 2,
    customers: 5_000,
    seed: 42,
    modes: [...DEFAULT_MODES],
    latencyModes: ['alo', 'eos', 'alo-rdk', 'eos-rdk'],
    latency: true,
    throughput: true,
    maxEps: {},
    sustainableEps: {},
    search: true,
    probeSeconds: quick ? 3 : 60,
    lagBoundSeconds: 1,
    searchTolerance: quick ? 0.25 : 0.05,
    maxProbes: quick ? 3 : 6,
    profile: !quick,
    stateCards: quick ? 20_000 : 1_000_000,
    swapMode: 'eos-rdk',
    swaps: quick ? 2 : 6,
    swapEverySeconds: quick ? 2 : 5,
    rest: true,
    secure: true,
    extraEnv: {},
    keepTopics: false,
  };
  const modeList = (v: string): ModeKey[] => {
    const list = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const m of list) if (!BASE[m.split('@')[0]!]) throw new Error(`unknown mode ${m} (known: ${Object.keys(BASE).join(', ')}, each optionally @variant or @node)`);
    return list;
  };
  const rates = (flag: string, v: string, into: Record<string, number>) => {
    for (const part of v.split(',')) {
      const [k, n] = part.includes('=') ? part.split('=') : ['*', part];
      if (!k || !(Number(n) > 0)) throw new Error(`${flag} expects <n> or mode=<n>[,mode=<n>…]`);
      into[k] = Number(n);
    }
  };
  let explicitNodes = false;
  let noNode = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const num = (): number => {
      const v = Number(next());
      if (!Number.isFinite(v) || v < 0) throw new Error(`${a} needs a non-negative number`);
      return v;
    };
    switch (a) {
      case '--quick': break;
      case '--out': o.out = next(); break;
      case '--partitions': o.partitions = Math.max(1, Math.floor(num())); break;
      case '--backlog': o.backlog = Math.max(1, Math.floor(num())); break;
      case '--runs': o.runs = Math.max(1, Math.floor(num())); break;
      case '--load-seconds': o.loadSeconds = num(); break;
      case '--warm-seconds': o.warmSeconds = num(); break;
      case '--customers': o.customers = Math.max(1, Math.floor(num())); break;
      case '--seed': o.seed = Math.floor(num()); break;
      case '--modes': o.modes = modeList(next()); break;
      case '--latency-modes': o.latencyModes = modeList(next()); break;
      case '--no-latency': o.latency = false; break;
      case '--no-rest': o.rest = false; break;
      case '--secure': o.secure = true; break;
      case '--no-secure': o.secure = false; break;
      case '--no-throughput': o.throughput = false; break;
      case '--max-eps': rates(a, next(), o.maxEps); break;
      case '--sustainable-eps': rates(a, next(), o.sustainableEps); break;
      case '--no-search': o.search = false; break;
      case '--probe-seconds': o.probeSeconds = Math.max(1, num()); break;
      case '--lag-bound-seconds': o.lagBoundSeconds = num(); break;
      case '--search-tolerance': o.searchTolerance = num(); break;
      case '--max-probes': o.maxProbes = Math.max(1, Math.floor(num())); break;
      case '--profile': o.profile = true; break;
      case '--no-profile': o.profile = false; break;
      case '--state-cards': o.stateCards = Math.floor(num()); break;
      case '--keep-topics': o.keepTopics = true; break;
      case '--swaps': o.swaps = Math.max(0, Math.floor(num())); break;
      case '--swap-mode': o.swapMode = next(); break;
      case '--variant': {
        const [name, dir] = next().split('=');
        if (!name || !/^[\w.-]+$/.test(name) || !dir) throw new Error('--variant expects name=<source tree>');
        VARIANTS.set(name, resolve(dir));
        break;
      }
      case '--node': {
        const [name, bin] = next().split('=');
        if (!name || !/^[\w.-]+$/.test(name) || !bin) throw new Error('--node expects name=<node binary>');
        NODES.set(name, nodeBin(name, bin));
        explicitNodes = true;
        break;
      }
      case '--no-node': noNode = true; break;
      case '--env': {
        const [k, ...v] = next().split('=');
        if (!k || !/^FRAUD_[A-Z0-9_]+$/.test(k) || v.length === 0) throw new Error('--env expects FRAUD_NAME=value');
        o.extraEnv[k] = v.join('=');
        break;
      }
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  for (const name of NODES.keys()) if (VARIANTS.has(name)) throw new Error(`${name} names both a variant and a node`);
  const explicitModes = argv.includes('--modes');
  // Each variant runs next to its base mode (adjacent in every round: an A/B under the same load).
  if (VARIANTS.size) {
    const withVariants = (list: ModeKey[], explicit: boolean) =>
      explicit ? list : list.flatMap((m) => (m.includes('@') || BASE[m]!.kind === 'baseline' ? [m] : [m, ...[...VARIANTS.keys()].map((v) => `${m}@${v}`)]));
    o.modes = withVariants(o.modes, explicitModes && o.modes.some((m) => m.includes('@')));
    o.latencyModes = withVariants(o.latencyModes, argv.includes('--latency-modes') && o.latencyModes.some((m) => m.includes('@')));
  }
  // Node 20 vs the pinned node: a default run adds `alo@node20` (kafkajs, at-least-once) when
  // /usr/bin/node is another major; --node name=bin adds `alo@name` after `alo` unless --modes names it.
  if (!explicitNodes && !explicitModes && !noNode) {
    const sys = systemNode();
    if (sys) NODES.set(sys.name, sys);
  }
  for (const name of NODES.keys()) {
    if (o.modes.some((m) => m.split('@').slice(1).includes(name))) continue;
    o.modes = o.modes.flatMap((m) => (m === 'alo' ? [m, `alo@${name}`] : [m]));
  }
  for (const m of [...o.modes, ...o.latencyModes]) MODE(m);
  for (const m of o.latencyModes) if (MODE(m).kind === 'baseline') throw new Error(`${m}: the baselines carry no source timestamps; they have no latency run`);
  o.latencyModes = o.latencyModes.filter((m) => o.modes.includes(m));
  return o;
}

/** A per-mode option value: the mode's own, its base mode's, or the '*' one. */
export function perMode(values: Record<string, number>, mode: ModeDef): number | undefined {
  return values[mode.key] ?? values[mode.base] ?? values['*'];
}
