/** HTTP/1.1 requests through node:http's request and response objects (http.ts). */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { connectionOf } from './connection.js';
import { connectionWatchOf } from './connection-timeouts.js';
import type { Headers, Peer, Wire } from './http.js';

/** Unread request bodies larger than this close the connection instead of being drained. */
const MAX_DRAIN = 256 * 1024;

const PEER = Symbol('kes.peer');

type Tagged = Socket & { [PEER]?: Peer };

export class Http1Wire implements Wire {
  readonly http2 = false;
  readonly peer: Peer;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    this.peer = peerOf(req.socket as Tagged);
  }

  get method(): string {
    return this.req.method ?? '';
  }

  get url(): string {
    return this.req.url ?? '/';
  }

  get headers(): IncomingMessage['headers'] {
    return this.req.headers;
  }

  get rawHeaders(): readonly string[] {
    return this.req.rawHeaders;
  }

  get body(): Readable {
    return this.req;
  }

  hasBody(): boolean {
    const { headers } = this.req;
    const length = headers['content-length'];
    return (length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined;
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  send(status: number, headers: Headers, body: string | Buffer): void {
    if (this.res.headersSent) return;
    headers['content-length'] = Buffer.byteLength(body);
    // Draining a large unread body would keep the connection busy for nothing: close it.
    if (!this.req.complete && unreadBodyIsLarge(this.req)) headers.connection = 'close';
    this.res.writeHead(status, headers);
    this.res.end(body);
  }

  open(status: number, headers: Headers): void {
    this.res.writeHead(status, headers);
    this.res.flushHeaders();
  }

  write(chunk: string | Buffer): boolean {
    return this.res.write(chunk);
  }

  end(): void {
    this.res.end();
  }

  get buffered(): number {
    return this.res.writableLength;
  }

  drain(): Promise<void> {
    return once(this.res, 'drain').then(() => undefined);
  }

  onClose(fn: () => void): void {
    this.res.once('close', fn);
  }

  abort(): void {
    this.req.socket.destroy();
  }
}

/** The connection's identity, address and time-outs, tagged on the socket at its first request. */
function peerOf(socket: Tagged): Peer {
  return (socket[PEER] ??= { conn: connectionOf(socket), ip: socket.remoteAddress ?? '', watch: connectionWatchOf(socket) });
}

function unreadBodyIsLarge(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return length === undefined ? req.headers['transfer-encoding'] !== undefined : Number(length) > MAX_DRAIN;
}
