/**
 * An in-process fake of HashiCorp Vault / OpenBao for tests (no Vault binary exists here).
 *
 * It follows Vault's documented HTTP API for what the key store uses, with the documented
 * status codes and body shapes:
 * - `GET /v1/sys/health`: 200 active, 429 standby, 472 DR secondary, 473 performance standby,
 *   501 not initialised, 503 sealed (plus `standbyok` / `perfstandbyok`);
 * - KV v1 (`GET`/`PUT`/`POST`/`DELETE`/`LIST` on `<mount>/<path>`) and KV v2 (`data/`,
 *   `metadata/`, versions, soft deletes, check-and-set with `options.cas`);
 * - `LIST` as a method or as `GET ?list=true`; empty folders answer 404; optional OpenBao-style
 *   pagination (`after`, `limit`);
 * - `auth/<approle mount>/login`, `auth/<kubernetes mount>/login`, `auth/token/lookup-self`,
 *   `auth/token/renew-self`, tokens with TTLs in whole seconds and max TTLs; an expired or
 *   revoked token gets 403 `permission denied`;
 * - transit `encrypt/<key>` (creating the key on first use, as Vault does) and `decrypt/<key>`
 *   with `vault:v<N>:` ciphertexts, and key rotation;
 * - namespaces through `X-Vault-Namespace` (tokens are valid in their namespace and below);
 * - while sealed or uninitialised, every request but the health check gets 503 `Vault is sealed`.
 *
 * Test switches: seal/unseal, standby, revoke tokens, deny paths, fail/drop/hang requests,
 * delay every answer, act as another client just before a request is served
 * ({@link FakeVault.beforeServe}); every request is recorded.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';

/** Kinds of mounts the fake serves. */
export type FakeMountType = 'kv-v1' | 'kv-v2' | 'transit' | 'approle' | 'kubernetes';

export interface FakeVaultOptions {
  /** Serve HTTPS with this certificate; with clientCaPem, require a client certificate signed by it. */
  tls?: { certPem: string; keyPem: string; clientCaPem?: string };
  /** Answer LIST requests page by page (`after`, `limit`) as OpenBao does; Vault ignores them. */
  paginate?: boolean;
  /** Port to listen on (default: a free one). */
  port?: number;
  /** Mounts to create besides the defaults (root: `kv` v1, `kv2` v2, `transit`, `approle`, `kubernetes`). */
  mounts?: Array<{ path: string; type: FakeMountType; namespace?: string }>;
}

/** One request as the fake saw it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query, e.g. `/v1/kv/data/my-key`. */
  path: string;
  query: Record<string, string>;
  namespace: string | undefined;
  token: string | undefined;
  body: unknown;
  /** Whether a TLS client certificate was presented. */
  clientCert: boolean;
}

export interface TokenSpec {
  namespace?: string;
  /** Seconds; 0 = never expires. */
  ttl?: number;
  /** Seconds from creation after which renewals stop extending it; 0 = unlimited. */
  maxTtl?: number;
  renewable?: boolean;
}

interface Token {
  id: string;
  namespace: string;
  ttl: number;
  maxTtl: number;
  renewable: boolean;
  createdAt: number;
  expiresAt: number; // ms; 0 = never
}

interface Role {
  namespace: string;
  mount: string;
  /** AppRole: role_id + secret_id; Kubernetes: role + jwt. */
  credentials: Record<string, string>;
  token: TokenSpec;
}

interface KvV2Version {
  data: Record<string, unknown>;
  createdTime: string;
  deletionTime: string;
  destroyed: boolean;
}

interface KvV2Secret {
  currentVersion: number;
  versions: Map<number, KvV2Version>;
  createdTime: string;
  updatedTime: string;
}

interface Mount {
  namespace: string;
  path: string;
  type: FakeMountType;
  kv1: Map<string, Record<string, unknown>>;
  kv2: Map<string, KvV2Secret>;
  transit: Map<string, Buffer[]>;
}

