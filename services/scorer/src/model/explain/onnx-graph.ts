/**
 * A minimal reader of the ONNX ModelProto wire format: just enough of the graph (nodes, their
 * attributes, inputs/outputs, initializers) to rebuild a tree ensemble or a linear model from
 * the very bytes onnxruntime runs. Why by hand: the subset is small (four message types, four
 * wire types) and a protobuf dependency plus the onnx.proto schema would outweigh it.
 *
 * Repeated numeric fields arrive either packed (one length-delimited blob) or one tag per
 * element: proto2 writers such as the Python `onnx` package use the latter, proto3 writers the
 * former, and a reader must accept both. Anything that does not parse throws OnnxFormatError
 * naming the byte offset; int64 values beyond 2^53 lose precision (no attribute read for
 * explanations comes near that).
 */

/** Bytes that are not a readable ONNX model (truncated, not protobuf, no graph). */
export class OnnxFormatError extends Error {
  override name = 'OnnxFormatError';
}

/** One attribute value, by the AttributeProto field that carried it. */
export interface OnnxAttribute {
  name: string;
  f?: number;
  i?: number;
  s?: string;
  t?: OnnxTensor;
  floats: number[];
  ints: number[];
  strings: string[];
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** Numeric contents as float64 (FLOAT, DOUBLE and the integer types), empty otherwise. */
  values: Float64Array;
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

export interface OnnxGraph {
  opsets: Map<string, number>;
  nodes: OnnxNode[];
  inputs: string[];
  outputs: string[];
  initializers: Map<string, OnnxTensor>;
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** A cursor over one message's bytes [pos, end). */
class Reader {
  private readonly view: DataView;
  constructor(
    private readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(what: string): never {
    throw new OnnxFormatError(`malformed ONNX protobuf: ${what} at byte ${this.pos}`);
  }

  /** A varint as a JS number, two's complement for negative int64 (exact below 2^53). */
  varint(): number {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++] as number;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      if ((b & 0x80) === 0) return (hi | 0) * 4294967296 + (lo >>> 0);
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** Start/end of a length-delimited field's payload; advances past it. */
  span(): [number, number] {
    const len = this.varint();
    if (len < 0 || this.pos + len > this.end) this.fail(`length ${len} runs past the end of its message`);
    const start = this.pos;
    this.pos += len;
    return [start, start + len];
  }

  f32(): number {
    if (this.pos + 4 > this.end) this.fail('truncated fixed32');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f64(): number {
    if (this.pos + 8 > this.end) this.fail('truncated fixed64');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A little-endian int32 or int64 (raw_data of integer tensors). */
  int(width: 4 | 8): number {
    if (this.pos + width > this.end) this.fail(`truncated int${width * 8}`);
    const v = width === 4 ? this.view.getInt32(this.pos, true) : this.view.getInt32(this.pos + 4, true) * 4294967296 + this.view.getUint32(this.pos, true);
    this.pos += width;
    return v;
  }

  sub(start: number, end: number): Reader {
    return new Reader(this.buf, start, end);
  }

  text(start: number, end: number): string {
    return utf8.decode(this.buf.subarray(start, end));
  }

  /** Calls visit(field, wireType) for each field; visit must consume the value or return false to skip it. */
  fields(visit: (field: number, wire: number) => boolean): void {
    while (this.pos < this.end) {
      const key = this.varint();
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (field === 0) this.fail('field number 0');
      if (!visit(field, wire)) this.skip(wire);
    }
    if (this.pos !== this.end) this.fail('field runs past the end of its message');
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_I64) this.f64();
    else if (wire === WIRE_LEN) this.span();
    else if (wire === WIRE_I32) this.f32();
    else this.fail(`unsupported wire type ${wire}`);
  }

  string(wire: number): string {
    if (wire !== WIRE_LEN) this.fail(`expected a string, got wire type ${wire}`);
    const [s, e] = this.span();
    return this.text(s, e);
  }

  message(wire: number): Reader {
    if (wire !== WIRE_LEN) this.fail(`expected a message, got wire type ${wire}`);
    const [s, e] = this.span();
    return this.sub(s, e);
  }

  /** One element, or a packed run, of a repeated scalar field. */
  repeated(wire: number, scalar: 'varint' | 'f32' | 'f64', out: number[]): void {
    const expected = scalar === 'varint' ? WIRE_VARINT : scalar === 'f32' ? WIRE_I32 : WIRE_I64;
    if (wire === expected) {
      out.push(this[scalar]());
      return;
    }
    if (wire !== WIRE_LEN) this.fail(`repeated ${scalar} field with wire type ${wire}`);
    const [s, e] = this.span();
    const packed = this.sub(s, e);
    while (packed.pos < e) out.push(packed[scalar]());
  }
}

/** Decodes a ModelProto's opsets and main graph. Throws OnnxFormatError on malformed bytes. */
export function readOnnxModel(bytes: Uint8Array): OnnxGraph {
  const r = new Reader(bytes, 0, bytes.length);
  const opsets = new Map<string, number>();
  let graph: Omit<OnnxGraph, 'opsets'> | undefined;
  r.fields((field, wire) => {
    if (field === 8) readOpset(r.message(wire), opsets);
    else if (field === 7) graph = readGraph(r.message(wire));
    else return false;
    return true;
  });
  if (!graph) throw new OnnxFormatError('not an ONNX model: no graph in the ModelProto');
  return { opsets, ...graph };
}

function readOpset(r: Reader, into: Map<string, number>): void {
  let domain = '';
  let version = 0;
  r.fields((field, wire) => {
    if (field === 1) domain = r.string(wire);
    else if (field === 2 && wire === WIRE_VARINT) version = r.varint();
    else return false;
    return true;
  });
  into.set(domain, version);
}

function readGraph(r: Reader): Omit<OnnxGraph, 'opsets'> {
  const g: Omit<OnnxGraph, 'opsets'> = { nodes: [], inputs: [], outputs: [], initializers: new Map() };
  r.fields((field, wire) => {
    if (field === 1) g.nodes.push(readNode(r.message(wire)));
    else if (field === 5) {
      const t = readTensor(r.message(wire));
      g.initializers.set(t.name, t);
    } else if (field === 11) g.inputs.push(readValueInfoName(r.message(wire)));
    else if (field === 12) g.outputs.push(readValueInfoName(r.message(wire)));
    else return false;
    return true;
  });
  return g;
}

function readValueInfoName(r: Reader): string {
  let name = '';
  r.fields((field, wire) => (field === 1 ? ((name = r.string(wire)), true) : false));
  return name;
}

function readNode(r: Reader): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: new Map() };
  r.fields((field, wire) => {
    if (field === 1) n.inputs.push(r.string(wire));
    else if (field === 2) n.outputs.push(r.string(wire));
    else if (field === 3) n.name = r.string(wire);
    else if (field === 4) n.opType = r.string(wire);
    else if (field === 7) n.domain = r.string(wire);
    else if (field === 5) {
      const a = readAttribute(r.message(wire));
      n.attributes.set(a.name, a);
    } else return false;
    return true;
  });
  return n;
}

function readAttribute(r: Reader): OnnxAttribute {
  const a: OnnxAttribute = { name: '', floats: [], ints: [], strings: [] };
  r.fields((field, wire) => {
    if (field === 1) a.name = r.string(wire);
    else if (field === 2 && wire === WIRE_I32) a.f = r.f32();
    else if (field === 3 && wire === WIRE_VARINT) a.i = r.varint();
    else if (field === 4) a.s = r.string(wire);
    else if (field === 5) a.t = readTensor(r.message(wire));
    else if (field === 7) r.repeated(wire, 'f32', a.floats);
    else if (field === 8) r.repeated(wire, 'varint', a.ints);
    else if (field === 9) a.strings.push(r.string(wire));
    else return false;
    return true;
  });
  return a;
}

// TensorProto.DataType values whose contents readTensor decodes.
const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;
const DOUBLE = 11;

function readTensor(r: Reader): OnnxTensor {
  let name = '';
  let dataType = 0;
  const dims: number[] = [];
  const nums: number[] = [];
  let raw: [number, number] | undefined;
  r.fields((field, wire) => {
    if (field === 1) r.repeated(wire, 'varint', dims);
    else if (field === 2 && wire === WIRE_VARINT) dataType = r.varint();
    else if (field === 8) name = r.string(wire);
    else if (field === 4) r.repeated(wire, 'f32', nums); // float_data
    else if (field === 5 || field === 7) r.repeated(wire, 'varint', nums); // int32_data, int64_data
    else if (field === 10) r.repeated(wire, 'f64', nums); // double_data
    else if (field === 9 && wire === WIRE_LEN) raw = r.span();
    else return false;
    return true;
  });
  let values = Float64Array.from(nums);
  if (raw) {
    const width = dataType === FLOAT || dataType === INT32 ? 4 : dataType === DOUBLE || dataType === INT64 ? 8 : 0;
    if (width === 0) values = new Float64Array(0);
    else {
      if ((raw[1] - raw[0]) % width !== 0) r.fail(`raw_data of tensor ${name} is not a whole number of elements`);
      const data = r.sub(raw[0], raw[1]);
      values = new Float64Array((raw[1] - raw[0]) / width);
      for (let k = 0; k < values.length; k++) values[k] = rawElement(data, dataType);
    }
  }
  return { name, dims, dataType, values };
}

function rawElement(r: Reader, dataType: number): number {
  if (dataType === FLOAT) return r.f32();
  if (dataType === DOUBLE) return r.f64();
  return dataType === INT32 ? r.int(4) : r.int(8);
}
