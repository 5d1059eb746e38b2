/**
 * A minimal DER encoder (ITU-T X.690 §8 and §10) for the few types X.509 certificates need,
 * plus a TLV reader to find fields in existing certificates.
 *
 * Every encoder returns the complete element (tag, length, contents). Only low tag numbers
 * (0..30, a single identifier octet) are supported; X.509 needs no others.
 */

/** Universal tags (X.680 §8.4). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OBJECT_IDENTIFIER: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30, // constructed
  SET: 0x31, // constructed
} as const;

const CONSTRUCTED = 0x20;
const CONTEXT_SPECIFIC = 0x80;

/** The length octets (X.690 §8.1.3, DER §10.1: definite form, as few octets as possible). */
export function encodeLength(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError('invalid DER length');
  if (length < 0x80) return Buffer.of(length);
  const octets: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
  return Buffer.from([0x80 | octets.length, ...octets]);
}

/** An element with the given identifier octet and contents. */
export function tlv(tag: number, contents: Uint8Array): Buffer {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) throw new RangeError('unsupported DER tag');
  return Buffer.concat([Buffer.of(tag), encodeLength(contents.length), contents]);
}

/** SEQUENCE / SEQUENCE OF: the elements in the given order. */
export function sequence(...elements: Uint8Array[]): Buffer {
  return tlv(Tag.SEQUENCE, Buffer.concat(elements));
}

/**
 * SET OF: DER orders the encodings as octet strings, the shorter padded with trailing zero
 * octets (X.690 §11.6).
 */
export function setOf(...elements: Uint8Array[]): Buffer {
  const sorted = [...elements].sort((a, b) => {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const d = (a[i] ?? 0) - (b[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  });
  return tlv(Tag.SET, Buffer.concat(sorted));
}

/**
 * A non-negative INTEGER from its unsigned big-endian magnitude (X.690 §8.3): leading zero
 * octets are dropped, and one zero octet is prepended when the top bit is set, so the two's
 * complement contents are minimal and positive. An empty or all-zero magnitude encodes 0.
 */
export function integer(magnitude: Uint8Array): Buffer {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  const bytes = Buffer.from(magnitude.subarray(i));
  if (bytes.length === 0) return tlv(Tag.INTEGER, Buffer.of(0));
  return tlv(Tag.INTEGER, (bytes[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.of(0), bytes]) : bytes);
}

/** A non-negative INTEGER from a safe JavaScript integer. */
export function smallInteger(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError('smallInteger takes a non-negative safe integer');
  const octets: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
  return integer(Buffer.from(octets));
}

/** BOOLEAN; DER encodes TRUE as 0xff (X.690 §11.1). */
export function boolean(value: boolean): Buffer {
  return tlv(Tag.BOOLEAN, Buffer.of(value ? 0xff : 0x00));
}

/** NULL (X.690 §8.8). */
export function nullValue(): Buffer {
  return tlv(Tag.NULL, Buffer.alloc(0));
}

/**
 * OBJECT IDENTIFIER from dotted decimal (X.690 §8.19): the first two arcs combine into
 * 40·a + b, every subidentifier is base 128, most significant group first, with the high bit
 * set on all groups but the last.
 */
export function objectIdentifier(dotted: string): Buffer {
  if (!/^\d+(\.\d+)+$/.test(dotted)) throw new RangeError(`invalid OID '${dotted}'`);
  const arcs = dotted.split('.').map((s) => BigInt(s));
  const [first, second] = arcs as [bigint, bigint];
  if (first > 2n || (first < 2n && second >= 40n)) throw new RangeError(`invalid OID '${dotted}'`);
  const subidentifiers = [first * 40n + second, ...arcs.slice(2)];
  const out: number[] = [];
  for (const sub of subidentifiers) {
    const groups: number[] = [Number(sub & 0x7fn)];
    for (let n = sub >> 7n; n > 0n; n >>= 7n) groups.unshift(Number(n & 0x7fn) | 0x80);
    out.push(...groups);
  }
  return tlv(Tag.OBJECT_IDENTIFIER, Buffer.from(out));
}

/** BIT STRING (X.690 §8.6): one octet with the number of unused bits, then the bits. */
export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw new RangeError('invalid number of unused bits');
  }
  const last = bytes[bytes.length - 1];
  // DER §11.2.1: the unused bits are zero.
  if (last !== undefined && (last & ((1 << unusedBits) - 1)) !== 0) throw new RangeError('unused bits must be zero');
  return tlv(Tag.BIT_STRING, Buffer.concat([Buffer.of(unusedBits), bytes]));
}

/** OCTET STRING. */
export function octetString(bytes: Uint8Array): Buffer {
  return tlv(Tag.OCTET_STRING, bytes);
}

/** UTF8String. */
export function utf8String(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.toString('utf8') !== text) throw new RangeError('UTF8String text has lone surrogates');
  return tlv(Tag.UTF8_STRING, bytes);
}

