/**
 * The gate: whether a freshly trained candidate may go next to the champion. Every criterion
 * has a value, a bound and pass/fail, and the gate passes only when all of them pass:
 *
 *  - average_precision, card_precision_at_100: the candidate's figure on the test rows is at
 *    least the champion's on the same rows minus a tolerance (scored through the serving path);
 *  - feature_contract: the manifest's feature names, order and feature_set_version are the
 *    scorer's (SCORER_CONTRACT), else no scorer would load it;
 *  - input_schema: the graph's one input is the manifest's input_name, float32, [batch, 15]
 *    with a free batch dimension, and its output the manifest's output_name, float32,
 *    [batch, 2]: what the scorer feeds and reads;
 *  - calibration: present (a monotone map the monitor can use, services/monitor/src/cbpe.ts),
 *    and on the test rows the calibrated probability's Brier score at most the no-skill Brier
 *    (every row predicted at the test fraud rate; and --max-brier when given), and its
 *    expected calibration error over equal-mass bins at most 0.4 × the fraud rate (or --max-ece).
 *
 * Why equal-mass bins for the ECE: with ~0.7 % fraud nearly every probability is below 0.1,
 * so 10 equal-width bins put ~99 % of the rows in the first bin and the ECE says little about
 * the rows that matter; equal-mass bins (rows sorted by p, cut into bins of equal count) give
 * the high-score tail bins of its own.
 */
import { calibrate, type Calibration } from '../../../monitor/src/cbpe.js';

export interface GateBounds {
  /** Candidate AP >= champion AP − apTolerance. */
  apTolerance: number;
  /** Candidate CP@100 >= champion CP@100 − cpTolerance. */
  cpTolerance: number;
  /** Brier score of the calibrated probability <= min(maxBrier, no-skill Brier); undefined: the no-skill Brier alone. */
  maxBrier?: number;
  /** Equal-mass ECE of the calibrated probability <= maxEce; undefined: eceRateFactor × the test fraud rate. */
  maxEce?: number;
  eceRateFactor: number;
  /** Bins of the equal-mass ECE. */
  eceBins: number;
}

/**
 * Defaults, and why:
 *  - AP and CP@100 tolerances 0.02: the sampling noise of a test week. With ~400 test frauds
 *    (the default world), AP moves by about ±0.02 between weeks of the same process (shipped
 *    models: validation vs test AP differ by 0.01–0.03), and CP@100 = 0.02 is two cards in a
 *    day's top 100. A candidate within that of the champion is not measurably worse.
 *  - Brier: at most the no-skill Brier r(1 − r) of the test rows (r = their fraud rate;
 *    0.0066 for the default world's weeks), i.e. the calibrated probability must beat
 *    predicting the fraud rate for every row. No absolute cap by default: Brier scales with
 *    r, so a fixed 0.01 is looser than no-skill at the default world's 0.7 % and fails sound
 *    models at 2 % (a small simulated world: Brier 0.015 against a no-skill 0.023). The
 *    shipped models score 0.0028–0.0034 on their test week (their manifests' brier_calibrated).
 *    --max-brier adds an absolute cap for a known fraud rate.
 *  - ECE: at most 0.4 × r by default (0.0026 at 0.66 %). ECE is bounded by mean p + r, so an
 *    absolute bound like 0.02 never fails at these rates, and it scales with r like the Brier.
 *    ECE >= |Σp − Σy| / n, so ECE <= 0.4 r keeps the monitor's expected fraud count (CBPE, Σp)
 *    within 40 % of the real one on the test rows, and catches a map off by a factor of ~1.5
 *    or more. The shipped 1.0.0 models measure 0.0009–0.0012 (0.14–0.19 r, equal-mass, 10
 *    bins) on their test week (2018-08-08..14) and 0.0005–0.0007 on the default world's newest
 *    week (09-24..30); on a one-week test the noise of the bins alone is ~0.1 r. --max-ece
 *    sets an absolute bound instead.
 */
export const DEFAULT_BOUNDS: GateBounds = { apTolerance: 0.02, cpTolerance: 0.02, eceRateFactor: 0.4, eceBins: 10 };

export const brierBound = (b: GateBounds, noSkillBrier: number): number => Math.min(b.maxBrier ?? Infinity, noSkillBrier);
export const eceBound = (b: GateBounds, fraudRate: number): number => b.maxEce ?? b.eceRateFactor * fraudRate;

export interface Criterion {
  name: string;
  /** Measured value (null: could not be measured, which fails the criterion). */
  value: number | string | null;
  /** The bound it is held to, as a number or a description. */
  bound: number | string | null;
  /** How value and bound compare to pass: '>=', '<=', '=='. */
  op: '>=' | '<=' | '==';
  pass: boolean;
  /** One sentence: what was compared, and why it failed when it did. */
  detail: string;
}

export function brier(p: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += ((p[i] as number) - (y[i] as number)) ** 2;
  return p.length ? s / p.length : Number.NaN;
}

export interface EceBin {
  rows: number;
  meanP: number;
  fraudRate: number;
}

