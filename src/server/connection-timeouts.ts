/**
 * Per-connection time-outs (protocol.md §1.1: Go's ReadHeaderTimeout 5 s and IdleTimeout 90 s).
 *
 * Node's `http2.createSecureServer({ allowHTTP1: true })` does not run http.Server's connection
 * checks, so its `headersTimeout` never fires for HTTP/1.1 clients, and an HTTP/2 session may
 * stay open without ever sending a request. This timer bounds both from the outside:
 * - a new connection must deliver the headers of its first request within `firstRequestMs`
 *   (a client trickling header bytes, or an HTTP/2 session that never opens a stream, is closed);
 * - a connection without a request in flight is closed after `idleMs` (keep-alive idle). The
 *   timer runs from the end of the last response until the next request's headers are complete,
 *   so a client trickling the headers of a later request is also closed, after `idleMs`.
 * Requests in flight are bounded by their route time-out instead (log streams have none).
 */
import type { Socket } from 'node:net';

export interface ConnectionTimeouts {
  /** From the end of the TLS handshake until the first request's headers are complete. */
  readonly firstRequestMs: number;
  /** Without a request in flight. */
  readonly idleMs: number;
}

const WATCH = Symbol('kes.connection-watch');

type Tagged = { [WATCH]?: ConnectionWatch };

/**
 * The request time-outs of one connection (HTTP/1.1, or an HTTP/2 session's socket). A request
 * only counts and takes a timestamp; the timer is not moved per request but, when it fires,
 * works out whether the connection has been idle long enough or when to look again.
 */
class ConnectionWatch {
  private active = 0;
  private timer: NodeJS.Timeout;
  /** The idle limit in force: firstRequestMs until the first request, then idleMs. */
  private limitMs: number;
  /** When the connection last became idle (performance.now()). */
  private idleSince = performance.now();

  constructor(
    private readonly socket: Socket,
    private readonly timeouts: ConnectionTimeouts,
  ) {
    this.limitMs = timeouts.firstRequestMs;
    this.timer = this.arm(this.limitMs);
    socket.once('close', () => clearTimeout(this.timer));
  }

  /** A request's headers are complete. */
  begin(): void {
    this.active++;
    // From the first request on, the keep-alive idle time applies.
    this.limitMs = this.timeouts.idleMs;
  }

  /** A request is done (answered, or the client went away). */
  end(): void {
    if (--this.active === 0) this.idleSince = performance.now();
  }

  private check(): void {
    if (this.active > 0) {
      // Busy: the idle time starts when the last request ends; look again after the limit.
      this.timer = this.arm(this.limitMs);
      return;
    }
    const idleMs = performance.now() - this.idleSince;
    if (idleMs >= this.limitMs) this.socket.destroy();
    else this.timer = this.arm(this.limitMs - idleMs);
  }

  private arm(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.check(), ms);
    timer.unref();
    return timer;
  }
}

/** Starts the time-outs of a connection whose TLS handshake just completed. */
export function watchConnection(socket: Socket, timeouts: ConnectionTimeouts): void {
  (socket as Tagged)[WATCH] = new ConnectionWatch(socket, timeouts);
}

/**
 * The time-outs of the connection of a request's socket, to call begin() when its headers are
 * complete and end() when it is done. The socket may be the HTTP/2 compatibility layer's proxy,
 * which forwards property reads to the TLS socket.
 */
export function connectionWatchOf(socket: unknown): Pick<ConnectionWatch, 'begin' | 'end'> | undefined {
  return (socket as Tagged | undefined)?.[WATCH];
}