type Fault = { match?: RegExp; remaining: number; action: { status: number; errors: string[] } | 'drop' | 'hang' };

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[],
    readonly body?: unknown,
  ) {
    super(errors.join('; '));
  }
}

const ROOT_TOKEN = 'root';

/** A fake Vault server on 127.0.0.1 with a random port. */
export class FakeVault {
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[] = [];
  /** The root token: never expires, valid in every namespace, never denied. */
  readonly rootToken = ROOT_TOKEN;
  /** While true, every request but the health check fails with 503 `Vault is sealed`. */
  sealed = false;
  /** While false, health answers 501 and every other request 503. */
  initialized = true;
  /** Health answers 429 (standby) while true. */
  standby = false;
  /** Health answers 473 while true. */
  performanceStandby = false;
  /** Health answers 472 while true (a disaster recovery secondary). */
  drSecondary = false;
  /** Milliseconds every answer is delayed by. */
  delayMs = 0;
  /** Paginate LIST answers (OpenBao). */
  paginate: boolean;
  /**
   * Called with each request just before it is served (after faults), e.g. to change a secret
   * between a client's read and its write as a concurrent writer would.
   */
  beforeServe: ((req: RecordedRequest) => void) | undefined;

  private readonly server: net.Server;
  private readonly http: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly mounts: Mount[] = [];
  private readonly tokens = new Map<string, Token>();
  private readonly roles: Role[] = [];
  private readonly faults: Fault[] = [];
  private denied: RegExp | undefined;
  private readonly hung: http.ServerResponse[] = [];
  private port = 0;
  private readonly scheme: 'http' | 'https';

  private constructor(options: FakeVaultOptions) {
    this.paginate = options.paginate ?? false;
    this.http = http.createServer((req, res) => void this.handle(req, res));
    // Node's HTTP parser rejects the LIST method, so the first request line of each connection
    // is rewritten before the parser sees it (LIST → GET plus a marker header), and every
    // answer closes its connection: each request comes first on a new one.
    const accept = (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.once('readable', () => {
        const first = socket.read() as Buffer | null;
        if (first) socket.unshift(rewriteListMethod(first));
        this.http.emit('connection', socket);
      });
    };
    if (options.tls) {
      this.scheme = 'https';
      const requireClient = options.tls.clientCaPem !== undefined;
      this.server = tls.createServer(
        { cert: options.tls.certPem, key: options.tls.keyPem, ca: options.tls.clientCaPem, requestCert: requireClient, rejectUnauthorized: requireClient },
        accept,
      );
    } else {
      this.scheme = 'http';
      this.server = net.createServer(accept);
    }
    for (const [path, type] of [['kv', 'kv-v1'], ['kv2', 'kv-v2'], ['transit', 'transit'], ['approle', 'approle'], ['kubernetes', 'kubernetes']] as const) {
      this.mount(path, type);
    }
    for (const m of options.mounts ?? []) this.mount(m.path, m.type, m.namespace);
  }