/**
 * Expected calibration error over `bins` equal-mass bins: rows sorted by p (ties broken by
 * row order), bin b = rows [floor(b·n/bins), floor((b+1)·n/bins)); ECE = Σ (rows in bin / n)
 * · |mean p − fraud rate| = Σ |Σp − Σy| / n.
 */
export function eceEqualMass(p: ArrayLike<number>, y: ArrayLike<number>, bins = 10): { ece: number; bins: EceBin[] } {
  const n = p.length;
  if (n === 0) return { ece: Number.NaN, bins: [] };
  const idx = Uint32Array.from({ length: n }, (_, i) => i);
  const pv = Float64Array.from(p as ArrayLike<number>);
  idx.sort((a, b) => (pv[a] as number) - (pv[b] as number) || a - b);
  const out: EceBin[] = [];
  let gap = 0;
  const k = Math.min(bins, n);
  for (let b = 0; b < k; b++) {
    const lo = Math.floor((b * n) / k);
    const hi = Math.floor(((b + 1) * n) / k);
    let sp = 0;
    let sy = 0;
    for (let i = lo; i < hi; i++) {
      const r = idx[i] as number;
      sp += pv[r] as number;
      sy += y[r] as number;
    }
    gap += Math.abs(sp - sy);
    out.push({ rows: hi - lo, meanP: sp / (hi - lo), fraudRate: sy / (hi - lo) });
  }
  return { ece: gap / n, bins: out };
}

/** Why a manifest's `calibration` cannot be used (undefined when it can): the monitor's rules. */
export function calibrationProblem(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return 'the manifest has no calibration block';
  const c = raw as { x?: unknown; y?: unknown };
  if (!Array.isArray(c.x) || !Array.isArray(c.y)) return 'calibration has no x and y knot lists';
  if (c.x.length < 2 || c.x.length !== c.y.length) return `calibration needs at least 2 knots and as many x as y (x ${c.x.length}, y ${c.y.length})`;
  const x = c.x as unknown[];
  const y = c.y as unknown[];
  if (!x.every((v, i) => typeof v === 'number' && Number.isFinite(v) && (i === 0 || v > (x[i - 1] as number)))) return 'calibration x is not strictly ascending finite numbers';
  if (!y.every((v, i) => typeof v === 'number' && v >= 0 && v <= 1 && (i === 0 || v >= (y[i - 1] as number)))) return 'calibration y is not non-decreasing probabilities in [0, 1]';
  return undefined;
}

export function calibrated(c: Calibration, scores: ArrayLike<number>): Float64Array {
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = calibrate(c, scores[i] as number);
  return out;
}

