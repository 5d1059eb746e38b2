/**
 * The MinKMS client SDK (docs/minkms.md): commands in frames to `POST /v1/kms[/<enclave>]`, plus
 * `/version`, health and `/v1/db`, over the same transport as {@link KesClient} (endpoints with
 * failover, client certificate or API key, CA). Errors are {@link KesError}s whose `code` is
 * mapped from the server's status and message — MinKMS's sentinels (§11.2) become
 * `KMS_ERR_PERMISSION`, `KMS_ERR_ENCLAVE_EXISTS`, `KMS_ERR_ENCLAVE_NOT_FOUND`,
 * `KMS_ERR_KEY_EXISTS`, `KES_ERR_KEY_NOT_FOUND`, `KES_ERR_POLICY_NOT_FOUND`,
 * `KES_ERR_IDENTITY_NOT_FOUND` and `KMS_ERR_DECRYPT` — or {@link ConnectionError}s when no server
 * answered. Write commands are never sent twice (only when no server can have received them).
 *
 * @example
 * ```ts
 * import { KmsClient } from 'openkes/client';
 * const kms = new KmsClient({ endpoints: 'https://127.0.0.1:7373', apiKey: process.env.MINIO_KMS_API_KEY, enclave: 'minio' });
 * const dek = await kms.generateKey('minio-key', { associatedData: Buffer.from('{}') });
 * const plaintext = await kms.decrypt('minio-key', dek.ciphertext, { associatedData: Buffer.from('{}') });
 * ```
 */
import { gunzipSync } from 'node:zlib';
import * as P from '../api/paths.js';
import { KesError } from '../api/errors.js';
import { ApiKey } from '../auth/api-key.js';
import { identityFromEither, isKmsApiKeyText, kmsIdentityOf, KmsApiKey } from '../auth/kms-credentials.js';
import { CMD, commandByNumber } from '../kms/commands.js';
import { decodeFrames, encodeFrames, FrameError, type DecodedFrame, type Frame } from '../kms/frames.js';
import * as M from '../kms/messages.js';
import type { CallOptions } from './client.js';
import { malformed } from './parse.js';
import { readBytes, type RequestOptions, type Response, type Transport } from './transport.js';
import { connect, type ConnectionOptions } from './connect.js';

/** The MinKMS messages the client's methods take and return (KeyStatusResponse, EncryptResponse, ...). */
export type * as KmsMessages from '../kms/messages.js';
export type { Frame as KmsFrame, DecodedFrame as KmsDecodedFrame } from '../kms/frames.js';

export interface KmsClientOptions extends ConnectionOptions {
  /**
   * Authenticate with an API key: a MinKMS `k1:` (Ed25519) or `k2:` (ECDSA P-256 or P-384) key, a
   * KES `kes:v1:` key (the same Ed25519 key as `k1:`), or a parsed key. A self-signed client
   * certificate is made from it in memory (docs/minkms.md "Identities").
   */
  apiKey?: string | KmsApiKey | ApiKey;
  /**
   * The enclave of key, policy and identity commands; '' (the default) sends them to `/v1/kms`,
   * the server's default enclave. Enclave management always goes to `/v1/kms`.
   */
  enclave?: string;
}

/** Per-call options of enclave-scoped commands. */
export interface KmsCallOptions extends CallOptions {
  /** The enclave of this call instead of the client's ('' = `/v1/kms`). */
  enclave?: string;
}

/** A key type of MinKMS: `AES256`, `ChaCha20`, or '' for the server's choice. */
export type KmsKeyType = 'AES256' | 'ChaCha20' | '';

/** A privilege of IDENTITY:CREATE ('' = User). */
export type KmsPrivilege = 'SysAdmin' | 'Admin' | 'User' | '';

/** The numbers IdentityResponse.privilege carries. */
export const KMS_PRIVILEGE = { SysAdmin: 1, Admin: 2, User: 3 } as const;

/** The privilege a number of IdentityResponse.privilege names (0: none). */
export const KMS_PRIVILEGE_NAMES: Readonly<Record<number, KmsPrivilege>> = { 0: '', 1: 'SysAdmin', 2: 'Admin', 3: 'User' };

