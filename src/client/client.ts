/**
 * The KES client SDK: one method per API of a KES server (protocol.md §6, §7), for openkes and for
 * KES itself. Errors are {@link KesError}s with a stable `code` (mapped from the server's status
 * and message) or {@link ConnectionError}s when no server answered.
 *
 * @example
 * ```ts
 * import { KesClient } from 'openkes/client';
 * const kes = new KesClient({ endpoints: 'https://127.0.0.1:7373', apiKey: process.env.KES_API_KEY });
 * const dek = await kes.generateKey('my-key', Buffer.from('bucket/object'));
 * // encrypt data with dek.plaintext, store dek.ciphertext next to it
 * const plaintext = await kes.decrypt('my-key', dek.ciphertext, Buffer.from('bucket/object'));
 * ```
 */
import * as P from '../api/paths.js';
import { KesError } from '../api/errors.js';
import type { ApiKey } from '../auth/api-key.js';
import { parseClientApiKey } from '../auth/kms-credentials.js';
import { isValidName } from '../policy/names.js';
import { MAX_VERSION } from '../crypto/versioned-ciphertext.js';
import { readBytes, readText, type RequestOptions, type Transport } from './transport.js';
import { connect, type ConnectionOptions } from './connect.js';
import * as parse from './parse.js';
import type { ApiInfo, AuditEvent, DataKey, ErrorEvent, IdentityInfo, KeyAlgorithm, KeyInfo, Policy, PolicyInfo, SelfInfo, ServerMetrics, ServerState } from './types.js';

export interface ClientOptions extends ConnectionOptions {
  /**
   * Authenticate with an API key (`kes:v1:...`, or a MinKMS `k1:...` key, which is the same
   * Ed25519 key): a client certificate is made from it in memory. MinKMS `k2:` (ECDSA) keys are refused.
   */
  apiKey?: string | ApiKey;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Options of {@link KesClient.rotateKey}. */
export interface RotateKeyOptions extends CallOptions {
  /** The new version's 32 bytes (bring your own key); fresh random bytes by default. */
  key?: Uint8Array;
  /** The new version's algorithm when `key` is given (default AES256). */
  cipher?: KeyAlgorithm;
}

/** Options of {@link KesClient.backup} and {@link KesClient.restore}. */
export interface TransferOptions extends CallOptions {
  /** Time limit of the request in milliseconds (default 10 minutes). */
  timeoutMs?: number;
}

/** Options of {@link KesClient.deleteKey}. */
export interface DeleteKeyOptions extends CallOptions {
  /** Retire only this version of the key, not the key. */
  version?: number;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const unb64 = (s: unknown): Buffer => Buffer.from(typeof s === 'string' ? s : '', 'base64');
/** A path argument escaped like Go's url.PathEscape. */
const arg = (s: string) => encodeURIComponent(s);
/** Key versions are numbered 1 to 2^32−1 (docs/key-rings.md). */
const isVersion = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_VERSION;

export class KesClient {
  private readonly transport: Transport;
  /** The identity of the client's certificate or API key. */
  readonly identity?: string;

  constructor(options: ClientOptions) {
    const apiKey = typeof options.apiKey === 'string' ? parseClientApiKey(options.apiKey) : options.apiKey;
    this.transport = connect(options, apiKey);
    this.identity = apiKey?.identity;
  }

  /** The endpoints in use, normalized. */
  get endpoints(): readonly string[] {
    return this.transport.endpoints.endpoints;
  }

  /** Closes idle connections. The client can still be used afterwards. */
  close(): void {
    this.transport.close();
  }

  // ---- server ----------------------------------------------------------------------------

  /** The server's version. */
  async version(options?: CallOptions): Promise<string> {
    return String((await this.json('GET', P.PATH_VERSION, options)).version ?? '');
  }

