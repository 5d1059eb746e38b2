/**
 * Vault's KV secrets engine, version 1 and 2, in KES's storage layout (protocol.md §9.3): one
 * secret per key at `<prefix>/<name>`, holding a single field named after the key whose value
 * is the stored string.
 *
 * - KV v1: `PUT /v1/<engine>/<prefix>/<name>` `{"<name>": "<entry>"}`, `GET` and `DELETE` on
 *   the same path, `LIST /v1/<engine>/<prefix>/`.
 * - KV v2: `PUT /v1/<engine>/data/<prefix>/<name>` `{"options":{"cas":0},"data":{"<name>":
 *   "<entry>"}}`, reads of the current version of `data/…`, deletes of `metadata/…` (every
 *   version), `LIST /v1/<engine>/metadata/<prefix>/`.
 *
 * Both create by reading first (an existing secret means the key exists), then writing. KV v2
 * writes with check-and-set, so of concurrent creates exactly one wins, across processes too.
 * KV v1 has no check-and-set: creates of one name are serialised within this process only, and
 * an entry cannot be replaced safely (see {@link KvCheckAndSet}, which only KV v2 has).
 */
import { VaultResponseError, vaultErrors, type VaultHttpClient, type VaultResponse } from './http-client.js';

/** The KV operations the store needs; every method throws VaultResponseError on unexpected answers. */
export interface KvEngine {
  /** The stored string, or undefined when the secret does not exist. */
  read(name: string, token: string): Promise<string | undefined>;
  /**
   * Stores the string value() under name unless a secret exists there.
   * @returns false when it exists
   */
  create(name: string, value: () => Promise<string>, token: string): Promise<boolean>;
  /**
   * Deletes the secret.
   * @returns false when there was none
   */
  delete(name: string, token: string): Promise<boolean>;
  /**
   * One page of the names in the prefix folder, sub-folders (ending in `/`) included. The
   * page holds the names after `after` (exclusive) and at most `limit` of them on servers that
   * paginate lists (OpenBao); servers that do not (Vault) ignore both and answer every name.
   */
  list(after: string | undefined, limit: number, token: string): Promise<string[]>;
}

/**
 * KV v2's check-and-set on the current version, with which the store replaces entries
 * (compare-and-swap). Vault checks `options.cas` and writes under one lock per secret, so of
 * concurrent writes with the same version exactly one succeeds.
 */
export interface KvCheckAndSet {
  /**
   * The current version's stored string and number; undefined when the secret does not exist
   * or its current version was deleted or destroyed.
   */
  readVersion(name: string, token: string): Promise<{ stored: string; version: number } | undefined>;
  /**
   * Writes stored as the next version if, and only if, version is still the current one
   * (`options.cas`; 0 = only if the secret has no version at all).
   * @returns false when Vault refused the check-and-set
   */
  writeIfCurrent(name: string, stored: string, version: number, token: string): Promise<boolean>;
}

/** The check-and-set of an engine, undefined for KV v1 (which has none). */
export function checkAndSetOf(kv: KvEngine): KvCheckAndSet | undefined {
  return kv instanceof KvV2 ? kv : undefined;
}

/** Where the engine lives. */
export interface KvLocation {
  /** Mount path of the engine, e.g. `kv` or `secret`. */
  engine: string;
  /** Folder of the keys inside the engine ('' = the engine's root). */
  prefix: string;
  /** Namespace ('' = root). */
  namespace: string;
}

/** Escapes each segment of a slash-separated path, dropping empty segments. */
export function escapePath(path: string): string {
  return path.split('/').filter(Boolean).map(encodeURIComponent).join('/');
}

/** The engine of a config's `version`. */
export function kvEngine(version: 'v1' | 'v2', http: VaultHttpClient, location: KvLocation): KvEngine {
  return version === 'v2' ? new KvV2(http, location) : new KvV1(http, location);
}

abstract class KvBase {
  protected readonly engine: string;
  protected readonly folder: string;
  protected readonly namespace: string;

  constructor(
    protected readonly http: VaultHttpClient,
    location: KvLocation,
  ) {
    this.engine = `/v1/${escapePath(location.engine)}`;
    const prefix = escapePath(location.prefix);
    this.folder = prefix === '' ? '' : `${prefix}/`;
    this.namespace = location.namespace;
  }

  protected secret(name: string): string {
    return this.folder + encodeURIComponent(name);
  }

  protected send(method: 'GET' | 'PUT' | 'DELETE', path: string, token: string, body?: unknown): Promise<VaultResponse> {
    return this.http.send({ method, path, token, namespace: this.namespace, body });
  }

  /** `LIST <path>`: the keys, none on 404 (Vault's answer for an empty folder). */
  protected async listFolder(path: string, after: string | undefined, limit: number, token: string): Promise<string[]> {
    const query: Record<string, string> = { limit: String(limit) };
    if (after !== undefined) query.after = after;
    const res = await this.http.send({ method: 'LIST', path, query, token, namespace: this.namespace });
    if (isMissing(res)) return [];
    if (res.status !== 200) throw unexpected(res);
    const keys = (res.body as { data?: { keys?: unknown } } | undefined)?.data?.keys;
    if (!Array.isArray(keys)) throw new Error('the list answer has no data.keys');
    return keys.filter((k): k is string => typeof k === 'string');
  }
}

/** KV version 1: unversioned secrets. */
class KvV1 extends KvBase implements KvEngine {
  private readonly creating = new Map<string, Promise<unknown>>();

