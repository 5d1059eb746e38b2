/**
 * The KES server: HTTPS with HTTP/2 and HTTP/1.1 (ALPN), TLS 1.2 minimum, client certificates,
 * and a state that is replaced whole on reload without dropping connections.
 */
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import type { ServerConfig } from '../config/types.js';
import { buildState, closeState, type Runtime, type ServerState } from './state.js';
import { createRuntime, type RuntimeOptions } from './runtime.js';
import { loadTlsMaterial, type TlsMaterial } from './tls.js';
import { identifyConnection } from './connection.js';
import { serveRequest } from './pipeline.js';
import type { HttpRequest, HttpResponse } from './http.js';

export interface StartOptions extends RuntimeOptions {
  /** Listen address `host:port`; overrides `config.address`. */
  address?: string;
  /** An existing runtime (metrics, log subscribers) to serve with. */
  runtime?: Runtime;
  /** TLS session ticket keys (48 bytes), shared by the workers of a cluster so resumption works across them. */
  ticketKeys?: Buffer;
}

/** Splits `host:port` (host an IP literal, `[v6]` or empty). */
export function splitAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid listen address '${address}': expected host:port`);
  return { host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
}

export class KesServer {
  private state: ServerState;
  private inflight = 0;
  private readonly idle = new Set<() => void>();
  private readonly sockets = new Set<Socket>();
  private readonly retired = new Set<ServerState>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly http: Http2SecureServer,
    state: ServerState,
    readonly runtime: Runtime,
  ) {
    this.state = state;
  }

  /**
   * Starts a server: loads TLS material, connects the key store, creates declarative keys and
   * listens. Fails with one error saying what and where (bad certificate, taken port, ...).
   */
  static async start(config: ServerConfig, options: StartOptions = {}): Promise<KesServer> {
    const runtime = options.runtime ?? createRuntime(options);
    const tls = await loadTlsMaterial(config.tls);
    const state = await buildState(config, runtime, proxySettings(config, tls));
    const http = createSecureServer({
      key: tls.key,
      cert: tls.cert,
      ca: tls.ca,
      minVersion: 'TLSv1.2',
      allowHTTP1: true,
      requestCert: true,
      rejectUnauthorized: false,
      ...(options.ticketKeys && { ticketKeys: options.ticketKeys }),
    });
    const server = new KesServer(http, state, runtime);
    server.applyClientAuth(tls);
    http.on('request', (req: HttpRequest, res: HttpResponse) => server.handle(req, res));
    http.on('secureConnection', (socket: TLSSocket) => server.accept(socket));
    http.on('connection', (socket: Socket) => {
      // Responses are small: send them at once instead of waiting for Nagle's algorithm.
      socket.setNoDelay(true);
      server.sockets.add(socket);
      socket.once('close', () => server.sockets.delete(socket));
    });
    http.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      server.state.errorLog.info(`http: TLS handshake error from ${socket.remoteAddress ?? 'unknown'}: ${err.code ?? err.message}`);
    });
    // Go's defaults: 90 s idle keep-alive, 5 s to send the request headers.
    http.setTimeout(0);
    Object.assign(http, { keepAliveTimeout: 90_000, headersTimeout: 5_000 });

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
      await closeState(state);
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(`failed to listen on ${options.address ?? config.address}: ${code === 'EADDRINUSE' ? 'address already in use' : (code ?? (err as Error).message)}`);
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

  /**
   * Replaces the config: new TLS material, key store, cache, policies, routes and log levels.
   * On any error nothing changes and the error is thrown. Connections are not dropped; the
   * previous key store is closed once the requests using it are done.
   */
  async reload(config: ServerConfig): Promise<void> {
    const tls = await loadTlsMaterial(config.tls);
    const next = await buildState(config, this.runtime, proxySettings(config, tls));
    const previous = this.state;
    this.state = next;
    this.http.setSecureContext({ key: tls.key, cert: tls.cert, ca: tls.ca });
    this.applyClientAuth(tls);
    this.retire(previous);
  }

  /** Replaces only the TLS certificates and CAs (periodic certificate rotation). */
  async reloadTls(config: ServerConfig): Promise<void> {
    const tls = await loadTlsMaterial(config.tls);
    this.http.setSecureContext({ key: tls.key, cert: tls.cert, ca: tls.ca });
    this.applyClientAuth(tls);
  }

  /**
   * Stops accepting connections, lets in-flight requests finish for up to graceMs, then closes
   * every connection and the key store.
   */
  close(graceMs = 1000): Promise<void> {
    this.closing ??= (async () => {
      this.http.close();
      await this.drained(graceMs);
      for (const socket of this.sockets) socket.destroy();
      await Promise.all([this.state, ...this.retired].map((s) => closeState(s)));
    })();
    return this.closing;
  }

  private handle(req: HttpRequest, res: HttpResponse): void {
    this.inflight++;
    res.once('close', () => {
      if (--this.inflight === 0) for (const fn of this.idle) fn();
    });
    void serveRequest(this.state, req, res);
  }

  /** Identity once per connection; connections without a required certificate are closed. */
  private accept(socket: TLSSocket): void {
    const conn = identifyConnection(socket);
    const optional = this.state.clientCertOptional;
    if (!conn.hasCertificate && !optional) socket.destroy();
    else if (conn.hasCertificate && this.verifyClients && !conn.authorized) socket.destroy();
  }

  private verifyClients = false;

  // With tls.auth: on the handshake rejects unverified certificates (a TLS alert), unless a
  // skip_auth route makes certificates optional: then a given certificate is checked on accept.
  private applyClientAuth(tls: TlsMaterial): void {
    this.verifyClients = tls.verifyClients;
    const server = this.http as unknown as { rejectUnauthorized: boolean };
    server.rejectUnauthorized = tls.verifyClients && !this.state.clientCertOptional;
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

function proxySettings(config: ServerConfig, tls: TlsMaterial) {
  const proxy = config.tls.proxy;
  if (!proxy || proxy.identities.length === 0) return undefined;
  return {
    identities: new Set(proxy.identities),
    header: proxy.certHeader.toLowerCase(),
    verifyWith: tls.verifyClients ? tls.caCertificates : undefined,
  };
}
