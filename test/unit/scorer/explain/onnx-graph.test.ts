/**
 * The hand-written ONNX reader: the shipped graphs read as the Python `onnx` package shows
 * them, packed and one-tag-per-element repeated fields decode alike (writers differ), tensors
 * decode from raw_data and typed fields, and malformed bytes fail with a clear error.
 */
import { describe, expect, it } from 'vitest';
import { createExplainer, OnnxFormatError, readOnnxModel } from '../../../../services/scorer/src/model/explain/index.js';
import { fixture, rng, shipped } from './helpers.js';

// A minimal protobuf writer, enough to build ModelProto bytes by hand.
const varint = (n: number | bigint): number[] => {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return out;
};
const key = (field: number, wire: number) => varint(field * 8 + wire);
const bytesField = (field: number, body: number[]) => [...key(field, 2), ...varint(body.length), ...body];
const str = (field: number, s: string) => bytesField(field, [...new TextEncoder().encode(s)]);
const f32 = (x: number) => [...new Uint8Array(Float32Array.of(x).buffer)];
const f64 = (x: number) => [...new Uint8Array(Float64Array.of(x).buffer)];
const floatsUnpacked = (field: number, xs: number[]) => xs.flatMap((x) => [...key(field, 5), ...f32(x)]);
const floatsPacked = (field: number, xs: number[]) => bytesField(field, xs.flatMap(f32));
const intsUnpacked = (field: number, xs: number[]) => xs.flatMap((x) => [...key(field, 0), ...varint(x)]);
const intsPacked = (field: number, xs: number[]) => bytesField(field, xs.flatMap((x) => varint(x)));

function handBuiltModel(packed: boolean): Uint8Array {
  const floats = packed ? floatsPacked : floatsUnpacked;
  const ints = packed ? intsPacked : intsUnpacked;
  const attr = (body: number[]) => bytesField(5, body);
  const node = [
    ...str(1, 'features'), ...str(2, 'y'), ...str(3, 'scale it'), ...str(4, 'Scaler'), ...str(7, 'ai.onnx.ml'),
    ...attr([...str(1, 'offset'), ...floats(7, [1.5, -2.25])]),
    ...attr([...str(1, 'ids'), ...ints(8, [0, -1, 300, 2 ** 40])]),
    ...attr([...str(1, 'modes'), ...str(9, 'BRANCH_LEQ'), ...str(9, 'LEAF')]),
    ...attr([...str(1, 'one'), ...key(3, 0), ...varint(-5)]),
    ...attr([...str(1, 'half'), ...key(2, 5), ...f32(0.5)]),
    ...attr([...str(1, 'post'), ...str(4, 'LOGISTIC')]),
    ...bytesField(99, [1, 2, 3]), // an unknown field is skipped
  ];
  const raw = [...str(8, 'w'), ...ints(1, [2, 2]), ...key(2, 0), ...varint(1), ...bytesField(9, [0.25, -1, 3, 1e-3].flatMap(f32))];
  const dbl = [...str(8, 'd'), ...key(2, 0), ...varint(11), ...(packed ? bytesField(10, [0.1, 0.2].flatMap(f64)) : [0.1, 0.2].flatMap((x) => [...key(10, 1), ...f64(x)]))];
  const i64 = [...str(8, 'i'), ...key(2, 0), ...varint(7), ...ints(7, [7, -8])];
  const graph = [...bytesField(1, node), ...str(2, 'g'), ...bytesField(5, raw), ...bytesField(5, dbl), ...bytesField(5, i64), ...bytesField(11, str(1, 'features')), ...bytesField(12, str(1, 'y'))];
  return Uint8Array.from([...key(1, 0), ...varint(8), ...bytesField(7, graph), ...bytesField(8, [...str(1, 'ai.onnx.ml'), ...key(2, 0), ...varint(3)])]);
}

