/**
 * The Entrust KeyControl key store (protocol.md §9.3 `keystore.entrust.keycontrol`): one secret
 * per key in a box of a KeyControl secrets vault, named after the key, holding the stored entry
 * base64-encoded in `secret_data`, as KES writes it.
 *
 * - login: `POST /vault/1.0/Login/<vault_id>/` `{username, password}` → `{access_token,
 *   expires_at}`; every other call carries the token in `X-Vault-Auth`. The token is renewed
 *   (`POST /vault/1.0/Renew/`) at half its lifetime (5 min when the service gives none), or
 *   replaced by a new login when renewal fails; a call answered 401 logs in again and is retried
 *   once.
 * - create: `CreateSecret` `{box_id, name, secret_data}`; 409 "Secret already exists" →
 *   KES_ERR_KEY_EXISTS.
 * - get: `CheckoutSecret` `{box_id, secret_id: name}` → `secret_data`; 404 "Secret not found" →
 *   KES_ERR_KEY_NOT_FOUND.
 * - delete: `DeleteSecret` `{box_id, secret_id: name}`; 404 → KES_ERR_KEY_NOT_FOUND.
 * - list: every `ListSecretIds` page (`next_token` = base64 JSON `{box_id, next_ctx}`), expired
 *   secrets and empty names skipped, narrowed to the prefix, then sorted.
 * - status: `GetBox` `{box_id}`; latency = its round trip.
 * - no replace: KeyControl's secrets API offers no compare-and-swap (docs/keystores/entrust.md).
 *
 * Every request is bounded by `timeoutMs`; a request without an answer in time, or whose
 * connection fails, is KeyStoreUnreachableError.
 */
import { readCaBundle, withSystemRoots } from '../../pki/tls-files.js';
import * as http from 'node:http';
import * as https from 'node:https';
import { KesError } from '../../api/errors.js';
import { DEFAULT_STORE_TIMEOUT_MS } from '../../config/defaults.js';
import { checkedStore, compareNames, KeyStoreUnreachableError, type KeyStore, type KeyStoreState } from '../keystore.js';
import type { EntrustConfig } from './config.js';

/** Tuning of the store; the defaults suit production. */
export interface KeyControlOptions {
  /** Bound of every request, logins and renewals included (default DEFAULT_STORE_TIMEOUT_MS). */
  timeoutMs?: number;
  /** `max_items` of a `ListSecretIds` page (default 256, as KES). */
  pageSize?: number;
  /** How long after a failed renewal and login the next attempt is made (default 5 s). */
  renewRetryMs?: number;
}

/** The token lifetime assumed when the service names no (or a past) expiry, as KES: 5 minutes. */
const FALLBACK_LIFETIME_MS = 5 * 60_000;
/** The longest delay setTimeout takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Largest answer body read (a listing page of 256 names fits many times). */
const MAX_BODY = 16 << 20;

/** An answer of the service: its status and parsed JSON body (undefined if not JSON). */
interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
}

/** A token and when to renew it. */
interface Token {
  value: string;
  /** Milliseconds from issue to expiry. */
  lifetimeMs: number;
}

/**
 * A key store on Entrust KeyControl; open it with {@link KeyControlKeyStore.connect}.
 * @example
 * const store = await KeyControlKeyStore.connect({ type: 'entrust', endpoint: 'https://keycontrol.example', vaultId, boxId, username, password });
 */
