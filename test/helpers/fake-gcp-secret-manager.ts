/**
 * A fake GCP Secret Manager for tests: an HTTP server on 127.0.0.1 that serves both Google's
 * OAuth 2.0 token endpoint for service accounts (`POST /token`) and the Secret Manager REST API v1,
 * as Google documents them.
 *
 * Token endpoint (JWT bearer grant, RFC 7523, "Using OAuth 2.0 for server to server
 * applications"): `application/x-www-form-urlencoded` body with
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and `assertion=<JWT>`. The JWT must be
 * RS256 and signed by the test service account's key (verified against its public key), with
 * `kid` (when present) = the key id, `iss` = the account's email, `aud` = the token URI, a
 * non-empty `scope`, `iat`/`exp` numbers with `exp` in the future and at most one hour after
 * `iat`. Errors are OAuth's `{"error", "error_description"}` with 400. Answers
 * `{"access_token", "expires_in", "token_type": "Bearer"}`.
 *
 * Secret Manager (REST reference v1): every `/v1/` request needs `Authorization: Bearer <token>`
 * with a token this fake issued and that has not expired, else 401 UNAUTHENTICATED. Errors have
 * Google's shape `{"error": {"code", "message", "status"}}`. Served:
 *   POST   /v1/projects/<p>/secrets?secretId=<id>        (replication required; 409 ALREADY_EXISTS)
 *   GET    /v1/projects/<p>/secrets?pageSize&pageToken   (newest first; `secrets` left out when empty)
 *   GET    /v1/projects/<p>/secrets/<id>
 *   DELETE /v1/projects/<p>/secrets/<id>                 (404 NOT_FOUND)
 *   POST   /v1/projects/<p>/secrets/<id>:addVersion      ({"payload":{"data": base64}}, ≤ 64 KiB)
 *   GET    /v1/projects/<p>/secrets/<id>/versions/<n|latest>:access
 * `<p>` is the project id or number; resource names in answers use the number, as the service
 * does. Another project → 403 PERMISSION_DENIED. Unknown paths and methods → 404 with an HTML
 * page, as Google's front end answers.
 *
 * Faults: {@link FakeGcpSecretManager.inject} answers an error, hangs (never answers) or resets
 * the connection; kill() closes every socket and stops listening. {@link FakeGcpSecretManager.plant}
 * and {@link FakeGcpSecretManager.raw} reach the data as KES lays it out.
 */
