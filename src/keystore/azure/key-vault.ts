/**
 * The Azure Key Vault key store (protocol.md §9.3 "Azure Key Vault"): one secret per key, named
 * after the key, whose value is the stored entry. Spoken over Key Vault's REST API (api-version
 * 7.4) with node's http/https (rest.ts), not the Azure SDK: the SDK's current releases require
 * Node 22, and a plain client keeps every request's time-out and connection in our hands.
 *
 * - create: `GET /secrets/<name>` first (a secret → KES_ERR_KEY_EXISTS), then
 *   `PUT /secrets/<name>`. A soft-deleted secret of that name (409 `ObjectIsDeletedButRecoverable`
 *   / `ObjectIsBeingDeleted`) is purged and the PUT retried, as KES does. Key Vault has no
 *   create-only write, so the PUT is followed by a read of the versions: when another writer's
 *   version is at least as old as ours, ours lost a race: it is disabled and the create fails
 *   with KES_ERR_KEY_EXISTS (see {@link AzureKeyVaultKeyStore.create}).
 * - get: the oldest version (KES reads the oldest: later versions never change a key).
 * - delete: `DELETE /secrets/<name>` then purge `DELETE /deletedsecrets/<name>` (retried while
 *   the service is still deleting).
 * - list: every `GET /secrets` page (nextLink), filtered by prefix and sorted.
 * - status: a plain GET of the endpoint, without credentials; any HTTP answer is reachable.
 *
 * No replace: Key Vault has no conditional write (no ETag / If-Match on secrets), and KES's
 * layout reads the oldest version, which a new version cannot change.
 */
import { KesError } from '../../api/errors.js';
import { DEFAULT_STORE_TIMEOUT_MS } from '../../config/defaults.js';
import { checkedStore, compareNames, type KeyStore, type KeyStoreState } from '../keystore.js';
import type { AzureConfig } from './config.js';
import { ClientSecretTokens, DEFAULT_AUTHORITY_HOST, HttpClient, json, ManagedIdentityTokens, vaultError, type HttpAnswer, type TokenSource } from './rest.js';

export const API_VERSION = '7.4';

/** Secret names Key Vault accepts: 1…127 ASCII letters, digits and '-'. */
const SECRET_NAME = /^[0-9A-Za-z-]{1,127}$/;

/**
 * The content type openkes sets on secrets whose value is not valid UTF-8, stored base64: Key
 * Vault values are strings. The entries the server writes are ASCII and are stored as is (KES's
 * layout); only other bytes (never written by KES or the server) take this form.
 */
export const BINARY_CONTENT_TYPE = 'application/vnd.openkes.binary+base64';

/** Reports whether Key Vault can hold a secret of this name. */
export function isValidSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Tuning of the store; the defaults suit production. */
export interface AzureKeyVaultOptions {
  /** Bound of every request (default DEFAULT_STORE_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Secrets per list page, 1…25 (default 25, the service's maximum). */
  pageSize?: number;
  /** How long create and delete retry while a deleted secret is still being deleted (default 10 s). */
  purgeWaitMs?: number;
  /** IMDS base URL for managed identities (tests). */
  imdsEndpoint?: string;
  /** Environment of the default credential chain (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** One version of a secret, as the versions listing shows it. */
interface VersionItem {
  version: string;
  enabled: boolean;
  created: number;
  nbf?: number;
  exp?: number;
}

/**
 * A key store on Azure Key Vault; open it with {@link AzureKeyVaultKeyStore.connect}.
 * @example
 * const store = await AzureKeyVaultKeyStore.connect({ type: 'azure', endpoint: 'https://kes.vault.azure.net', credentials: { tenantId, clientId, clientSecret } });
 */
export class AzureKeyVaultKeyStore implements KeyStore {
  private readonly pageSize: number;
  private readonly purgeWaitMs: number;
  /** Creates in flight per name in this process: they run one after the other. */
  private readonly creating = new Map<string, Promise<unknown>>();

  private constructor(
    private readonly http: HttpClient,
    private readonly tokens: TokenSource,
    /** The vault's URL, e.g. `https://kes.vault.azure.net`. */
    readonly endpoint: URL,
    options: AzureKeyVaultOptions,
  ) {
    this.pageSize = Math.min(25, Math.max(1, options.pageSize ?? 25));
    this.purgeWaitMs = options.purgeWaitMs ?? 10_000;
  }

