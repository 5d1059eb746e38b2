/**
 * HTTP transport of the SDK: keep-alive HTTPS connections with the client certificate, several
 * endpoints with failover, and retries as the KES SDK does them (protocol.md §7.3): an endpoint that
 * fails (network error, or 5xx other than 501) is set aside for 30 s and the next one is tried;
 * network errors and 503 answers are retried up to twice, after 200 ms plus up to 800 ms.
 */
import * as https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionError, errorFromResponse } from './errors.js';
import { EndpointSet } from './endpoints.js';
import { describeTlsProblem, tlsProblemOf } from './tls-problems.js';

export interface TlsOptions {
  cert?: string;
  key?: string;
  ca?: string | string[];
  /** Skip verification of the server certificate (insecure; `kes -k`). */
  insecureSkipVerify?: boolean;
}

export interface RequestOptions {
  body?: string | Buffer;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Time limit for the whole exchange; 0 = none (log streams). */
  timeoutMs?: number;
  /**
   * The request changes something each time it is carried out (a rotation adds a version): it is
   * sent again, or to another endpoint, only when it cannot have reached a server (the
   * connection was refused or the name did not resolve), never after a lost answer or a 503.
   */
  notIdempotent?: boolean;
}

/** A successful response: status 2xx, headers and the still unread body stream. */
export type Response = IncomingMessage;

const MAX_RETRIES = 2;

export class Transport {
  readonly endpoints: EndpointSet;
  private readonly agent: https.Agent;
  /** The client certificate (PEM), to tell its problems apart when the server refuses it. */
  private readonly clientCert: string | undefined;

  constructor(
    endpoints: readonly string[],
    tls: TlsOptions,
    private readonly defaultTimeoutMs: number,
  ) {
    this.endpoints = new EndpointSet(endpoints);
    this.clientCert = tls.cert;
    this.agent = new https.Agent({
      keepAlive: true,
      cert: tls.cert,
      key: tls.key,
      ca: tls.ca,
      rejectUnauthorized: !tls.insecureSkipVerify,
      minVersion: 'TLSv1.2',
    });
  }

  /**
   * Sends a request and returns the response of the first endpoint that answers with a status
   * below 300. @throws KesError for an error answer, ConnectionError when no endpoint answers
   */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt <= MAX_RETRIES; attempt++) {
      if (attempt > 0) await sleep(200 + Math.random() * 800, undefined, { signal: options.signal });
      let retry = false;
      for (const endpoint of this.endpoints.order()) {
        options.signal?.throwIfAborted();
        let res: Response;
        try {
          res = await this.send(endpoint, method, path, options, timeoutMs);
        } catch (err) {
          if (options.signal?.aborted) throw options.signal.reason;
          this.endpoints.failed(endpoint);
          lastError = connectionError(err, endpoint, this.clientCert);
          if (options.notIdempotent && !neverSent(err)) throw lastError;
          retry ||= !isCertificateError(err);
          continue;
        }
        const status = res.statusCode ?? 0;
        if (status < 300) {
          this.endpoints.succeeded(endpoint);
          return res;
        }
        const error = errorFromResponse(status, await readBytes(res), res.headers['content-type']);
        if (status < 500 || status === 501) throw error;
        this.endpoints.failed(endpoint);
        if (options.notIdempotent) throw error;
        lastError = error;
        retry ||= status === 503;
      }
      if (!retry) break;
    }
    throw lastError ?? new ConnectionError('no endpoint answered', this.endpoints.endpoints[0]!);
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private send(endpoint: string, method: string, path: string, options: RequestOptions, timeoutMs: number): Promise<Response> {
    const url = new URL(endpoint + path);
    const signals = [options.signal, timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined].filter((s): s is AbortSignal => s !== undefined);
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method, agent: this.agent, headers, signal: signals.length > 0 ? AbortSignal.any(signals) : undefined }, resolve);
      req.on('error', reject);
      req.end(options.body);
    });
  }
}

/** Reads a response body as text (at most 1 MiB, as the KES SDK). */
export async function readText(res: Response, limit = 1 << 20): Promise<string> {
  return (await readBytes(res, limit)).toString('utf8');
}

/** Reads a response body as bytes (at most limit bytes; default 1 MiB). */
export async function readBytes(res: Response, limit = 1 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.destroy();
      throw new Error(`response body larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The request cannot have reached a server: nothing listened, or the name did not resolve. */
function neverSent(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
}

/** TLS verification failures are not transient: retrying the same endpoint cannot help. */
function isCertificateError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME/.test(code);
}

function connectionError(err: unknown, endpoint: string, clientCert: string | undefined): ConnectionError {
  const e = err as NodeJS.ErrnoException;
  const timedOut = e.name === 'AbortError' || e.name === 'TimeoutError';
  const tlsProblem = e.code ? tlsProblemOf(e.code, clientCert) : undefined;
  const detail = e.code ? `${e.code}${e.message && !e.message.includes(e.code) ? `: ${e.message}` : ''}` : e.message;
  const reason = timedOut ? 'request timed out' : tlsProblem ? `${describeTlsProblem(tlsProblem)} (${e.code})` : detail;
  return new ConnectionError(`cannot reach ${endpoint}: ${reason}`, endpoint, { cause: err, timedOut, ...(tlsProblem && { tlsProblem }) });
}
