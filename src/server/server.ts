/**
 * The KES server: HTTPS with HTTP/2 and HTTP/1.1 (ALPN), TLS 1.2 minimum with modern cipher
 * suites, client certificates, time-outs for slow or idle clients, a connection limit, and a
 * state that is replaced whole on reload without dropping connections.
 */
import { constants } from 'node:crypto';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import type { ServerConfig } from '../config/types.js';
import { buildState, closeState, type Runtime, type ServerState } from './state.js';
import { createRuntime, type RuntimeOptions } from './runtime.js';
import { loadTlsMaterial, type TlsMaterial } from './tls.js';
import { identifyConnection } from './connection.js';
import { AutoRotation } from './auto-rotation.js';
import { identityOfCertificate } from '../auth/identity.js';
import { watchConnection, type ConnectionTimeouts } from './connection-timeouts.js';
import { ConnectionLimitReporter } from './connection-limit.js';
import { DEFAULT_MAX_CONNECTIONS } from '../config/defaults.js';
import { TLS_CIPHERS, TLS_CURVES, TLS_MIN_VERSION, TLS_SECURE_OPTIONS } from './tls-ciphers.js';
import { newTicketKeys, ticketLifetimeMs, TicketKeyRotation } from './session-tickets.js';
import type { TrustStore } from '../pki/trust.js';
import { serveRequest } from './pipeline.js';
import { AuditFileSink } from '../log/audit-file-sink.js';
import type { Wire } from './http.js';
import { Http1Wire } from './http1-wire.js';
import { Http2Wire } from './http2-wire.js';
import { listenError, splitAddress } from './listen-address.js';
import { handshakeFailed, peerAddress, rememberPeerAddress } from './handshake-errors.js';

export interface StartOptions extends RuntimeOptions {
  /** Listen address `host:port`; overrides `config.address`. */
  address?: string;
  /** An existing runtime (metrics, log subscribers) to serve with. */
  runtime?: Runtime;
  /**
   * TLS session ticket keys (48 bytes) shared by the workers of a cluster, so that a session
   * resumes on any of them; the primary rotates them ({@link KesServer.setTicketKeys}).
   * Without, the server makes its own and rotates them (session-tickets.ts).
   */
  ticketKeys?: Buffer;
  /** Overrides `config.maxConnections`, also across reloads (`kes server --max-connections`). */
  maxConnections?: number;
  /** false: `log.audit_file` is written by another process (the primary of a cluster). */
  auditFile?: boolean;
}

/**
 * Go's http.Server settings in KES (protocol.md §1.1): ReadHeaderTimeout 5 s (which also bounds
 * the TLS handshake) and IdleTimeout 90 s.
 */
const HEADERS_TIMEOUT_MS = 5_000;
const IDLE_TIMEOUT_MS = 90_000;
const TIMEOUTS: ConnectionTimeouts = { firstRequestMs: HEADERS_TIMEOUT_MS, idleMs: IDLE_TIMEOUT_MS };

/**
 * HTTP/2 limits Node leaves unbounded by default: concurrent streams per connection, and the size
 * of a request's header list (16 KiB, Node's HTTP/1.1 limit). Beyond them a stream is refused;
 * the connection and its other streams go on.
 *
 * Streams: node:cluster hands each connection to one worker, and Go's client (MinIO's) opens
 * another connection only when its connections are full. With several workers the limit is 16,
 * so a client with 64 requests in flight holds 4 long-lived connections that the workers share
 * instead of one that keeps one worker busy and the others idle. One worker has nothing to
 * share, and fewer, fuller connections cost it less per request: 250, as Go's HTTP/2 server
 * (docs/performance.md).
 */
function http2Settings(workers: number) {
  return { maxConcurrentStreams: workers > 1 ? 16 : 250, maxHeaderListSize: 16 * 1024 };
}

export class KesServer {
  private state: ServerState;
  private inflight = 0;
  private readonly idle = new Set<() => void>();
  private readonly sockets = new Set<Socket>();
  private readonly retired = new Set<ServerState>();
  private closing: Promise<void> | undefined;
  private auditFile: AuditFileSink | undefined;
  private readonly limitReporter = new ConnectionLimitReporter((message) => this.state.errorLog.error(message));
  /** The automatic rotation of the current state (auto-rotation.ts). */
  private autoRotation: AutoRotation | undefined;

  /** Rotates the ticket keys of a server that owns them (not a cluster worker's). */
  private readonly rotation: TicketKeyRotation | undefined;

  private constructor(
    private readonly http: Http2SecureServer,
    state: ServerState,
    readonly runtime: Runtime,
    private readonly maxConnectionsOverride: number | undefined,
    private ticketKeys: Buffer,
    ownTicketKeys: boolean,
  ) {
    this.state = state;
    this.rotation = ownTicketKeys ? new TicketKeyRotation((keys) => this.setTicketKeys(keys)) : undefined;
  }