/** What the graph declares, from onnxruntime's session metadata. */
export interface GraphValue {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

export interface ScorerContract {
  features: readonly string[];
  featureSetVersion: string;
}

export function featureContractCriterion(manifest: { features?: unknown; feature_set_version?: unknown }, contract: ScorerContract): Criterion {
  const features = Array.isArray(manifest.features) ? (manifest.features as unknown[]).map(String) : [];
  const version = typeof manifest.feature_set_version === 'string' ? manifest.feature_set_version : '(none)';
  const base = { name: 'feature_contract', value: `${version}: ${features.length} features`, bound: `${contract.featureSetVersion}: ${contract.features.length} features in the scorer's order`, op: '==' as const };
  if (version !== contract.featureSetVersion) return { ...base, pass: false, detail: `feature_set_version ${version}, the scorer computes ${contract.featureSetVersion}` };
  const n = Math.max(features.length, contract.features.length);
  for (let i = 0; i < n; i++) {
    if (features[i] !== contract.features[i]) {
      return { ...base, pass: false, detail: `feature ${i} is ${features[i] ?? '(nothing)'}, the scorer computes ${contract.features[i] ?? '(nothing)'} there` };
    }
  }
  return { ...base, pass: true, detail: 'names, order and feature_set_version are the scorer\'s' };
}

const dynamic = (d: number | string | undefined): boolean => typeof d === 'string' || d === -1;
const showShape = (s: readonly (number | string)[] | undefined): string => (s ? `[${s.map((d) => (dynamic(d) ? 'N' : String(d))).join(', ')}]` : '[?]');

export function inputSchemaCriterion(
  manifest: { input_name?: unknown; output_name?: unknown },
  graph: { inputs: readonly GraphValue[]; outputs: readonly GraphValue[] },
  width: number,
): Criterion {
  const inputName = typeof manifest.input_name === 'string' ? manifest.input_name : 'features';
  const outputName = typeof manifest.output_name === 'string' ? manifest.output_name : 'probabilities';
  const input = graph.inputs.find((v) => v.name === inputName);
  const output = graph.outputs.find((v) => v.name === outputName);
  const value = graph.inputs.map((v) => `${v.name} ${v.type ?? '?'} ${showShape(v.shape)}`).join('; ') || '(no input)';
  const base = { name: 'input_schema', value, bound: `${inputName} float32 [N, ${width}] (only input); ${outputName} float32 [N, 2]`, op: '==' as const };
  const fail = (detail: string): Criterion => ({ ...base, pass: false, detail });
  if (!input) return fail(`the graph has no input ${inputName} (the manifest's input_name, which the scorer feeds)`);
  if (graph.inputs.length !== 1) return fail(`the graph has ${graph.inputs.length} inputs; the scorer feeds only ${inputName}`);
  if (!input.isTensor || input.type !== 'float32') return fail(`input ${inputName} is ${input.type ?? 'not a tensor'}, the scorer feeds float32`);
  const s = input.shape ?? [];
  if (s.length !== 2 || !dynamic(s[0]) || s[1] !== width) return fail(`input ${inputName} has shape ${showShape(s)}, the scorer feeds [N, ${width}] with N free`);
  if (!output) return fail(`the graph has no output ${outputName} (the manifest's output_name, which the scorer reads)`);
  const o = output.shape ?? [];
  if (!output.isTensor || output.type !== 'float32' || o.length !== 2 || o[1] !== 2) return fail(`output ${outputName} is ${output.type ?? 'not a tensor'} ${showShape(o)}, the scorer reads float32 [N, 2]`);
  return { ...base, pass: true, detail: 'the scorer\'s input and output' };
}

/** Figures of one model on the gate's rows (undefined: it could not be scored). */
export interface Scored {
  ap: number;
  cp100: number;
  auc: number;
}

export interface CalibrationFigures {
  /** Why the map cannot be used; undefined when present and usable. */
  problem?: string;
  brier?: number;
  /** Fraud rate r of the test rows. */
  fraudRate: number;
  /** r(1 − r): the Brier score of predicting r for every row. */
  noSkillBrier: number;
  ece?: number;
  eceBins?: EceBin[];
}

export interface GateInput {
  champion: Scored;
  candidate: Scored | undefined;
  /** Why the candidate could not be scored (the serving path refused it). */
  candidateRefusal?: string;
  featureContract: Criterion;
  inputSchema: Criterion;
  calibration: CalibrationFigures;
}

const r6 = (v: number): number => Number(v.toPrecision(6));

export function judge(g: GateInput, b: GateBounds): Criterion[] {
  const out: Criterion[] = [];
  const notScored = `the candidate could not be scored through the serving path: ${g.candidateRefusal ?? 'unknown reason'}`;
  const compare = (name: string, label: string, cand: number | undefined, champ: number, tol: number): Criterion => {
    const bound = r6(champ - tol);
    if (cand === undefined || !Number.isFinite(cand)) return { name, value: null, bound, op: '>=', pass: false, detail: notScored };
    const pass = cand >= champ - tol;
    return {
      name, value: r6(cand), bound, op: '>=', pass,
      detail: `candidate ${label} ${r6(cand)} vs champion ${r6(champ)} − tolerance ${tol}${pass ? '' : `: ${r6(champ - tol - cand)} below the bound`}`,
    };
  };
  out.push(compare('average_precision', 'AP', g.candidate?.ap, g.champion.ap, b.apTolerance));
  out.push(compare('card_precision_at_100', 'CP@100', g.candidate?.cp100, g.champion.cp100, b.cpTolerance));
  out.push(g.featureContract, g.inputSchema);
  const c = g.calibration;
  out.push({
    name: 'calibration_present', value: c.problem ? 'missing or unusable' : 'present', bound: 'a monotone map (x ascending, y non-decreasing in [0, 1])', op: '==',
    pass: c.problem === undefined, detail: c.problem ?? 'the monitor can estimate performance with it (CBPE)',
  });
  const bBound = r6(brierBound(b, c.noSkillBrier));
  const bWhy = b.maxBrier === undefined ? `the no-skill Brier ${r6(c.noSkillBrier)} (predicting the test fraud rate for every row)` : `min(--max-brier ${b.maxBrier}, no-skill ${r6(c.noSkillBrier)})`;
  if (c.brier === undefined) {
    out.push({ name: 'calibration_brier', value: null, bound: bBound, op: '<=', pass: false, detail: c.problem ?? notScored });
  } else {
    const pass = c.brier <= bBound;
    out.push({
      name: 'calibration_brier', value: r6(c.brier), bound: bBound, op: '<=', pass,
      detail: `Brier score of the calibrated probability; bound: ${bWhy}${pass ? '' : ': worse than the bound'}`,
    });
  }
  const eBound = r6(eceBound(b, c.fraudRate));
  const eWhy = b.maxEce === undefined ? `${b.eceRateFactor} × the test fraud rate ${r6(c.fraudRate)}` : '--max-ece';
  if (c.ece === undefined) {
    out.push({ name: 'calibration_ece', value: null, bound: eBound, op: '<=', pass: false, detail: c.problem ?? notScored });
  } else {
    const pass = c.ece <= eBound;
    out.push({
      name: 'calibration_ece', value: r6(c.ece), bound: eBound, op: '<=', pass,
      detail: `expected calibration error of the calibrated probability, ${b.eceBins} equal-mass bins; bound: ${eWhy}${pass ? '' : ': the probabilities are off by more than the bound'}`,
    });
  }
  return out;
}

/** One line per failed criterion: the report's "why". */
export function reasons(criteria: readonly Criterion[]): string[] {
  return criteria.filter((c) => !c.pass).map((c) => `${c.name}: ${c.detail}`);
}
