/**
 * The HTTP/2 wire format (RFC 9113) and HPACK (RFC 7541), only as far as the raw load client
 * (bench/h2-raw-load.ts) needs it: frame headers, the few control frames a client sends, a
 * request header block, and the class of a response's `:status`.
 *
 * Request headers are encoded like a Go or nghttp2 client in the steady state: the first
 * request of a connection inserts its non-static fields into the server's dynamic table
 * (literals with incremental indexing, no Huffman coding), every later one refers to them by
 * index, so the server decodes a few bytes per request as it would for MinIO's client.
 *
 * Responses: the client announces a header table size of 0, so the server's encoder can keep
 * nothing in its dynamic table; `:status` comes first in a block (RFC 9113 §8.3), so reading
 * one field tells 2xx from the rest without a full HPACK decoder.
 */

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
export const SETTING = { HEADER_TABLE_SIZE: 1, ENABLE_PUSH: 2, MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4 } as const;

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** The largest flow-control window (RFC 9113 §6.9.1). */
export const MAX_WINDOW = 2 ** 31 - 1;
/** Flow-control windows before SETTINGS and WINDOW_UPDATE say otherwise. */
export const DEFAULT_WINDOW = 65_535;
export const FRAME_HEADER = 9;

/** One frame's bytes. */
export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(stream, 5);
  payload.copy(out, FRAME_HEADER);
  return out;
}

export function settingsFrame(settings: [id: number, value: number][]): Buffer {
  const payload = Buffer.allocUnsafe(6 * settings.length);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(value, 6 * i + 2);
  });
  return frame(FRAME.SETTINGS, 0, 0, payload);
}

export function windowUpdateFrame(stream: number, increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(increment, 0);
  return frame(FRAME.WINDOW_UPDATE, 0, stream, payload);
}

// ---- HPACK: request header blocks ----------------------------------------------------------

/** An HPACK integer with an n-bit prefix (§5.1); first holds the bits above the prefix. */
function hpackInt(value: number, n: number, first: number): number[] {
  const max = (1 << n) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest & 127) | 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** A string literal without Huffman coding (§5.2). */
function hpackString(s: string): number[] {
  const bytes = Buffer.from(s, 'latin1');
  return [...hpackInt(bytes.length, 7, 0), ...bytes];
}

/** Static table entries (Appendix A) the requests use. */
const STATIC = { authority: 1, methodGet: 2, methodPost: 3, path: 4, schemeHttps: 7, contentLength: 28, contentType: 31 } as const;

export interface RequestHead {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  authority: string;
  /** The body's length, or undefined for a request without one. */
  contentLength: number | undefined;
}

/** The two header blocks of a request: the first of a connection, and every later one. */
export interface HeaderBlocks {
  first: Buffer;
  later: Buffer;
}

/**
 * The header blocks of a request. With tableSize (the server's SETTINGS_HEADER_TABLE_SIZE) too
 * small for the fields, both are literals without indexing.
 */
export function requestHeaderBlocks(head: RequestHead, tableSize: number): HeaderBlocks {
  const fixed: number[] = [];
  // Fields whose value the static table lacks, by their static name index.
  const fields: [nameIndex: number, value: string][] = [];
  if (head.method === 'GET') fixed.push(0x80 | STATIC.methodGet);
  else if (head.method === 'POST') fixed.push(0x80 | STATIC.methodPost);
  else fields.push([STATIC.methodGet, head.method]);
  fixed.push(0x80 | STATIC.schemeHttps);
  fields.push([STATIC.authority, head.authority], [STATIC.path, head.path]);
  if (head.contentLength !== undefined) fields.push([STATIC.contentType, 'application/json'], [STATIC.contentLength, String(head.contentLength)]);

  // An entry's size is its name and value length plus 32 (§4.1); names here are ≤ 14 bytes.
  const needed = fields.reduce((n, [, value]) => n + 14 + value.length + 32, 0);
  if (needed > tableSize) {
    const literal = fields.flatMap(([name, value]) => [...hpackInt(name, 4, 0x00), ...hpackString(value)]);
    return { first: Buffer.from([...fixed, ...literal]), later: Buffer.from([...fixed, ...literal]) };
  }
  const first = fields.flatMap(([name, value]) => [...hpackInt(name, 6, 0x40), ...hpackString(value)]);
  // The newest entry has index 62 (§2.3.3): the last field inserted is 62, the first 61 + count.
  const later = fields.flatMap((_, i) => hpackInt(62 + fields.length - 1 - i, 7, 0x80));
  return { first: Buffer.from([...fixed, ...first]), later: Buffer.from([...fixed, ...later]) };
}

// ---- HPACK: the response's :status ---------------------------------------------------------

/** The end of the integer hpackIntAt read last (a module variable: no allocation per read). */
let intEnd = 0;

function hpackIntAt(buf: Buffer, pos: number, n: number): number {
  const max = (1 << n) - 1;
  let value = buf[pos]! & max;
  pos++;
  if (value === max) {
    let shift = 1;
    for (;;) {
      const b = buf[pos++];
      if (b === undefined) return -1;
      value += (b & 127) * shift;
      shift *= 128;
      if ((b & 128) === 0) break;
    }
  }
  intEnd = pos;
  return value;
}

/** 2 when the header block at buf[start, end) starts with a 2xx `:status`, 1 for another status, 0 when unreadable. */
export function statusClass(buf: Buffer, start: number, end: number): 0 | 1 | 2 {
  let pos = start;
  // Dynamic table size updates (001xxxxx) may precede the first field.
  while (pos < end && (buf[pos]! & 0xe0) === 0x20) {
    if (hpackIntAt(buf, pos, 5) < 0) return 0;
    pos = intEnd;
  }
  if (pos >= end) return 0;
  const b = buf[pos]!;
  if (b & 0x80) {
    // Indexed field: static entries 8-10 are :status 200, 204, 206; 11-14 are 304, 400, 404, 500.
    const index = hpackIntAt(buf, pos, 7);
    return index >= 8 && index <= 10 ? 2 : index >= 11 && index <= 14 ? 1 : 0;
  }
  // A literal field (with, without or never indexing); the first field is :status whatever its
  // name's form, so a literal name (index 0) is skipped unread.
  const nameIndex = hpackIntAt(buf, pos, b & 0x40 ? 6 : 4);
  pos = intEnd;
  if (nameIndex === 0) {
    const length = hpackIntAt(buf, pos, 7);
    pos = intEnd + length;
  }
  if (pos >= end) return 0;
  const huffman = (buf[pos]! & 0x80) !== 0;
  hpackIntAt(buf, pos, 7);
  const digit = buf[intEnd];
  if (digit === undefined) return 0;
  // '2' is 0x32 as a raw octet and the 5-bit code 00010 in the Huffman code (Appendix B).
  return (huffman ? digit >> 3 === 0b00010 : digit === 0x32) ? 2 : 1;
}
