/**
 * A key store on GCP Secret Manager (protocol.md §9.3), spoken to over its REST API v1 with
 * node's http/https (no client library):
 *
 *   create  POST   /v1/projects/<p>/secrets?secretId=<name>  {"replication":{"automatic":{}}}
 *           POST   /v1/projects/<p>/secrets/<name>:addVersion {"payload":{"data":<b64 entry>}}
 *   get     GET    /v1/projects/<p>/secrets/<name>/versions/1:access → payload.data
 *   delete  DELETE /v1/projects/<p>/secrets/<name>
 *   list    GET    /v1/projects/<p>/secrets?pageSize=…&pageToken=… (every page, then sorted)
 *   status  GET    <endpoint> without credentials; any HTTP answer = reachable
 *
 * Requests carry an OAuth 2.0 access token of the configured service account, obtained with the
 * JWT bearer grant (RFC 7523): a JWT signed RS256 with the account's private key, exchanged at
 * its token URI. Tokens are reused until shortly before they expire; a 401 answer fetches a new
 * one and retries the request once.
 *
 * No `replace`: KES reads version 1 of a secret, and versions are immutable, so an entry cannot
 * be changed without breaking KES's layout.
 */
import { setMaxListeners } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { KesError } from '../../api/errors.js';
import { DEFAULT_STORE_TIMEOUT_MS } from '../../config/defaults.js';
import { checkedStore, compareNames, KeyStoreUnreachableError, type KeyStore, type KeyStoreState } from '../keystore.js';
import { probeEndpoint } from '../aws/endpoint-probe.js';
import { DEFAULT_GCP_TOKEN_URI, type GcpConfig } from './config.js';

export interface GcpSecretManagerOptions {
  /** Bound of every store operation, token requests included (default DEFAULT_STORE_TIMEOUT_MS). */
  timeoutMs?: number;
  /** `pageSize` of listings (default 25,000, the service's maximum). */
  pageSize?: number;
  /** A token is renewed this long before it expires (default 60 s; at most half its lifetime). */
  tokenRefreshMarginMs?: number;
}

/** The scope when the config names none: what Google's own clients ask for. */
export const DEFAULT_GCP_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** Secret ids the service accepts (REST reference of `projects.secrets.create`). */
const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** Reports whether the service can hold a secret of this name. */
export function isValidSecretId(name: string): boolean {
  return SECRET_ID.test(name);
}

/** Google's documented error body: `{"error": {"code", "message", "status"}}`. */
interface ApiError {
  code?: number;
  message?: string;
  status?: string;
}

/** An HTTP answer of the service. */
interface Answer {
  status: number;
  body: Buffer;
}

/** An answer of the service that is not a success, with the documented error status. */
class ServiceError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A key store on GCP Secret Manager; open it with {@link GcpSecretManagerKeyStore.connect}.
 * @example
 * const store = await GcpSecretManagerKeyStore.connect(config); // config: readGcpConfig(section)
 */
