/**
 * A small client of the CipherTrust Manager / KeySecure REST API (protocol.md §9.3 "Thales
 * CipherTrust / Gemalto KeySecure"), on node's http/https.
 *
 * Authentication: the configured refresh token is exchanged at `POST /api/v1/auth/tokens`
 * (`grant_type: refresh_token`) for a bearer JWT valid `duration` seconds. The JWT is used until
 * half its lifetime has passed, then exchanged again before the next request (as KES did, at
 * duration/2); a request answered 401 gets one retry with a freshly exchanged JWT. Exchanges
 * are single-flight: concurrent requests wait for the same one. No timer runs in the background.
 *
 * Every request (token exchanges included) is bounded by `timeoutMs`: a request without an answer
 * is aborted and fails with KeyStoreUnreachableError, as do refused, reset and unresolvable
 * connections. Connections are kept alive on an agent of the client's own, which close() destroys.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { KeyStoreUnreachableError } from '../keystore.js';

/** An HTTP answer of the service. */
export interface ApiResponse {
  status: number;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  body: unknown;
}

export interface KeySecureClientOptions {
  /** The service URL (scheme, host, port). */
  endpoint: URL;
  /** The refresh token of the service account. */
  refreshToken: string;
  /** The CipherTrust domain to authenticate in ('' = the root domain). */
  domain: string;
  /** Bound of every request, in milliseconds. */
  timeoutMs: number;
  /** PEM CA certificates that verify the service's certificate (default: the system's). */
  ca?: string;
}

/** A CipherTrust error answer: `{"code", "codeDesc", "message"}`. */
export function errorText(res: ApiResponse): string {
  const b = res.body as { codeDesc?: unknown; message?: unknown } | undefined;
  const parts = [b?.codeDesc, b?.message].filter((x): x is string => typeof x === 'string' && x !== '');
  return `HTTP ${res.status}${parts.length > 0 ? `: ${[...new Set(parts)].join(': ')}` : ''}`;
}

// Node's errors of a connection that could not be made or broke before an answer.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

interface Token {
  jwt: string;
  /** performance.now() after which the token is exchanged again (half its lifetime). */
  refreshAt: number;
}

export class KeySecureClient {
  private readonly agent: http.Agent;
  private token: Token | undefined;
  private exchanging: Promise<Token> | undefined;
  private closed = false;
  /** How many token exchanges succeeded (for tests and diagnostics). */
  exchanges = 0;

  constructor(private readonly options: KeySecureClientOptions) {
    const agentOptions = { keepAlive: true, maxSockets: 32 };
    this.agent = options.endpoint.protocol === 'https:' ? new https.Agent({ ...agentOptions, ...(options.ca ? { ca: options.ca } : {}) }) : new http.Agent(agentOptions);
  }

  /** The JWT in use, exchanged first when there is none or half its lifetime has passed. */
  async bearer(): Promise<string> {
    const t = this.token;
    if (t && performance.now() < t.refreshAt) return t.jwt;
    return (await this.exchange()).jwt;
  }

  /**
   * Sends an authenticated request; a 401 answer is retried once with a fresh JWT.
   * @throws KeyStoreUnreachableError without an answer within timeoutMs
   * @throws Error when the token exchange is refused
   */
  async call(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const jwt = await this.bearer();
    const res = await this.send(method, path, body, jwt);
    if (res.status !== 401) return res;
    if (this.token?.jwt === jwt) this.token = undefined;
    return this.send(method, path, body, await this.bearer());
  }

  /** Exchanges the refresh token for a JWT (single-flight). */
  exchange(): Promise<Token> {
    this.exchanging ??= this.doExchange().finally(() => {
      this.exchanging = undefined;
    });
    return this.exchanging;
  }

  private async doExchange(): Promise<Token> {
    const started = performance.now();
    const request = { grant_type: 'refresh_token', refresh_token: this.options.refreshToken, domain: this.options.domain };
    const res = await this.send('POST', '/api/v1/auth/tokens', request, undefined);
    if (res.status !== 200) throw new Error(`gemalto: token exchange refused: ${errorText(res)}`);
    const b = res.body as { jwt?: unknown; duration?: unknown; token_type?: unknown } | undefined;
    if (typeof b?.jwt !== 'string' || b.jwt === '' || typeof b.duration !== 'number' || !(b.duration > 0)) {
      throw new Error('gemalto: token exchange answered without a jwt and a positive duration');
    }
    if (b.token_type !== undefined && String(b.token_type).toLowerCase() !== 'bearer') throw new Error(`gemalto: token exchange answered token_type '${String(b.token_type)}', not Bearer`);
    const token = { jwt: b.jwt, refreshAt: started + (b.duration * 1000) / 2 };
    this.token = token;
    this.exchanges++;
    return token;
  }

  /** One request; resolves with any HTTP answer. */
  send(method: string, path: string, body: unknown, jwt: string | undefined): Promise<ApiResponse> {
    if (this.closed) return Promise.reject(new Error('gemalto: the key store is closed'));
    const url = new URL(path, this.options.endpoint);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(payload.length) });
    if (jwt !== undefined) headers.authorization = `Bearer ${jwt}`;
    const what = `${method} ${url.pathname}`;
    const request = url.protocol === 'https:' ? https.request : http.request;
    return new Promise<ApiResponse>((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        fn();
      };
      const req = request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => finish(() => reject(unreachable(what, err))));
        res.on('end', () =>
          finish(() => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          }),
        );
      });
      const timer = setTimeout(() => {
        finish(() => reject(new KeyStoreUnreachableError(`gemalto: ${what}: no answer within ${this.options.timeoutMs} ms`)));
        req.destroy();
      }, this.options.timeoutMs);
      req.on('error', (err) => finish(() => reject(isNetworkError(err) ? unreachable(what, err) : new Error(`gemalto: ${what}: ${err.message}`))));
      req.end(payload);
    });
  }

  /** Destroys every connection; requests in flight fail. */
  close(): void {
    this.closed = true;
    this.token = undefined;
    this.agent.destroy();
  }
}

function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

function unreachable(what: string, err: Error): KeyStoreUnreachableError {
  return new KeyStoreUnreachableError(`gemalto: ${what}: service not reachable: ${err.message}`);
}
