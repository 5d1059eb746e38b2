/**
 * One request and its response as the pipeline sees them, whichever protocol carries them:
 * HTTP/1.1 through node:http's request and response objects (http1-wire.ts), HTTP/2 through
 * node:http2's core stream API (http2-wire.ts), without its compatibility layer, which costs
 * half the throughput of a server like this one and lets Go clients re-dial (docs/performance.md).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ConnInfo } from './connection.js';
import { KesError } from '../api/errors.js';

export type Headers = Record<string, string | number>;

/** What a request knows of its connection, looked up once per connection where it can be. */
export interface Peer {
  /** The identity, or the refusal, from the TLS handshake (connection.ts). */
  readonly conn: ConnInfo | undefined;
  readonly ip: string;
  /** The connection's time-outs (connection-timeouts.ts). */
  readonly watch: { begin(): void; end(): void } | undefined;
}

export interface Wire {
  readonly method: string;
  /** The request target (path and query) as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The header list as sent: name, value, name, value, ... */
  readonly rawHeaders: readonly string[];
  readonly peer: Peer;
  readonly http2: boolean;
  /** The request body. */
  readonly body: Readable;
  /** As Go's ContentLength != 0: a declared length other than 0, chunked, or DATA frames. */
  hasBody(): boolean;
  readonly headersSent: boolean;
  /**
   * Sends a whole response (Content-Length is set here; HEAD gets no body). A request body left
   * unread is stopped: HTTP/2 resets the stream once the response is out, HTTP/1.1 closes a
   * connection that would otherwise have to read a large body to its end.
   */
  send(status: number, headers: Headers, body: string | Buffer): void;
  /** Sends the status and headers of a streamed response at once. */
  open(status: number, headers: Headers): void;
  /** Writes a chunk of a streamed response; false when the client is slow. */
  write(chunk: string | Buffer): boolean;
  /** Ends a streamed response. */
  end(): void;
  /** Bytes buffered for the client and not yet sent. */
  readonly buffered: number;
  /** Resolves when the buffered bytes went out. */
  drain(): Promise<void>;
  /** Calls fn once, when the response is done or the client went away. */
  onClose(fn: () => void): void;
  /** Cuts the response: HTTP/2 resets the stream, HTTP/1.1 closes the connection. */
  abort(): void;
}

/**
 * Percent-decodes a URL path as Go's url.PathUnescape does (`+` stays `+`). Returns undefined
 * for a malformed escape. Invalid UTF-8 becomes U+FFFD (such names never validate anyway).
 */
export function decodePath(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return undefined;
  const src = Buffer.from(raw, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    if (src[i] === 0x25) {
      out[n++] = parseInt(src.toString('latin1', i + 1, i + 3), 16);
      i += 2;
    } else {
      out[n++] = src[i]!;
    }
  }
  return out.toString('utf8', 0, n);
}

/**
 * The request's body broke off: the client reset the stream or closed the connection, or its
 * HTTP/2 frames broke the protocol and the stream was reset. There is nobody left to answer.
 */
export class BodyBrokenOff extends Error {
  override readonly name = 'BodyBrokenOff';
}

/**
 * Reads a request body, at most limit bytes.
 * @throws KesError 413 beyond the limit; BodyBrokenOff when the body breaks off
 */
export function readBody(body: Readable, limit: number): Promise<Buffer> {
  if (limit <= 0) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // The body is dropped after this exchange, so its listeners are never removed; once
    // settled (413 or an error) further events are ignored.
    let settled = false;
    body.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      settled = true;
      body.pause();
      reject(new KesError('KES_ERR_BODY_TOO_LARGE'));
    });
    body.on('end', () => {
      if (!settled) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      settled = true;
    });
    body.on('error', (err: Error) => {
      if (!settled) reject(new BodyBrokenOff(`request body broke off: ${err.message}`, { cause: err }));
      settled = true;
    });
  });
}