  /**
   * Creates the client and checks that the endpoint answers.
   *
   * Credentials: `credentials` → client secret grant at `<authority_host>/<tenant_id>`;
   * `managed_identity` → IMDS with that client id; neither → AZURE_TENANT_ID, AZURE_CLIENT_ID,
   * AZURE_CLIENT_SECRET (and AZURE_AUTHORITY_HOST) from the environment when all three are set,
   * else the system-assigned (or AZURE_CLIENT_ID's user-assigned) managed identity.
   * @throws KeyStoreUnreachableError when the endpoint does not answer
   */
  static async connect(config: AzureConfig, options: AzureKeyVaultOptions = {}): Promise<AzureKeyVaultKeyStore> {
    const endpoint = endpointUrl(config.endpoint);
    const http = new HttpClient(options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS);
    const scope = scopeOf(endpoint);
    const env = options.env ?? process.env;
    let tokens: TokenSource;
    const c = config.credentials;
    if (c) tokens = new ClientSecretTokens(http, c.tenantId, c.clientId, c.clientSecret, `${scope}/.default`, c.authorityHost ?? DEFAULT_AUTHORITY_HOST);
    else if (config.managedIdentity) tokens = new ManagedIdentityTokens(http, scope, config.managedIdentity.clientId, options.imdsEndpoint);
    else if (env.AZURE_TENANT_ID && env.AZURE_CLIENT_ID && env.AZURE_CLIENT_SECRET) {
      tokens = new ClientSecretTokens(http, env.AZURE_TENANT_ID, env.AZURE_CLIENT_ID, env.AZURE_CLIENT_SECRET, `${scope}/.default`, env.AZURE_AUTHORITY_HOST || DEFAULT_AUTHORITY_HOST);
    } else tokens = new ManagedIdentityTokens(http, scope, env.AZURE_CLIENT_ID || undefined, options.imdsEndpoint);
    const store = new AzureKeyVaultKeyStore(http, tokens, endpoint, options);
    return checkedStore(store);
  }

  async status(): Promise<KeyStoreState> {
    const start = performance.now();
    await this.http.send(`endpoint '${this.endpoint.origin}'`, { method: 'GET', url: this.endpoint });
    return { latencyMs: performance.now() - start };
  }

  /**
   * Creates the secret if no secret of that name exists.
   *
   * Key Vault cannot refuse a write because the secret exists (every PUT adds a version), so:
   * 1. `GET /secrets/<name>`: 404 → go on; 200 (or 403 SecretDisabled) → KES_ERR_KEY_EXISTS; else an error;
   * 2. `PUT /secrets/<name>` (purging a soft-deleted secret of that name first when the PUT
   *    answers 409 ObjectIsDeletedButRecoverable / ObjectIsBeingDeleted);
   * 3. the versions are listed: ours must be strictly older than every other version. If not, a
   *    concurrent writer's PUT got there first or in the same second (Key Vault's timestamps have
   *    one-second resolution): ours is disabled (PATCH enabled=false, best effort) and the create
   *    fails with KES_ERR_KEY_EXISTS. Of two writers in the same second both may lose; neither
   *    then believes its value was stored. get reads the oldest enabled version.
   * Creates of one name in this process run one after the other.
   */
  async create(name: string, value: Uint8Array): Promise<void> {
    const what = `failed to create '${name}'`;
    if (!isValidSecretName(name)) throw new Error(`azure: ${what}: not a valid Key Vault secret name (only 0-9, a-z, A-Z and '-', at most 127)`);
    const body = JSON.stringify(secretBody(value));
    const before = this.creating.get(name) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(() => this.createOnce(what, name, body));
    this.creating.set(name, run);
    try {
      await run;
    } finally {
      if (this.creating.get(name) === run) this.creating.delete(name);
    }
  }

  private async createOnce(what: string, name: string, body: string): Promise<void> {
    const exists = await this.call(what, 'GET', `/secrets/${name}`);
    if (exists.status !== 404) {
      // 403 SecretDisabled: the latest version is disabled, the secret exists; other 403s are refusals (ForbiddenByPolicy).
      if (exists.status === 200 || (exists.status === 403 && vaultError(exists).inner === 'SecretDisabled')) throw new KesError('KES_ERR_KEY_EXISTS');
      throw this.failure(what, exists);
    }
    const deadline = Date.now() + this.purgeWaitMs;
    let put: HttpAnswer;
    for (let delay = 100; ; delay = Math.min(2 * delay, 1_000)) {
      put = await this.call(what, 'PUT', `/secrets/${name}`, body);
      if (put.status === 200) break;
      const err = vaultError(put);
      const reason = err.inner ?? err.code;
      if (put.status !== 409 || (reason !== 'ObjectIsDeletedButRecoverable' && reason !== 'ObjectIsBeingDeleted')) throw this.failure(what, put);
      if (reason === 'ObjectIsDeletedButRecoverable') {
        const purge = await this.call(what, 'DELETE', `/deletedsecrets/${name}`);
        if (purge.status === 200 || purge.status === 204) continue;
        const perr = vaultError(purge);
        if (!(purge.status === 409 || purge.status === 404)) {
          throw new Error(`azure: ${what}: a deleted secret of this name is kept by the vault and could not be purged (purge protection?): ${perr.code}: ${perr.message}`);
        }
      }
      if (Date.now() + delay > deadline) throw new Error(`azure: ${what}: a deleted secret of this name is still being deleted or purged after ${this.purgeWaitMs} ms: ${err.code}: ${err.message}`);
      await sleep(delay);
    }
    const ours = versionOf((json(put) as { id?: unknown } | undefined)?.id);
    if (ours === undefined) throw new Error(`azure: ${what}: PUT answered without a secret id`);
    const versions = await this.versions(what, name);
    const mine = versions.find((v) => v.version === ours);
    const rival = versions.some((v) => v.version !== ours && (mine === undefined || v.created <= mine.created));
    if (!rival) return;
    await this.call(what, 'PATCH', `/secrets/${name}/${ours}`, JSON.stringify({ attributes: { enabled: false } })).catch(() => undefined);
    throw new KesError('KES_ERR_KEY_EXISTS');
  }

