/**
 * The per-request pipeline (protocol.md §1.3), in KES's order: route → method check → timeout →
 * authenticate → body limit → handler → response. Handlers throw; errors are answered by
 * {@link errorResponse}. The audit event is recorded exactly once per request; the request
 * metrics count, as KES's, the requests that pass authentication.
 */
import { once } from 'node:events';
import { KesError, kesError, ROUTER_ANSWERS } from '../api/errors.js';
import { goJson } from '../util/go-json.js';
import { Timestamp } from '../util/time.js';
import type { RequestContext } from './context.js';
import type { Route } from './routes.js';
import type { ServerState } from './state.js';
import type { Reply, StreamReply, StreamWriter } from './reply.js';
import { StreamAbort } from './reply.js';
import { errorResponse, errorBody, describeFailure } from './error-response.js';
import { authenticate, type Caller } from './auth.js';
import { deadlines, type Expirable } from './deadlines.js';
import { BodyBrokenOff, decodePath, readBody, type Headers, type Wire } from './http.js';

/**
 * Serves one request with the given state. Never throws.
 * @param closed called once when the response is done or the client went away
 */
export function serveRequest(state: ServerState, wire: Wire, closed: () => void): void {
  const url = wire.url;
  const q = url.indexOf('?');
  const path = decodePath(q < 0 ? url : url.slice(0, q));
  const match = path === undefined ? undefined : state.router.match(path, q < 0 ? '' : url.slice(q + 1));
  if (path !== undefined && match?.kind === 'route') return new Exchange(state, wire, match.route, path, match.resource, closed).run();
  wire.onClose(closed);
  if (match === undefined) return plain(wire, ROUTER_ANSWERS.badPath);
  if (match.kind === 'not-found') return plain(wire, ROUTER_ANSWERS.notFound);
  if (match.kind === 'redirect') return redirect(wire, match.location);
}

function plain(wire: Wire, { status, body }: { status: number; body: string }): void {
  wire.send(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }, body);
}

/** Go's http.Redirect with 301: a small HTML body for GET and HEAD. */
function redirect(wire: Wire, location: string): void {
  const headers: Headers = { location };
  let body = '';
  if (wire.method === 'GET' || wire.method === 'HEAD') {
    body = `<a href="${location.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)}">Moved Permanently</a>.\n\n`;
    headers['content-type'] = 'text/html; charset=utf-8';
  }
  wire.send(301, headers, body);
}

/**
 * One request/response exchange on a matched route. It is also the handler's RequestContext, so
 * a request allocates one object for both.
 */
class Exchange implements RequestContext, Expirable {
  private readonly started = process.hrtime.bigint();
  // Created on first use: most requests never need a signal, and aborting costs a DOMException.
  private controller: AbortController | undefined;
  private status = 0;
  /** Counted in the request metrics (it reached the handler of a metered route). */
  private metered = false;
  private finished = false;
  private audited = false;
  readonly method: string;
  readonly headers: Wire['headers'];
  identity: string;
  ip: string;
  readonly refusal: string | undefined;
  auditMessage: string | undefined;
  deadline = Infinity;
  prev: Exchange | undefined;
  next: Exchange | undefined;

  constructor(
    readonly state: ServerState,
    private readonly wire: Wire,
    readonly route: Route,
    readonly path: string,
    readonly resource: string,
    private readonly closed: () => void,
  ) {
    this.method = wire.method;
    this.headers = wire.headers;
    const { conn, ip } = wire.peer;
    this.identity = conn?.identity ?? '';
    this.refusal = conn?.refusal;
    this.ip = ip;
  }

  /**
   * Runs the exchange. A handler that answers synchronously (a cached key) is replied to at
   * once; a promise is replied to when it settles, without an extra hop through an async frame.
   */
  run(): void {
    const { route } = this;
    // One listener for everything that happens when the response is done (the close event is
    // emitted once): a second listener would cost every request a listener array.
    this.wire.onClose(() => {
      try {
        this.controller?.abort();
        this.complete();
      } finally {
        this.closed();
      }
    });
    let result: ReturnType<Route['handler']>;
    try {
      if (this.method !== route.method && !(this.method === 'POST' && route.method === 'PUT') && !route.alsoAccepts?.includes(this.method as Route['method'])) {
        this.sendError(kesError('KES_ERR_METHOD_NOT_ALLOWED', 'expected', { method: this.method, expected: route.method }), { accept: route.method });
        return;
      }
      if (route.timeoutMs > 0) {
        this.deadline = performance.now() + route.timeoutMs;
        deadlines.add(this);
      }
      const caller = authenticate(this.state, route, this.path, this.resource, this, this.wire.rawHeaders);
      if (caller instanceof Promise) {
        caller.then((c) => this.handle(c), (err: unknown) => this.fail(err));
        return;
      }
      result = this.admitted(caller);
    } catch (err) {
      return this.fail(err);
    }
    this.settle(result);
  }

  /** Runs the handler for a caller whose runtime rights were read from the key store. */
  private handle(caller: Caller): void {
    let result: ReturnType<Route['handler']>;
    try {
      result = this.admitted(caller);
    } catch (err) {
      return this.fail(err);
    }
    this.settle(result);
  }

