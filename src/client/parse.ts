/** Decoding of server responses into the SDK's result types. */
import { KesError } from '../api/errors.js';
import type { ApiInfo, AuditEvent, IdentityInfo, KeyInfo, KeyVersion, Policy, PolicyInfo, SelfInfo, ServerMetrics, ServerState } from './types.js';

type Obj = Record<string, unknown>;

/** Thrown when a response is not what the API defines. */
export function malformed(what: string): KesError {
  return new KesError('KES_ERR_HTTP', `malformed response: ${what}`, { status: 200 });
}

export function asObject(value: unknown, what: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(what);
  return value as Obj;
}

const str = (o: Obj, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
const num = (o: Obj, k: string): number => (typeof o[k] === 'number' ? (o[k] as number) : 0);
const date = (o: Obj, k: string): Date => new Date(str(o, k) || 0);

/** Policy rules: `{"<pattern>": {}}` (current) or `["<pattern>"]` (legacy). */
function patterns(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'object' && value !== null) return Object.keys(value);
  return [];
}

const LEGACY_ALGORITHMS: Record<string, string> = { 'AES256-GCM_SHA256': 'AES256', 'XCHACHA20-POLY1305': 'ChaCha20' };

const algorithm = (o: Obj): string => LEGACY_ALGORITHMS[str(o, 'algorithm')] ?? str(o, 'algorithm');

/**
 * A key's description. KES's fields describe the latest version; `version` and `versions` are
 * openkes's (docs/key-rings.md). A KES server sends neither: its keys have one version, so the
 * key is described as version 1 made of KES's fields.
 */
export function keyInfo(o: Obj): KeyInfo {
  const info = { name: str(o, 'name'), algorithm: algorithm(o), createdAt: date(o, 'created_at'), createdBy: str(o, 'created_by') };
  if (!Array.isArray(o.versions)) {
    return { ...info, version: 1, versions: [{ version: 1, algorithm: info.algorithm, createdAt: info.createdAt, ...(info.createdBy && { createdBy: info.createdBy }) }] };
  }
  const versions = o.versions.map((v) => keyVersion(asObject(v, 'key version')));
  return { ...info, version: num(o, 'version') || Math.max(0, ...versions.map((v) => v.version)), versions };
}

function keyVersion(o: Obj): KeyVersion {
  const createdBy = str(o, 'created_by');
  return { version: num(o, 'version'), algorithm: algorithm(o), createdAt: date(o, 'created_at'), ...(createdBy && { createdBy }) };
}

/** A rotation's answer `{"version":n}`: the new latest version. */
export function rotatedVersion(o: Obj): number {
  const v = o.version;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw malformed("rotation answer without a 'version'");
  return v;
}

export function policyInfo(o: Obj, name: string): PolicyInfo {
  return { name: str(o, 'name') || name, createdAt: date(o, 'created_at'), createdBy: str(o, 'created_by') };
}

export function policy(o: Obj, name: string): Policy {
  return { ...policyInfo(o, name), allow: patterns(o.allow), deny: patterns(o.deny) };
}

export function identityInfo(o: Obj, identity: string): IdentityInfo {
  return { identity, isAdmin: o.admin === true, policy: str(o, 'policy'), createdAt: date(o, 'created_at'), createdBy: str(o, 'created_by') };
}

/** Self-describe: our shape (policy name + top-level rules) or KES ≤ v0.22's nested policy. */
export function selfInfo(o: Obj): SelfInfo {
  const nested = typeof o.policy === 'object' && o.policy !== null ? (o.policy as Obj) : undefined;
  return {
    identity: str(o, 'identity'),
    isAdmin: o.admin === true,
    policy: nested ? str(o, 'policy_name') : str(o, 'policy') || str(o, 'policy_name'),
    allow: patterns(nested ? nested.allow : o.allow),
    deny: patterns(nested ? nested.deny : o.deny),
    createdAt: date(o, 'created_at'),
    createdBy: str(o, 'created_by'),
  };
}