  /** Reports whether the server and its key store are ready (`/v1/ready` answers 200). */
  async isReady(options?: CallOptions): Promise<boolean> {
    try {
      await this.send('GET', P.PATH_READY, options);
      return true;
    } catch (err) {
      if (err instanceof KesError && (err.status === 502 || err.status === 503 || err.status === 504)) return false;
      throw err;
    }
  }

  /** Server and key store status. */
  async status(options?: CallOptions): Promise<ServerState> {
    return parse.serverState(await this.json('GET', P.PATH_STATUS, options));
  }

  /** The server's API routes with their limits. */
  async apis(options?: CallOptions): Promise<ApiInfo[]> {
    const list = await this.json<unknown[]>('GET', P.PATH_API, options);
    if (!Array.isArray(list)) throw parse.malformed('API list');
    return list.map((a) => parse.apiInfo(parse.asObject(a, 'API entry')));
  }

  /** Request counters, latency histogram and system gauges from `/v1/metrics`. */
  async metrics(options?: CallOptions): Promise<ServerMetrics> {
    return parse.serverMetrics(await readText(await this.send('GET', P.PATH_METRICS, options)));
  }

  // ---- keys ------------------------------------------------------------------------------

  /** Creates a new key. @throws KesError KES_ERR_KEY_EXISTS */
  async createKey(name: string, options?: CallOptions): Promise<void> {
    await this.drain(this.send('POST', P.PATH_KEY_CREATE + arg(name), options));
  }

  /**
   * Imports a 32-byte key. @throws KesError KES_ERR_KEY_EXISTS, KES_ERR_UNSUPPORTED_ALGORITHM,
   * KES_ERR_INVALID_KEY_SIZE (406)
   */
  async importKey(name: string, key: Uint8Array, algorithm: KeyAlgorithm = 'AES256', options?: CallOptions): Promise<void> {
    await this.drain(this.send('POST', P.PATH_KEY_IMPORT + arg(name), { ...options, body: JSON.stringify({ key: b64(key), cipher: algorithm }) }));
  }

  /** A key's algorithm, provenance and versions. @throws KesError KES_ERR_KEY_NOT_FOUND */
  async describeKey(name: string, options?: CallOptions): Promise<KeyInfo> {
    return parse.keyInfo(await this.json('GET', P.PATH_KEY_DESCRIBE + arg(name), options));
  }

  /**
   * Deletes a key with all its versions, or with `{ version }` retires that one version: data
   * sealed with it no longer decrypts. @throws KesError KES_ERR_KEY_NOT_FOUND,
   * KES_ERR_VERSION_NOT_FOUND, KES_ERR_ONLY_VERSION (delete the key instead)
   * @example await kes.deleteKey('my-key', { version: 1 });
   */
  async deleteKey(name: string, options?: DeleteKeyOptions): Promise<void> {
    if (options === undefined || !('version' in options)) {
      await this.drain(this.send('DELETE', P.PATH_KEY_DELETE + arg(name), options));
      return;
    }
    // `{ version: undefined }` (say, a variable left unset) must not delete the whole key.
    const { version, ...call } = options;
    if (!isVersion(version)) throw new TypeError(`invalid key version ${String(version)}: versions are whole numbers from 1 to ${MAX_VERSION}`);
    await this.drain(this.send('PUT', P.PATH_KEY_DELETE_VERSION + arg(name), { ...call, body: JSON.stringify({ version }), notIdempotent: true }));
  }

