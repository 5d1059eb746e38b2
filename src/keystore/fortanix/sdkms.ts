/**
 * The Fortanix DSM (SDKMS) key store (protocol.md §9.3 `keystore.fortanix.sdkms`): one OPAQUE
 * security object per key, named after the key, whose value is the stored entry. The layout is
 * KES's, so a KES server and openkes share the same objects:
 *
 * - create: `PUT /crypto/v1/keys` `{"name", "obj_type": "OPAQUE", "group_id"?, "key_ops":
 *   ["EXPORT", "APPMANAGEABLE"], "value": base64(entry), "enabled": true}`; 409 →
 *   KES_ERR_KEY_EXISTS (the service keeps names unique, so create is atomic and create-only);
 * - get: `POST /crypto/v1/keys/export` `{"name"}` → `value` (base64); 404 → KES_ERR_KEY_NOT_FOUND;
 *   a disabled object is an error;
 * - delete: export to learn the object's `kid`, then `DELETE /crypto/v1/keys/<kid>`;
 * - list: `GET /crypto/v1/keys?sort=name:asc&limit=100&start=<name>`, page after page, each
 *   page starting at the last name of the one before (KES asked for the same page forever);
 * - status: a plain GET of the endpoint (§9.4), without credentials; any answer is reachable.
 *
 * No replace: no DSM request is conditional on an object's current value or version, so there is
 * no compare-and-swap (docs/keystores/fortanix.md, "Rotation").
 *
 * Authentication: the API key (`Authorization: Basic <api key>`) is sent only to `POST
 * /sys/v1/session/auth`, which answers a bearer token and its lifetime (`expires_in`). Every
 * other call carries the bearer token; a new one is obtained when 80 % of the lifetime has
 * passed, and once more when the service answers 401 (the request is then retried once).
 * close() terminates the session and destroys the connections.
 */
import { KesError } from '../../api/errors.js';
import { DEFAULT_STORE_TIMEOUT_MS } from '../../config/defaults.js';
import { readCaBundle, withSystemRoots } from '../../pki/tls-files.js';
import { compareNames, KeyStoreUnreachableError, type KeyStore, type KeyStoreState } from '../keystore.js';
import { FortanixClient, type FortanixRequest, type FortanixResponse } from './client.js';
import type { FortanixConfig } from './config.js';

export interface FortanixOptions {
  /** Bound of every request (default DEFAULT_STORE_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Objects per listing page, 1…100 (default 100, as KES). */
  pageSize?: number;
}

/** Security object names the service accepts (its `name` pattern): no line feed, not blank, ≤ 4096. */
const OBJECT_NAME = /^[^\n]*[^\s\n][^\n]*$/;

/** Reports whether the service can hold an object of this name. */
export function isValidObjectName(name: string): boolean {
  return name.length <= 4096 && OBJECT_NAME.test(name);
}

/** The part of the service's security object (`Sobject`) the store reads. */
interface Sobject {
  kid?: string;
  name?: string;
  value?: string;
  enabled?: boolean;
}

interface Session {
  token: string;
  /** When a new token is obtained (performance.now() time). */
  refreshAt: number;
}

/**
 * A key store on Fortanix DSM; open it with {@link FortanixKeyStore.connect}.
 * @example
 * const store = await FortanixKeyStore.connect({ type: 'fortanix', endpoint: 'https://sdkms.fortanix.com', apiKey });
 */
export class FortanixKeyStore implements KeyStore {
  private session: Session | undefined;
  private login: Promise<Session> | undefined;
  private readonly pageSize: number;

  private constructor(
    private readonly client: FortanixClient,
    private readonly apiKey: string,
    private readonly groupId: string | undefined,
    options: FortanixOptions,
  ) {
    this.pageSize = Math.min(100, Math.max(1, Math.floor(options.pageSize ?? 100)));
  }