  /** Starts a fake on 127.0.0.1 and a free port. */
  static async start(options: FakeVaultOptions = {}): Promise<FakeVault> {
    const fake = new FakeVault(options);
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  /** The endpoint, e.g. `http://127.0.0.1:41234` (or `https://…`). */
  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  /** Stops the server and drops every connection. */
  async close(): Promise<void> {
    for (const res of this.hung) res.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- setup -------------------------------------------------------------------------------

  /** Enables an engine or auth method at path (in namespace, '' = root). */
  mount(path: string, type: FakeMountType, namespace = ''): void {
    this.mounts.push({ namespace: trimSlashes(namespace), path: trimSlashes(path), type, kv1: new Map(), kv2: new Map(), transit: new Map() });
  }

  /** Creates a token; returns its id. */
  createToken(spec: TokenSpec = {}): string {
    const now = Date.now();
    const ttl = spec.ttl ?? 0;
    const token: Token = {
      id: `hvs.${randomBytes(18).toString('base64url')}`,
      namespace: trimSlashes(spec.namespace ?? ''),
      ttl,
      maxTtl: spec.maxTtl ?? 0,
      renewable: spec.renewable ?? ttl > 0,
      createdAt: now,
      expiresAt: ttl > 0 ? now + ttl * 1000 : 0,
    };
    this.tokens.set(token.id, token);
    return token.id;
  }

  /** Adds an AppRole role whose logins issue tokens per spec. */
  addAppRole(role: { roleId: string; secretId: string; mount?: string; namespace?: string; token?: TokenSpec }): void {
    this.roles.push({ namespace: trimSlashes(role.namespace ?? ''), mount: role.mount ?? 'approle', credentials: { role_id: role.roleId, secret_id: role.secretId }, token: role.token ?? {} });
  }

  /** Adds a Kubernetes role accepting exactly this service account JWT. */
  addKubernetesRole(role: { role: string; jwt: string; mount?: string; namespace?: string; token?: TokenSpec }): void {
    this.roles.push({ namespace: trimSlashes(role.namespace ?? ''), mount: role.mount ?? 'kubernetes', credentials: { role: role.role, jwt: role.jwt }, token: role.token ?? {} });
  }

  /** Changes the JWT a Kubernetes role accepts (as when the service account token rotates). */
  rotateKubernetesJwt(role: string, jwt: string): void {
    for (const r of this.roles) if (r.credentials.role === role && 'jwt' in r.credentials) r.credentials.jwt = jwt;
  }

  // ---- switches ----------------------------------------------------------------------------

  seal(): void {
    this.sealed = true;
  }

  unseal(): void {
    this.sealed = false;
  }

  /** Revokes one token (every token but root when none is given). */
  revoke(token?: string): void {
    if (token !== undefined) this.tokens.delete(token);
    else this.tokens.clear();
  }

  /** Tokens other than root get 403 on paths matching pattern (undefined lifts it). */
  deny(pattern: RegExp | undefined): void {
    this.denied = pattern;
  }

  /** The next count requests matching match (path and query) get status with errors. */
  failNext(count: number, status: number, errors: string[] = [], match?: RegExp): void {
    this.faults.push({ match, remaining: count, action: { status, errors } });
  }

  /** The next count requests matching match lose their connection without an answer. */
  dropNext(count: number, match?: RegExp): void {
    this.faults.push({ match, remaining: count, action: 'drop' });
  }

  /** The next count requests matching match are never answered (until close). */
  hangNext(count: number, match?: RegExp): void {
    this.faults.push({ match, remaining: count, action: 'hang' });
  }

  /** Forgets the pending faults. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  // ---- direct data access ------------------------------------------------------------------

  /**
   * Writes a secret as Vault would store it: the fields of a KV v1 secret, or a new version of
   * a KV v2 secret.
   */
  putSecret(mountPath: string, path: string, data: Record<string, unknown>, namespace = ''): void {
    const mount = this.findMount(trimSlashes(namespace), trimSlashes(mountPath));
    if (mount.type === 'kv-v1') mount.kv1.set(trimSlashes(path), structuredClone(data));
    else if (mount.type === 'kv-v2') writeVersion(mount, trimSlashes(path), structuredClone(data));
    else throw new Error(`${mountPath} is not a KV mount`);
  }

  /** The fields of a secret (KV v2: of version, default the current one); undefined when absent or deleted. */
  getSecret(mountPath: string, path: string, namespace = '', version?: number): Record<string, unknown> | undefined {
    const mount = this.findMount(trimSlashes(namespace), trimSlashes(mountPath));
    if (mount.type === 'kv-v1') return mount.kv1.get(trimSlashes(path));
    const secret = mount.kv2.get(trimSlashes(path));
    const v = secret?.versions.get(version ?? secret.currentVersion);
    return v && !v.deletionTime && !v.destroyed ? v.data : undefined;
  }

  /** The KV v2 metadata of a secret (current version and number of versions). */
  secretVersions(mountPath: string, path: string, namespace = ''): { current: number; versions: number } | undefined {
    const secret = this.findMount(trimSlashes(namespace), trimSlashes(mountPath)).kv2.get(trimSlashes(path));
    return secret && { current: secret.currentVersion, versions: secret.versions.size };
  }

  /** Soft-deletes the current version of a KV v2 secret (`DELETE <mount>/data/<path>`). */
  softDelete(mountPath: string, path: string, namespace = ''): void {
    const secret = this.findMount(trimSlashes(namespace), trimSlashes(mountPath)).kv2.get(trimSlashes(path));
    const v = secret?.versions.get(secret.currentVersion);
    if (v) v.deletionTime = new Date().toISOString();
  }

  /** Deletes every version and the metadata of a KV v2 secret (`DELETE <mount>/metadata/<path>`). */
  deleteMetadata(mountPath: string, path: string, namespace = ''): void {
    this.findMount(trimSlashes(namespace), trimSlashes(mountPath)).kv2.delete(trimSlashes(path));
  }

  /** The secret paths of a KV mount, sorted. */
  secretPaths(mountPath: string, namespace = ''): string[] {
    const mount = this.findMount(trimSlashes(namespace), trimSlashes(mountPath));
    return [...(mount.type === 'kv-v1' ? mount.kv1.keys() : mount.kv2.keys())].sort();
  }

  /** Adds a version to a transit key (creating it with version 1). */
  rotateTransitKey(mountPath: string, key: string, namespace = ''): void {
    const mount = this.findMount(trimSlashes(namespace), trimSlashes(mountPath));
    const versions = mount.transit.get(key) ?? [];
    versions.push(randomBytes(32));
    mount.transit.set(key, versions);
  }

  /** Requests whose path matches pattern. */
  requestsTo(pattern: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => pattern.test(r.path));
  }

  /**
   * Resolves once count requests (in total) matching match (a path pattern or a predicate)
   * have arrived; rejects after timeoutMs (a bound for broken tests, not a speed assertion).
   */
  async waitForRequests(match: RegExp | ((r: RecordedRequest) => boolean), count = 1, timeoutMs = 15_000): Promise<RecordedRequest[]> {
    const test = typeof match === 'function' ? match : (r: RecordedRequest) => match.test(r.path);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = this.requests.filter(test);
      if (seen.length >= count) return seen;
      if (Date.now() > deadline) throw new Error(`fake vault: ${seen.length} of ${count} expected requests arrived`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    let text = '';
    for await (const chunk of req) text += chunk;
    let body: unknown;
    let badJson = false;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      badJson = true;
    }
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const method = req.headers['x-fake-method'] === 'LIST' ? 'LIST' : (req.method ?? 'GET');
    const listing = method === 'LIST' || ((method === 'GET' || method === 'HEAD') && query.list === 'true');
    const recorded: RecordedRequest = {
      method: listing ? 'LIST' : method,
      path: url.pathname,
      query,
      namespace: header('x-vault-namespace'),
      token: header('x-vault-token'),
      body,
      clientCert: req.socket instanceof tls.TLSSocket && Object.keys(req.socket.getPeerCertificate() ?? {}).length > 0,
    };
    this.requests.push(recorded);

    res.shouldKeepAlive = false;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const fault = this.takeFault(url.pathname + url.search);
    if (fault === 'drop') return void req.socket.destroy();
    if (fault === 'hang') return void this.hung.push(res);

    let status = 200;
    let answer: unknown;
    try {
      if (fault) throw new HttpError(fault.status, fault.errors);
      if (badJson) throw new HttpError(400, ['failed to parse JSON input']);
      this.beforeServe?.(recorded);
      [status, answer] = this.route(recorded);
    } catch (err) {
      const known = err instanceof HttpError ? err : new HttpError(500, [`fake vault: ${(err as Error).message}`]);
      status = known.status;
      answer = known.body ?? { errors: known.errors };
    }
    if (answer === undefined) {
      res.writeHead(status === 200 ? 204 : status).end();
    } else {
      const json = JSON.stringify(answer);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json);
    }
  }