/** A listing request: names starting with prefix, from continueAt (inclusive), at most limit (0 = the server's default). */
export interface KmsListOptions extends KmsCallOptions {
  prefix?: string;
  continueAt?: string;
  limit?: number;
}

/** One page of a listing: its items and the name the next page starts at ('' = the listing is complete). */
export interface KmsPage<T> {
  items: T[];
  continueAt: string;
}

/** Policy rules as given to createPolicy: command name (e.g. `KEY:GENERATE`) → patterns. */
export type KmsPolicyRules = Readonly<Record<string, string | readonly string[]>>;

export interface KmsCreateKeyOptions extends KmsCallOptions {
  type?: KmsKeyType;
  /** Add a version to an existing key (rotate) instead of creating it. */
  addVersion?: boolean;
}

export interface KmsDeleteKeyOptions extends KmsCallOptions {
  /** The version to delete; 0 or absent = the latest. */
  version?: number;
  /** Delete the key with all its versions (version must then be 0 or absent). */
  allVersions?: boolean;
}

export interface KmsVersionOptions extends KmsCallOptions {
  /** The key version; 0 or absent = the latest (for decrypt: the server finds it). */
  version?: number;
}

export interface KmsCryptOptions extends KmsVersionOptions {
  /** AEAD associated data; it must be given again to decrypt. */
  associatedData?: Uint8Array;
}

export interface KmsGenerateKeyOptions extends KmsCryptOptions {
  /** Data key length in bytes; 0 or absent = 32; at most 1024. */
  length?: number;
}

export interface KmsCreateIdentityOptions extends KmsCallOptions {
  privilege?: KmsPrivilege;
  /** A service account of the caller: it has the caller's rights and is deleted with it. */
  serviceAccount?: boolean;
  tags?: Readonly<Record<string, string>>;
}

type Init<T> = Partial<T>;
type Named = { name: string };

/** `/v1/kms` for '' , else `/v1/kms/<enclave>` (one escaped path segment). */
function kmsPath(enclave: string): string {
  return enclave === '' ? P.PATH_KMS : P.PATH_KMS_ENCLAVE + encodeURIComponent(enclave);
}

/** An identity as the wire carries it: hex identities are sent as `h1:`, anything else as given. */
function wireIdentity(identity: string): string {
  const hex = identityFromEither(identity);
  return hex !== undefined && !identity.startsWith('h1:') ? kmsIdentityOf(hex) : identity;
}

/** Rules as the wire carries them: command → sorted patterns. */
function ruleSets(rules: KmsPolicyRules = {}): M.RuleSets {
  const out: M.RuleSets = {};
  for (const [command, patterns] of Object.entries(rules)) out[command] = typeof patterns === 'string' ? [patterns] : [...patterns];
  return out;
}

const KMS_HEADERS = { 'content-type': 'application/octet-stream', accept: 'application/*' };

export class KmsClient {
  private readonly transport: Transport;
  /** The enclave of calls that name none. */
  readonly enclave: string;
  /** The identity of the client's API key (hex, as KES writes it); undefined with a certificate. */
  readonly identity?: string;

  constructor(options: KmsClientOptions) {
    const apiKey = typeof options.apiKey === 'string' ? parseApiKey(options.apiKey) : options.apiKey instanceof ApiKey ? KmsApiKey.fromApiKey(options.apiKey) : options.apiKey;
    // The certificate MinKMS's SDK presents for an API key names its h1: identity (docs/minkms.md).
    this.transport = connect(options, apiKey, apiKey?.kmsIdentity);
    this.identity = apiKey?.identity;
    this.enclave = options.enclave ?? '';
  }

  /** The endpoints in use, normalized. */
  get endpoints(): readonly string[] {
    return this.transport.endpoints.endpoints;
  }

  /** The client's identity in MinKMS form (`h1:`); undefined with a certificate. */
  get kmsIdentity(): string | undefined {
    return this.identity === undefined ? undefined : kmsIdentityOf(this.identity);
  }

  /** Closes idle connections. The client can still be used afterwards. */
  close(): void {
    this.transport.close();
  }