  /**
   * Rotates a key: adds a version, which seals new data from now on, and returns its number.
   * Data sealed with earlier versions still decrypts. With `key` (32 bytes) and `cipher` the
   * new version is those bytes (bring your own key); else the server picks fresh random bytes.
   * An openkes extension (docs/key-rings.md): KES servers answer 404 (KES_ERR_HTTP). Unlike
   * other calls it is not sent again after a lost answer or a 503, nor to another endpoint (it
   * might have been made): only when no server can have received it (connection refused).
   * After a ConnectionError, describeKey tells whether the version was added.
   * @throws KesError KES_ERR_KEY_NOT_FOUND, KES_ERR_INVALID_KEY_SIZE, KES_ERR_UNSUPPORTED_ALGORITHM,
   *   KES_ERR_KEY_CHANGED (409: concurrent changes, try again), KES_ERR_ROTATION_UNSUPPORTED (501)
   */
  async rotateKey(name: string, options: RotateKeyOptions = {}): Promise<number> {
    const { key, cipher, ...call } = options;
    if (key === undefined && cipher !== undefined) throw new TypeError('a cipher for the new version needs its key bytes (options.key)');
    // Without a body the server picks fresh random bytes.
    const body = key === undefined ? undefined : JSON.stringify({ key: b64(key), cipher: cipher ?? 'AES256' });
    return parse.rotatedVersion(await this.json('PUT', P.PATH_KEY_ROTATE + arg(name), { ...call, ...(body !== undefined && { body }), notIdempotent: true }));
  }

  /**
   * The names of the keys that start with prefix (all keys by default), sorted.
   * @example for await (const name of kes.listKeys('minio-')) console.log(name);
   */
  listKeys(prefix = '', options?: CallOptions): AsyncIterable<string> {
    return this.listNames(P.PATH_KEY_LIST, prefix, 'names', 'name', options);
  }

  /**
   * Generates a data encryption key: 32 random bytes and their encryption with the key, bound
   * to context (associated data that decrypt must be given again).
   */
  async generateKey(name: string, context?: Uint8Array, options?: CallOptions): Promise<DataKey> {
    const body = JSON.stringify(context === undefined ? {} : { context: b64(context) });
    const o = await this.json('POST', P.PATH_KEY_GENERATE + arg(name), { ...options, body });
    return { plaintext: unb64(o.plaintext), ciphertext: unb64(o.ciphertext) };
  }

  /** Encrypts plaintext with the key, bound to context. */
  async encrypt(name: string, plaintext: Uint8Array, context?: Uint8Array, options?: CallOptions): Promise<Buffer> {
    const body = JSON.stringify({ plaintext: b64(plaintext), ...(context && { context: b64(context) }) });
    return unb64((await this.json('POST', P.PATH_KEY_ENCRYPT + arg(name), { ...options, body })).ciphertext);
  }

  /** Decrypts a ciphertext (any KES format) with the key. @throws KesError KES_ERR_DECRYPT */
  async decrypt(name: string, ciphertext: Uint8Array, context?: Uint8Array, options?: CallOptions): Promise<Buffer> {
    const body = JSON.stringify({ ciphertext: b64(ciphertext), ...(context && { context: b64(context) }) });
    return unb64((await this.json('POST', P.PATH_KEY_DECRYPT + arg(name), { ...options, body })).plaintext);
  }

  /**
   * Re-encrypts a ciphertext of the key (of any version, bound to context) with the key's
   * latest version, bound to the same context; the plaintext never leaves the server. Used to
   * move data off an old version before retiring it. Needs `/v1/key/rewrap/<name>` and
   * `/v1/key/decrypt/<name>` allowed. @throws KesError KES_ERR_DECRYPT
   */
  async rewrap(name: string, ciphertext: Uint8Array, context?: Uint8Array, options?: CallOptions): Promise<Buffer> {
    const body = JSON.stringify({ ciphertext: b64(ciphertext), ...(context && { context: b64(context) }) });
    return unb64((await this.json('PUT', P.PATH_KEY_REWRAP + arg(name), { ...options, body })).ciphertext);
  }

  /** HMAC-SHA-256 of message with the key's HMAC key. @throws KesError KES_ERR_HMAC_NOT_SUPPORTED */
  async hmac(name: string, message: Uint8Array, options?: CallOptions): Promise<Buffer> {
    return unb64((await this.json('PUT', P.PATH_KEY_HMAC + arg(name), { ...options, body: JSON.stringify({ message: b64(message) }) })).hmac);
  }

  // ---- policies and identities -----------------------------------------------------------