import * as http from 'node:http';
import { createVerify, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeGcpOptions {
  /** The project id (default `openkes-test`). */
  projectId?: string;
  /** Lifetime of issued access tokens, in seconds (default 3600). */
  tokenLifetimeSec?: number;
  /** The most secrets a list page holds, whatever `pageSize` asks (default 25,000, the service's cap). */
  maxPageSize?: number;
}

/** What a request was, for faults and the request log. */
export type RequestKind = 'token' | 'create' | 'addVersion' | 'access' | 'get' | 'delete' | 'list' | 'other';

export interface RecordedRequest {
  kind: RequestKind;
  method: string;
  /** Path and query. */
  url: string;
  /** The bearer token sent, if any. */
  token?: string;
  body: string;
}

export interface FakeFault {
  /** The kind of request it applies to; every request when absent. */
  kind?: RequestKind;
  /** Answer with this HTTP status and Google error status instead of serving. */
  error?: { code: number; status: string; message?: string };
  /** Never answer (the connection stays open). */
  hang?: boolean;
  /** Destroy the connection without an answer. */
  reset?: boolean;
  /** How many matching requests it applies to (default: all until cleared). */
  times?: number;
}

export type VersionState = 'ENABLED' | 'DISABLED' | 'DESTROYED';

interface Version {
  data: Buffer;
  state: VersionState;
  createTime: string;
}

interface Secret {
  id: string;
  replication: unknown;
  createTime: string;
  seq: number;
  versions: Version[];
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const MAX_PAYLOAD = 65_536;
const MAX_PAGE = 25_000;
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** The fake service; start it with {@link FakeGcpSecretManager.start}, stop it with close(). */
export class FakeGcpSecretManager {
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  readonly projectId: string;
  readonly projectNumber = '123456789012';
  /** The service account: the config's `credentials` section. */
  readonly credentials: { clientEmail: string; clientId: string; privateKeyId: string; privateKey: string };
  private readonly publicKey: KeyObject;
  private readonly secrets = new Map<string, Secret>();
  private readonly tokens = new Map<string, number>();
  private readonly faults: FakeFault[] = [];
  private readonly sockets = new Set<Socket>();
  private seq = 0;
  private listening = true;

  private constructor(
    private readonly server: http.Server,
    private readonly options: FakeGcpOptions,
  ) {
    this.projectId = options.projectId ?? 'openkes-test';
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.publicKey = publicKey;
    this.credentials = {
      clientEmail: `openkes@${this.projectId}.iam.gserviceaccount.com`,
      clientId: '114153891410700359130',
      privateKeyId: randomBytes(20).toString('hex'),
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
  }

  static async start(options: FakeGcpOptions = {}): Promise<FakeGcpSecretManager> {
    const server = http.createServer();
    const fake = new FakeGcpSecretManager(server, options);
    server.on('request', (req, res) => fake.onRequest(req, res));
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** The service endpoint (the config's `endpoint`). */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The token endpoint (the config's `credentials.token_uri`). */
  get tokenUri(): string {
    return `${this.url}/token`;
  }

  /** Connections open now. */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** Access tokens issued so far. */
  get tokensIssued(): number {
    return this.requests.filter((r) => r.kind === 'token').length;
  }

  /** Makes every access token issued so far invalid (the service then answers 401). */
  expireTokens(): void {
    this.tokens.clear();
  }

  inject(fault: FakeFault): void {
    this.faults.push({ ...fault });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /**
   * Stores a secret as KES lays it out (automatic replication, the entry as version 1; later
   * versions when given), bypassing the API.
   */
  plant(id: string, versions: Uint8Array[], replication: unknown = { automatic: {} }): void {
    this.secrets.set(id, {
      id,
      replication,
      createTime: new Date().toISOString(),
      seq: this.seq++,
      versions: versions.map((v) => ({ data: Buffer.from(v), state: 'ENABLED', createTime: new Date().toISOString() })),
    });
  }

  /** A secret as stored, or undefined. */
  raw(id: string): { replication: unknown; versions: { data: Buffer; state: VersionState }[] } | undefined {
    const s = this.secrets.get(id);
    return s && { replication: structuredClone(s.replication), versions: s.versions.map((v) => ({ data: Buffer.from(v.data), state: v.state })) };
  }

  /** Changes the state of version n (1-based) of a secret. */
  setVersionState(id: string, n: number, state: VersionState): void {
    const v = this.secrets.get(id)?.versions[n - 1];
    if (!v) throw new Error(`no version ${n} of ${id}`);
    v.state = state;
  }

  /** Closes every connection and stops listening: clients see refused connections afterwards. */
  async kill(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  async close(): Promise<void> {
    await this.kill();
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://fake');
      const kind = kindOf(req.method ?? '', url.pathname);
      const auth = req.headers.authorization;
      const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
      this.requests.push({ kind, method: req.method ?? '', url: req.url ?? '/', body, ...(token !== undefined ? { token } : {}) });
      const fault = this.takeFault(kind);
      if (fault?.hang) return;
      if (fault?.reset) return void req.socket.destroy();
      if (fault?.error) return sendError(res, new ApiError(fault.error.code, fault.error.status, fault.error.message ?? 'injected'));
      try {
        if (kind === 'token') return this.token(req, body, res);
        if (!url.pathname.startsWith('/v1/')) return notFoundPage(res, url.pathname);
        this.authorize(token);
        this.api(req.method ?? '', url, body, res);
      } catch (err) {
        if (err instanceof ApiError) return sendError(res, err);
        sendError(res, new ApiError(500, 'INTERNAL', (err as Error).message));
      }
    });
  }

  private takeFault(kind: RequestKind): FakeFault | undefined {
    const i = this.faults.findIndex((f) => f.kind === undefined || f.kind === kind);
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    if (f.times !== undefined && --f.times <= 0) this.faults.splice(i, 1);
    return f;
  }

  // --- OAuth 2.0 token endpoint --------------------------------------------------------------

  private token(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const oauthError = (error: string, description: string) => sendJson(res, 400, { error, error_description: description });
    if (req.method !== 'POST') return notFoundPage(res, '/token');
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return oauthError('invalid_request', 'Invalid content type');
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== JWT_BEARER) return oauthError('unsupported_grant_type', 'Invalid grant_type: ' + (form.get('grant_type') ?? ''));
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return oauthError('invalid_grant', 'Invalid JWT: not a JWS');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return oauthError('invalid_grant', 'Invalid JWT: malformed header or claims');
    }
    if (header.alg !== 'RS256') return oauthError('invalid_grant', 'Invalid JWT: alg must be RS256');
    if (header.kid !== undefined && header.kid !== this.credentials.privateKeyId) return oauthError('invalid_grant', 'Invalid JWT Signature.');
    const ok = createVerify('RSA-SHA256').update(`${parts[0]}.${parts[1]}`).verify(this.publicKey, Buffer.from(parts[2]!, 'base64url'));
    if (!ok) return oauthError('invalid_grant', 'Invalid JWT Signature.');
    if (claims.iss !== this.credentials.clientEmail) return oauthError('invalid_grant', 'Invalid JWT: iss is not the service account');
    if (claims.aud !== this.tokenUri) return oauthError('invalid_grant', 'Invalid JWT: aud must be the token URI');
    if (typeof claims.scope !== 'string' || claims.scope.trim() === '') return oauthError('invalid_scope', 'Empty or missing scope not allowed.');
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp <= now || iat > now + 60 || exp - iat > 3600) {
      return oauthError('invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
    }
    const lifetime = this.options.tokenLifetimeSec ?? 3600;
    const accessToken = `ya29.fake-${randomBytes(16).toString('hex')}`;
    this.tokens.set(accessToken, Date.now() + lifetime * 1000);
    sendJson(res, 200, { access_token: accessToken, expires_in: lifetime, token_type: 'Bearer' });
  }

  private authorize(token: string | undefined): void {
    const expires = token === undefined ? undefined : this.tokens.get(token);
    if (expires === undefined || expires <= Date.now()) {
      throw new ApiError(
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      );
    }
  }

  // --- Secret Manager REST API v1 ------------------------------------------------------------

  private api(method: string, url: URL, body: string, res: http.ServerResponse): void {
    const m = /^\/v1\/projects\/([^/]+)\/secrets(?:\/([^/:]+)(?::(addVersion)|\/versions\/([^/:]+):(access))?)?$/.exec(url.pathname);
    if (!m) return notFoundPage(res, url.pathname);
    const [, project, id, addVersion, version, access] = m;
    const route =
      id === undefined ? (method === 'POST' ? 'create' : method === 'GET' ? 'list' : undefined)
      : addVersion ? (method === 'POST' ? 'addVersion' : undefined)
      : access ? (method === 'GET' ? 'access' : undefined)
      : method === 'GET' ? 'get'
      : method === 'DELETE' ? 'delete'
      : undefined;
    if (route === undefined) return notFoundPage(res, url.pathname);
    if (project !== this.projectId && project !== this.projectNumber) {
      throw new ApiError(403, 'PERMISSION_DENIED', `Permission denied on resource project ${project}.`);
    }
    const parent = `projects/${this.projectNumber}`;
    switch (route) {
      case 'create': {
        const secretId = url.searchParams.get('secretId') ?? '';
        if (!SECRET_ID.test(secretId)) throw new ApiError(400, 'INVALID_ARGUMENT', `Invalid resource field value in the request: secretId '${secretId}'`);
        const secret = parseJson(body) as { replication?: { automatic?: unknown; userManaged?: unknown } };
        const r = secret.replication;
        if (!r || typeof r !== 'object' || (r.automatic === undefined) === (r.userManaged === undefined)) {
          throw new ApiError(400, 'INVALID_ARGUMENT', 'Secret.replication is required and must set exactly one of automatic and user_managed.');
        }
        if (this.secrets.has(secretId)) throw new ApiError(409, 'ALREADY_EXISTS', `Secret [${parent}/secrets/${secretId}] already exists.`);
        const s: Secret = { id: secretId, replication: r, createTime: new Date().toISOString(), seq: this.seq++, versions: [] };
        this.secrets.set(secretId, s);
        return sendJson(res, 200, this.secretJson(s));
      }
      case 'list': {
        const requested = Number(url.searchParams.get('pageSize') ?? '0');
        if (!Number.isInteger(requested) || requested < 0) throw new ApiError(400, 'INVALID_ARGUMENT', 'Invalid page size.');
        const cap = Math.min(this.options.maxPageSize ?? MAX_PAGE, MAX_PAGE);
        const size = requested === 0 ? cap : Math.min(requested, cap);
        const pageToken = url.searchParams.get('pageToken') ?? '';
        let offset = 0;
        if (pageToken !== '') {
          const decoded = /^offset:(\d+)$/.exec(Buffer.from(pageToken, 'base64url').toString('utf8'));
          if (!decoded) throw new ApiError(400, 'INVALID_ARGUMENT', 'Invalid page token.');
          offset = Number(decoded[1]);
        }
        const all = [...this.secrets.values()].sort((a, b) => b.seq - a.seq);
        const page = all.slice(offset, offset + size);
        const out: Record<string, unknown> = { totalSize: all.length };
        if (page.length > 0) out.secrets = page.map((s) => this.secretJson(s));
        if (offset + size < all.length) out.nextPageToken = Buffer.from(`offset:${offset + size}`).toString('base64url');
        return sendJson(res, 200, out);
      }
      case 'get':
        return sendJson(res, 200, this.secretJson(this.secretOf(id!)));
      case 'delete':
        this.secretOf(id!);
        this.secrets.delete(id!);
        return sendJson(res, 200, {});
      case 'addVersion': {
        const s = this.secretOf(id!);
        const req = parseJson(body) as { payload?: { data?: unknown } };
        const data = req.payload?.data ?? '';
        if (typeof data !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(data)) throw new ApiError(400, 'INVALID_ARGUMENT', 'Invalid value at payload.data: not base64.');
        const bytes = Buffer.from(data, 'base64');
        if (bytes.length > MAX_PAYLOAD) throw new ApiError(400, 'INVALID_ARGUMENT', 'Secret Payload cannot exceed 65536 bytes.');
        s.versions.push({ data: bytes, state: 'ENABLED', createTime: new Date().toISOString() });
        return sendJson(res, 200, { name: `${parent}/secrets/${s.id}/versions/${s.versions.length}`, createTime: new Date().toISOString(), state: 'ENABLED', replicationStatus: { automatic: {} } });
      }
      case 'access': {
        const s = this.secrets.get(id!);
        const n = version === 'latest' ? (s?.versions.length ?? 0) : /^[1-9]\d*$/.test(version!) ? Number(version) : NaN;
        if (Number.isNaN(n)) throw new ApiError(400, 'INVALID_ARGUMENT', `Invalid version id '${version}'.`);
        const name = `${parent}/secrets/${id}/versions/${version}`;
        const v = s?.versions[n - 1];
        if (!s || !v) throw new ApiError(404, 'NOT_FOUND', `Secret Version [${name}] not found.`);
        if (v.state !== 'ENABLED') throw new ApiError(400, 'FAILED_PRECONDITION', `Secret Version [${name}] is in ${v.state} state.`);
        return sendJson(res, 200, { name: `${parent}/secrets/${id}/versions/${n}`, payload: { data: v.data.toString('base64'), dataCrc32c: String(crc32c(v.data)) } });
      }
    }
  }

  private secretOf(id: string): Secret {
    const s = this.secrets.get(id);
    if (!s) throw new ApiError(404, 'NOT_FOUND', `Secret [projects/${this.projectNumber}/secrets/${id}] not found or has no versions.`);
    return s;
  }

  private secretJson(s: Secret): Record<string, unknown> {
    return { name: `projects/${this.projectNumber}/secrets/${s.id}`, replication: s.replication, createTime: s.createTime, etag: `"${s.seq.toString(16)}"` };
  }
}

function kindOf(method: string, path: string): RequestKind {
  if (path === '/token') return 'token';
  if (/^\/v1\/projects\/[^/]+\/secrets$/.test(path)) return method === 'POST' ? 'create' : method === 'GET' ? 'list' : 'other';
  if (/:addVersion$/.test(path)) return 'addVersion';
  if (/:access$/.test(path)) return 'access';
  if (/^\/v1\/projects\/[^/]+\/secrets\/[^/:]+$/.test(path)) return method === 'DELETE' ? 'delete' : method === 'GET' ? 'get' : 'other';
  return 'other';
}

function parseJson(body: string): unknown {
  try {
    const v = JSON.parse(body) as unknown;
    if (v && typeof v === 'object') return v;
  } catch {
    // below
  }
  throw new ApiError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': data.length });
  res.end(data);
}

function sendError(res: http.ServerResponse, err: ApiError): void {
  sendJson(res, err.code, { error: { code: err.code, message: err.message, status: err.status } });
}

function notFoundPage(res: http.ServerResponse, path: string): void {
  const page = Buffer.from(`<!DOCTYPE html>\n<html lang=en><title>Error 404 (Not Found)!!1</title><p><b>404.</b> <ins>That’s an error.</ins><p>The requested URL <code>${path.replace(/[<>&]/g, '')}</code> was not found on this server.`);
  res.writeHead(404, { 'content-type': 'text/html; charset=UTF-8', 'content-length': page.length });
  res.end(page);
}

let CRC32C_TABLE: Uint32Array | undefined;

/** CRC32C (Castagnoli), the checksum of `dataCrc32c`. */
export function crc32c(data: Uint8Array): number {
  if (!CRC32C_TABLE) {
    CRC32C_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      CRC32C_TABLE[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

