/** Results of the SDK's methods. Times are Dates; byte fields are Buffers. */

export type KeyAlgorithm = 'AES256' | 'ChaCha20';

export interface KeyInfo {
  name: string;
  /** `AES256` or `ChaCha20` (legacy servers' names `AES256-GCM_SHA256`/`XCHACHA20-POLY1305` are mapped). */
  algorithm: KeyAlgorithm | string;
  createdAt: Date;
  /** The identity that created the key, or its latest version ('' when unknown). */
  createdBy: string;
  /**
   * The latest version: it seals new data. `algorithm`, `createdAt` and `createdBy` above are
   * its own. A KES server's keys have one version, 1.
   */
  version: number;
  /** The key's versions, lowest first: data sealed with any of them decrypts (docs/key-rings.md). */
  versions: KeyVersion[];
}

/** One version of a key (openkes key rings, docs/key-rings.md). */
export interface KeyVersion {
  version: number;
  algorithm: KeyAlgorithm | string;
  createdAt: Date;
  /** The identity that added the version; absent when unknown. */
  createdBy?: string;
}

/** A data encryption key: use `plaintext`, store `ciphertext`, forget `plaintext`. */
export interface DataKey {
  plaintext: Buffer;
  ciphertext: Buffer;
}

export interface PolicyInfo {
  name: string;
  createdAt: Date;
  createdBy: string;
}

export interface Policy extends PolicyInfo {
  allow: string[];
  deny: string[];
}

export interface IdentityInfo {
  identity: string;
  isAdmin: boolean;
  /** The policy assigned to the identity ('' for the admin). */
  policy: string;
  createdAt: Date;
  createdBy: string;
}

/** The caller's own identity and what it may do. */
export interface SelfInfo extends IdentityInfo {
  allow: string[];
  deny: string[];
}

/** `/v1/status`. */
export interface ServerState {
  version: string;
  os: string;
  arch: string;
  /** Seconds since the server started. */
  uptime: number;
  cpus: number;
  usableCpus: number;
  heapAlloc: number;
  stackAlloc: number;
  /** Key store round trip in nanoseconds (undefined when the store is down). */
  keyStoreLatencyNs?: number;
  keyStoreUnreachable: boolean;
}

/** An entry of `/v1/api`. */
export interface ApiInfo {
  method: string;
  path: string;
  maxBody: number;
  /** Seconds; 0 = none. */
  timeout: number;
}

/** `/v1/metrics`, summed over status codes. */
export interface ServerMetrics {
  requestOK: number;
  requestErr: number;
  requestFail: number;
  requestActive: number;
  auditEvents: number;
  errorEvents: number;
  /**
   * Cumulative response-time histogram: upper bound in seconds → count (without +Inf); openkes's
   * `openkes_http_request_duration_seconds` (from 100 µs) when the server has it, else KES's (from 10 ms).
   */
  latency: Map<number, number>;
  /** Number of requests in the histogram and the sum of their times in seconds. */
  latencyCount: number;
  latencySum: number;
  upTime: number;
  cpus: number;
  usableCpus: number;
  threads: number;
  heapAlloc: number;
  heapObjects: number;
  stackAlloc: number;
  /** Automatic key rotations the server made, and those that failed (openkes only; KES: undefined). */
  keyRotations?: number;
  keyRotationFailures?: number;
  /** The key cache: entries now, look-ups answered from it and those that went to the key store (openkes only). */
  cacheEntries?: number;
  cacheHits?: number;
  cacheMisses?: number;
}

export interface AuditEvent {
  time: Date;
  request: { ip: string; path: string; identity: string };
  /** `time` in nanoseconds. */
  response: { code: number; time: number };
}

export interface ErrorEvent {
  message: string;
}