  /**
   * Checks the service's health (`GET /sys/v1/health`) and logs in with the API key.
   * An endpoint without scheme means `https://`.
   * @throws KeyStoreUnreachableError when the service does not answer or reports itself unhealthy
   * @throws Error when the API key is refused, or the CA file cannot be read
   */
  static async connect(config: FortanixConfig, options: FortanixOptions = {}): Promise<FortanixKeyStore> {
    const endpoint = endpointUrl(config.endpoint);
    const timeoutMs = Math.max(1, options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS);
    const ca = config.caPath ? withSystemRoots(readCaBundle(config.caPath, 'fortanix')) : undefined;
    const store = new FortanixKeyStore(new FortanixClient(endpoint, timeoutMs, ca), config.apiKey, config.groupId || undefined, options);
    try {
      const health = await store.client.send({ method: 'GET', path: '/sys/v1/health' }, 'failed to check health');
      if (health.status >= 500) throw new KeyStoreUnreachableError(`fortanix: failed to check health: ${describe(health)}`);
      if (health.status < 200 || health.status > 299) throw new Error(`fortanix: failed to check health: ${describe(health)}`);
      await store.bearer();
    } catch (err) {
      store.client.close();
      throw err;
    }
    return store;
  }

  async status(): Promise<KeyStoreState> {
    const start = performance.now();
    await this.client.send({ method: 'GET', path: '' }, 'failed to check status');
    return { latencyMs: performance.now() - start };
  }

  async create(name: string, value: Uint8Array): Promise<void> {
    const what = `failed to create '${name}'`;
    if (!isValidObjectName(name)) throw new Error(`fortanix: ${what}: not a valid security object name`);
    const body = {
      name,
      obj_type: 'OPAQUE',
      ...(this.groupId ? { group_id: this.groupId } : {}),
      key_ops: ['EXPORT', 'APPMANAGEABLE'],
      value: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'),
      enabled: true,
    };
    const res = await this.call({ method: 'PUT', path: '/crypto/v1/keys', body }, what);
    if (res.status === 409) throw new KesError('KES_ERR_KEY_EXISTS');
    if (!ok(res)) throw new Error(`fortanix: ${what}: ${describe(res)}`);
  }

  async get(name: string): Promise<Uint8Array> {
    const object = await this.export(name, `failed to get '${name}'`);
    return decodeValue(object, `failed to get '${name}'`);
  }

  async delete(name: string): Promise<void> {
    const what = `failed to delete '${name}'`;
    const object = await this.export(name, what);
    if (typeof object.kid !== 'string' || object.kid === '') throw new Error(`fortanix: ${what}: the security object has no kid`);
    const res = await this.call({ method: 'DELETE', path: `/crypto/v1/keys/${encodeURIComponent(object.kid)}` }, what);
    if (res.status === 404) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    if (!ok(res)) throw new Error(`fortanix: ${what}: ${describe(res)}`);
  }

