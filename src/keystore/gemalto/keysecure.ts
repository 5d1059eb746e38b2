/**
 * The Thales CipherTrust Manager / Gemalto KeySecure key store (protocol.md §9.3
 * `keystore.gemalto.keysecure`): one secret of `dataType` `seed` per key, named after the key,
 * whose `material` is the stored entry, as KES writes it.
 *
 * - create: `POST /api/v1/vault/secrets` `{"dataType":"seed","material":<entry>,"name":<name>}`;
 *   201 → created, 409 → KES_ERR_KEY_EXISTS (the service refuses a taken name).
 * - get: `POST /api/v1/vault/secrets/<name>/export?type=name` → `material`; 404 → not found.
 * - delete: `DELETE /api/v1/vault/secrets/<name>?type=name`; 204 → deleted, 404 → not found.
 * - list: every page of `GET /api/v1/vault/secrets?limit=200&skip=<n>`, filtered by prefix, sorted.
 * - status: a plain GET of the endpoint URL; any HTTP answer means reachable (§9.4).
 * - no replace: the secrets API has no compare-and-swap (no conditional update of the material,
 *   no version precondition), so keys in this store cannot be rotated.
 *
 * Values: `material` is a string. Values that are valid UTF-8 (every entry the server writes)
 * are stored verbatim, KES's layout; other bytes as `openkes:base64:<base64>`, and so is a UTF-8
 * value that itself begins with that marker, so that reading is unambiguous.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { KesError } from '../../api/errors.js';
import { DEFAULT_STORE_TIMEOUT_MS } from '../../config/defaults.js';
import { readCaBundle, withSystemRoots } from '../../pki/tls-files.js';
import { compareNames, KeyStoreUnreachableError, type KeyStore, type KeyStoreState } from '../keystore.js';
import { errorText, KeySecureClient, type ApiResponse } from './client.js';
import type { GemaltoConfig } from './config.js';

/** Tuning of the store; the defaults suit production. */
export interface KeySecureOptions {
  /** Bound of every request to the service and of the status GET (default 10 s). */
  timeoutMs?: number;
  /** Secrets per listing page (default 200, as KES). */
  pageSize?: number;
}

/** The marker of values stored as base64. */
export const BASE64_MARKER = 'openkes:base64:';

const SECRETS = '/api/v1/vault/secrets';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A key store on CipherTrust Manager; open it with {@link KeySecureKeyStore.connect}.
 * @example
 * const store = await KeySecureKeyStore.connect({ type: 'gemalto', endpoint: 'https://ciphertrust.example.com', token: refreshToken, domain: 'kes' });
 */
export class KeySecureKeyStore implements KeyStore {
  private readonly pageSize: number;

  private constructor(
    private readonly client: KeySecureClient,
    /** The service URL. */
    readonly endpoint: URL,
    private readonly timeoutMs: number,
    private readonly ca: string | undefined,
    options: KeySecureOptions,
  ) {
    this.pageSize = Math.max(1, options.pageSize ?? 200);
  }

  /**
   * Exchanges the refresh token for a first JWT, so that a wrong token or domain stops the start.
   * @throws KeyStoreUnreachableError when the service does not answer
   * @throws Error when the endpoint is not a URL, the CA file cannot be read, or the exchange is refused
   */
  static async connect(config: GemaltoConfig, options: KeySecureOptions = {}): Promise<KeySecureKeyStore> {
    const endpoint = endpointUrl(config.endpoint);
    const timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    // tls.ca: the system roots and the bundle (a PEM file or a directory), as the other stores.
    const ca = config.caPath ? withSystemRoots(readCaBundle(config.caPath, 'gemalto')).join('\n') : undefined;
    const client = new KeySecureClient({ endpoint, refreshToken: config.token, domain: config.domain ?? '', timeoutMs, ...(ca ? { ca } : {}) });
    const store = new KeySecureKeyStore(client, endpoint, timeoutMs, ca, options);
    try {
      await client.exchange();
    } catch (err) {
      client.close();
      throw err;
    }
    return store;
  }

  /** Token exchanges made so far (for tests and diagnostics). */
  get tokenExchanges(): number {
    return this.client.exchanges;
  }

