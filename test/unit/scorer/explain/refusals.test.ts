/**
 * What cannot be explained says why, and nothing throws: graphs that are neither a tree
 * ensemble nor a linear model, layouts whose onnxruntime output is not a margin, and tree
 * models whose cover table is missing or does not describe the graph.
 */
import { describe, expect, it } from 'vitest';
import { createExplainer, type TreeCovers } from '../../../../services/scorer/src/model/explain/index.js';
import { fixture, randomRows, routedCovers, shipped } from './helpers.js';

const reason = (r: ReturnType<typeof createExplainer>): string => (r.ok ? 'explained' : r.reason);

describe('cannot explain', () => {
  it('a neural network: names the node and its type', () => {
    const a = fixture('mlp.onnx');
    expect(reason(createExplainer(a.bytes, a.manifest))).toBe('cannot explain: node (unnamed) of type Softmax (only tree ensembles and linear models are explained)');
  });

  it('one weighted class with two base_values (onnxruntime does not output a margin there)', () => {
    const a = fixture('classifier-two-base-values.onnx');
    expect(reason(createExplainer(a.bytes, a.manifest))).toMatch(/^cannot explain: node .*TreeEnsembleClassifier.*2 base_values/);
  });

  it('a manifest whose output or input is not in the graph', () => {
    const a = shipped('fraud-lr');
    expect(reason(createExplainer(a.bytes, { ...a.manifest, output_name: 'scores' }))).toMatch(/no output named scores/);
    expect(reason(createExplainer(a.bytes, { ...a.manifest, input_name: 'x' }))).toMatch(/no input named x/);
    expect(reason(createExplainer(a.bytes, { ...a.manifest, output_fraud_column: 0 }))).toMatch(/fraud column is 0/);
  });

  describe('tree covers', () => {
    const a = shipped('fraud-lgbm');
    const good = routedCovers(a, randomRows(a, 500, 1));
    const explain = (tree_covers: unknown) => reason(createExplainer(a.bytes, { ...a.manifest, tree_covers }));

    it('absent: says what is missing and where it comes from', () => {
      const { tree_covers: _, ...withoutCovers } = a.manifest;
      expect(reason(createExplainer(a.bytes, withoutCovers))).toMatch(/^cannot explain: the manifest has no tree_covers .*services\/trainer\/reasons\.py/);
      expect(explain(good)).toBe('explained');
    });

    it.each<[string, (c: TreeCovers) => unknown, RegExp]>([
      ['for other bytes', (c) => ({ ...c, onnx_sha256: '0'.repeat(64) }), /written for model bytes 000000000000…, not these/],
      ['a tree short', (c) => ({ ...c, trees: c.trees.slice(1) }), /299 trees listed, the graph has 300/],
      ['a node short', (c) => ({ ...c, trees: [c.trees[0]!.split(' ').slice(1).join(' '), ...c.trees.slice(1)] }), /tree 0 lists 28 covers, the graph has 29 nodes/],
      ['a zero', (c) => ({ ...c, trees: [c.trees[0]!.replace(/ \d+$/, ' 0'), ...c.trees.slice(1)] }), /tree 0 node 28: cover 0 \(covers must be positive/],
      ['nodes in another order', (c) => ({ ...c, trees: [c.trees[0]!.split(' ').reverse().join(' '), ...c.trees.slice(1)] }), /tree 0 node \d+: cover .* is not the sum of its children's .*does not describe this graph/],
      ['not the schema', () => ({ trees: 'x' }), /^cannot explain: tree_covers: malformed/],
    ])('%s', (_, edit, expected) => {
      expect(explain(edit(good))).toMatch(expected);
    });
  });
});