  /** @throws KesError KES_ERR_POLICY_NOT_FOUND */
  async describePolicy(name: string, options?: CallOptions): Promise<PolicyInfo> {
    return parse.policyInfo(await this.json('GET', P.PATH_POLICY_DESCRIBE + arg(name), options), name);
  }

  /** A policy's allow and deny patterns. @throws KesError KES_ERR_POLICY_NOT_FOUND */
  async getPolicy(name: string, options?: CallOptions): Promise<Policy> {
    return parse.policy(await this.json('GET', P.PATH_POLICY_READ + arg(name), options), name);
  }

  listPolicies(prefix = '', options?: CallOptions): AsyncIterable<string> {
    return this.listNames(P.PATH_POLICY_LIST, prefix, 'names', 'name', options);
  }

  /** @throws KesError KES_ERR_IDENTITY_NOT_FOUND */
  async describeIdentity(identity: string, options?: CallOptions): Promise<IdentityInfo> {
    return parse.identityInfo(await this.json('GET', P.PATH_IDENTITY_DESCRIBE + arg(identity), options), identity);
  }

  /** The caller's own identity and policy. */
  async describeSelf(options?: CallOptions): Promise<SelfInfo> {
    return parse.selfInfo(await this.json('GET', P.PATH_IDENTITY_SELF_DESCRIBE, options));
  }

  listIdentities(prefix = '', options?: CallOptions): AsyncIterable<string> {
    return this.listNames(P.PATH_IDENTITY_LIST, prefix, 'identities', 'identity', options);
  }

  // ---- logs ------------------------------------------------------------------------------

  /** Audit events as they happen, until the signal aborts or the server closes the stream. */
  auditLog(options?: CallOptions): AsyncIterable<AuditEvent> {
    return this.events(P.PATH_LOG_AUDIT, parse.auditEvent, options);
  }

  /** Error log events as they happen, until the signal aborts or the server closes the stream. */
  errorLog(options?: CallOptions): AsyncIterable<ErrorEvent> {
    return this.events(P.PATH_LOG_ERROR, (o) => ({ message: typeof o.message === 'string' ? o.message : '' }), options);
  }

  // ---- backup ----------------------------------------------------------------------------

  /**
   * A snapshot of the server's whole key store (keys, and openkes's enclaves, policies and
   * identities), encrypted under the server's backup key (`backup.key`, docs/backup.md): what
   * MinKMS's ReadDB reads. An openkes extension that needs the admin; the snapshot is made in
   * one request, with a time limit of 10 minutes unless options.timeoutMs says otherwise.
   * @throws KesError KMS_ERR_BACKUP_NOT_CONFIGURED (501) when the server has no backup key,
   *   KES_ERR_NOT_ALLOWED, KES_ERR_STORE_FAILED (502)
   */
  async backup(options: TransferOptions = {}): Promise<Buffer> {
    const { timeoutMs, ...call } = options;
    const res = await this.send('GET', P.PATH_DB, { ...call, headers: { accept: 'application/octet-stream' }, timeoutMs: timeoutMs ?? TRANSFER_TIMEOUT_MS });
    return readBytes(res, MAX_SNAPSHOT_SIZE);
  }

