/**
 * A raw HTTP/2 client for tests (RFC 9113): it writes frames exactly as told, in any order a
 * misbehaving or hostile client could choose (HEADERS without END_STREAM followed by an empty
 * DATA frame, trailers, RST_STREAM at any point, a body after the response, ...), and records
 * the frames the server sends back. Header blocks are HPACK literals without indexing and
 * without Huffman coding (RFC 7541 §6.2.2); responses are decoded far enough to read `:status`.
 */
import * as tls from 'node:tls';
import type { TestCert } from './certs.js';

export const FRAME = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
export const ERROR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, FLOW_CONTROL_ERROR: 3, CANCEL: 8 } as const;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** One frame's bytes. */
export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an n-bit prefix (RFC 7541 §5.1); first holds the bits above the prefix. */
function hpackInt(value: number, n: number, first = 0): Buffer {
  const max = (1 << n) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** A header block of literal fields without indexing, new names, raw strings. */
export function headerBlock(headers: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    parts.push(Buffer.from([0x00]), hpackInt(n.length, 7), n, hpackInt(v.length, 7), v);
  }
  return Buffer.concat(parts);
}

/** The request pseudo-headers and headers of a request for path. */
export function requestHeaders(method: string, path: string, extra: readonly (readonly [string, string])[] = []): (readonly [string, string])[] {
  return [[':method', method], [':scheme', 'https'], [':authority', 'localhost'], [':path', path], ...extra];
}

/** What the server sent on one stream. */
export interface StreamResult {
  status?: number;
  /** The server ended its side (END_STREAM) or reset the stream. */
  ended: boolean;
  reset?: number;
  data: Buffer;
}

/** A raw HTTP/2 connection over TLS with ALPN h2. */
export class RawH2 {
  readonly frames: Frame[] = [];
  private buffered = Buffer.alloc(0);
  private readonly waiters = new Set<() => void>();
  closed = false;
  /** The last stream id of the server's GOAWAY, and its error code. */
  goaway: number | undefined;
  goawayCode: number | undefined;

  private constructor(readonly socket: tls.TLSSocket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => undefined);
  }

  /** Connects, sends the preface and an empty SETTINGS frame, and acknowledges the server's. */
  static connect(port: number, caPem: string, cert?: TestCert): Promise<RawH2> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: caPem, ALPNProtocols: ['h2'], ...(cert && { cert: cert.certPem, key: cert.keyPem }) });
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        if (socket.alpnProtocol !== 'h2') return reject(new Error(`ALPN negotiated ${String(socket.alpnProtocol)}, not h2`));
        const conn = new RawH2(socket);
        // SETTINGS_HEADER_TABLE_SIZE 0: the server's header blocks never refer to a dynamic
        // table, so every :status can be read from its own frame.
        conn.send(PREFACE, frame(FRAME.SETTINGS, 0, 0, Buffer.from([0, 1, 0, 0, 0, 0])));
        resolve(conn);
      });
    });
  }

  send(...chunks: Buffer[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(chunks));
  }

  headers(stream: number, headers: readonly (readonly [string, string])[], endStream: boolean): void {
    this.send(frame(FRAME.HEADERS, FLAG.END_HEADERS | (endStream ? FLAG.END_STREAM : 0), stream, headerBlock(headers)));
  }

  data(stream: number, payload: Buffer | string, endStream: boolean): void {
    this.send(frame(FRAME.DATA, endStream ? FLAG.END_STREAM : 0, stream, Buffer.from(payload)));
  }

  rst(stream: number, code: number = ERROR.CANCEL): void {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(code);
    this.send(frame(FRAME.RST_STREAM, 0, stream, p));
  }

  windowUpdate(stream: number, increment: number): void {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(increment);
    this.send(frame(FRAME.WINDOW_UPDATE, 0, stream, p));
  }

  ping(): void {
    this.send(frame(FRAME.PING, 0, 0, Buffer.alloc(8)));
  }

  /** Everything the server sent on a stream so far. */
  result(stream: number): StreamResult {
    const r: StreamResult = { ended: false, data: Buffer.alloc(0) };
    for (const f of this.frames) {
      if (f.stream !== stream) continue;
      if (f.type === FRAME.HEADERS && r.status === undefined) r.status = statusOf(f.payload);
      if (f.type === FRAME.DATA) r.data = Buffer.concat([r.data, f.payload]);
      if (f.type === FRAME.RST_STREAM) r.reset = f.payload.readUInt32BE(0);
      if ((f.type === FRAME.HEADERS || f.type === FRAME.DATA) && f.flags & FLAG.END_STREAM) r.ended = true;
      if (f.type === FRAME.RST_STREAM) r.ended = true;
    }
    return r;
  }

  /**
   * Resolves when the server has ended or reset the stream, or went away: closed the connection,
   * or sent GOAWAY for a protocol error (which ends every stream) or below this stream's id.
   * Rejects after timeoutMs.
   */
  async finished(stream: number, timeoutMs = 5000): Promise<StreamResult> {
    await this.until(() => this.result(stream).ended || this.gone(stream), timeoutMs, `stream ${stream} to end`);
    return this.result(stream);
  }

  /** The server will send nothing more on the stream: see {@link finished}. */
  gone(stream: number): boolean {
    return this.closed || (this.goaway !== undefined && (stream > this.goaway || this.goawayCode !== ERROR.NO_ERROR));
  }

  /**
   * Resolves true when a PING acknowledgement arrives (the connection is served), false when the
   * server closed the connection or sent GOAWAY first; rejects after timeoutMs.
   */
  async pong(timeoutMs = 5000): Promise<boolean> {
    const acks = () => this.frames.filter((f) => f.type === FRAME.PING && f.flags & FLAG.ACK).length;
    const seen = acks();
    this.ping();
    await this.until(() => acks() > seen || this.closed || this.goaway !== undefined, timeoutMs, 'a PING acknowledgement');
    return acks() > seen;
  }

  close(): void {
    this.socket.destroy();
  }

  private until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 9) {
      const length = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < 9 + length) break;
      const f: Frame = { type: this.buffered[3]!, flags: this.buffered[4]!, stream: this.buffered.readUInt32BE(5) & 0x7fffffff, payload: this.buffered.subarray(9, 9 + length) };
      this.buffered = this.buffered.subarray(9 + length);
      this.frames.push(f);
      if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK)) this.send(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      // As every client does: the connection's receive window (64 KiB) is shared by all the
      // streams of a long-lived connection, so what arrives is given back, else the server
      // stops sending after 64 KiB of answers.
      if (f.type === FRAME.DATA && length > 0) this.windowUpdate(0, length);
      if (f.type === FRAME.GOAWAY) {
        this.goaway = f.payload.readUInt32BE(0) & 0x7fffffff;
        this.goawayCode = f.payload.readUInt32BE(4);
      }
    }
    this.notify();
  }
}