  async status(): Promise<KeyStoreState> {
    return { latencyMs: await probe(this.endpoint, this.timeoutMs, this.ca) };
  }

  async create(name: string, value: Uint8Array): Promise<void> {
    const what = `failed to create '${name}'`;
    const res = await this.client.call('POST', SECRETS, { dataType: 'seed', material: encodeMaterial(value), name });
    if (res.status === 201 || res.status === 200) return;
    if (res.status === 409) throw new KesError('KES_ERR_KEY_EXISTS');
    throw failure(what, res);
  }

  async get(name: string): Promise<Uint8Array> {
    const res = await this.client.call('POST', `${SECRETS}/${encodeURIComponent(name)}/export?type=name`);
    if (res.status === 404) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    if (res.status !== 200) throw failure(`failed to get '${name}'`, res);
    const material = (res.body as { material?: unknown } | undefined)?.material;
    if (typeof material !== 'string') throw new Error(`gemalto: failed to get '${name}': the export has no material`);
    return decodeMaterial(material);
  }

  async delete(name: string): Promise<void> {
    const res = await this.client.call('DELETE', `${SECRETS}/${encodeURIComponent(name)}?type=name`);
    if (res.status === 204 || res.status === 200) return;
    if (res.status === 404) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    throw failure(`failed to delete '${name}'`, res);
  }

  /**
   * The names starting with prefix, in byte order. The service's listing order is not by name,
   * so every page is read (`limit`/`skip` paging, as KES) before the matching names are sorted:
   * memory grows with the number of matching names.
   */
  async *list(prefix: string): AsyncIterable<string> {
    const what = `failed to list '${prefix}'`;
    const names = new Set<string>();
    for (let skip = 0; ; ) {
      const res = await this.client.call('GET', `${SECRETS}?limit=${this.pageSize}&skip=${skip}`);
      if (res.status !== 200) throw failure(what, res);
      const page = res.body as { total?: unknown; resources?: unknown } | undefined;
      const resources = Array.isArray(page?.resources) ? (page.resources as { name?: unknown }[]) : undefined;
      if (resources === undefined) throw new Error(`gemalto: ${what}: the answer has no resources`);
      for (const r of resources) if (typeof r?.name === 'string' && r.name.startsWith(prefix)) names.add(r.name);
      skip += resources.length;
      const total = typeof page?.total === 'number' ? page.total : undefined;
      if (resources.length === 0 || (total !== undefined ? skip >= total : resources.length < this.pageSize)) break;
    }
    yield* [...names].sort(compareNames);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

/** The material stored for value (see the module comment). */
export function encodeMaterial(value: Uint8Array): string {
  let text: string | undefined;
  try {
    text = utf8.decode(value);
  } catch {
    text = undefined;
  }
  if (text === undefined || text.startsWith(BASE64_MARKER)) return BASE64_MARKER + Buffer.from(value).toString('base64');
  return text;
}

/** The value of stored material. */
export function decodeMaterial(material: string): Uint8Array {
  if (material.startsWith(BASE64_MARKER)) return Buffer.from(material.slice(BASE64_MARKER.length), 'base64');
  return Buffer.from(material, 'utf8');
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
    throw new Error(`gemalto: endpoint '${endpoint}' is not a valid URL`);
  }
}

function failure(what: string, res: ApiResponse): Error {
  return new Error(`gemalto: ${what}: ${errorText(res)}`);
}

/** A plain GET of url on a fresh connection: the round trip until response headers, whatever the status. */
function probe(url: URL, timeoutMs: number, ca: string | undefined): Promise<number> {
  const start = performance.now();
  return new Promise<number>((resolve, reject) => {
    const callback = (res: http.IncomingMessage) => {
      clearTimeout(timer);
      res.resume();
      res.on('error', () => undefined);
      req.destroy();
      resolve(performance.now() - start);
    };
    const req = url.protocol === 'https:' ? https.get(url, { agent: false, ...(ca ? { ca } : {}) }, callback) : http.get(url, { agent: false }, callback);
    const timer = setTimeout(() => {
      req.destroy();
      reject(new KeyStoreUnreachableError(`gemalto: endpoint '${url.origin}' did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(new KeyStoreUnreachableError(`gemalto: endpoint '${url.origin}' is not reachable: ${err.message}`));
    });
  });
}