/** PrintableString: A–Z a–z 0–9 space ' ( ) + , - . / : = ? (X.680 §41.4). */
export function printableString(text: string): Buffer {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) throw new RangeError('text is not a PrintableString');
  return tlv(Tag.PRINTABLE_STRING, Buffer.from(text, 'ascii'));
}

/** IA5String: 7-bit ASCII. */
export function ia5String(text: string): Buffer {
  if (!/^[\x00-\x7f]*$/.test(text)) throw new RangeError('text is not an IA5String');
  return tlv(Tag.IA5_STRING, Buffer.from(text, 'ascii'));
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

function timeDigits(date: Date): { year: number; rest: string } {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  const rest =
    pad(date.getUTCMonth() + 1, 2) + pad(date.getUTCDate(), 2) + pad(date.getUTCHours(), 2) + pad(date.getUTCMinutes(), 2) + pad(date.getUTCSeconds(), 2);
  return { year: date.getUTCFullYear(), rest };
}

/**
 * UTCTime `YYMMDDHHMMSSZ` for 1950..2049 (RFC 5280 §4.1.2.5.1: seconds always present, no
 * fraction, Zulu). Milliseconds are truncated.
 */
export function utcTime(date: Date): Buffer {
  const { year, rest } = timeDigits(date);
  if (year < 1950 || year > 2049) throw new RangeError('UTCTime covers the years 1950 to 2049');
  return tlv(Tag.UTC_TIME, Buffer.from(pad(year % 100, 2) + rest + 'Z', 'ascii'));
}

/**
 * GeneralizedTime `YYYYMMDDHHMMSSZ` (RFC 5280 §4.1.2.5.2: seconds always present, no
 * fraction, Zulu). Milliseconds are truncated.
 */
export function generalizedTime(date: Date): Buffer {
  const { year, rest } = timeDigits(date);
  if (year < 0 || year > 9999) throw new RangeError('GeneralizedTime covers the years 0 to 9999');
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(pad(year, 4) + rest + 'Z', 'ascii'));
}

/**
 * An X.509 Time (RFC 5280 §4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050 (and
 * before 1950, which UTCTime cannot express).
 */
export function time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  return year >= 1950 && year <= 2049 ? utcTime(date) : generalizedTime(date);
}

function checkTagNumber(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new RangeError('context-specific tag numbers 0..30 are supported');
}

/** `[n] EXPLICIT`: a constructed context-specific element wrapping the complete element. */
export function explicit(tagNumber: number, element: Uint8Array): Buffer {
  checkTagNumber(tagNumber);
  return tlv(CONTEXT_SPECIFIC | CONSTRUCTED | tagNumber, element);
}

/**
 * `[n] IMPLICIT`: the element with its identifier replaced by a context-specific one; the
 * primitive/constructed bit of the underlying encoding is kept (X.690 §8.14.4).
 */
export function implicit(tagNumber: number, element: Uint8Array): Buffer {
  checkTagNumber(tagNumber);
  const tag = element[0];
  if (tag === undefined) throw new RangeError('empty DER element');
  const out = Buffer.from(element);
  out[0] = CONTEXT_SPECIFIC | (tag & CONSTRUCTED) | tagNumber;
  return out;
}

/** Thrown by readTlv for bytes that are not DER. */
export class DerError extends Error {
  override readonly name = 'DerError';
}

/** One element found by readTlv; offsets index the buffer given to it. */
export interface Tlv {
  tag: number;
  /** The identifier octet. */
  start: number;
  /** The first contents octet. */
  body: number;
  /** One past the last contents octet. */
  end: number;
}

/**
 * Reads the element at pos, which must end at or before limit. Only single-octet tags and
 * lengths of up to 4 octets are accepted; non-minimal lengths are rejected.
 * @throws DerError for truncated or non-DER input.
 */
export function readTlv(der: Uint8Array, pos: number, limit: number = der.length): Tlv {
  if (pos + 2 > limit) throw new DerError('truncated DER element');
  const tag = der[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('unsupported DER tag');
  let length = der[pos + 1]!;
  let body = pos + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n < 1 || n > 4 || body + n > limit) throw new DerError('invalid DER length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[body++]!;
    if (length < 0x80 || der[pos + 2] === 0) throw new DerError('non-minimal DER length');
  }
  if (body + length > limit) throw new DerError('truncated DER element');
  return { tag, start: pos, body, end: body + length };
}

/** The elements directly inside the contents of a constructed element. */
export function readChildren(der: Uint8Array, parent: Tlv): Tlv[] {
  const children: Tlv[] = [];
  for (let pos = parent.body; pos < parent.end; ) {
    const child = readTlv(der, pos, parent.end);
    children.push(child);
    pos = child.end;
  }
  return children;
}
