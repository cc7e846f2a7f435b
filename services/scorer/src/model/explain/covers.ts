/**
 * Node covers for TreeSHAP, read from the manifest's `tree_covers` block and checked against
 * the graph.
 *
 * Why the manifest: path-dependent TreeSHAP weighs each branch by how many training rows took
 * it (LightGBM's internal_count, scikit-learn's weighted_n_node_samples), and ONNX keeps no
 * such number (nodes_hitrates is written as all 1.0). The trainer writes the table beside the
 * other facts about the bytes (their sha256, the feature list) so that (1) the explainer needs
 * exactly the two files the loader already verifies, (2) an already-shipped artifact can get
 * the table later without its model.onnx, hence its digest, changing (as `calibration` was
 * added), and (3) the ONNX graph stays the single source of structure: the table holds only
 * numbers, and it is refused unless it names these bytes' sha256, has the graph's tree count
 * and per-tree node count, every cover is positive, and every internal node's cover is the sum
 * of its children's (which a table in another node order or for another model fails).
 *
 *   "tree_covers": {
 *     "onnx_sha256": "<sha256 of model.onnx>",
 *     "source": "<free text: what was counted>",
 *     "trees": ["68708 40112 28596 …", …]   // one string per tree, ascending nodes_treeids;
 *   }                                       // covers in ascending nodes_nodeids, space-separated
 */
import { z } from 'zod';
import type { Built, TreeEnsemble } from './tree-ensemble.js';

const coversSchema = z.object({
  onnx_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  source: z.string().optional(),
  trees: z.array(z.string()),
});

/** The block as the trainer writes it (for tests and tools that build manifests). */
export type TreeCovers = z.infer<typeof coversSchema>;

/** Relative tolerance of the parent = left + right check (covers may be float sample weights). */
const ADDITIVITY = 1e-9;

/** Per-node covers in the ensemble's node order, or why they are missing or do not fit. */
export function readCovers(block: unknown, e: TreeEnsemble, onnxSha256: string): Built<Float64Array> {
  const fail = (why: string) => ({ ok: false as const, reason: `tree_covers: ${why}` });
  if (block === undefined) {
    return { ok: false, reason: 'the manifest has no tree_covers (training-row counts per tree node, which TreeSHAP needs and ONNX does not keep); models trained before explanations need them added (services/trainer/reasons.py)' };
  }
  const parsed = coversSchema.safeParse(block);
  if (!parsed.success) return fail(`malformed (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
  const c = parsed.data;
  if (c.onnx_sha256 !== onnxSha256) return fail(`written for model bytes ${c.onnx_sha256.slice(0, 12)}…, not these (${onnxSha256.slice(0, 12)}…)`);
  const trees = e.root.length;
  if (c.trees.length !== trees) return fail(`${c.trees.length} trees listed, the graph has ${trees}`);
  const covers = new Float64Array(e.mode.length);
  for (let t = 0; t < trees; t++) {
    const start = e.treeStart[t] as number;
    const size = (e.treeStart[t + 1] as number) - start;
    const values = (c.trees[t] as string).trim().split(/\s+/).filter((s) => s.length > 0).map(Number);
    if (values.length !== size) return fail(`tree ${t} lists ${values.length} covers, the graph has ${size} nodes`);
    for (let k = 0; k < size; k++) {
      const v = values[k] as number;
      if (!Number.isFinite(v) || v <= 0) return fail(`tree ${t} node ${k}: cover ${values[k]} (covers must be positive numbers)`);
      covers[start + k] = v;
    }
  }
  for (let g = 0; g < covers.length; g++) {
    if (e.mode[g] === 0) continue;
    const sum = (covers[e.trueChild[g] as number] as number) + (covers[e.falseChild[g] as number] as number);
    const own = covers[g] as number;
    if (Math.abs(own - sum) > ADDITIVITY * own) {
      const t = e.treeStart.findLastIndex((s) => s <= g);
      return fail(`tree ${t} node ${g - (e.treeStart[t] as number)}: cover ${own} is not the sum of its children's (${sum}); the table does not describe this graph`);
    }
  }
  return { ok: true, value: covers };
}