  async read(name: string, token: string): Promise<string | undefined> {
    const res = await this.send('GET', `${this.engine}/${this.secret(name)}`, token);
    if (isMissing(res)) return undefined;
    if (res.status !== 200) throw unexpected(res);
    return field((res.body as { data?: unknown } | undefined)?.data, name);
  }

  async create(name: string, value: () => Promise<string>, token: string): Promise<boolean> {
    // Serialise creates of one name: the read-then-write below is not atomic in Vault.
    const before = this.creating.get(name) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(() => this.createNow(name, value, token));
    this.creating.set(name, run);
    try {
      return await run;
    } finally {
      if (this.creating.get(name) === run) this.creating.delete(name);
    }
  }

  async delete(name: string, token: string): Promise<boolean> {
    // Vault answers 204 whether or not the secret existed: look first.
    if ((await this.read(name, token)) === undefined) return false;
    const res = await this.send('DELETE', `${this.engine}/${this.secret(name)}`, token);
    if (res.status !== 204 && res.status !== 200 && res.status !== 404) throw unexpected(res);
    return true;
  }

  list(after: string | undefined, limit: number, token: string): Promise<string[]> {
    return this.listFolder(`${this.engine}/${this.folder}`, after, limit, token);
  }

  private async createNow(name: string, value: () => Promise<string>, token: string): Promise<boolean> {
    if ((await this.read(name, token)) !== undefined) return false;
    const res = await this.send('PUT', `${this.engine}/${this.secret(name)}`, token, { [name]: await value() });
    if (res.status !== 204 && res.status !== 200) throw unexpected(res);
    return true;
  }
}

interface KvV2Read {
  data?: { data?: Record<string, unknown> | null; metadata?: { version?: unknown } | null } | null;
}

/** KV version 2: versioned secrets; reads return the current version. */
class KvV2 extends KvBase implements KvEngine, KvCheckAndSet {
  async read(name: string, token: string): Promise<string | undefined> {
    const res = await this.readCurrent(name, token);
    if (isMissing(res)) return undefined;
    if (res.status !== 200) throw unexpected(res);
    const data = (res.body as KvV2Read | undefined)?.data?.data;
    // A current version that was deleted or destroyed has no data: the key does not exist.
    if (data === null || data === undefined) return undefined;
    return field(data, name);
  }

  async create(name: string, value: () => Promise<string>, token: string): Promise<boolean> {
    const current = await this.readCurrent(name, token);
    if (current.status === 200 && (current.body as KvV2Read | undefined)?.data?.data) return false;
    if (current.status !== 200 && !isMissing(current)) throw unexpected(current);
    // cas 0 = only if no version exists. When the current version was deleted or destroyed,
    // the secret's metadata remains: write the next version, if and only if it is still the
    // current one.
    const version = (current.body as KvV2Read | undefined)?.data?.metadata?.version;
    const cas = typeof version === 'number' ? version : 0;
    return this.writeIfCurrent(name, await value(), cas, token);
  }

  async readVersion(name: string, token: string): Promise<{ stored: string; version: number } | undefined> {
    const res = await this.readCurrent(name, token);
    // A deleted or destroyed current version answers 404 (with its metadata): missing too.
    if (isMissing(res)) return undefined;
    if (res.status !== 200) throw unexpected(res);
    const secret = (res.body as KvV2Read | undefined)?.data;
    if (secret?.data === null || secret?.data === undefined) return undefined;
    const version = secret.metadata?.version;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) throw new Error('the answer has no data.metadata.version');
    return { stored: field(secret.data, name), version };
  }

  async writeIfCurrent(name: string, stored: string, version: number, token: string): Promise<boolean> {
    const res = await this.send('PUT', `${this.engine}/data/${this.secret(name)}`, token, { options: { cas: version }, data: { [name]: stored } });
    if (res.status === 200 || res.status === 204) return true;
    // Vault: 400 "check-and-set parameter did not match the current version".
    if (res.status === 400 && vaultErrors(res.body).some((e) => /check-and-set/i.test(e))) return false;
    throw unexpected(res);
  }

  async delete(name: string, token: string): Promise<boolean> {
    // Vault answers 204 whether or not the secret existed: look first (reading data/ needs
    // only the read capability KES's documented policy grants, unlike reading metadata/).
    const current = await this.readCurrent(name, token);
    if (current.status !== 200 && !isMissing(current)) throw unexpected(current);
    if (current.status === 404 && !(current.body as KvV2Read | undefined)?.data?.metadata) return false;
    const res = await this.send('DELETE', `${this.engine}/metadata/${this.secret(name)}`, token);
    if (res.status !== 204 && res.status !== 200 && res.status !== 404) throw unexpected(res);
    return true;
  }

  list(after: string | undefined, limit: number, token: string): Promise<string[]> {
    return this.listFolder(`${this.engine}/metadata/${this.folder}`, after, limit, token);
  }

  private readCurrent(name: string, token: string): Promise<VaultResponse> {
    return this.send('GET', `${this.engine}/data/${this.secret(name)}`, token);
  }
}

/** The string field named after the key, as KES writes it. */
function field(data: unknown, name: string): string {
  const fields = data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : {};
  const value = Object.hasOwn(fields, name) ? fields[name] : undefined;
  if (typeof value !== 'string') throw new Error(`the secret has no string field '${name}' (not written by KES?)`);
  return value;
}

/**
 * Vault's "nothing here": 404 without error texts. A 404 with texts ("no handler for route")
 * means a wrong engine path, which must not pass for a missing key.
 */
function isMissing(res: VaultResponse): boolean {
  return res.status === 404 && vaultErrors(res.body).length === 0;
}

function unexpected(res: VaultResponse): VaultResponseError {
  return new VaultResponseError(res.status, vaultErrors(res.body));
}
