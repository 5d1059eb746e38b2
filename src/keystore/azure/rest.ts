/**
 * A small HTTP client for Azure Key Vault's REST API and Microsoft Entra ID's token endpoints:
 * node's http/https with keep-alive agents that close() destroys, a time-out on every request
 * (connection, headers and body), and network failures mapped to KeyStoreUnreachableError.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { KeyStoreUnreachableError } from '../keystore.js';

/** An HTTP answer, whatever its status. */
export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: string;
}

/** Answers above this size are refused (secrets are at most 25 KiB, pages a few KiB). */
const MAX_ANSWER_BYTES = 4 << 20;

export class HttpClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 32 });
  private readonly pending = new Set<http.ClientRequest>();
  private closed = false;

  constructor(private readonly timeoutMs: number) {}

  /**
   * Sends one request and reads the whole answer.
   * @param what the operation, for error messages (`failed to get 'k'`)
   * @throws KeyStoreUnreachableError when no complete answer arrives within the time-out
   */
  send(what: string, r: HttpRequest): Promise<HttpAnswer> {
    if (this.closed) return Promise.reject(new Error(`azure: ${what}: the store is closed`));
    const isHttps = r.url.protocol === 'https:';
    const request = isHttps ? https.request : http.request;
    const body = r.body === undefined ? undefined : Buffer.from(r.body, 'utf8');
    const headers: Record<string, string> = { ...r.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, answer?: HttpAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pending.delete(req);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(answer!);
      };
      const req = request(r.url, { method: r.method, headers, agent: isHttps ? this.httpsAgent : this.httpAgent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) finish(new Error(`azure: ${what}: answer larger than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (err) => finish(new KeyStoreUnreachableError(`azure: ${what}: service not reachable: ${err.message}`)));
        res.on('aborted', () => finish(new KeyStoreUnreachableError(`azure: ${what}: service not reachable: answer aborted`)));
      });
      this.pending.add(req);
      const timer = setTimeout(() => finish(new KeyStoreUnreachableError(`azure: ${what}: no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      req.on('error', (err) => finish(new KeyStoreUnreachableError(`azure: ${what}: service not reachable: ${err.message}`)));
      req.end(body);
    });
  }

  /** Aborts requests in flight and closes every connection. */
  close(): void {
    this.closed = true;
    for (const req of this.pending) req.destroy();
    this.pending.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** The JSON body of an answer; undefined when it is not JSON. */
export function json(answer: HttpAnswer): unknown {
  try {
    return JSON.parse(answer.body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Key Vault's error: `{"error": {"code", "message", "innererror": {"code"}}}`. Returns the
 * outer code, the inner code (the specific reason, e.g. `ObjectIsDeletedButRecoverable`, may be
 * absent) and the message.
 */
export function vaultError(answer: HttpAnswer): { code: string; inner: string | undefined; message: string } {
  const e = (json(answer) as { error?: { code?: unknown; message?: unknown; innererror?: { code?: unknown } } } | undefined)?.error;
  const code = typeof e?.code === 'string' ? e.code : `HTTP ${answer.status}`;
  const inner = typeof e?.innererror?.code === 'string' ? e.innererror.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : answer.body.toString('utf8').slice(0, 200);
  return { code, inner, message };
}

/** A bearer token and when to fetch the next one. */
interface Token {
  value: string;
  /** Epoch ms after which a new token is fetched (half its lifetime). */
  refreshAt: number;
}

/** Where access tokens for Key Vault come from. */
export interface TokenSource {
  /** A valid token; a new one when `fresh` (after a 401) or when the cached one is half-expired. */
  token(fresh?: boolean): Promise<string>;
}

/** Caches a token until half its lifetime has passed; concurrent callers share one fetch. */
abstract class CachingTokenSource implements TokenSource {
  private cached: Token | undefined;
  private inflight: Promise<Token> | undefined;

  async token(fresh = false): Promise<string> {
    if (!fresh && this.cached && Date.now() < this.cached.refreshAt) return this.cached.value;
    this.inflight ??= this.fetch().finally(() => (this.inflight = undefined));
    this.cached = await this.inflight;
    return this.cached.value;
  }

  protected abstract fetch(): Promise<Token>;

  protected static token(value: unknown, expiresIn: unknown, source: string): Token {
    const seconds = Number(expiresIn);
    if (typeof value !== 'string' || value === '' || !Number.isFinite(seconds) || seconds <= 0) throw new Error(`azure: ${source} answered without access_token and expires_in`);
    return { value, refreshAt: Date.now() + (seconds * 1000) / 2 };
  }
}

/** Default authority (Microsoft Entra ID, public cloud). */
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

/** OAuth 2.0 client credentials grant against `<authority>/<tenant>/oauth2/v2.0/token`. */
export class ClientSecretTokens extends CachingTokenSource {
  constructor(
    private readonly http: HttpClient,
    private readonly tenantId: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly scope: string,
    private readonly authorityHost: string = DEFAULT_AUTHORITY_HOST,
  ) {
    super();
  }

  protected async fetch(): Promise<Token> {
    const url = new URL(`${this.authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(this.tenantId)}/oauth2/v2.0/token`);
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.clientId, client_secret: this.clientSecret, scope: this.scope }).toString();
    const what = `failed to obtain an access token from ${url.origin}`;
    const answer = await this.http.send(what, { method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body });
    const out = json(answer) as { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } | undefined;
    if (answer.status !== 200) {
      // Entra ID's errors: {"error": "invalid_client", "error_description": "AADSTS7000215: ..."}; never echo the secret.
      const reason = typeof out?.error === 'string' ? `${out.error}${typeof out.error_description === 'string' ? `: ${out.error_description.split('\n')[0]}` : ''}` : `HTTP ${answer.status}`;
      throw new Error(`azure: ${what}: ${reason}`);
    }
    return CachingTokenSource.token(out?.access_token, out?.expires_in, url.origin);
  }
}

/** The Azure Instance Metadata Service (IMDS) of VMs, scale sets and AKS nodes. */
export const DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254';

/** Managed identity tokens from IMDS (`GET /metadata/identity/oauth2/token`, header `Metadata: true`). */
export class ManagedIdentityTokens extends CachingTokenSource {
  constructor(
    private readonly http: HttpClient,
    private readonly resource: string,
    private readonly clientId: string | undefined,
    private readonly imdsEndpoint: string = DEFAULT_IMDS_ENDPOINT,
  ) {
    super();
  }

  protected async fetch(): Promise<Token> {
    const url = new URL('/metadata/identity/oauth2/token', this.imdsEndpoint);
    url.searchParams.set('api-version', '2018-02-01');
    url.searchParams.set('resource', this.resource);
    if (this.clientId) url.searchParams.set('client_id', this.clientId);
    const what = 'failed to obtain a managed identity token';
    const answer = await this.http.send(what, { method: 'GET', url, headers: { metadata: 'true', accept: 'application/json' } });
    const out = json(answer) as { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } | undefined;
    if (answer.status !== 200) {
      const reason = typeof out?.error === 'string' ? `${out.error}${typeof out.error_description === 'string' ? `: ${out.error_description}` : ''}` : `HTTP ${answer.status}`;
      throw new Error(`azure: ${what}: ${reason}`);
    }
    return CachingTokenSource.token(out?.access_token, out?.expires_in, 'IMDS');
  }
}