export class GcpSecretManagerKeyStore implements KeyStore {
  private readonly timeoutMs: number;
  private readonly pageSize: number;
  private readonly refreshMarginMs: number;
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true });
  /** Aborts every request in flight at close(). */
  private readonly closing = new AbortController();
  private token: { value: string; renewAt: number } | undefined;
  private pendingToken: Promise<string> | undefined;

  private constructor(
    /** The service endpoint, with scheme. */
    readonly endpoint: URL,
    private readonly tokenUri: URL,
    private readonly projectId: string,
    private readonly clientEmail: string,
    private readonly privateKeyId: string,
    private readonly privateKey: KeyObject,
    private readonly scopes: string[],
    options: GcpSecretManagerOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    this.pageSize = Math.min(25_000, Math.max(1, options.pageSize ?? 25_000));
    this.refreshMarginMs = options.tokenRefreshMarginMs ?? 60_000;
    // One listener per operation in flight.
    setMaxListeners(0, this.closing.signal);
  }

  /**
   * Checks the config, and that the endpoint answers. The access token is fetched with the first
   * request, as KES does; bad credentials show then.
   * @throws Error when the endpoint or token URI is not a URL, or the private key cannot be read
   * @throws KeyStoreUnreachableError when the endpoint does not answer
   */
  static async connect(config: GcpConfig, options: GcpSecretManagerOptions = {}): Promise<GcpSecretManagerKeyStore> {
    const c = config.credentials;
    if (c.clientEmail === '') throw new Error('gcp: credentials.client_email is required');
    if (c.privateKey === '') throw new Error('gcp: credentials.private_key is required');
    let key: KeyObject;
    try {
      // KES turns the two characters `\n` into newlines (keys pasted from a JSON key file).
      key = createPrivateKey(c.privateKey.replaceAll('\\n', '\n'));
    } catch (err) {
      throw new Error(`gcp: credentials.private_key is not a PEM private key: ${(err as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'rsa') throw new Error('gcp: credentials.private_key is not an RSA key');
    const scopes = config.scopes.length > 0 ? config.scopes : [DEFAULT_GCP_SCOPE];
    const store = new GcpSecretManagerKeyStore(
      httpUrl(config.endpoint, 'endpoint'),
      httpUrl(c.tokenUri ?? DEFAULT_GCP_TOKEN_URI, 'credentials.token_uri'),
      config.projectId,
      c.clientEmail,
      c.privateKeyId,
      key,
      scopes,
      options,
    );
    return checkedStore(store);
  }

  async status(): Promise<KeyStoreState> {
    return { latencyMs: await probeEndpoint(this.endpoint, this.timeoutMs, 'gcp') };
  }

  /**
   * Creates the secret (automatic replication), then adds the entry as its first version.
   * A secret of this name, with or without versions, means the key exists. When adding the
   * version fails, the secret is deleted again (best effort), so that the name is free.
   */
  async create(name: string, value: Uint8Array): Promise<void> {
    const what = `failed to create '${name}'`;
    if (!isValidSecretId(name)) {
      throw new Error(`gcp: ${what}: Secret Manager secret ids hold only letters, digits, '-' and '_' (at most 255 characters)`);
    }
    const data = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    await this.operation(what, async (signal) => {
      try {
        await this.call(signal, 'POST', `${this.secrets()}?secretId=${name}`, { replication: { automatic: {} } });
      } catch (err) {
        if (err instanceof ServiceError && err.status === 'ALREADY_EXISTS') throw new KesError('KES_ERR_KEY_EXISTS');
        throw err;
      }
      try {
        await this.call(signal, 'POST', `${this.secret(name)}:addVersion`, { payload: { data } });
      } catch (err) {
        await this.call(AbortSignal.timeout(this.timeoutMs), 'DELETE', this.secret(name)).catch(() => undefined);
        throw err;
      }
    });
  }

  /** Version 1 of the secret, as KES reads it; later versions are ignored. */
  async get(name: string): Promise<Uint8Array> {
    if (!isValidSecretId(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    return this.operation(`failed to get '${name}'`, async (signal) => {
      let answer: Answer;
      try {
        answer = await this.call(signal, 'GET', `${this.secret(name)}/versions/1:access`);
      } catch (err) {
        if (err instanceof ServiceError && err.status === 'NOT_FOUND') throw new KesError('KES_ERR_KEY_NOT_FOUND');
        throw err;
      }
      const data = (json(answer.body) as { payload?: { data?: unknown } }).payload?.data;
      // proto3 JSON leaves out empty bytes: an empty payload has no `data`.
      if (data !== undefined && typeof data !== 'string') throw new Error('payload.data is not a string');
      return Uint8Array.from(Buffer.from(data ?? '', 'base64'));
    });
  }

  /** Deletes the secret with all its versions. */
  async delete(name: string): Promise<void> {
    if (!isValidSecretId(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    await this.operation(`failed to delete '${name}'`, async (signal) => {
      try {
        await this.call(signal, 'DELETE', this.secret(name));
      } catch (err) {
        if (err instanceof ServiceError && err.status === 'NOT_FOUND') throw new KesError('KES_ERR_KEY_NOT_FOUND');
        throw err;
      }
    });
  }

  /**
   * The secret ids starting with prefix, in byte order. The service lists secrets in no
   * documented order and has no prefix filter, so every page is read (each within the time-out),
   * the ids are filtered here, sorted and then produced: memory grows with the number of matching
   * names.
   */
  async *list(prefix: string): AsyncIterable<string> {
    const what = `failed to list '${prefix}'`;
    const names: string[] = [];
    let token = '';
    do {
      const query = `pageSize=${this.pageSize}${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`;
      const page = await this.operation(what, async (signal) => {
        const answer = await this.call(signal, 'GET', `${this.secrets()}?${query}`);
        return json(answer.body) as { secrets?: { name?: unknown }[]; nextPageToken?: unknown };
      });
      for (const s of page.secrets ?? []) {
        if (typeof s.name !== 'string') continue;
        // projects/<project number>/secrets/<id>
        const id = s.name.slice(s.name.lastIndexOf('/') + 1);
        if (id.startsWith(prefix)) names.push(id);
      }
      token = typeof page.nextPageToken === 'string' ? page.nextPageToken : '';
    } while (token !== '');
    yield* names.sort(compareNames);
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.token = undefined;
  }

  private secrets(): string {
    return `/v1/projects/${encodeURIComponent(this.projectId)}/secrets`;
  }

  private secret(name: string): string {
    return `${this.secrets()}/${name}`;
  }

  /**
   * Runs one store operation within the time-out: its requests are aborted when the time is up
   * (or the store closes), and failures become the store's errors.
   */
  private async operation<T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new KeyStoreUnreachableError(`gcp: ${what}: no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    const onClose = () => controller.abort(new KeyStoreUnreachableError(`gcp: ${what}: the store was closed`));
    this.closing.signal.addEventListener('abort', onClose);
    try {
      return await run(controller.signal);
    } catch (err) {
      if (err instanceof KesError || err instanceof KeyStoreUnreachableError) throw err;
      if (controller.signal.aborted) throw controller.signal.reason as Error;
      if (err instanceof ServiceError) throw new Error(`gcp: ${what}: ${err.status || err.httpStatus}: ${err.message}`);
      if (isNetworkError(err)) throw new KeyStoreUnreachableError(`gcp: ${what}: service not reachable: ${(err as Error).message}`);
      throw new Error(`gcp: ${what}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.closing.signal.removeEventListener('abort', onClose);
    }
  }

  /**
   * One authorised API call; a 401 answer gets a fresh token and one retry.
   * @throws ServiceError for every answer but 2xx
   */
  private async call(signal: AbortSignal, method: string, path: string, body?: unknown): Promise<Answer> {
    const url = new URL(path, this.endpoint);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    for (let attempt = 0; ; attempt++) {
      const token = await this.accessToken(signal, attempt > 0);
      const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${token}`, accept: 'application/json' };
      if (payload) headers['content-type'] = 'application/json; charset=utf-8';
      const answer = await this.request(signal, method, url, headers, payload);
      if (answer.status >= 200 && answer.status < 300) return answer;
      const error = apiError(answer);
      if (answer.status === 401 && attempt === 0) {
        this.token = undefined;
        continue;
      }
      throw new ServiceError(answer.status, error.status ?? '', error.message ?? `HTTP ${answer.status}`);
    }
  }

  /** The cached access token, or a new one (one request at a time for all callers). */
  private async accessToken(signal: AbortSignal, fresh: boolean): Promise<string> {
    if (!fresh && this.token && Date.now() < this.token.renewAt) return this.token.value;
    this.pendingToken ??= this.fetchToken().finally(() => (this.pendingToken = undefined));
    return raceAbort(this.pendingToken, signal);
  }

  /** The JWT bearer grant (RFC 7523) at the token URI, bounded by the time-out on its own. */
  private async fetchToken(): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', ...(this.privateKeyId ? { kid: this.privateKeyId } : {}) };
    const claims = { iss: this.clientEmail, scope: this.scopes.join(' '), aud: this.tokenUri.href, iat: now, exp: now + 3600 };
    const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(unsigned).sign(this.privateKey).toString('base64url');
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: `${unsigned}.${signature}` });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new KeyStoreUnreachableError(`gcp: token endpoint '${this.tokenUri.origin}' did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    const onClose = () => controller.abort(new KeyStoreUnreachableError('gcp: the store was closed'));
    this.closing.signal.addEventListener('abort', onClose);
    const started = Date.now();
    let answer: Answer;
    try {
      answer = await this.request(controller.signal, 'POST', this.tokenUri, { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, Buffer.from(form.toString()));
    } catch (err) {
      if (controller.signal.aborted) throw controller.signal.reason as Error;
      if (isNetworkError(err)) throw new KeyStoreUnreachableError(`gcp: token endpoint '${this.tokenUri.origin}' is not reachable: ${(err as Error).message}`);
      throw err;
    } finally {
      clearTimeout(timer);
      this.closing.signal.removeEventListener('abort', onClose);
    }
    let out: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown };
    try {
      out = json(answer.body) as typeof out;
    } catch {
      out = {};
    }
    if (answer.status !== 200 || typeof out.access_token !== 'string' || out.access_token === '') {
      const reason = typeof out.error === 'string' ? `${out.error}${typeof out.error_description === 'string' ? `: ${out.error_description}` : ''}` : `HTTP ${answer.status}`;
      throw new Error(`no access token for '${this.clientEmail}' from '${this.tokenUri.origin}': ${reason}`);
    }
    const lifetimeMs = (typeof out.expires_in === 'number' && out.expires_in > 0 ? out.expires_in : 3600) * 1000;
    this.token = { value: out.access_token, renewAt: started + lifetimeMs - Math.min(this.refreshMarginMs, lifetimeMs / 2) };
    return out.access_token;
  }

  /**
   * One HTTP request on the store's keep-alive agents; the answer is read completely. A GET whose
   * kept-alive connection turns out closed by the service (reset before any answer) is sent once
   * more on a new connection; other methods are not, as they might have been executed.
   */
  private request(signal: AbortSignal, method: string, url: URL, headers: http.OutgoingHttpHeaders, body?: Buffer, retried = false): Promise<Answer> {
    const secure = url.protocol === 'https:';
    const send = secure ? https.request : http.request;
    if (body) headers['content-length'] = body.length;
    return new Promise<Answer>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      const req = send(url, { method, headers, agent: secure ? this.httpsAgent : this.httpAgent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          signal.removeEventListener('abort', abort);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
        });
        res.on('error', fail);
        res.on('aborted', () => fail(Object.assign(new Error('connection closed before the answer was complete'), { code: 'ECONNRESET' })));
      });
      const abort = () => {
        req.destroy();
        reject(signal.reason as Error);
      };
      function fail(err: Error) {
        signal.removeEventListener('abort', abort);
        reject(err);
      }
      signal.addEventListener('abort', abort, { once: true });
      req.on('error', (err: Error & { code?: string }) => {
        if (!retried && method === 'GET' && req.reusedSocket && err.code === 'ECONNRESET' && !signal.aborted) {
          signal.removeEventListener('abort', abort);
          resolve(this.request(signal, method, url, headers, body, true));
          return;
        }
        fail(err);
      });
      req.end(body);
    });
  }
}

/**
 * The endpoint as a URL; `https://` is assumed without a scheme, as in KES configs
 * (`secretmanager.googleapis.com:443`).
 * @throws Error when it is not a valid http(s) URL
 */
export function httpUrl(value: string, field: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`gcp: ${field} '${value}' is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`gcp: ${field} '${value}' is not an http(s) URL`);
  return url;
}

function b64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

function json(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error('the service answered with malformed JSON');
  }
}

/** The documented error of an answer; empty when the body is not Google's error shape. */
function apiError(answer: Answer): ApiError {
  try {
    const error = (JSON.parse(answer.body.toString('utf8')) as { error?: unknown }).error;
    if (error && typeof error === 'object') {
      const e = error as Record<string, unknown>;
      return {
        ...(typeof e.code === 'number' ? { code: e.code } : {}),
        ...(typeof e.message === 'string' ? { message: e.message } : {}),
        ...(typeof e.status === 'string' ? { status: e.status } : {}),
      };
    }
  } catch {
    // not JSON (e.g. an HTML page of a proxy)
  }
  return {};
}

/** The promise, or the signal's reason once it aborts (the promise goes on for others). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', abort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', abort), reject(e as Error)),
    );
  });
}

// Node's errors of a connection that could not be made or broke before an answer.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN']);

function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}