export function serverState(o: Obj): ServerState {
  const unreachable = o.keystore_unreachable === true || o.keystore_unavailable === true;
  return {
    version: str(o, 'version'),
    os: str(o, 'os'),
    arch: str(o, 'arch'),
    uptime: num(o, 'uptime'),
    cpus: num(o, 'num_cpu'),
    usableCpus: num(o, 'num_cpu_used'),
    heapAlloc: num(o, 'mem_heap_used'),
    stackAlloc: num(o, 'mem_stack_used'),
    keyStoreLatencyNs: unreachable ? undefined : num(o, 'keystore_latency'),
    keyStoreUnreachable: unreachable,
  };
}

export function apiInfo(o: Obj): ApiInfo {
  return { method: str(o, 'method'), path: str(o, 'path'), maxBody: num(o, 'max_body'), timeout: num(o, 'timeout') };
}

export function auditEvent(o: Obj): AuditEvent {
  const req = asObject(o.request ?? {}, 'audit event request');
  const res = asObject(o.response ?? {}, 'audit event response');
  return {
    time: date(o, 'time'),
    request: { ip: str(req, 'ip'), path: str(req, 'path'), identity: str(req, 'identity') },
    response: { code: num(res, 'code'), time: num(res, 'time') },
  };
}

/**
 * Parses the Prometheus text format of `/v1/metrics` (the KES metric names of protocol.md §12,
 * and openkes's own: its finer latency histogram replaces KES's when present).
 */
export function serverMetrics(text: string): ServerMetrics {
  const m: ServerMetrics = {
    requestOK: 0, requestErr: 0, requestFail: 0, requestActive: 0, auditEvents: 0, errorEvents: 0,
    latency: new Map(), latencyCount: 0, latencySum: 0,
    upTime: 0, cpus: 0, usableCpus: 0, threads: 0, heapAlloc: 0, heapObjects: 0, stackAlloc: 0,
  };
  const gauges: Record<string, keyof ServerMetrics> = {
    kes_http_request_active: 'requestActive',
    kes_log_audit_events: 'auditEvents',
    kes_log_error_events: 'errorEvents',
    kes_system_up_time: 'upTime',
    kes_system_num_cpu: 'cpus',
    kes_system_num_cpu_used: 'usableCpus',
    kes_system_num_threads: 'threads',
    kes_system_mem_heap_used: 'heapAlloc',
    kes_system_mem_heap_objects: 'heapObjects',
    kes_system_mem_stack_used: 'stackAlloc',
    kes_http_response_time_count: 'latencyCount',
    kes_http_response_time_sum: 'latencySum',
    openkes_key_rotations_total: 'keyRotations',
    openkes_key_rotation_failures_total: 'keyRotationFailures',
    openkes_key_cache_entries: 'cacheEntries',
    openkes_key_cache_hits_total: 'cacheHits',
    openkes_key_cache_misses_total: 'cacheMisses',
  };
  const sums: Record<string, 'requestOK' | 'requestErr' | 'requestFail'> = {
    kes_http_request_success: 'requestOK',
    kes_http_request_error: 'requestErr',
    kes_http_request_failure: 'requestFail',
  };
  const fine = new Map<number, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name, labels = '', raw] = match as unknown as [string, string, string | undefined, string];
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    if (name in sums) m[sums[name]!] += value;
    else if (name in gauges) (m as unknown as Record<string, number>)[gauges[name]!] = value;
    else if (name === 'kes_http_response_time_bucket' || name === 'openkes_http_request_duration_seconds_bucket') {
      const le = /le="([^"]+)"/.exec(labels)?.[1];
      if (le && le !== '+Inf') (name === 'kes_http_response_time_bucket' ? m.latency : fine).set(Number(le), value);
    }
  }
  // openkes's finer histogram, when the server has one: KES's starts at 10 ms.
  if (fine.size > 0) m.latency = fine;
  return m;
}