  // ---- server ----------------------------------------------------------------------------

  /** `/version`, asked for as binary (a protobuf-JSON answer is read as well). */
  async version(options?: CallOptions): Promise<M.VersionResponse> {
    const res = await this.request('GET', P.PATH_VERSION, { ...options, headers: { accept: 'application/octet-stream' } });
    const body = await readBytes(res);
    if (res.headers['content-type'] === 'application/octet-stream') return decodeMessage(M.VersionResponse, body);
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw malformed('/version did not answer a VersionResponse');
    }
    const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : '');
    return M.VersionResponse.create({ version: str('version'), commit: str('commit'), apiVersion: str('api_version'), host: str('host'), fips140: o.fips140 === true });
  }

  /** Reports whether the server answers `/v1/health/live` with 200. */
  async live(options?: CallOptions): Promise<boolean> {
    return this.healthy(P.PATH_HEALTH_LIVE, options);
  }

  /** Reports whether the server is ready (`/v1/health/ready`; with `write`, ready for writes). */
  async ready(options: CallOptions & { write?: boolean } = {}): Promise<boolean> {
    const { write, ...call } = options;
    return this.healthy(P.PATH_HEALTH_READY + (write ? '?write' : ''), call);
  }

  /** A snapshot of the server's database (`GET /v1/db`, SysAdmin), opaque; gzip is undone. */
  async readDb(options?: CallOptions): Promise<Buffer> {
    const res = await this.request('GET', P.PATH_DB, { ...options, timeoutMs: 0, headers: { accept: 'application/*' } });
    const body = await readBytes(res, 1 << 30);
    return res.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
  }

  /** Restores a snapshot of {@link readDb} (`PUT /v1/db`, SysAdmin). Never sent twice. */
  async writeDb(snapshot: Uint8Array, options?: CallOptions): Promise<void> {
    const res = await this.request('PUT', P.PATH_DB, {
      ...options,
      timeoutMs: 0,
      body: Buffer.from(snapshot),
      headers: { 'content-type': 'application/octet-stream', accept: 'application/octet-stream' },
      notIdempotent: true,
    });
    res.resume();
  }

  // ---- commands --------------------------------------------------------------------------

  /**
   * Sends command frames to `/v1/kms` ('' enclave) or `/v1/kms/<enclave>` and returns the answer
   * frames: exactly one per request frame, with the same command numbers (else a KES_ERR_HTTP
   * error). A request with a write command is never sent twice. No frames: nothing is sent.
   * @throws KesError for an error answer (the whole request failed), ConnectionError
   */
  async send(enclave: string, frames: readonly Frame[], options: CallOptions = {}): Promise<DecodedFrame[]> {
    if (frames.length === 0) return [];
    const write = frames.some((f) => commandByNumber(f.command)?.write ?? true);
    const res = await this.request('POST', kmsPath(enclave), { ...options, body: encodeFrames(frames), headers: KMS_HEADERS, notIdempotent: write });
    const body = await readBytes(res, 256 << 20);
    let answers: DecodedFrame[];
    try {
      answers = decodeFrames(body, Math.max(frames.length, 1));
    } catch (err) {
      if (err instanceof FrameError) throw malformed(`${err.message.replace(/^kms: /, '')} in the answer`);
      throw err;
    }
    if (answers.length !== frames.length) throw malformed(`${answers.length} answer frames for ${frames.length} commands`);
    answers.forEach((a, i) => {
      if (a.command !== frames[i]!.command) throw malformed(`received command ${commandByNumber(a.command)?.name ?? a.command} for ${commandByNumber(frames[i]!.command)?.name ?? frames[i]!.command}`);
    });
    return answers;
  }

  // ---- keys ------------------------------------------------------------------------------

  /** Creates a key (version 1), or with `addVersion` adds a version. @throws KesError KMS_ERR_KEY_EXISTS, KES_ERR_KEY_NOT_FOUND */
  async createKey(name: string, options: KmsCreateKeyOptions = {}): Promise<void> {
    const { type, addVersion, ...call } = options;
    await this.write(CMD.KEY_CREATE, M.CreateKeyRequest, { name, type: type ?? '', addVersion: addVersion ?? false }, call);
  }

  /** Imports 32 bytes of key material as version 1 of a new key. @throws KesError KMS_ERR_KEY_EXISTS */
  async importKey(name: string, key: Uint8Array, type: KmsKeyType = '', options: KmsCallOptions = {}): Promise<void> {
    await this.write(CMD.KEY_IMPORT, M.ImportKeyRequest, { name, type, key: Buffer.from(key) }, options);
  }

  /**
   * Deletes the latest version, a given version, or with `allVersions` the key; the last
   * remaining version goes with its key. @throws KesError KES_ERR_KEY_NOT_FOUND
   */
  async deleteKey(name: string, options: KmsDeleteKeyOptions = {}): Promise<void> {
    const { version, allVersions, ...call } = options;
    if (allVersions && version) throw new TypeError('a version cannot be given when all versions are deleted');
    await this.write(CMD.KEY_DELETE, M.DeleteKeyRequest, { name, version: version ?? 0, allVersions: allVersions ?? false }, call);
  }

  /**
   * The status of a key version (the latest by default), or of several in one request: one
   * answer per request, in order. @throws KesError KES_ERR_KEY_NOT_FOUND when any is missing
   */
  keyStatus(name: string, options?: KmsVersionOptions): Promise<M.KeyStatusResponse>;
  keyStatus(requests: readonly (string | (Named & { version?: number }))[], options?: KmsCallOptions): Promise<M.KeyStatusResponse[]>;
  keyStatus(what: string | readonly (string | (Named & { version?: number }))[], options: KmsVersionOptions = {}): Promise<M.KeyStatusResponse | M.KeyStatusResponse[]> {
    const { version, ...call } = options;
    const requests = (typeof what === 'string' ? [{ name: what, version }] : what).map((r) => (typeof r === 'string' ? { name: r } : r));
    const answers = this.batch(CMD.KEY_STATUS, M.KeyStatusRequest, M.KeyStatusResponse, requests, call);
    return typeof what === 'string' ? first(answers) : answers;
  }

  /** Encrypts with a key version (the latest by default). */
  async encrypt(name: string, plaintext: Uint8Array, options: KmsCryptOptions = {}): Promise<M.EncryptResponse> {
    const { version, associatedData, ...call } = options;
    return first(this.encryptBatch([{ name, plaintext: Buffer.from(plaintext), version, associatedData: buf(associatedData) }], call));
  }

  /** Several encryptions in one request. */
  encryptBatch(requests: readonly (Named & Init<M.EncryptRequest>)[], options?: KmsCallOptions): Promise<M.EncryptResponse[]> {
    return this.batch(CMD.KEY_ENCRYPT, M.EncryptRequest, M.EncryptResponse, requests, options);
  }

  /** Decrypts a ciphertext of any live version of the key. @throws KesError KMS_ERR_DECRYPT */
  async decrypt(name: string, ciphertext: Uint8Array, options: KmsCryptOptions = {}): Promise<Buffer> {
    const { version, associatedData, ...call } = options;
    return (await first(this.decryptBatch([{ name, ciphertext: Buffer.from(ciphertext), version, associatedData: buf(associatedData) }], call))).plaintext;
  }

  /** Several decryptions in one request. */
  decryptBatch(requests: readonly (Named & Init<M.DecryptRequest>)[], options?: KmsCallOptions): Promise<M.DecryptResponse[]> {
    return this.batch(CMD.KEY_DECRYPT, M.DecryptRequest, M.DecryptResponse, requests, options);
  }

  /** A data key: fresh random bytes (32 by default) and their encryption with the key. */
  async generateKey(name: string, options: KmsGenerateKeyOptions = {}): Promise<M.GenerateKeyResponse> {
    const { version, associatedData, length, ...call } = options;
    return first(this.generateKeyBatch([{ name, version, associatedData: buf(associatedData), length }], call));
  }

  /** Several data keys in one request. */
  generateKeyBatch(requests: readonly (Named & Init<M.GenerateKeyRequest>)[], options?: KmsCallOptions): Promise<M.GenerateKeyResponse[]> {
    return this.batch(CMD.KEY_GENERATE, M.GenerateKeyRequest, M.GenerateKeyResponse, requests, options);
  }

  /** A MAC of message with the key (deterministic per key version and message). */
  async mac(name: string, message: Uint8Array, options: KmsVersionOptions = {}): Promise<M.MACResponse> {
    const { version, ...call } = options;
    return first(this.macBatch([{ name, message: Buffer.from(message), version }], call));
  }

  /** Several MACs in one request. */
  macBatch(requests: readonly (Named & Init<M.MACRequest>)[], options?: KmsCallOptions): Promise<M.MACResponse[]> {
    return this.batch(CMD.KEY_MAC, M.MACRequest, M.MACResponse, requests, options);
  }

  /** One page of the keys (each described by its latest version). */
  async listKeys(options: KmsListOptions = {}): Promise<KmsPage<M.KeyStatusResponse>> {
    const answer = await this.list(CMD.KEY_LIST, M.ListKeysResponse, options);
    return { items: answer.keys, continueAt: answer.continueAt };
  }

  /** Every key starting with prefix, page by page. */
  iterateKeys(options: Omit<KmsListOptions, 'continueAt'> = {}): AsyncIterable<M.KeyStatusResponse> {
    return pages((o) => this.listKeys(o), options);
  }

  // ---- enclaves (SysAdmin; always sent to /v1/kms) ----------------------------------------

  /** @throws KesError KMS_ERR_ENCLAVE_EXISTS */
  async createEnclave(name: string, options?: CallOptions): Promise<void> {
    await this.write(CMD.ENCLAVE_CREATE, M.CreateEnclaveRequest, { name }, { ...options, enclave: '' });
  }

  /** Deletes an enclave with its keys, policies and identities. @throws KesError KMS_ERR_ENCLAVE_NOT_FOUND */
  async deleteEnclave(name: string, options?: CallOptions): Promise<void> {
    await this.write(CMD.ENCLAVE_DELETE, M.DeleteEnclaveRequest, { name }, { ...options, enclave: '' });
  }

  /** @throws KesError KMS_ERR_ENCLAVE_NOT_FOUND */
  enclaveStatus(name: string, options?: CallOptions): Promise<M.EnclaveStatusResponse>;
  enclaveStatus(names: readonly string[], options?: CallOptions): Promise<M.EnclaveStatusResponse[]>;
  enclaveStatus(what: string | readonly string[], options?: CallOptions): Promise<M.EnclaveStatusResponse | M.EnclaveStatusResponse[]> {
    const answers = this.batch(CMD.ENCLAVE_STATUS, M.EnclaveStatusRequest, M.EnclaveStatusResponse, names(what), { ...options, enclave: '' });
    return typeof what === 'string' ? first(answers) : answers;
  }

  async listEnclaves(options: Omit<KmsListOptions, 'enclave'> = {}): Promise<KmsPage<M.EnclaveStatusResponse>> {
    const answer = await this.list(CMD.ENCLAVE_LIST, M.ListEnclavesResponse, { ...options, enclave: '' });
    return { items: answer.enclaves, continueAt: answer.continueAt };
  }

  iterateEnclaves(options: Omit<KmsListOptions, 'continueAt' | 'enclave'> = {}): AsyncIterable<M.EnclaveStatusResponse> {
    return pages((o) => this.listEnclaves(o), options);
  }

  // ---- policies --------------------------------------------------------------------------

  /**
   * Creates or overwrites a policy: command name → patterns.
   * @example await kms.createPolicy('minio', { allow: { 'KEY:GENERATE': 'minio-*', 'KEY:DECRYPT': ['minio-*'] } });
   */
  async createPolicy(name: string, rules: { allow?: KmsPolicyRules; deny?: KmsPolicyRules } = {}, options?: KmsCallOptions): Promise<void> {
    await this.write(CMD.POLICY_CREATE, M.CreatePolicyRequest, { name, allow: ruleSets(rules.allow), deny: ruleSets(rules.deny) }, options);
  }

  /** @throws KesError KES_ERR_POLICY_NOT_FOUND */
  async deletePolicy(name: string, options?: KmsCallOptions): Promise<void> {
    await this.write(CMD.POLICY_DELETE, M.DeletePolicyRequest, { name }, options);
  }

  /** Assigns a policy to an identity (`h1:` or hex) of the same enclave. @throws KesError KES_ERR_POLICY_NOT_FOUND, KES_ERR_IDENTITY_NOT_FOUND */
  async assignPolicy(identity: string, policy: string, options?: KmsCallOptions): Promise<void> {
    if (identity === '') throw new TypeError('an identity is required');
    await this.write(CMD.POLICY_ASSIGN, M.AssignPolicyRequest, { identity: wireIdentity(identity), policy }, options);
  }

  /** A policy with its rules. @throws KesError KES_ERR_POLICY_NOT_FOUND */
  getPolicy(name: string, options?: KmsCallOptions): Promise<M.PolicyResponse>;
  getPolicy(names: readonly string[], options?: KmsCallOptions): Promise<M.PolicyResponse[]>;
  getPolicy(what: string | readonly string[], options?: KmsCallOptions): Promise<M.PolicyResponse | M.PolicyResponse[]> {
    const answers = this.batch(CMD.POLICY_GET, M.PolicyRequest, M.PolicyResponse, names(what), options);
    return typeof what === 'string' ? first(answers) : answers;
  }

  /** @throws KesError KES_ERR_POLICY_NOT_FOUND */
  policyStatus(name: string, options?: KmsCallOptions): Promise<M.PolicyStatusResponse>;
  policyStatus(names: readonly string[], options?: KmsCallOptions): Promise<M.PolicyStatusResponse[]>;
  policyStatus(what: string | readonly string[], options?: KmsCallOptions): Promise<M.PolicyStatusResponse | M.PolicyStatusResponse[]> {
    const answers = this.batch(CMD.POLICY_STATUS, M.PolicyRequest, M.PolicyStatusResponse, names(what), options);
    return typeof what === 'string' ? first(answers) : answers;
  }

  async listPolicies(options: KmsListOptions = {}): Promise<KmsPage<M.PolicyStatusResponse>> {
    const answer = await this.list(CMD.POLICY_LIST, M.ListPoliciesResponse, options);
    return { items: answer.policies, continueAt: answer.continueAt };
  }

  iteratePolicies(options: Omit<KmsListOptions, 'continueAt'> = {}): AsyncIterable<M.PolicyStatusResponse> {
    return pages((o) => this.listPolicies(o), options);
  }

  // ---- identities ------------------------------------------------------------------------

  /** Creates or overwrites an identity (`h1:` or hex). */
  async createIdentity(identity: string, options: KmsCreateIdentityOptions = {}): Promise<void> {
    const { privilege, serviceAccount, tags, ...call } = options;
    const req = { identity: wireIdentity(identity), privilege: privilege ?? '', isServiceAccount: serviceAccount ?? false, tags: { ...tags } };
    await this.write(CMD.IDENTITY_CREATE, M.CreateIdentityRequest, req, call);
  }

  /** Deletes an identity and its service accounts. @throws KesError KES_ERR_IDENTITY_NOT_FOUND */
  async deleteIdentity(identity: string, options?: KmsCallOptions): Promise<void> {
    await this.write(CMD.IDENTITY_DELETE, M.DeleteIdentityRequest, { identity: wireIdentity(identity) }, options);
  }

  /** @throws KesError KES_ERR_IDENTITY_NOT_FOUND */
  identityStatus(identity: string, options?: KmsCallOptions): Promise<M.IdentityResponse>;
  identityStatus(identities: readonly string[], options?: KmsCallOptions): Promise<M.IdentityResponse[]>;
  identityStatus(what: string | readonly string[], options?: KmsCallOptions): Promise<M.IdentityResponse | M.IdentityResponse[]> {
    const requests = (typeof what === 'string' ? [what] : what).map((id) => ({ identity: wireIdentity(id) }));
    const answers = this.batch(CMD.IDENTITY_STATUS, M.IdentityRequest, M.IdentityResponse, requests, options);
    return typeof what === 'string' ? first(answers) : answers;
  }

  async listIdentities(options: KmsListOptions = {}): Promise<KmsPage<M.IdentityResponse>> {
    const answer = await this.list(CMD.IDENTITY_LIST, M.ListIdentitiesResponse, options);
    return { items: answer.identities, continueAt: answer.continueAt };
  }

  iterateIdentities(options: Omit<KmsListOptions, 'continueAt'> = {}): AsyncIterable<M.IdentityResponse> {
    return pages((o) => this.listIdentities(o), options);
  }

  // ---- plumbing --------------------------------------------------------------------------

  private request(method: string, path: string, options: RequestOptions): Promise<Response> {
    return this.transport.request(method, path, options).then((res) => {
      // MinKMS's success is exactly 200 (docs/minkms.md).
      if (res.statusCode !== 200) {
        res.resume();
        throw new KesError('KES_ERR_HTTP', `unexpected status ${res.statusCode ?? 0}`, { status: res.statusCode ?? 0 });
      }
      return res;
    });
  }

  private async healthy(path: string, options?: CallOptions): Promise<boolean> {
    try {
      (await this.request('GET', path, { ...options, headers: { accept: 'application/*' } })).resume();
      return true;
    } catch (err) {
      if (err instanceof KesError && (err.status === 502 || err.status === 503 || err.status === 504)) return false;
      throw err;
    }
  }

  private enclaveOf(options: KmsCallOptions | undefined): string {
    return options?.enclave ?? this.enclave;
  }

  private async write<T>(command: number, codec: M.MessageCodec<T>, req: Partial<T>, options: KmsCallOptions = {}): Promise<void> {
    const { enclave: _, ...call } = options;
    await this.send(this.enclaveOf(options), [{ command, payload: codec.encode(req) }], call);
  }

  private async batch<Q, A>(command: number, req: M.MessageCodec<Q>, res: M.MessageCodec<A>, requests: readonly Partial<Q>[], options: KmsCallOptions = {}): Promise<A[]> {
    const { enclave: _, ...call } = options;
    const frames = requests.map((r) => ({ command, payload: req.encode(r) }));
    return (await this.send(this.enclaveOf(options), frames, call)).map((f) => decodeMessage(res, f.payload));
  }

  /** One listing request: a single-answer command. */
  private async list<A>(command: number, res: M.MessageCodec<A>, options: KmsListOptions): Promise<A> {
    const { prefix, continueAt, limit, ...call } = options;
    return first(this.batch(command, M.ListRequest, res, [{ prefix: prefix ?? '', continueAt: continueAt ?? '', limit: limit ?? 0 }], call));
  }
}