  /** The handler's result for an authorized caller. */
  private admitted(caller: Caller): ReturnType<Route['handler']> {
    const { route } = this;
    this.identity = caller.identity;
    this.ip = caller.ip;
    // KES counts a request from its handler on: after the method and policy checks.
    if (route.metered) {
      this.metered = true;
      this.state.runtime.metrics.requestStarted();
    }
    // As in KES, the body limit refuses only callers the policy lets through (KES's handler
    // fails to read such a body; others get 403 first).
    const declared = Number(this.headers['content-length'] ?? 0);
    if (route.maxBody > 0 && declared > route.maxBody) throw new KesError('KES_ERR_BODY_TOO_LARGE');
    return route.handler(this);
  }

  private settle(result: ReturnType<Route['handler']>): void {
    if (result instanceof Promise) result.then((reply) => this.respond(reply), (err: unknown) => this.fail(err));
    else this.respond(result);
  }

  private respond(reply: Reply | undefined): void {
    if (reply?.kind === 'stream') {
      // A stream stays under the route time-out until it ends.
      this.stream(reply).then(
        () => deadlines.delete(this),
        (err: unknown) => this.fail(err),
      );
      return;
    }
    deadlines.delete(this);
    try {
      this.reply(reply);
    } catch (err) {
      this.sendError(err);
    }
  }

  private fail(err: unknown): void {
    deadlines.delete(this);
    if (err instanceof BodyBrokenOff) {
      // Not a server failure, and there is no one to answer: the exchange ends as the client left.
      this.state.errorLog.debug(err.message, this.attrs());
      return this.destroy();
    }
    this.sendError(err);
  }

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  body(): Promise<Buffer> {
    return readBody(this.wire.body, this.route.maxBody);
  }

  hasBody(): boolean {
    return this.wire.hasBody();
  }

  private reply(reply: Exclude<Reply, StreamReply> | undefined): void {
    if (reply === undefined) this.send(200, { 'content-length': 0 });
    else if (reply.kind === 'json') this.send(200, { 'content-type': 'application/json' }, goJson(reply.body));
    else this.send(200, { 'content-type': reply.contentType }, reply.body);
  }

  private async stream(reply: StreamReply): Promise<void> {
    const write = await reply.open();
    if (this.finished || this.wire.headersSent) return;
    this.status = 200;
    const wire = this.wire;
    wire.open(200, { 'content-type': reply.contentType });
    this.audit(); // a stream's audit event is its subscription
    const writer: StreamWriter = {
      write: (chunk) => !this.signal.aborted && wire.write(chunk),
      drained: () => (this.signal.aborted ? Promise.resolve() : Promise.race([wire.drain(), once(this.signal, 'abort')]).then(() => undefined)),
      get buffered() {
        return wire.buffered;
      },
      signal: this.signal,
    };
    try {
      await write(writer);
      if (!this.signal.aborted) wire.end();
    } catch (err) {
      if (err instanceof StreamAbort) this.state.errorLog.debug(err.message, this.attrs());
      else this.state.errorLog.error(`response stream failed: ${describeFailure(err)}`, this.attrs());
      this.destroy();
    }
  }

  private send(status: number, headers: Headers, body: string | Buffer = ''): void {
    if (this.finished || this.wire.headersSent) return;
    this.status = status;
    this.wire.send(status, headers, body);
  }

  private sendError(err: unknown, headers: Headers = {}): void {
    const { status, body } = errorResponse(err, this.state.errorLog, this.attrs());
    this.send(status, { ...headers, 'content-type': 'application/json' }, body);
  }

  /** Route timeout (protocol.md §20.17): 503 and the connection closed; a started stream is cut. */
  expire(): void {
    if (this.finished) return;
    if (this.wire.headersSent) return this.destroy();
    // Not through errorResponse: a client's slowness is not a server failure for the error log.
    const timeout = new KesError('KES_ERR_TIMEOUT');
    this.send(timeout.status, { 'content-type': 'application/json', ...(!this.wire.http2 && { connection: 'close' }) }, errorBody(timeout.message));
    this.controller?.abort();
  }

  private destroy(): void {
    this.controller?.abort();
    this.wire.abort();
  }

  /** Records metrics and the audit event once the response is done (or the client left). */
  private complete(): void {
    if (this.finished) return;
    this.finished = true;
    const durationNs = Number(process.hrtime.bigint() - this.started);
    if (this.metered) this.state.runtime.metrics.requestFinished(this.status || 499, durationNs / 1e9);
    this.audit(durationNs);
  }

  private audit(durationNs = Number(process.hrtime.bigint() - this.started)): void {
    if (this.audited || this.route.auth === 'none') return;
    this.audited = true;
    if (!this.state.auditLog.enabled) return;
    this.state.auditLog.log({
      time: Timestamp.fromHrtime(this.started),
      message: this.auditMessage ?? 'api request',
      method: this.method,
      path: this.path,
      ip: this.ip,
      identity: this.identity,
      status: this.status || 499,
      durationNs,
    });
  }

  private attrs(): [string, string][] {
    return [
      ['req.method', this.method],
      ['req.path', this.path],
      ['req.ip', this.ip],
      ['req.identity', this.identity || '<unknown>'],
    ];
  }
}