  /**
   * Restores a snapshot of {@link backup} into the server's key store, which must be empty (any
   * store type; the server's backup key must be the one the snapshot was made under): what
   * MinKMS's WriteDB writes. Returns the number of entries restored, or undefined when the
   * server does not report it (MinKMS). Never sent again after a lost answer or a 503: after a
   * ConnectionError, a listing tells whether it was restored.
   * @throws KesError KMS_ERR_BACKUP_INVALID (400: damaged, or made under another key),
   *   KMS_ERR_STORE_NOT_EMPTY (409), KMS_ERR_BACKUP_NOT_CONFIGURED (501), KES_ERR_NOT_ALLOWED,
   *   KES_ERR_BODY_TOO_LARGE (413), KES_ERR_STORE_FAILED (502: nothing restored, or the restore
   *   stopped midway; the server's error log says how many entries were written)
   */
  async restore(snapshot: Uint8Array, options: TransferOptions = {}): Promise<number | undefined> {
    const { timeoutMs, ...call } = options;
    const body = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
    const res = await this.send('PUT', P.PATH_DB, {
      ...call,
      body,
      headers: { 'content-type': 'application/octet-stream' },
      timeoutMs: timeoutMs ?? TRANSFER_TIMEOUT_MS,
      notIdempotent: true,
    });
    const text = await readText(res);
    try {
      const entries = (JSON.parse(text) as { entries?: unknown } | null)?.entries;
      return typeof entries === 'number' && Number.isSafeInteger(entries) && entries >= 0 ? entries : undefined;
    } catch {
      return undefined; // MinKMS answers without a body
    }
  }

  // ---- plumbing --------------------------------------------------------------------------

  private send(method: string, path: string, options: CallOptions & RequestOptions = {}) {
    return this.transport.request(method, path, options);
  }

  private async drain(response: ReturnType<KesClient['send']>): Promise<void> {
    (await response).resume();
  }

  private async json<T = Record<string, unknown>>(method: string, path: string, options?: CallOptions & RequestOptions): Promise<T> {
    const text = await readText(await this.send(method, path, options));
    try {
      return JSON.parse(text) as T;
    } catch {
      throw parse.malformed(`${path} did not answer JSON`);
    }
  }

  /**
   * A listing: `{"<field>": [...]}` from current servers, or one `{"<ndjsonField>": ...}` per
   * line from KES ≤ v0.22 (sent as application/x-ndjson).
   */
  private async *listNames(path: string, prefix: string, field: string, ndjsonField: string, options?: CallOptions): AsyncIterable<string> {
    // A prefix that is not a valid name (e.g. `my-`) is only a valid pattern with a trailing `*`.
    const pattern = prefix === '' || isValidName(prefix) ? prefix : `${prefix}*`;
    const res = await this.send('GET', path + arg(pattern), options);
    if (res.headers['content-type']?.startsWith('application/x-ndjson')) {
      for await (const o of ndjson(res)) {
        if (typeof o.error === 'string' && o.error) throw new KesError('KES_ERR_HTTP', o.error, { status: 200 });
        if (typeof o[ndjsonField] === 'string') yield o[ndjsonField] as string;
      }
      return;
    }
    const body = parse.asObject(JSON.parse(await readText(res, 256 << 20)), 'listing');
    const names = body[field];
    if (names !== null && names !== undefined && !Array.isArray(names)) throw parse.malformed(`listing without '${field}'`);
    for (const n of names ?? []) if (typeof n === 'string') yield n;
  }

  private async *events<T>(path: string, decode: (o: Record<string, unknown>) => T, options?: CallOptions): AsyncIterable<T> {
    const res = await this.send('GET', path, { ...options, timeoutMs: 0 });
    try {
      for await (const o of ndjson(res)) yield decode(o);
    } finally {
      res.destroy();
    }
  }
}

/** How long a backup or restore may take by default: a large store, a slow key store. */
const TRANSFER_TIMEOUT_MS = 10 * 60_000;
/** The largest snapshot the client reads (a key store of millions of keys). */
const MAX_SNAPSHOT_SIZE = 1 << 30;


/** Objects of an NDJSON stream, one per line; blank lines are skipped. */
async function* ndjson(stream: AsyncIterable<Buffer | string>): AsyncIterable<Record<string, unknown>> {
  let buf = '';
  const decode = (line: string) => parse.asObject(JSON.parse(line), 'NDJSON line');
  try {
    for await (const chunk of stream) {
      buf += chunk.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line) yield decode(line);
      }
    }
  } catch (err) {
    if ((err as Error).name === 'AbortError') return;
    throw err;
  }
  if (buf.trim()) yield decode(buf.trim());
}
