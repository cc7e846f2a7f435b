/**
 * Exact path-dependent TreeSHAP for a whole ensemble, fast enough for the scoring path.
 *
 * Algorithm 2 of Lundberg et al. costs O(leaves × depth²) per row; tabulating each leaf's game
 * (leaf-games.ts) brings it to O(leaves × distinct path features), still ~45 k steps for 300
 * LightGBM trees of 15 leaves (≈ 200 µs here). One step further: a subtree's leaves depend on
 * the row only through the outcomes of the subtree's splits and its ancestors'. Those outcomes
 * are tabulated at load — the subtree's summed contributions for every outcome pattern — and
 * a row then costs one split test per pattern digit plus one add per feature the subtree
 * uses. When every split is `x <= t` (LightGBM, scikit-learn), the outcomes of a feature's
 * splits are monotone in the threshold, so a pattern is the count of true outcomes per
 * feature (mixed radix), not 2^splits. Trees are cut into the largest subtrees whose table
 * fits `maxGroupEntries`; leaves outside any such subtree keep their own subset table (or the
 * O(d²) polynomial path).
 *
 * Memory is bounded: the per-subtree cap is halved until all tables fit `maxTableBytes`. With
 * the defaults, the shipped LightGBM (300 trees, 15 leaves) gets 10.5 MiB of tables, 815
 * subtrees, 5 loose leaves, and ≈ 33 µs per row (test/bench/reasons.ts); the depth-12 forest
 * is dominated by its ~13 k loose leaves (≈ 2.4 ms per row). The tables hold the same float64
 * sums, so results agree with the table-free path to rounding (tested). A row with a NaN input
 * takes the table-free path: NaN outcomes follow nodes_missing_value_tracks_true, which need
 * not be monotone in the threshold.
 *
 * Splits are evaluated as onnxruntime does (float32 inputs against float32 thresholds), so the
 * path is the one the model took.
 */
import { leafGames, polynomialLeaf, shapleyWeights, subsetTable, MAX_PATH_FEATURES, type LeafGame } from './leaf-games.js';
import { cut, fillGroupTable, leafTabled } from './subtree-tables.js';
import { split, type TreeEnsemble } from './tree-ensemble.js';

export interface TreeShapOptions {
  /** Largest table of one subtree, in float64 entries (default 2^13; 0: no tables at all). */
  maxGroupEntries?: number;
  /** Memory cap for all tables (default 16 MiB); the per-subtree cap is halved until they fit. */
  maxTableBytes?: number;
}

/** Split tests in a flat list (a group's pattern bits, or leaves' path edges). */
interface Splits {
  feature: Int32Array;
  threshold: Float64Array;
  mode: Uint8Array;
  missing: Uint8Array;
}

function splits(e: TreeEnsemble, nodes: number[]): Splits {
  return {
    feature: Int32Array.from(nodes, (g) => e.feature[g] as number),
    threshold: Float64Array.from(nodes, (g) => e.threshold[g] as number),
    mode: Uint8Array.from(nodes, (g) => e.mode[g] as number),
    missing: Uint8Array.from(nodes, (g) => e.missingTrue[g] as number),
  };
}

export class TreeShap {
  /** Expected value of the margin over the covers, plus base_values. */
  readonly bias: number;
  /** Memory of the tables and how the trees were cut (for the benchmark and logs). */
  readonly tableBytes: number;
  readonly groups: number;
  readonly looseLeaves: number;
  /** Every split is `x <= t`: tests need no mode, and patterns count per feature. */
  private readonly monotone: boolean;
  // Groups: the splits behind each pattern digit, their place values, features, table rows.
  private readonly groupSplits: Splits;
  private readonly groupWeight: Int32Array;
  private readonly groupSplitStart: Int32Array;
  private readonly groupFeature: Int32Array;
  private readonly groupFeatureStart: Int32Array;
  private readonly groupTable: Int32Array;
  // Every leaf's path edges and distinct features (leaf-games.ts), for loose leaves and NaN rows.
  private readonly edges: Splits;
  private readonly edgeStart: Int32Array;
  private readonly edgeDir: Uint8Array;
  private readonly edgeBit: Int32Array;
  private readonly featStart: Int32Array;
  private readonly featIndex: Int32Array;
  private readonly featRatio: Float64Array; // (1 − z)/z
  private readonly featZ: Float64Array;
  private readonly leafValue: Float64Array;
  private readonly loose: Int32Array;
  private readonly looseTable: Int32Array; // -1: polynomial path
  private readonly tables: Float64Array;
  private readonly weights: Float64Array[];
  private readonly scratch = [new Float64Array(MAX_PATH_FEATURES + 2), new Float64Array(MAX_PATH_FEATURES + 2)] as const;