  private takeFault(target: string): Fault['action'] | undefined {
    const fault = this.faults.find((f) => f.remaining > 0 && (!f.match || f.match.test(target)));
    if (!fault) return undefined;
    fault.remaining--;
    return fault.action;
  }

  private route(req: RecordedRequest): [number, unknown] {
    if (!req.path.startsWith('/v1/')) throw new HttpError(404, []);
    const path = req.path.slice('/v1/'.length).split('/').map(decodeURIComponent).join('/');
    if (path === 'sys/health') return this.health(req);
    if (!this.initialized || this.sealed) throw new HttpError(503, ['Vault is sealed']);

    const namespace = trimSlashes(req.namespace ?? '');
    if (path.startsWith('auth/')) {
      if (path === 'auth/token/lookup-self') return [200, { data: this.lookupSelf(this.authenticate(req, namespace)) }];
      if (path === 'auth/token/renew-self') return [200, { auth: this.renewSelf(this.authenticate(req, namespace)) }];
      const login = /^auth\/(.+)\/login$/.exec(path);
      if (login && (req.method === 'POST' || req.method === 'PUT')) return [200, { auth: this.login(namespace, login[1]!, req.body) }];
      throw new HttpError(404, [`no handler for route "${path}". route entry not found.`]);
    }

    const token = this.authenticate(req, namespace);
    if (this.denied && token.id !== ROOT_TOKEN && this.denied.test(path)) throw new HttpError(403, ['permission denied']);
    const mount = this.mounts
      .filter((m) => m.namespace === namespace && (path === m.path || path.startsWith(`${m.path}/`)) && m.type !== 'approle' && m.type !== 'kubernetes')
      .sort((a, b) => b.path.length - a.path.length)[0];
    if (!mount) throw new HttpError(404, [`no handler for route "${path}". route entry not found.`]);
    const rest = path.slice(mount.path.length + 1);
    switch (mount.type) {
      case 'kv-v1':
        return this.kv1(mount, req, rest);
      case 'kv-v2':
        return this.kv2(mount, req, rest);
      default:
        return this.transit(mount, req, rest);
    }
  }