  /**
   * Replaces the TLS session ticket keys: sessions issued under the old keys are no longer
   * resumed (their clients make a full handshake). The primary of a cluster calls this.
   */
  setTicketKeys(keys: Buffer): void {
    this.ticketKeys = keys;
    this.http.setTicketKeys(keys);
  }

  /**
   * Starts a server: loads TLS material, connects the key store, creates declarative keys and
   * listens. Fails with one error saying what and where (bad certificate, taken port, ...).
   */
  static async start(config: ServerConfig, options: StartOptions = {}): Promise<KesServer> {
    const runtime = options.runtime ?? createRuntime(options);
    const tls = await loadTlsMaterial(config.tls);
    const state = await buildState(config, runtime, proxySettings(config, tls));
    const auditFile = options.auditFile === false ? undefined : new AuditFileSink(runtime.auditHub);
    try {
      auditFile?.configure(config.log.auditFile, tls, state.errorLog);
    } catch (err) {
      await closeState(state);
      throw err;
    }
    const ticketKeys = options.ticketKeys ?? newTicketKeys();
    const http = createSecureServer({
      ...listenerTls(tls, config, ticketKeys),
      allowHTTP1: true,
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: HEADERS_TIMEOUT_MS,
      settings: http2Settings(runtime.workers),
    });
    runtime.cacheLink?.attach(state.cache);
    const server = new KesServer(http, state, runtime, options.maxConnections, ticketKeys, options.ticketKeys === undefined);
    server.auditFile = auditFile;
    server.startAutoRotation(state, tls);
    server.rotation?.rotate(ticketLifetimeMs(config.tls));
    server.applyClientAuth(tls);
    server.applyConnectionLimit();
    // HTTP/1.1 through node:http's request objects; HTTP/2 through the core stream API, not the
    // compatibility layer that node:http2 installs with the first 'request' listener.
    http.on('request', (req: IncomingMessage, res: ServerResponse) => server.handle(new Http1Wire(req, res)));
    http.removeAllListeners('stream');
    http.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => server.handle(new Http2Wire(stream, headers, rawHeaders)));
    http.on('secureConnection', (socket: TLSSocket) => server.accept(socket));
    // Beyond maxConnections Node closes new connections at once and says so here.
    http.on('drop', () => server.limitReporter.onDrop(http.maxConnections));
    http.on('connection', (socket: Socket) => {
      // Responses are small: send them at once instead of waiting for Nagle's algorithm.
      socket.setNoDelay(true);
      rememberPeerAddress(socket);
      server.sockets.add(socket);
      socket.once('close', () => server.sockets.delete(socket));
    });
    http.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => handshakeFailed(err, socket, server.state.errorLog));
    // Go's defaults: 90 s idle keep-alive, 5 s to send the request headers. Node applies
    // neither to this server's HTTP/1.1 connections nor to HTTP/2 sessions: the connection
    // watch does (connection-timeouts.ts).
    http.setTimeout(0);
    Object.assign(http, { keepAliveTimeout: IDLE_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS });

    const { host, port } = splitAddress(options.address ?? config.address);
    try {
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host || undefined, () => {
          http.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      server.autoRotation?.stop();
      await closeState(state);
      auditFile?.close();
      throw listenError(options.address ?? config.address, err);
    }
    return server;
  }

  /** The address the server listens on. */
  get address(): { host: string; port: number } {
    const a = this.http.address();
    if (a === null || typeof a === 'string') throw new Error('server is not listening');
    return { host: a.address, port: a.port };
  }

  /** The current state (for inspection). */
  get current(): ServerState {
    return this.state;
  }

  /** The connections open now (TCP, including those still in the TLS handshake). */
  get connections(): number {
    return this.sockets.size;
  }

  /**
   * Replaces the config: new TLS material, key store, cache, policies, routes and log levels.
   * On any error nothing changes and the error is thrown. Connections are not dropped; the
   * previous key store is closed once the requests using it are done.
   */
  async reload(config: ServerConfig): Promise<void> {
    const tls = await loadTlsMaterial(config.tls);
    const next = await buildState(config, this.runtime, proxySettings(config, tls));
    try {
      this.auditFile?.configure(config.log.auditFile, tls, next.errorLog);
    } catch (err) {
      await closeState(next);
      throw err;
    }
    const previous = this.state;
    this.state = next;
    this.startAutoRotation(next, tls);
    this.runtime.cacheLink?.attach(next.cache);
    this.applyTls(tls, config);
    this.applyClientAuth(tls);
    this.applyConnectionLimit();
    this.retire(previous);
  }

  /** Replaces only the TLS certificates and CAs (periodic certificate rotation). */
  async reloadTls(config: ServerConfig): Promise<void> {
    const tls = await loadTlsMaterial(config.tls);
    this.applyTls(tls, { ...this.state.config, tls: config.tls });
    this.applyClientAuth(tls);
    this.auditFile?.updateKey(tls);
  }

  /**
   * New certificates, CAs and ticket lifetime. Tickets issued before do not resume (new keys;
   * a cluster's primary sends its workers new keys before it reloads them).
   */
  private applyTls(tls: TlsMaterial, config: ServerConfig): void {
    this.rotation?.rotate(ticketLifetimeMs(config.tls));
    const options = listenerTls(tls, config, this.ticketKeys);
    // setSecureContext takes the session timeout from the server, not from its options.
    (this.http as unknown as { sessionTimeout: number }).sessionTimeout = options.sessionTimeout;
    this.http.setSecureContext(options);
  }

  /**
   * Stops accepting connections, lets in-flight requests finish for up to graceMs, then closes
   * every connection, the key store and the audit file.
   */
  close(graceMs = 1000): Promise<void> {
    this.closing ??= (async () => {
      this.rotation?.stop();
      this.autoRotation?.stop();
      this.http.close();
      await this.drained(graceMs);
      for (const socket of this.sockets) socket.destroy();
      await Promise.all([this.state, ...this.retired].map((s) => closeState(s))).finally(() => this.auditFile?.close());
    })();
    return this.closing;
  }

  private handle(wire: Wire): void {
    this.inflight++;
    const watch = wire.peer.watch;
    watch?.begin();
    serveRequest(this.state, wire, () => {
      watch?.end();
      if (--this.inflight === 0) for (const fn of this.idle) fn();
    });
  }

  /**
   * Identity once per connection. A client without a required certificate, or with one that
   * is not trusted, keeps its connection: each of its requests is answered with the reason
   * (connection.ts), where a TLS layer refusal could not say why.
   */
  private accept(socket: TLSSocket): void {
    watchConnection(socket, TIMEOUTS);
    const conn = identifyConnection(socket, { required: !this.state.clientCertOptional, trust: this.trust });
    if (conn.refusal) {
      const who = conn.identity === '' ? '' : ` (identity ${conn.identity})`;
      this.state.errorLog.info(`http: refusing requests from ${peerAddress(socket)}${who}: tls: client certificate ${conn.refusal}`);
    }
  }

  /** Replaces the automatic rotation with one for state, as the server whose certificate tls has. */
  private startAutoRotation(state: ServerState, tls: TlsMaterial): void {
    this.autoRotation?.stop();
    this.autoRotation = new AutoRotation(state, identityOfCertificate(tls.leaf.raw));
    this.autoRotation.start();
  }

  /** With tls.auth: on, the CAs client certificates must verify against. */
  private trust: TrustStore | undefined;

  private applyClientAuth(tls: TlsMaterial): void {
    this.trust = tls.verifyClients ? tls.trust : undefined;
  }

  private applyConnectionLimit(): void {
    this.http.maxConnections = this.maxConnectionsOverride ?? this.state.config.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  }

  private retire(state: ServerState): void {
    this.retired.add(state);
    const timer = setTimeout(() => {
      this.retired.delete(state);
      void closeState(state);
    }, 60_000);
    timer.unref();
  }

  private drained(timeoutMs: number): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.idle.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.idle.add(done);
    });
  }
}