  /**
   * The names starting with prefix, page by page (`sort=name:asc`, `limit`, `start`).
   *
   * The first page starts just before prefix (at prefix without its last character), later
   * pages at the last name of the page before. Whether the service includes the `start` name
   * in a page or not, names not after the previous start are skipped, so each name is produced
   * once and listing always advances; it ends with a short page or the first name past prefix.
   */
  async *list(prefix: string): AsyncIterable<string> {
    const what = `failed to list '${prefix}'`;
    const shorter = prefix.replace(/[\s\S]$/u, ''); // without its last code point
    let start = shorter !== '' && isValidObjectName(shorter) ? shorter : undefined;
    let last: string | undefined;
    for (;;) {
      const query = `sort=name:asc&limit=${this.pageSize}${start !== undefined ? `&start=${encodeURIComponent(start)}` : ''}`;
      const res = await this.call({ method: 'GET', path: `/crypto/v1/keys?${query}` }, what);
      if (!ok(res)) throw new Error(`fortanix: ${what}: ${describe(res)}`);
      const page = parseList(res, what);
      for (const name of page) {
        if (start !== undefined && compareNames(name, start) <= 0) continue;
        if (last !== undefined && compareNames(name, last) <= 0) continue;
        if (!name.startsWith(prefix)) {
          if (compareNames(name, prefix) > 0) return; // past every name with the prefix
          continue;
        }
        last = name;
        yield name;
      }
      const next = page.at(-1);
      if (page.length < this.pageSize || next === undefined) return;
      if (start !== undefined && compareNames(next, start) <= 0) throw new Error(`fortanix: ${what}: the service repeated a page (start '${start}')`);
      start = next;
    }
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session) {
      await this.client.send({ method: 'POST', path: '/sys/v1/session/terminate', authorization: `Bearer ${session.token}` }, 'failed to terminate the session').catch(() => undefined);
    }
    this.client.close();
  }

  /**
   * `POST /crypto/v1/keys/export {"name"}`: the object with its value.
   * @throws KesError KES_ERR_KEY_NOT_FOUND when there is none
   */
  private async export(name: string, what: string): Promise<Sobject> {
    if (!isValidObjectName(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    const res = await this.call({ method: 'POST', path: '/crypto/v1/keys/export', body: { name } }, what);
    if (res.status === 404) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    if (!ok(res)) throw new Error(`fortanix: ${what}: ${describe(res)}`);
    const object = parseJson(res, what) as Sobject | null;
    if (object === null || typeof object !== 'object') throw new Error(`fortanix: ${what}: the answer is not a security object`);
    return object;
  }

  /** Sends a request with the session's bearer token; on 401, logs in again and retries once. */
  private async call(request: FortanixRequest, what: string): Promise<FortanixResponse> {
    const session = await this.bearer();
    const res = await this.client.send({ ...request, authorization: `Bearer ${session.token}` }, what);
    if (res.status !== 401) return res;
    if (this.session === session) this.session = undefined;
    const fresh = await this.bearer();
    return this.client.send({ ...request, authorization: `Bearer ${fresh.token}` }, what);
  }

  /** The current session, or a new one when there is none or it is due for refresh. Concurrent callers share one login. */
  private async bearer(): Promise<Session> {
    if (this.session && performance.now() < this.session.refreshAt) return this.session;
    this.login ??= this.authenticate().finally(() => {
      this.login = undefined;
    });
    return this.login;
  }

  /** `POST /sys/v1/session/auth` with the API key. */
  private async authenticate(): Promise<Session> {
    const what = 'failed to authenticate';
    const started = performance.now();
    const res = await this.client.send({ method: 'POST', path: '/sys/v1/session/auth', authorization: `Basic ${this.apiKey}` }, what);
    if (!ok(res)) throw new Error(`fortanix: ${what}: ${describe(res)}`);
    const auth = parseJson(res, what) as { access_token?: unknown; expires_in?: unknown; token_type?: unknown } | null;
    if (!auth || typeof auth.access_token !== 'string' || auth.access_token === '') throw new Error(`fortanix: ${what}: the answer has no access_token`);
    if (auth.token_type !== undefined && auth.token_type !== 'Bearer') throw new Error(`fortanix: ${what}: unexpected token type '${String(auth.token_type)}'`);
    const lifetimeMs = typeof auth.expires_in === 'number' && auth.expires_in > 0 ? auth.expires_in * 1000 : 0;
    this.session = { token: auth.access_token, refreshAt: started + 0.8 * lifetimeMs };
    return this.session;
  }
}

/**
 * The endpoint as a URL; `https://` is assumed when it has no scheme.
 * @throws Error when it is not a valid URL
 */
export function endpointUrl(endpoint: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  try {
    return new URL(withScheme);
  } catch {
    throw new Error(`fortanix: endpoint '${endpoint}' is not a valid URL`);
  }
}

const ok = (res: FortanixResponse) => res.status >= 200 && res.status <= 299;

/** Status and the service's message (its error bodies are text), shortened; never holds secrets. */
function describe(res: FortanixResponse): string {
  const text = res.body.toString('utf8').trim().replace(/\s+/g, ' ');
  return `${res.status}${text ? `: ${text.length > 300 ? `${text.slice(0, 300)}…` : text}` : ''}`;
}

function parseJson(res: FortanixResponse, what: string): unknown {
  try {
    return JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new Error(`fortanix: ${what}: the answer is not JSON`);
  }
}

/** The names of a listing page: an array of objects, or `{"items": [...]}` (with_metadata). */
function parseList(res: FortanixResponse, what: string): string[] {
  const parsed = parseJson(res, what);
  const items = Array.isArray(parsed) ? parsed : (parsed as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) throw new Error(`fortanix: ${what}: the answer is not a list of security objects`);
  return items.map((o) => (o as Sobject | null)?.name).filter((n): n is string => typeof n === 'string');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeValue(object: Sobject, what: string): Uint8Array {
  if (object.enabled === false) throw new Error(`fortanix: ${what}: the security object is disabled`);
  if (typeof object.value !== 'string') throw new Error(`fortanix: ${what}: the security object has no value (is it exportable?)`);
  if (object.value.length % 4 !== 0 || !BASE64.test(object.value)) throw new Error(`fortanix: ${what}: the value is not base64`);
  return Buffer.from(object.value, 'base64');
}