  private health(req: RecordedRequest): [number, unknown] {
    const ok = (flag: string | undefined) => flag !== undefined && flag !== 'false';
    let status = 200;
    if (!this.initialized) status = 501;
    else if (this.sealed) status = 503;
    else if (this.drSecondary) status = 472;
    else if (this.performanceStandby && !ok(req.query.perfstandbyok)) status = 473;
    else if (this.standby && !ok(req.query.standbyok)) status = 429;
    const body = {
      initialized: this.initialized,
      sealed: !this.initialized || this.sealed,
      standby: this.standby || this.performanceStandby || this.sealed,
      performance_standby: this.performanceStandby,
      replication_performance_mode: 'disabled',
      replication_dr_mode: this.drSecondary ? 'secondary' : 'disabled',
      server_time_utc: Math.floor(Date.now() / 1000),
      version: '1.15.0-fake',
      ...(this.initialized && !this.sealed ? { cluster_name: 'fake-cluster', cluster_id: 'a1b2c3d4-0000-0000-0000-fake00000000' } : {}),
    };
    return [status, body];
  }

  // ---- auth --------------------------------------------------------------------------------

  private authenticate(req: RecordedRequest, namespace: string): Token {
    const id = req.token;
    if (id === ROOT_TOKEN) return { id, namespace: '', ttl: 0, maxTtl: 0, renewable: false, createdAt: 0, expiresAt: 0 };
    const token = id === undefined ? undefined : this.tokens.get(id);
    if (!token || (token.expiresAt > 0 && Date.now() >= token.expiresAt)) throw new HttpError(403, ['permission denied']);
    // A token works in its own namespace and in the namespaces below it.
    if (token.namespace !== '' && namespace !== token.namespace && !namespace.startsWith(`${token.namespace}/`)) throw new HttpError(403, ['permission denied']);
    return token;
  }

