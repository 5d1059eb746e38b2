/**
 * The console's HTTP API between `kes console` (src/console/) and its page (web/): JSON bodies,
 * same origin, under /api. Types only: the page imports this file too, so it holds no Node code.
 *
 * Every route but POST /api/login and GET /api/session needs the session cookie; every POST,
 * PUT and DELETE also needs the `X-CSRF-Token` header with the session's token and a same-origin
 * `Origin`. Errors answer `{ "message": string }` with a 4xx/5xx status.
 */

/** Header that carries the CSRF token on state changes. */
export const CSRF_HEADER = 'x-csrf-token';

/** An error answer. */
export interface ApiError {
  message: string;
}

/** POST /api/login body. */
export interface LoginRequest {
  token: string;
}

/** POST /api/login and GET /api/session answer (the page keeps csrf in memory only). */
export interface SessionInfo {
  csrf: string;
  /** The servers the console talks to (as given in KES_SERVER / --server). */
  servers: string[];
  /** The operator's identity on the first server, and whether it is the admin. */
  identity: string;
  isAdmin: boolean;
  policy: string;
}

/** One key of a listing (its latest version). */
export interface KeySummary {
  name: string;
  version: number;
  algorithm: string;
  /** RFC 3339 */
  createdAt: string;
  createdBy: string;
}

/** GET /api/keys?prefix=&continue=&limit= (limit ≤ 1000, default 50). */
export interface KeyPage {
  keys: KeySummary[];
  /** The name the next page starts at; '' at the end. */
  continueAt: string;
}

/** POST /api/keys: create, or import with a base64 key of 32 bytes. */
export interface CreateKeyRequest {
  name: string;
  /** base64; absent: a new random key. Never echoed back, never stored by the console. */
  key?: string;
  algorithm?: 'AES256' | 'ChaCha20';
}

export interface KeyVersionInfo {
  version: number;
  algorithm: string;
  createdAt: string;
  createdBy: string;
}

/** GET /api/keys/:name */
export interface KeyDetails {
  name: string;
  /** The latest version: it seals new data. */
  version: number;
  algorithm: string;
  createdAt: string;
  createdBy: string;
  /** Lowest first. */
  versions: KeyVersionInfo[];
}

/** DELETE /api/keys/:name body: the typed confirmation, which must equal the name. */
export interface DeleteKeyRequest {
  confirm: string;
}

/** POST /api/keys/:name/rotate answer. DELETE /api/keys/:name/versions/:version retires one. */
export interface RotateKeyResponse {
  version: number;
}

/** A policy of the server's config file (read-only). */
export interface ConfigPolicy {
  name: string;
  allow: string[];
  deny: string[];
  /** Identities assigned to it. */
  identities: string[];
}

/** GET /api/access: who may do what, from the config file. */
export interface AccessOverview {
  /** The admin identity ('' when unknown to the operator, or disabled). */
  admin: string;
  /** The operator's own identity. */
  self: { identity: string; isAdmin: boolean; policy: string; allow: string[]; deny: string[] };
  policies: ConfigPolicy[];
  /** Identities with a policy, and the admin. */
  identities: { identity: string; policy: string; isAdmin: boolean }[];
  /** Enclaves with runtime policies and identities (MinKMS); ['default'] when listing them is not allowed. */
  enclaves: string[];
}

/** Runtime rules: command (e.g. `KEY:GENERATE`) → patterns. */
export type RuntimeRules = Record<string, string[]>;

export interface RuntimePolicy {
  name: string;
  allow: RuntimeRules;
  deny: RuntimeRules;
  createdAt: string;
  createdBy: string;
}

export type Privilege = 'SysAdmin' | 'Admin' | 'User' | '';

export interface RuntimeIdentity {
  /** `h1:` form */
  identity: string;
  privilege: Privilege;
  policy: string;
  isServiceAccount: boolean;
  createdAt: string;
  createdBy: string;
}

/** GET /api/enclaves/:enclave/access: the runtime policies and identities of an enclave. */
export interface RuntimeAccess {
  enclave: string;
  policies: RuntimePolicy[];
  identities: RuntimeIdentity[];
}

/** PUT /api/enclaves/:enclave/policies/:name body (creates or replaces). DELETE removes it. */
export interface PutPolicyRequest {
  allow: RuntimeRules;
  deny: RuntimeRules;
}

/**
 * PUT /api/enclaves/:enclave/identities/:identity body (creates or replaces; then assigns the
 * policy when one is given). DELETE removes the identity.
 */
export interface PutIdentityRequest {
  privilege: Privilege;
  policy?: string;
}

/** One server of GET /api/status. */
export interface ServerStatus {
  endpoint: string;
  /** false: the server did not answer; error says why. */
  online: boolean;
  error?: string;
  version?: string;
  /** Seconds */
  uptime?: number;
  os?: string;
  arch?: string;
  cpus?: number;
  usableCpus?: number;
  heapBytes?: number;
  keyStore?: { state: 'online' | 'unreachable'; latencyMs?: number };
  /** Key cache of the server's processes (openkes metrics; absent for other servers). */
  cache?: { entries: number; hits: number; misses: number };
  /** Round trip of the console's status request, in milliseconds. */
  rttMs?: number;
}

export interface StatusOverview {
  servers: ServerStatus[];
}

/** One sample of a server's metrics: rates over the interval before `time`. */
export interface MetricSample {
  /** Unix milliseconds */
  time: number;
  /** Requests per second by outcome: 2xx, 4xx, 5xx. */
  success: number;
  error: number;
  failure: number;
  /** Latency percentiles in milliseconds over the interval (null: no requests). */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  active: number;
}

/** GET /api/metrics?since=<unix ms>: samples after since, oldest first, per server. */
export interface MetricsFeed {
  intervalMs: number;
  servers: { endpoint: string; samples: MetricSample[]; error?: string }[];
}

/**
 * An event `problem` of GET /api/audit: a server's audit stream is refused or broken (message),
 * or works again (message ''). Sent at once for the servers broken when the page connects.
 */
export interface AuditProblem {
  server: string;
  message: string;
}

/** An event of GET /api/audit (Server-Sent Events, event name `audit`, data: JSON). */
export interface AuditEntry {
  server: string;
  /** RFC 3339 */
  time: string;
  identity: string;
  ip: string;
  path: string;
  status: number;
  /** Milliseconds */
  durationMs: number;
}