export class KeyControlKeyStore implements KeyStore {
  private readonly timeoutMs: number;
  private readonly pageSize: number;
  private readonly renewRetryMs: number;
  private token = '';
  private renewTimer: NodeJS.Timeout | undefined;
  /** A login in progress, shared by the calls that need a fresh token at once. */
  private loggingIn: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly config: EntrustConfig,
    /** The service endpoint, without trailing slash. */
    readonly endpoint: URL,
    private readonly agent: http.Agent,
    options: KeyControlOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    this.pageSize = Math.max(1, options.pageSize ?? 256);
    this.renewRetryMs = options.renewRetryMs ?? 5_000;
  }

  /**
   * Logs in, checks the box with GetBox and starts token renewal.
   * @throws KeyStoreUnreachableError when the service does not answer
   * @throws Error when the login or the box is refused, or the CA file cannot be read
   */
  static async connect(config: EntrustConfig, options: KeyControlOptions = {}): Promise<KeyControlKeyStore> {
    const endpoint = new URL(config.endpoint.includes('://') ? config.endpoint : `https://${config.endpoint}`);
    const ca = config.caPath ? withSystemRoots(readCaBundle(config.caPath, 'entrust')) : undefined;
    const agent = endpoint.protocol === 'https:' ? new https.Agent({ keepAlive: true, ...(ca ? { ca } : {}) }) : new http.Agent({ keepAlive: true });
    const store = new KeyControlKeyStore(config, endpoint, agent, options);
    return checkedStore(store, async (s) => {
      await s.login();
      await s.status();
    });
  }

  async status(): Promise<KeyStoreState> {
    const start = performance.now();
    const answer = await this.call('GetBox', { box_id: this.config.boxId }, 'check', this.config.boxId);
    const latencyMs = performance.now() - start;
    if (answer.status !== 200) throw this.failure('check', this.config.boxId, answer);
    return { latencyMs };
  }

  async create(name: string, value: Uint8Array): Promise<void> {
    const answer = await this.call('CreateSecret', { box_id: this.config.boxId, name, secret_data: Buffer.from(value).toString('base64') }, 'create', name);
    if (answer.status === 200) return;
    if (answer.status === 409 && answer.body?.error === 'Secret already exists') throw new KesError('KES_ERR_KEY_EXISTS');
    throw this.failure('create', name, answer);
  }

  async get(name: string): Promise<Uint8Array> {
    const answer = await this.call('CheckoutSecret', { box_id: this.config.boxId, secret_id: name }, 'get', name);
    if (answer.status === 200) {
      const data = answer.body?.secret_data;
      if (typeof data !== 'string') throw new Error(`entrust: failed to get '${name}': the answer has no secret_data`);
      return new Uint8Array(Buffer.from(data, 'base64'));
    }
    throw this.failure('get', name, answer);
  }

  async delete(name: string): Promise<void> {
    const answer = await this.call('DeleteSecret', { box_id: this.config.boxId, secret_id: name }, 'delete', name);
    if (answer.status !== 200) throw this.failure('delete', name, answer);
  }

  /**
   * The service lists a box's secrets in pages and cannot filter by name: every page is read,
   * the names under prefix kept, then sorted. Memory grows with the number of matching names.
   */
  async *list(prefix: string): AsyncIterable<string> {
    const names: string[] = [];
    let nextToken: string | undefined;
    for (;;) {
      const request: Record<string, unknown> = { box_id: this.config.boxId, max_items: this.pageSize };
      if (nextToken) request.next_token = nextToken;
      const answer = await this.call('ListSecretIds', request, 'list', prefix);
      if (answer.status !== 200) throw this.failure('list', prefix, answer);
      const secrets = answer.body?.secrets ?? [];
      if (!Array.isArray(secrets)) throw new Error(`entrust: failed to list '${prefix}': the answer has no secrets array`);
      for (const s of secrets as { name?: unknown; expired?: unknown }[]) {
        if (typeof s?.name === 'string' && s.name !== '' && s.expired !== true && s.name.startsWith(prefix)) names.push(s.name);
      }
      const token = answer.body?.next_token;
      if (typeof token !== 'string' || token === '' || secrets.length === 0) break;
      if (!isPageToken(token) || token === nextToken) throw new Error(`entrust: failed to list '${prefix}': invalid next_token`);
      nextToken = token;
    }
    names.sort(compareNames);
    yield* names;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
    this.agent.destroy();
  }

  /** Sends an operation with the token; an answer 401 logs in (once for concurrent calls) and sends it again, once. */
  private async call(operation: string, body: Record<string, unknown>, verb: string, name: string): Promise<Answer> {
    if (this.closed) throw new Error('entrust: the store is closed');
    const path = `/vault/1.0/${operation}/`;
    const used = this.token;
    const answer = await this.send(path, body, used, verb, name);
    if (answer.status !== 401) return answer;
    // Another call may have logged in already since this one was sent.
    if (this.token === used) await this.relogin(verb, name);
    return this.send(path, body, this.token, verb, name);
  }

  /** Logs in again unless a login is already under way; shares it. */
  private relogin(verb: string, name: string): Promise<void> {
    this.loggingIn ??= this.login().finally(() => (this.loggingIn = undefined));
    return this.loggingIn.catch((err: unknown) => {
      if (err instanceof KeyStoreUnreachableError) throw err;
      throw new Error(`entrust: failed to ${verb} '${name}': ${(err as Error).message.replace(/^entrust: /, '')}`);
    });
  }

  /** Logs in with username and password and schedules the renewal. */
  private async login(): Promise<void> {
    const path = `/vault/1.0/Login/${encodeURIComponent(this.config.vaultId)}/`;
    const answer = await this.send(path, { username: this.config.username, password: this.config.password }, undefined, 'login to', this.config.vaultId);
    this.accept(this.tokenOf(answer, 'login'));
  }

  /** Renews the token; on failure logs in; on failure again retries after renewRetryMs. */
  private async renew(): Promise<void> {
    try {
      const answer = await this.send('/vault/1.0/Renew/', undefined, this.token, 'renew token of', this.config.vaultId);
      this.accept(this.tokenOf(answer, 'renew'));
    } catch {
      try {
        await this.login();
      } catch {
        if (!this.closed) this.schedule(this.renewRetryMs);
      }
    }
  }

  private accept(token: Token): void {
    if (this.closed) return;
    this.token = token.value;
    this.schedule(token.lifetimeMs / 2);
  }

  private schedule(ms: number): void {
    clearTimeout(this.renewTimer);
    // Bounded: setTimeout fires at once for delays beyond 2^31 - 1 ms (about 24.8 days).
    this.renewTimer = setTimeout(() => void this.renew(), Math.min(Math.max(ms, 100), MAX_TIMER_MS));
    this.renewTimer.unref();
  }

  private tokenOf(answer: Answer, what: string): Token {
    if (answer.status !== 200) throw new Error(`entrust: ${what} failed: ${describe(answer)}`);
    const value = answer.body?.access_token;
    if (typeof value !== 'string' || value === '') throw new Error(`entrust: ${what} failed: the answer has no access_token`);
    const expires = typeof answer.body?.expires_at === 'string' ? Date.parse(answer.body.expires_at) : NaN;
    const lifetimeMs = Number.isFinite(expires) && expires > Date.now() ? expires - Date.now() : FALLBACK_LIFETIME_MS;
    return { value, lifetimeMs };
  }

  /** The error of an answer other than success: not found, or a plain error of the service. */
  private failure(verb: string, name: string, answer: Answer): Error {
    if (answer.status === 404 && answer.body?.error === 'Secret not found') return new KesError('KES_ERR_KEY_NOT_FOUND');
    return new Error(`entrust: failed to ${verb} '${name}': ${describe(answer)}`);
  }

  /** One POST with a JSON body (none when body is undefined), bounded by timeoutMs. */
  private send(path: string, body: Record<string, unknown> | undefined, token: string | undefined, verb: string, name: string): Promise<Answer> {
    const url = new URL(this.endpoint.pathname.replace(/\/+$/, '') + path, this.endpoint);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json', 'content-length': payload?.length ?? 0 };
    if (payload) headers['content-type'] = 'application/json';
    if (token !== undefined) headers['x-vault-auth'] = token;
    const request = url.protocol === 'https:' ? https.request : http.request;
    const fail = (why: string) => new KeyStoreUnreachableError(`entrust: failed to ${verb} '${name}': ${why}`);
    return new Promise<Answer>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY) {
            clearTimeout(timer);
            req.destroy();
            reject(new Error(`entrust: failed to ${verb} '${name}': answer larger than ${MAX_BODY} bytes`));
          } else chunks.push(chunk);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: parseJson(Buffer.concat(chunks)) });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(fail(`service not reachable: ${err.message}`));
        });
        res.on('close', () => {
          clearTimeout(timer);
          if (!res.complete) reject(fail('service not reachable: the connection closed before the answer was complete'));
        });
      });
      const timer = setTimeout(() => {
        req.destroy();
        reject(fail(`no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(fail(`service not reachable: ${err.message}`));
      });
      req.end(payload);
    });
  }
}

/** A listing token as the service issues it: base64 of a JSON object (`{box_id, next_ctx}`). */
function isPageToken(token: string): boolean {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    return typeof decoded === 'object' && decoded !== null;
  } catch {
    return false;
  }
}

function parseJson(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `<status>: <error>` of an answer, from its `{"error"}` body when it has one. */
function describe(answer: Answer): string {
  const error = answer.body?.error;
  return typeof error === 'string' && error !== '' ? `${answer.status}: ${error}` : `HTTP ${answer.status}`;
}
