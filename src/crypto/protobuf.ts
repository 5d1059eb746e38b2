/**
 * The few protobuf (proto3 wire format) primitives needed for KES's stored key versions:
 * varints, length-delimited fields and skipping unknown fields. Not a general protobuf library.
 */

/** Wire types. */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;

/** Thrown for malformed protobuf input. */
export class ProtobufError extends Error {
  override readonly name = 'ProtobufError';
}

/** One field read from a message: number, wire type and value (bigint or bytes). */
export type ProtoField =
  | { num: number; wire: typeof VARINT; value: bigint }
  | { num: number; wire: typeof LEN; value: Buffer }
  | { num: number; wire: typeof I64 | typeof I32; value: Buffer };

/** Reads every top-level field of a message, in order. Throws ProtobufError when malformed. */
export function readFields(buf: Buffer): ProtoField[] {
  const fields: ProtoField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw new ProtobufError('truncated varint');
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new ProtobufError('varint too long');
  };
  const take = (n: number): Buffer => {
    if (n < 0 || pos + n > buf.length) throw new ProtobufError('truncated field');
    const v = buf.subarray(pos, pos + n);
    pos += n;
    return v;
  };
  while (pos < buf.length) {
    const tag = varint();
    const num = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (num < 1 || num > 0x1fffffff) throw new ProtobufError('invalid field number');
    switch (wire) {
      case VARINT:
        fields.push({ num, wire, value: varint() });
        break;
      case LEN: {
        const len = varint();
        if (len > BigInt(buf.length)) throw new ProtobufError('truncated field');
        fields.push({ num, wire, value: take(Number(len)) });
        break;
      }
      case I64:
        fields.push({ num, wire, value: take(8) });
        break;
      case I32:
        fields.push({ num, wire, value: take(4) });
        break;
      default:
        throw new ProtobufError(`unsupported wire type ${wire}`);
    }
  }
  return fields;
}

/** Builds a message by appending fields in the order given. */
export class ProtoWriter {
  private readonly parts: Buffer[] = [];

  /** Appends a varint field; zero values are omitted as in proto3 unless force is set. */
  varint(num: number, value: bigint | number, force = false): this {
    const v = BigInt.asUintN(64, BigInt(value));
    if (v === 0n && !force) return this;
    this.parts.push(encodeTag(num, VARINT), encodeVarint(v));
    return this;
  }

  /** Appends a length-delimited field; empty values are omitted unless force is set. */
  bytes(num: number, value: Uint8Array, force = false): this {
    if (value.length === 0 && !force) return this;
    this.parts.push(encodeTag(num, LEN), encodeVarint(BigInt(value.length)), Buffer.from(value));
    return this;
  }

  /** Appends an embedded message (always written, even when empty). */
  message(num: number, inner: ProtoWriter): this {
    return this.bytes(num, inner.finish(), true);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// BigInt arithmetic: `num << 3` overflows 32-bit integers for field numbers from 2^28 on.
function encodeTag(num: number, wire: number): Buffer {
  return encodeVarint((BigInt(num) << 3n) | BigInt(wire));
}

/** Base-128 varint of an unsigned value below 2^64 (no tag). */
export function encodeVarint(v: bigint): Buffer {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return Buffer.from(out);
}

/**
 * Reads the varints of a packed repeated field (the contents of one length-delimited field).
 * Throws ProtobufError when a varint is truncated or longer than ten bytes.
 */
export function readPackedVarints(buf: Buffer): bigint[] {
  const out: bigint[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let result = 0n;
    let done = false;
    for (let shift = 0n; shift < 70n && !done; shift += 7n) {
      if (pos >= buf.length) throw new ProtobufError('truncated varint');
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      done = (b & 0x80) === 0;
    }
    if (!done) throw new ProtobufError('varint too long');
    out.push(BigInt.asUintN(64, result));
  }
  return out;
}

/** ZigZag encoding of a signed 64-bit value for sint32/sint64 fields: 0, -1, 1, -2 → 0, 1, 2, 3. */
export function zigzag(v: bigint): bigint {
  return BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
}

/** Inverse of zigzag for a value read as an unsigned varint. */
export function unzigzag(u: bigint): bigint {
  return (u >> 1n) ^ -(u & 1n);
}
