/**
 * A small HTTP(S) client for the Fortanix DSM (SDKMS) REST API: one request at a time with a
 * time-out, over one keep-alive agent that close() destroys. It knows nothing about keys; the
 * store (sdkms.ts) builds the requests.
 *
 * Every request that gets no HTTP answer within the time-out (refused, reset, unknown host, no
 * answer) fails with KeyStoreUnreachableError; an answer, whatever its status, is returned.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { KeyStoreUnreachableError } from '../keystore.js';

/** An answer of the service. */
export interface FortanixResponse {
  status: number;
  body: Buffer;
}

export interface FortanixRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query, e.g. `/crypto/v1/keys?sort=name:asc`. */
  path: string;
  /** The `Authorization` header, if any. */
  authorization?: string;
  /** Sent as JSON. */
  body?: unknown;
}

/** Answers larger than this are cut off as an error (a listing page of 100 objects is far smaller). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export class FortanixClient {
  private readonly agent: http.Agent;
  private closed = false;

  constructor(
    /** The service endpoint, with scheme; its path is the base of every request path. */
    readonly endpoint: URL,
    private readonly timeoutMs: number,
    ca?: string[],
  ) {
    const options = { keepAlive: true, maxSockets: 32, ...(ca ? { ca } : {}) };
    this.agent = endpoint.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
  }

  /**
   * Sends one request.
   * @param what for messages: `failed to get 'k'`
   * @throws KeyStoreUnreachableError when no answer arrives within the time-out
   */
  send(request: FortanixRequest, what: string): Promise<FortanixResponse> {
    if (this.closed) return Promise.reject(new Error(`fortanix: ${what}: the store is closed`));
    const base = this.endpoint.pathname.replace(/\/+$/, '');
    const url = new URL(this.endpoint.origin + base + request.path);
    const payload = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (request.authorization) headers.Authorization = request.authorization;
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise<FortanixResponse>((resolve, reject) => {
      let done = false;
      const finish = (err: Error | undefined, res?: FortanixResponse) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(res!);
      };
      const req = lib.request(url, { method: request.method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            req.destroy();
            finish(new Error(`fortanix: ${what}: the answer is larger than ${MAX_ANSWER_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', (err) => finish(new KeyStoreUnreachableError(`fortanix: ${what}: service not reachable: ${err.message}`)));
        res.on('aborted', () => finish(new KeyStoreUnreachableError(`fortanix: ${what}: service not reachable: the answer was cut off`)));
      });
      const timer = setTimeout(() => {
        finish(new KeyStoreUnreachableError(`fortanix: ${what}: no answer within ${this.timeoutMs} ms`));
        req.destroy();
      }, this.timeoutMs);
      req.on('error', (err) => finish(networkOrTlsError(what, err)));
      req.end(payload);
    });
  }

  /** Destroys every connection; requests in flight fail, later ones are refused. */
  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}

// Node's errors of a connection that could not be made or broke before an answer.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** Network failures are "unreachable"; TLS verification and other errors are plain errors. */
function networkOrTlsError(what: string, err: Error): Error {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return new KeyStoreUnreachableError(`fortanix: ${what}: service not reachable: ${err.message}`);
  if (err.message === 'socket hang up') return new KeyStoreUnreachableError(`fortanix: ${what}: service not reachable: ${err.message}`);
  return new Error(`fortanix: ${what}: ${err.message}`, { cause: err });
}