  private lookupSelf(token: Token): object {
    const remaining = token.expiresAt > 0 ? Math.max(0, Math.floor((token.expiresAt - Date.now()) / 1000)) : 0;
    return {
      accessor: `accessor-${token.id.slice(-6)}`,
      creation_time: Math.floor(token.createdAt / 1000),
      creation_ttl: token.ttl,
      display_name: 'token',
      expire_time: token.expiresAt > 0 ? new Date(token.expiresAt).toISOString() : null,
      explicit_max_ttl: token.maxTtl,
      id: token.id,
      namespace_path: token.namespace === '' ? '' : `${token.namespace}/`,
      policies: ['default'],
      renewable: token.renewable,
      ttl: remaining,
      type: 'service',
    };
  }

  private renewSelf(token: Token): object {
    if (token.id === ROOT_TOKEN) throw new HttpError(400, ['lease is not renewable']);
    if (!token.renewable) throw new HttpError(400, ['lease is not renewable']);
    const now = Date.now();
    let ttl = token.ttl;
    if (token.maxTtl > 0) ttl = Math.min(ttl, Math.max(0, Math.floor((token.createdAt + token.maxTtl * 1000 - now) / 1000)));
    token.expiresAt = now + ttl * 1000;
    return this.authBlock(token, ttl);
  }

  private login(namespace: string, mount: string, body: unknown): object {
    const mounted = this.mounts.find((m) => m.namespace === namespace && m.path === mount && (m.type === 'approle' || m.type === 'kubernetes'));
    if (!mounted) throw new HttpError(404, [`no handler for route "auth/${mount}/login". route entry not found.`]);
    const given = (body ?? {}) as Record<string, unknown>;
    const roles = this.roles.filter((r) => r.namespace === namespace && r.mount === mount);
    if (mounted.type === 'approle') {
      if (typeof given.role_id !== 'string' || given.role_id === '') throw new HttpError(400, ['missing role_id']);
      const role = roles.find((r) => r.credentials.role_id === given.role_id && r.credentials.secret_id === given.secret_id);
      if (!role) throw new HttpError(400, ['invalid role or secret ID']);
      return this.issue(role);
    }
    if (typeof given.jwt !== 'string' || given.jwt === '') throw new HttpError(400, ['missing jwt']);
    const role = roles.find((r) => r.credentials.role === given.role);
    if (!role) throw new HttpError(400, [`invalid role name "${String(given.role)}"`]);
    if (role.credentials.jwt !== given.jwt) throw new HttpError(403, ['permission denied']);
    return this.issue(role);
  }

  private issue(role: Role): object {
    const id = this.createToken({ ...role.token, namespace: role.namespace });
    const token = this.tokens.get(id)!;
    return this.authBlock(token, token.ttl);
  }

  private authBlock(token: Token, ttl: number): object {
    return {
      client_token: token.id,
      accessor: `accessor-${token.id.slice(-6)}`,
      policies: ['default', 'kes'],
      token_policies: ['default', 'kes'],
      metadata: {},
      lease_duration: ttl,
      renewable: token.renewable,
      entity_id: randomUUID(),
      token_type: 'service',
      orphan: true,
    };
  }

  // ---- KV v1 -------------------------------------------------------------------------------

  private kv1(mount: Mount, req: RecordedRequest, path: string): [number, unknown] {
    if (req.method === 'LIST') return this.list([...mount.kv1.keys()], path, req);
    const key = trimSlashes(path);
    switch (req.method) {
      case 'GET': {
        const data = mount.kv1.get(key);
        if (!data) throw new HttpError(404, []);
        return [200, envelope(data, 2764800)];
      }
      case 'PUT':
      case 'POST':
        if (!isObject(req.body)) throw new HttpError(400, ['missing data fields']);
        mount.kv1.set(key, structuredClone(req.body));
        return [204, undefined];
      case 'DELETE':
        mount.kv1.delete(key);
        return [204, undefined];
      default:
        throw new HttpError(405, ['unsupported operation']);
    }
  }