describe('readOnnxModel', () => {
  it('reads the shipped LightGBM graph: Scaler, TreeEnsembleClassifier and its 8 700 nodes', () => {
    const g = readOnnxModel(shipped('fraud-lgbm').bytes);
    expect(g.inputs).toEqual(['features']);
    expect(g.outputs).toEqual(['label', 'probabilities']);
    expect(g.opsets.get('ai.onnx.ml')).toBe(3);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Scaler', 'TreeEnsembleClassifier', 'Identity', 'Identity']);
    const t = g.nodes[1]!;
    expect(t.domain).toBe('ai.onnx.ml');
    expect(t.attributes.get('nodes_modes')?.strings).toHaveLength(8700);
    expect(t.attributes.get('nodes_values')?.floats).toHaveLength(8700);
    expect(t.attributes.get('class_weights')?.floats).toHaveLength(4500);
    expect(t.attributes.get('post_transform')?.s).toBe('LOGISTIC');
    expect(new Set(t.attributes.get('nodes_treeids')?.ints).size).toBe(300);
  });

  it.each([false, true])('decodes repeated fields the same way whether packed (%s) or not', (packed) => {
    const g = readOnnxModel(handBuiltModel(packed));
    const n = g.nodes[0]!;
    expect([n.name, n.opType, n.domain, n.inputs, n.outputs]).toEqual(['scale it', 'Scaler', 'ai.onnx.ml', ['features'], ['y']]);
    expect(n.attributes.get('offset')?.floats).toEqual([1.5, -2.25]);
    expect(n.attributes.get('ids')?.ints).toEqual([0, -1, 300, 2 ** 40]);
    expect(n.attributes.get('modes')?.strings).toEqual(['BRANCH_LEQ', 'LEAF']);
    expect(n.attributes.get('one')?.i).toBe(-5);
    expect(n.attributes.get('half')?.f).toBe(0.5);
    expect(n.attributes.get('post')?.s).toBe('LOGISTIC');
    expect(g.opsets.get('ai.onnx.ml')).toBe(3);
    const w = g.initializers.get('w')!;
    expect(w.dims).toEqual([2, 2]);
    expect([...w.values]).toEqual([0.25, -1, 3, Math.fround(1e-3)]);
    expect([...g.initializers.get('d')!.values]).toEqual([0.1, 0.2]);
    expect([...g.initializers.get('i')!.values]).toEqual([7, -8]);
  });

  it('reads initializers of a real graph (MatMul weights in raw_data)', () => {
    const w = readOnnxModel(fixture('mlp.onnx').bytes).initializers.get('w')!;
    expect(w.dims).toEqual([3, 2]);
    expect([...w.values]).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5].map(Math.fround));
  });

  it('fails with OnnxFormatError naming the problem and the byte on malformed bytes', () => {
    const bytes = shipped('fraud-lr').bytes;
    for (const cut of [5, 40, 200, bytes.length - 60]) {
      expect(() => readOnnxModel(bytes.subarray(0, cut))).toThrow(OnnxFormatError);
      expect(() => readOnnxModel(bytes.subarray(0, cut))).toThrow(/malformed ONNX protobuf: .* at byte \d+|not an ONNX model/);
    }
    expect(() => readOnnxModel(new Uint8Array(0))).toThrow('not an ONNX model: no graph in the ModelProto');
    expect(() => readOnnxModel(Uint8Array.of(0x0b, 0x00))).toThrow(/unsupported wire type 3/); // a proto2 group
    expect(() => readOnnxModel(Uint8Array.of(0x3a, 0x05, 0x0a))).toThrow(/length 5 runs past the end/);
    const next = rng(8);
    for (let k = 0; k < 200; k++) {
      const junk = Uint8Array.from({ length: 1 + Math.floor(next() * 300) }, () => Math.floor(next() * 256));
      expect(() => readOnnxModel(junk)).toThrow(OnnxFormatError);
    }
  });

  it('createExplainer turns unreadable bytes into a reason, never an exception', () => {
    const r = createExplainer(Uint8Array.of(0x3a, 0x05, 0x0a), { features: ['a'] });
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/^cannot explain: malformed ONNX protobuf: length 5 runs past the end/) });
  });
});