  /**
   * The value of the oldest version, as KES reads it (the oldest enabled one, so that versions
   * disabled by a lost create race are passed over). A disabled, not yet valid or expired oldest
   * version is an error, as in KES.
   */
  async get(name: string): Promise<Uint8Array> {
    if (!isValidSecretName(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    const what = `failed to get '${name}'`;
    const versions = await this.versions(what, name);
    if (versions.length === 0) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    const oldest = oldestOf(versions.filter((v) => v.enabled)) ?? oldestOf(versions)!;
    const now = Date.now() / 1000;
    if (!oldest.enabled) throw new Error(`azure: ${what}: the secret's oldest version is disabled`);
    if (oldest.nbf !== undefined && oldest.nbf > now) throw new Error(`azure: ${what}: the secret's oldest version is not valid yet`);
    if (oldest.exp !== undefined && oldest.exp <= now) throw new Error(`azure: ${what}: the secret's oldest version has expired`);
    const answer = await this.call(what, 'GET', `/secrets/${name}/${oldest.version}`);
    if (answer.status === 404) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    if (answer.status !== 200) throw this.failure(what, answer);
    const bundle = json(answer) as { value?: unknown; contentType?: unknown } | undefined;
    if (typeof bundle?.value !== 'string') throw new Error(`azure: ${what}: the secret has no value`);
    return bundle.contentType === BINARY_CONTENT_TYPE ? Buffer.from(bundle.value, 'base64') : Buffer.from(bundle.value, 'utf8');
  }

  /**
   * Deletes the secret (every version), then purges it so that the name can be used again. As
   * in KES, the delete succeeds once the secret is deleted, also when the purge is refused (403:
   * purge protection or no purge permission) or the service is still deleting after
   * purgeWaitMs: the key is gone, only its name stays blocked (a later create purges it).
   */
  async delete(name: string): Promise<void> {
    if (!isValidSecretName(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    const what = `failed to delete '${name}'`;
    const del = await this.call(what, 'DELETE', `/secrets/${name}`);
    if (del.status === 404) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    if (del.status !== 200) throw this.failure(what, del);
    const deadline = Date.now() + this.purgeWaitMs;
    for (let delay = 100; ; delay = Math.min(2 * delay, 1_000)) {
      const purge = await this.call(what, 'DELETE', `/deletedsecrets/${name}`);
      // 404: purged by someone else, or the deletion is not visible yet (a later create purges).
      if (purge.status === 200 || purge.status === 204 || purge.status === 404 || purge.status === 403) return;
      if (purge.status !== 409) throw this.failure(`${what}: the secret was deleted but purging it failed`, purge);
      if (Date.now() + delay > deadline) return; // still ObjectIsBeingDeleted: the service finishes on its own
      await sleep(delay);
    }
  }

  /**
   * The names starting with prefix, in byte order. `GET /secrets` lists in the service's order,
   * so every page (following nextLink) is read before the matching names are sorted and
   * produced: memory is bounded by the number of matching names.
   */
  async *list(prefix: string): AsyncIterable<string> {
    if (prefix !== '' && !/^[0-9A-Za-z-]{1,127}$/.test(prefix)) return;
    const what = `failed to list '${prefix}'`;
    const names: string[] = [];
    let next: URL | undefined = this.url('/secrets', { maxresults: String(this.pageSize) });
    while (next) {
      const answer = await this.callUrl(what, 'GET', next);
      if (answer.status !== 200) throw this.failure(what, answer);
      const page = json(answer) as { value?: { id?: unknown }[]; nextLink?: unknown } | undefined;
      for (const item of page?.value ?? []) {
        const n = typeof item.id === 'string' ? nameOf(item.id) : undefined;
        if (n !== undefined && n.startsWith(prefix)) names.push(n);
      }
      next = this.nextLink(what, page?.nextLink);
    }
    yield* [...new Set(names)].sort(compareNames);
  }

  async close(): Promise<void> {
    this.http.close();
  }

  /** Every version of the secret (all pages); empty when there is no secret. */
  private async versions(what: string, name: string): Promise<VersionItem[]> {
    const out: VersionItem[] = [];
    let next: URL | undefined = this.url(`/secrets/${name}/versions`, { maxresults: '25' });
    while (next) {
      const answer = await this.callUrl(what, 'GET', next);
      if (answer.status === 404) return [];
      if (answer.status !== 200) throw this.failure(what, answer);
      const page = json(answer) as { value?: { id?: unknown; attributes?: { enabled?: unknown; created?: unknown; nbf?: unknown; exp?: unknown } }[]; nextLink?: unknown } | undefined;
      for (const item of page?.value ?? []) {
        const version = versionOf(item.id);
        const a = item.attributes ?? {};
        if (version === undefined || typeof a.created !== 'number') continue;
        out.push({
          version,
          enabled: a.enabled !== false,
          created: a.created,
          ...(typeof a.nbf === 'number' ? { nbf: a.nbf } : {}),
          ...(typeof a.exp === 'number' ? { exp: a.exp } : {}),
        });
      }
      next = this.nextLink(what, page?.nextLink);
    }
    return out;
  }

  /** A nextLink to follow; only to the vault itself, so the token never goes elsewhere. */
  private nextLink(what: string, link: unknown): URL | undefined {
    if (typeof link !== 'string' || link === '') return undefined;
    const url = new URL(link, this.endpoint);
    if (url.origin !== this.endpoint.origin) throw new Error(`azure: ${what}: nextLink leads to another host (${url.origin})`);
    if (!url.searchParams.has('api-version')) url.searchParams.set('api-version', API_VERSION);
    return url;
  }

  private url(path: string, query: Record<string, string> = {}): URL {
    const url = new URL(this.endpoint.pathname.replace(/\/+$/, '') + path, this.endpoint);
    url.searchParams.set('api-version', API_VERSION);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return url;
  }

  private call(what: string, method: string, path: string, body?: string): Promise<HttpAnswer> {
    return this.callUrl(what, method, this.url(path), body);
  }

  /** Sends an authorized request; on 401 once more with a fresh token. */
  private async callUrl(what: string, method: string, url: URL, body?: string): Promise<HttpAnswer> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.tokens.token(attempt > 0);
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const answer = await this.http.send(what, { method, url, headers, ...(body !== undefined ? { body } : {}) });
      if (answer.status !== 401 || attempt > 0) return answer;
    }
  }

  /** A plain error naming Key Vault's error code and message. */
  private failure(what: string, answer: HttpAnswer): Error {
    const e = vaultError(answer);
    return new Error(`azure: ${what}: ${answer.status} ${e.code}${e.inner ? ` (${e.inner})` : ''}: ${e.message}`);
  }
}

/**
 * The endpoint as a URL; `https://` when it has no scheme.
 * @throws Error when it is not a valid URL
 */
export function endpointUrl(endpoint: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  try {
    return new URL(withScheme);
  } catch {
    throw new Error(`azure: endpoint '${endpoint}' is not a valid URL`);
  }
}

/** Key Vault's token audience for the endpoint's cloud (public cloud for any other host). */
export function scopeOf(endpoint: URL): string {
  for (const suffix of ['vault.azure.cn', 'vault.usgovcloudapi.net', 'vault.microsoftazure.de']) {
    if (endpoint.hostname.endsWith(`.${suffix}`)) return `https://${suffix}`;
  }
  return 'https://vault.azure.net';
}

/** The value as Key Vault stores it: the text for valid UTF-8 (KES's layout), else base64. */
function secretBody(value: Uint8Array): { value: string; contentType?: string } {
  const bytes = Buffer.from(value);
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? { value: text } : { value: bytes.toString('base64'), contentType: BINARY_CONTENT_TYPE };
}

/** `https://v.vault.azure.net/secrets/<name>[/<version>]` → name. */
function nameOf(id: string): string | undefined {
  const m = /\/secrets\/([^/?#]+)/.exec(id);
  return m ? decodeURIComponent(m[1]!) : undefined;
}

/** `https://v.vault.azure.net/secrets/<name>/<version>` → version. */
function versionOf(id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  const m = /\/secrets\/[^/?#]+\/([^/?#]+)/.exec(id);
  return m ? m[1] : undefined;
}

/** The oldest version: by creation time, then by version id. */
function oldestOf(versions: VersionItem[]): VersionItem | undefined {
  let best: VersionItem | undefined;
  for (const v of versions) if (!best || v.created < best.created || (v.created === best.created && v.version < best.version)) best = v;
  return best;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
