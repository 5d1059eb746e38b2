/**
 * HTTP/2 requests through node:http2's core stream API (http.ts). The compatibility layer
 * (Http2ServerRequest/Response) is not used: it allocates a request, a response and a socket
 * proxy per stream, and under a Go client's load it costs half the throughput.
 */
import { once } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import { connectionOf } from './connection.js';
import { connectionWatchOf } from './connection-timeouts.js';
import type { Headers, Peer, Wire } from './http.js';

const PEER = Symbol('kes.peer');

type Tagged = ServerHttp2Session & { [PEER]?: Peer };

function ignore(): void {}

export class Http2Wire implements Wire {
  readonly http2 = true;
  readonly peer: Peer;
  readonly method: string;
  readonly url: string;

  constructor(
    private readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    readonly rawHeaders: readonly string[],
  ) {
    this.peer = peerOf(stream.session as Tagged);
    this.method = (headers[':method'] as string | undefined) ?? '';
    this.url = (headers[':path'] as string | undefined) ?? '/';
    // A stream reset by the client reports an error; its 'close' ends the exchange.
    stream.on('error', ignore);
    // Go's server answers Expect: 100-continue before the handler reads the body; so does ours.
    if (headers.expect === '100-continue') stream.additionalHeaders({ ':status': 100 });
  }

  get body(): Readable {
    return this.stream;
  }

  hasBody(): boolean {
    return !this.stream.endAfterHeaders && this.headers['content-length'] !== '0';
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  send(status: number, headers: Headers, body: string | Buffer): void {
    const stream = this.stream;
    if (stream.headersSent || stream.destroyed || stream.closed) return;
    headers[':status'] = status;
    headers['content-length'] = Buffer.byteLength(body);
    // The answer to HEAD declares the length of the body it does not send, as HTTP/1.1 does.
    if (body.length === 0 || this.method === 'HEAD') stream.respond(headers, { endStream: true });
    else {
      stream.respond(headers);
      stream.end(body);
    }
    this.stopUnreadBody();
  }

  /**
   * A response sent before the request body was read to its end (an error, 413, a time-out):
   * what has arrived is dropped, and a body still coming is stopped by resetting the stream
   * with NO_ERROR once the response is out (RFC 9113 §8.1).
   *
   * The reset waits for the next turn of the event loop: a response may be written while Node
   * is still parsing the client's frames (a synchronous answer to HEADERS), and closing the
   * stream there, before an END_STREAM that follows in the same read, aborts the process
   * (Node 20: `Http2Stream::OnTrailers: Assertion failed: !this->is_destroyed()`).
   */
  private stopUnreadBody(): void {
    const stream = this.stream;
    if (stream.endAfterHeaders || stream.readableEnded) return;
    stream.resume();
    setImmediate(() => {
      if (!stream.readableEnded && !stream.closed && !stream.destroyed) stream.close();
    });
  }

  open(status: number, headers: Headers): void {
    headers[':status'] = status;
    this.stream.respond(headers);
  }

  write(chunk: string | Buffer): boolean {
    return this.stream.write(chunk);
  }

  end(): void {
    this.stream.end();
  }

  get buffered(): number {
    return this.stream.writableLength;
  }

  drain(): Promise<void> {
    return once(this.stream, 'drain').then(() => undefined);
  }

  onClose(fn: () => void): void {
    this.stream.once('close', fn);
  }

  abort(): void {
    this.stream.close();
  }
}

/**
 * The session's identity, address and time-outs, looked up at its first stream: the session's
 * socket is a proxy whose every property read costs a trap, and the connection is tagged only
 * after node:http2 has created the session (server.ts).
 */
function peerOf(session: Tagged): Peer {
  let peer = session[PEER];
  if (peer === undefined) {
    const socket = session.socket;
    peer = session[PEER] = { conn: connectionOf(socket), ip: socket.remoteAddress ?? '', watch: connectionWatchOf(socket) };
  }
  return peer;
}