  // ---- KV v2 -------------------------------------------------------------------------------

  private kv2(mount: Mount, req: RecordedRequest, path: string): [number, unknown] {
    const [section, ...restParts] = path.split('/');
    const rest = restParts.join('/');
    const key = trimSlashes(rest);
    if (section === 'metadata') {
      if (req.method === 'LIST') return this.list([...mount.kv2.keys()], rest, req);
      const secret = mount.kv2.get(key);
      if (req.method === 'DELETE') {
        mount.kv2.delete(key);
        return [204, undefined];
      }
      if (req.method === 'GET') {
        if (!secret) throw new HttpError(404, []);
        return [200, envelope(metadataOf(secret), 0)];
      }
      throw new HttpError(405, ['unsupported operation']);
    }
    if (section !== 'data') throw new HttpError(404, [`no handler for route "${mount.path}/${path}". route entry not found.`]);
    const secret = mount.kv2.get(key);
    switch (req.method) {
      case 'GET': {
        if (!secret) throw new HttpError(404, []);
        const number = req.query.version !== undefined && req.query.version !== '0' ? Number(req.query.version) : secret.currentVersion;
        const v = secret.versions.get(number);
        if (!v) throw new HttpError(404, []);
        const data = { data: v.deletionTime || v.destroyed ? null : v.data, metadata: versionMetadata(v, number) };
        if (data.data === null) throw new HttpError(404, [], envelope(data, 0));
        return [200, envelope(data, 0)];
      }
      case 'PUT':
      case 'POST': {
        const body = (req.body ?? {}) as { options?: { cas?: unknown }; data?: unknown };
        if (!isObject(body.data)) throw new HttpError(400, ['no data provided']);
        // Check-and-set as Vault documents it: the write succeeds only if cas is the current
        // version; 0 means only if the secret does not exist (no metadata: a soft-deleted
        // current version still has a version number). A refused write changes nothing.
        const cas = body.options?.cas;
        if (cas !== undefined && cas !== null) {
          if (typeof cas !== 'number') throw new HttpError(400, ['error parsing cas']);
          if (cas !== (secret?.currentVersion ?? 0)) throw new HttpError(400, ['check-and-set parameter did not match the current version']);
        }
        const number = writeVersion(mount, key, structuredClone(body.data));
        return [200, envelope(versionMetadata(mount.kv2.get(key)!.versions.get(number)!, number), 0)];
      }
      case 'DELETE': {
        const v = secret?.versions.get(secret.currentVersion);
        if (v && !v.deletionTime) v.deletionTime = new Date().toISOString();
        return [204, undefined];
      }
      default:
        throw new HttpError(405, ['unsupported operation']);
    }
  }

