/**
 * How trees are cut into subtrees whose contributions are tabulated (tree-shap.ts says why):
 * each subtree's table holds, for every outcome pattern of its splits and its ancestors', the
 * summed contributions of its leaves to each feature it uses.
 */
import { subsetTable, type LeafGame } from './leaf-games.js';
import type { TreeEnsemble } from './tree-ensemble.js';

/** A subtree with its ancestors: pattern = Σ_j outcome(nodes[j]) × weight[j] < patterns. */
export interface Group {
  nodes: number[];
  weight: number[];
  rank: number[]; // outcome(nodes[j]) = rank[j] < digit of its key
  radix: number[];
  patterns: number;
  features: number[];
  leaves: LeafGame[];
}

/**
 * Whether a loose leaf gets its own subset table: only small ones. A row reads d + 1 scattered
 * entries of a 2^d table, so beyond a few cache lines (deep forests: d ≈ 8–12) each read is a
 * cache miss and the O(d²) polynomial path, which touches no table, is as fast (measured).
 */
export function leafTabled(game: LeafGame, cap: number): boolean {
  return game.z.length <= LEAF_TABLE_BITS && 1 << game.z.length <= cap;
}

const LEAF_TABLE_BITS = 6;

/** A candidate group: its pattern encoding (keys = features when monotone, else nodes). */
function encode(e: TreeEnsemble, nodes: number[], monotone: boolean): Omit<Group, 'leaves'> {
  const keys = new Map<number, number[]>();
  nodes.forEach((node, j) => {
    const key = monotone ? (e.feature[node] as number) : -1 - j;
    keys.set(key, [...(keys.get(key) ?? []), j]);
  });
  const weight = new Array<number>(nodes.length).fill(0);
  const rank = new Array<number>(nodes.length).fill(0);
  const radix = new Array<number>(nodes.length).fill(0);
  let patterns = 1;
  for (const members of keys.values()) {
    // x <= t is true for a prefix of the thresholds in descending order: the count fixes them all.
    members.sort((a, b) => (e.threshold[nodes[b] as number] as number) - (e.threshold[nodes[a] as number] as number));
    members.forEach((j, r) => ((weight[j] = patterns), (rank[j] = r), (radix[j] = members.length + 1)));
    patterns *= members.length + 1;
  }
  return { nodes, weight, rank, radix, patterns, features: [...new Set(nodes.map((node) => e.feature[node] as number))] };
}

/** Cuts every tree into the largest subtrees whose table has ≤ cap entries; the rest are loose leaves. */
export function cut(e: TreeEnsemble, games: LeafGame[], cap: number, monotone: boolean): { groups: Group[]; loose: number[]; entries: number } {
  const index = new Map(games.map((g, l) => [g.leaf, l]));
  const groups: Group[] = [];
  const loose: number[] = [];
  let entries = 0;
  const collect = (g: number, nodes: number[], leaves: LeafGame[]): void => {
    if (e.mode[g] === 0) leaves.push(games[index.get(g) as number] as LeafGame);
    else {
      nodes.push(g);
      collect(e.trueChild[g] as number, nodes, leaves);
      collect(e.falseChild[g] as number, nodes, leaves);
    }
  };
  const visit = (g: number, ancestors: number[]): void => {
    const nodes = [...ancestors];
    const leaves: LeafGame[] = [];
    collect(g, nodes, leaves);
    const group = encode(e, nodes, monotone);
    const size = group.patterns * group.features.length;
    if (cap > 0 && size <= cap && nodes.length > 0) {
      groups.push({ ...group, leaves });
      entries += size;
    } else if (e.mode[g] === 0) {
      const l = index.get(g) as number;
      loose.push(l);
      if (leafTabled(games[l] as LeafGame, cap)) entries += 1 << (games[l] as LeafGame).z.length;
    } else {
      visit(e.trueChild[g] as number, [...ancestors, g]);
      visit(e.falseChild[g] as number, [...ancestors, g]);
    }
  };
  for (let t = 0; t < e.root.length; t++) visit(e.root[t] as number, []);
  return { groups, loose, entries };
}

/** The group's summed leaf contributions for every pattern: row p, column = feature position. */
export function fillGroupTable(group: Group, out: Float64Array, at: number): void {
  const m = group.features.length;
  const n = group.nodes.length;
  const weight = Int32Array.from(group.weight);
  const rank = Int32Array.from(group.rank);
  const radix = Int32Array.from(group.radix);
  const outcome = new Uint8Array(n);
  const position = new Map(group.nodes.map((node, j) => [node, j]));
  const leaves = group.leaves.map((leaf) => ({
    d: leaf.z.length,
    table: subsetTable(leaf),
    column: Int32Array.from(leaf.features, (f) => group.features.indexOf(f)),
    ratio: Float64Array.from(leaf.z, (z) => (1 - z) / z),
    pos: Int32Array.from(leaf.nodes, (node) => position.get(node) as number),
    dirs: Uint8Array.from(leaf.dirs),
    bits: Int32Array.from(leaf.bits),
  }));
  for (let p = 0; p < group.patterns; p++) {
    for (let j = 0; j < n; j++) outcome[j] = (rank[j] as number) < (((p / (weight[j] as number)) | 0) % (radix[j] as number)) ? 1 : 0;
    const row = at + p * m;
    for (const { d, table, column, ratio, pos, dirs, bits } of leaves) {
      let failed = 0;
      for (let k = 0; k < pos.length; k++) if (outcome[pos[k] as number] !== dirs[k]) failed |= bits[k] as number;
      const u = ((1 << d) - 1) ^ failed;
      for (let k = 0; k < d; k++) out[row + (column[k] as number)]! += (u >>> k) & 1 ? (ratio[k] as number) * (table[u ^ (1 << k)] as number) : -(table[u] as number);
    }
  }
}