  /** Filling the tables, one group or loose leaf per step, until done (fill()). */
  private pending: (() => void)[] = [];

  /**
   * Throws RangeError when a path has more distinct features than a mask holds (the caller
   * turns it into a reason). With `deferFill`, the tables are laid out but not filled: call
   * fill() before the first accumulate (it pauses between steps, so a scorer building an
   * explainer for a hot swap keeps scoring meanwhile).
   */
  constructor(e: TreeEnsemble, covers: Float64Array, options: TreeShapOptions = {}, deferFill = false) {
    const { games, bias } = leafGames(e, covers);
    this.bias = bias;
    this.monotone = e.mode.every((m) => m === 0 || m === 1);

    this.edges = splits(e, games.flatMap((g) => g.nodes));
    this.edgeStart = starts(games.map((g) => g.nodes.length));
    this.edgeDir = Uint8Array.from(games.flatMap((g) => g.dirs));
    this.edgeBit = Int32Array.from(games.flatMap((g) => g.bits));
    this.featStart = starts(games.map((g) => g.features.length));
    this.featIndex = Int32Array.from(games.flatMap((g) => g.features));
    this.featZ = Float64Array.from(games.flatMap((g) => g.z));
    this.featRatio = this.featZ.map((z) => (1 - z) / z);
    this.leafValue = Float64Array.from(games, (g) => g.value);
    this.weights = Array.from({ length: games.reduce((d, g) => Math.max(d, g.z.length), 0) + 1 }, (_, d) => shapleyWeights(d));

    // The cut: the largest per-subtree cap whose tables fit the budget.
    const budget = (options.maxTableBytes ?? 16 * 1024 * 1024) / 8;
    let cap = Math.min(Math.max(0, options.maxGroupEntries ?? 1 << 13), 1 << 24); // patterns index an Int32Array
    let plan = cut(e, games, cap, this.monotone);
    while (cap > 0 && plan.entries > budget) plan = cut(e, games, (cap = Math.floor(cap / 2)), this.monotone);
    this.tables = new Float64Array(plan.entries);
    this.tableBytes = plan.entries * 8;
    this.groups = plan.groups.length;
    this.looseLeaves = plan.loose.length;
    let at = 0;
    const gt: number[] = [];
    for (const group of plan.groups) {
      gt.push(at);
      const offset = at;
      this.pending.push(() => fillGroupTable(group, this.tables, offset));
      at += group.features.length * group.patterns;
    }
    this.groupTable = Int32Array.from(gt);
    this.groupSplits = splits(e, plan.groups.flatMap((g) => g.nodes));
    this.groupWeight = Int32Array.from(plan.groups.flatMap((g) => g.weight));
    this.groupSplitStart = starts(plan.groups.map((g) => g.nodes.length));
    this.groupFeature = Int32Array.from(plan.groups.flatMap((g) => g.features));
    this.groupFeatureStart = starts(plan.groups.map((g) => g.features.length));
    this.loose = Int32Array.from(plan.loose);
    this.looseTable = Int32Array.from(plan.loose, (l) => {
      const game = games[l] as LeafGame;
      if (!leafTabled(game, cap)) return -1;
      const offset = at;
      this.pending.push(() => this.tables.set(subsetTable(game), offset));
      at += 1 << game.z.length; // subsetTable's length
      return offset;
    });
    if (!deferFill) for (const step of this.pending.splice(0)) step();
  }

  /** Fills the tables laid out by a deferred constructor, awaiting `pause` every `sliceMs`. */
  async fill(pause: () => Promise<void>, sliceMs = 4): Promise<void> {
    let since = performance.now();
    for (const step of this.pending.splice(0)) {
      step();
      if (performance.now() - since >= sliceMs) {
        await pause();
        since = performance.now();
      }
    }
  }