  /** Immediate children of folder among the secret paths: names, sub-folders with a trailing `/`. */
  private list(paths: string[], folder: string, req: RecordedRequest): [number, unknown] {
    const base = trimSlashes(folder);
    const prefix = base === '' ? '' : `${base}/`;
    const children = new Set<string>();
    for (const p of paths) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      const slash = rest.indexOf('/');
      children.add(slash < 0 ? rest : rest.slice(0, slash + 1));
    }
    let keys = [...children].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    if (this.paginate) {
      const after = req.query.after;
      if (after) keys = keys.filter((k) => Buffer.compare(Buffer.from(k), Buffer.from(after)) > 0);
      const limit = Number(req.query.limit ?? 0);
      if (limit > 0) keys = keys.slice(0, limit);
    }
    if (keys.length === 0) throw new HttpError(404, []);
    return [200, envelope({ keys }, 0)];
  }

  // ---- transit -----------------------------------------------------------------------------

  private transit(mount: Mount, req: RecordedRequest, path: string): [number, unknown] {
    const op = /^(encrypt|decrypt)\/(.+)$/.exec(path);
    if (!op || (req.method !== 'POST' && req.method !== 'PUT')) throw new HttpError(405, ['unsupported operation']);
    const [, action, name] = op as unknown as [string, string, string];
    const body = (req.body ?? {}) as { plaintext?: unknown; ciphertext?: unknown };
    if (action === 'encrypt') {
      if (typeof body.plaintext !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(body.plaintext)) throw new HttpError(400, ['failed to base64-decode plaintext']);
      if (!mount.transit.has(name)) mount.transit.set(name, [randomBytes(32)]); // upsert, as Vault does
      const versions = mount.transit.get(name)!;
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', versions[versions.length - 1]!, nonce);
      const sealed = Buffer.concat([nonce, cipher.update(Buffer.from(body.plaintext, 'base64')), cipher.final(), cipher.getAuthTag()]);
      return [200, envelope({ ciphertext: `vault:v${versions.length}:${sealed.toString('base64')}`, key_version: versions.length }, 0)];
    }
    const versions = mount.transit.get(name);
    if (!versions) throw new HttpError(400, ['encryption key not found']);
    const m = typeof body.ciphertext === 'string' ? /^vault:v(\d+):(.*)$/.exec(body.ciphertext) : null;
    if (!m) throw new HttpError(400, ['invalid ciphertext: no prefix']);
    const key = versions[Number(m[1]) - 1];
    if (!key) throw new HttpError(400, ['invalid key version']);
    const sealed = Buffer.from(m[2]!, 'base64');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      const plain = Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
      return [200, envelope({ plaintext: plain.toString('base64') }, 0)];
    } catch {
      throw new HttpError(400, ['cipher: message authentication failed']);
    }
  }

  private findMount(namespace: string, path: string): Mount {
    const mount = this.mounts.find((m) => m.namespace === namespace && m.path === path);
    if (!mount) throw new Error(`fake vault: no mount '${path}' in namespace '${namespace}'`);
    return mount;
  }
}

function writeVersion(mount: Mount, key: string, data: Record<string, unknown>): number {
  const now = new Date().toISOString();
  const secret = mount.kv2.get(key) ?? { currentVersion: 0, versions: new Map(), createdTime: now, updatedTime: now };
  secret.currentVersion += 1;
  secret.updatedTime = now;
  secret.versions.set(secret.currentVersion, { data, createdTime: now, deletionTime: '', destroyed: false });
  mount.kv2.set(key, secret);
  return secret.currentVersion;
}

function versionMetadata(v: KvV2Version, version: number): object {
  return { created_time: v.createdTime, custom_metadata: null, deletion_time: v.deletionTime, destroyed: v.destroyed, version };
}

function metadataOf(secret: KvV2Secret): object {
  const versions: Record<string, object> = {};
  for (const [n, v] of secret.versions) versions[String(n)] = { created_time: v.createdTime, deletion_time: v.deletionTime, destroyed: v.destroyed };
  return {
    cas_required: false,
    created_time: secret.createdTime,
    current_version: secret.currentVersion,
    custom_metadata: null,
    delete_version_after: '0s',
    max_versions: 0,
    oldest_version: 0,
    updated_time: secret.updatedTime,
    versions,
  };
}

/** Vault's response envelope around data. */
function envelope(data: unknown, leaseDuration: number): object {
  return { request_id: randomUUID(), lease_id: '', renewable: false, lease_duration: leaseDuration, data, wrap_info: null, warnings: null, auth: null };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Turns a leading `LIST ` request line into `GET ` with an `x-fake-method: LIST` header. */
function rewriteListMethod(chunk: Buffer): Buffer {
  if (chunk.subarray(0, 5).toString('latin1') !== 'LIST ') return chunk;
  const eol = chunk.indexOf('\r\n');
  if (eol < 0) return chunk;
  return Buffer.concat([Buffer.from('GET '), chunk.subarray(5, eol + 2), Buffer.from('x-fake-method: LIST\r\n'), chunk.subarray(eol + 2)]);
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '');
}