/**
 * The TLS options of the listener, for createSecureServer and setSecureContext (which replaces
 * the whole context, so the protocol settings are given again with the new certificates).
 * Resumption: tickets under the given keys, valid for the ticket lifetime; none when it is 0.
 */
function listenerTls(tls: TlsMaterial, config: ServerConfig, ticketKeys: Buffer) {
  const lifetimeMs = ticketLifetimeMs(config.tls);
  return {
    key: tls.key,
    cert: tls.cert,
    ca: tls.ca,
    minVersion: TLS_MIN_VERSION,
    ciphers: TLS_CIPHERS,
    ecdhCurve: TLS_CURVES,
    secureOptions: TLS_SECURE_OPTIONS | (lifetimeMs === 0 ? constants.SSL_OP_NO_TICKET : 0),
    sessionTimeout: Math.max(1, Math.ceil(lifetimeMs / 1000)),
    ticketKeys,
  } as const;
}

function proxySettings(config: ServerConfig, tls: TlsMaterial) {
  const proxy = config.tls.proxy;
  if (!proxy || proxy.identities.length === 0) return undefined;
  return {
    identities: new Set(proxy.identities),
    header: proxy.certHeader.toLowerCase(),
    verifyWith: tls.verifyClients ? tls.trust : undefined,
  };
}