/**
 * The `:status` of a response header block, if it is its first field (as every server sends it):
 * an indexed static-table status (RFC 7541 Appendix A) or a literal with the `:status` name
 * index, whose value may be Huffman-coded digits.
 */
export function statusOf(block: Buffer): number | undefined {
  let start = 0;
  // Skip dynamic table size updates (001xxxxx, RFC 7541 §6.3), sent after SETTINGS_HEADER_TABLE_SIZE.
  while (start < block.length && (block[start]! & 0xe0) === 0x20) {
    start++;
    if ((block[start - 1]! & 0x1f) === 0x1f) while (start < block.length && block[start++]! & 0x80);
  }
  block = block.subarray(start);
  const b = block[0];
  if (b === undefined) return undefined;
  const STATIC: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };
  if (b & 0x80) return STATIC[b & 0x7f];
  // Literal with incremental indexing (01xxxxxx, 6-bit index) or without / never indexed (4-bit).
  const index = (b & 0xc0) === 0x40 ? b & 0x3f : b & 0x0f;
  if (index < 8 || index > 14) return undefined;
  const huffman = (block[1]! & 0x80) !== 0;
  const length = block[1]! & 0x7f;
  const value = block.subarray(2, 2 + length);
  return Number(huffman ? huffmanDigits(value) : value.toString('latin1'));
}

/** Decodes a Huffman-coded string of digits (RFC 7541 Appendix B: 0–2 are 5 bits, 3–9 six). */
function huffmanDigits(bytes: Buffer): string {
  let bits = '';
  for (const byte of bytes) bits += byte.toString(2).padStart(8, '0');
  let out = '';
  let i = 0;
  while (i + 5 <= bits.length) {
    const five = parseInt(bits.slice(i, i + 5), 2);
    if (five <= 2) {
      out += String(five);
      i += 5;
      continue;
    }
    if (i + 6 > bits.length) break;
    const six = parseInt(bits.slice(i, i + 6), 2);
    if (six >= 0b011001 && six <= 0b011111) {
      out += String(six - 0b011001 + 3);
      i += 6;
      continue;
    }
    break; // EOS padding (all ones) or a character that is not a digit
  }
  return out;
}