/**
 * Every item of a listing: pages from the first on, until a page is empty or has no
 * continuation (as the MinKMS SDK's iterator).
 */
async function* pages<T, O extends object>(list: (o: O & { continueAt: string }) => Promise<KmsPage<T>>, options: O): AsyncIterable<T> {
  let continueAt = '';
  for (;;) {
    const page = await list({ ...options, continueAt });
    yield* page.items;
    if (page.items.length === 0 || page.continueAt === '') return;
    continueAt = page.continueAt;
  }
}

async function first<T>(answers: Promise<T[]>): Promise<T> {
  return (await answers)[0]!;
}

function names(what: string | readonly string[]): Named[] {
  return (typeof what === 'string' ? [what] : what).map((name) => ({ name }));
}

function buf(b: Uint8Array | undefined): Buffer | undefined {
  return b === undefined ? undefined : Buffer.from(b);
}

function decodeMessage<T>(codec: M.MessageCodec<T>, payload: Uint8Array): T {
  try {
    return codec.decode(payload);
  } catch (err) {
    if (err instanceof M.MessageError) throw malformed(err.message.replace(/^kms: /, ''));
    throw err;
  }
}

/** A `k1:`/`k2:` MinKMS key, or a KES key (`kes:v1:`) as the same Ed25519 key. */
function parseApiKey(text: string): KmsApiKey {
  return isKmsApiKeyText(text) ? KmsApiKey.parse(text) : KmsApiKey.fromApiKey(ApiKey.parse(text));
}