  /**
   * Adds each feature's contribution for the standardised row xs (width ≥ every split's
   * feature) into out (not cleared here). bias + Σ out is the ensemble's raw margin.
   */
  accumulate(xs: Float64Array, out: Float64Array): void {
    if (this.monotone && hasNaN(xs)) {
      this.allLeavesExactly(xs, out);
      return;
    }
    // Each split is tested where it is used (no shared outcome array): `x <= t` inline when
    // monotone (and NaN-free, checked above), onnxruntime's full test otherwise.
    const leq = this.monotone;
    const { feature, threshold, mode, missing } = this.groupSplits;
    const { groupWeight, groupSplitStart, groupFeature, groupFeatureStart, groupTable, tables } = this;
    const groups = groupTable.length;
    for (let g = 0; g < groups; g++) {
      const b1 = groupSplitStart[g + 1] as number;
      let pattern = 0;
      for (let j = groupSplitStart[g] as number; j < b1; j++) {
        const x = xs[feature[j] as number] as number;
        const yes = leq ? +(x <= (threshold[j] as number)) : +split(x, threshold[j] as number, mode[j] as number, missing[j] as number);
        pattern += yes * (groupWeight[j] as number);
      }
      const f0 = groupFeatureStart[g] as number;
      const m = (groupFeatureStart[g + 1] as number) - f0;
      const row = (groupTable[g] as number) + pattern * m;
      for (let k = 0; k < m; k++) out[groupFeature[f0 + k] as number]! += tables[row + k] as number;
    }
    this.looseLeafContributions(xs, out, leq);
  }

  /** The agreement set of leaf l's distinct features with the row (bit k: every edge of feature k agrees). */
  private agreement(l: number, xs: Float64Array, leq: boolean): number {
    const { feature, threshold, mode, missing } = this.edges;
    const { edgeDir, edgeBit } = this;
    let failed = 0;
    const e1 = this.edgeStart[l + 1] as number;
    for (let e = this.edgeStart[l] as number; e < e1; e++) {
      const x = xs[feature[e] as number] as number;
      const yes = leq ? +(x <= (threshold[e] as number)) : +split(x, threshold[e] as number, mode[e] as number, missing[e] as number);
      failed |= -(yes ^ (edgeDir[e] as number)) & (edgeBit[e] as number);
    }
    return ((1 << ((this.featStart[l + 1] as number) - (this.featStart[l] as number))) - 1) ^ failed;
  }

  /** Leaves outside any group, each on its own: subset table, or the polynomial path. */
  private looseLeafContributions(xs: Float64Array, out: Float64Array, leq: boolean): void {
    const { featStart, featIndex, featRatio, loose, looseTable, tables } = this;
    for (let i = 0; i < loose.length; i++) {
      const l = loose[i] as number;
      const u = this.agreement(l, xs, leq);
      const tb = looseTable[i] as number;
      if (tb < 0) {
        this.polynomial(l, u, out);
        continue;
      }
      // k ∉ u: T(u) read, −T(u) added; k ∈ u: T(u \ k) read, (1 − z)/z · T(u \ k) added.
      const f0 = featStart[l] as number;
      const d = (featStart[l + 1] as number) - f0;
      for (let k = 0; k < d; k++) {
        const t = tables[tb + (u & ~(1 << k))] as number;
        out[featIndex[f0 + k] as number]! += (u >>> k) & 1 ? (featRatio[f0 + k] as number) * t : -t;
      }
    }
  }

  /** Every leaf by the table-free path, splits tested with NaN routing (rows with a NaN input). */
  private allLeavesExactly(xs: Float64Array, out: Float64Array): void {
    for (let l = 0; l < this.leafValue.length; l++) this.polynomial(l, this.agreement(l, xs, false), out);
  }

  private polynomial(l: number, u: number, out: Float64Array): void {
    const f0 = this.featStart[l] as number;
    const d = (this.featStart[l + 1] as number) - f0;
    polynomialLeaf(this.leafValue[l] as number, this.featIndex, this.featZ, f0, d, u, this.weights[d] as Float64Array, out, this.scratch[0], this.scratch[1]);
  }
}

function hasNaN(xs: Float64Array): boolean {
  for (let j = 0; j < xs.length; j++) if (xs[j] !== xs[j]) return true;
  return false;
}

/** Start offsets: [0, a, a + b, …] for sizes [a, b, …]. */
function starts(sizes: number[]): Int32Array {
  const out = new Int32Array(sizes.length + 1);
  sizes.forEach((n, k) => (out[k + 1] = (out[k] as number) + n));
  return out;
}

