/**
 * KES's Prometheus metrics (protocol.md §12): request counters by status class and code, active
 * requests, a response-time histogram, log event counters and system gauges. Labels come from a
 * closed set (the status code), never from request data.
 *
 * Counts live in a plain snapshot object so that several worker processes can be summed.
 */

/** Histogram bucket upper bounds in seconds, as KES defines them. */
export const RESPONSE_TIME_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 3, 5, 10] as const;

/**
 * openkes's finer histogram (`openkes_http_request_duration_seconds`): a key server answers in
 * well under KES's first bucket of 10 ms, so its percentiles need buckets from 100 µs on.
 */
export const REQUEST_DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export interface MetricsSnapshot {
  success: Record<string, number>; // status code → count, 2xx
  error: Record<string, number>; // 4xx
  failure: Record<string, number>; // 5xx
  active: number;
  /** Non-cumulative counts per bucket, plus one for +Inf. */
  buckets: number[];
  /** The same for REQUEST_DURATION_BUCKETS (openkes). */
  fineBuckets: number[];
  sum: number;
  count: number;
  logErrorEvents: number;
  logAuditEvents: number;
  /** Automatic key rotations made by this server (openkes). */
  keyRotations: number;
  keyRotationFailures: number;
  /** Key cache look-ups answered from the cache, and those that went to the store (openkes). */
  cacheHits: number;
  cacheMisses: number;
  /** Entries in the key cache when the snapshot was taken. */
  cacheEntries: number;
}

export function emptySnapshot(): MetricsSnapshot {
  return {
    success: {},
    error: {},
    failure: {},
    active: 0,
    buckets: new Array<number>(RESPONSE_TIME_BUCKETS.length + 1).fill(0),
    fineBuckets: new Array<number>(REQUEST_DURATION_BUCKETS.length + 1).fill(0),
    sum: 0,
    count: 0,
    logErrorEvents: 0,
    logAuditEvents: 0,
    keyRotations: 0,
    keyRotationFailures: 0,
    cacheHits: 0,
    cacheMisses: 0,
    cacheEntries: 0,
  };
}

/** Adds b into a (for summing the snapshots of several workers). */
export function addSnapshot(a: MetricsSnapshot, b: MetricsSnapshot): MetricsSnapshot {
  for (const k of ['success', 'error', 'failure'] as const) {
    for (const [code, n] of Object.entries(b[k])) a[k][code] = (a[k][code] ?? 0) + n;
  }
  a.active += b.active;
  b.buckets.forEach((n, i) => (a.buckets[i] = (a.buckets[i] ?? 0) + n));
  b.fineBuckets.forEach((n, i) => (a.fineBuckets[i] = (a.fineBuckets[i] ?? 0) + n));
  a.sum += b.sum;
  a.count += b.count;
  a.logErrorEvents += b.logErrorEvents;
  a.logAuditEvents += b.logAuditEvents;
  a.keyRotations += b.keyRotations;
  a.keyRotationFailures += b.keyRotationFailures;
  a.cacheHits += b.cacheHits;
  a.cacheMisses += b.cacheMisses;
  a.cacheEntries += b.cacheEntries;
  return a;
}

/** Counts of a key cache's look-ups (keystore/cache.ts). */
export interface CacheCounters {
  cacheHit(): void;
  cacheMiss(): void;
}

/** The metrics of one process. */
export class Metrics implements CacheCounters {
  readonly data: MetricsSnapshot = emptySnapshot();
  /** The number of entries of the process's key cache (set by the server's state). */
  cacheSize: () => number = () => 0;

  /** The counts with the gauges read now: what this process reports. */
  current(): MetricsSnapshot {
    this.data.cacheEntries = this.cacheSize();
    return this.data;
  }

  cacheHit(): void {
    this.data.cacheHits++;
  }

  cacheMiss(): void {
    this.data.cacheMisses++;
  }

  requestStarted(): void {
    this.data.active++;
  }

  /** An automatic rotation made, or failed (auto-rotation.ts). */
  keyRotated(): void {
    this.data.keyRotations++;
  }

  keyRotationFailed(): void {
    this.data.keyRotationFailures++;
  }

  /** Records a finished request. Statuses outside 2xx/4xx/5xx are only timed. */
  requestFinished(status: number, seconds: number): void {
    this.data.active--;
    const family = status >= 500 ? this.data.failure : status >= 400 ? this.data.error : status >= 200 && status < 300 ? this.data.success : undefined;
    if (family) family[status] = (family[status] ?? 0) + 1;
    this.data.buckets[bucketOf(RESPONSE_TIME_BUCKETS, seconds)]!++;
    this.data.fineBuckets[bucketOf(REQUEST_DURATION_BUCKETS, seconds)]!++;
    this.data.sum += seconds;
    this.data.count++;
  }
}

/** The index of the first bucket whose upper bound holds seconds (the last: +Inf). */
function bucketOf(bounds: readonly number[], seconds: number): number {
  let i = 0;
  while (i < bounds.length && seconds > bounds[i]!) i++;
  return i;
}

/** A histogram's Prometheus lines: cumulative buckets, +Inf, sum and count. */
function histogramLines(name: string, bounds: readonly number[], counts: readonly number[], sum: number, count: number): string[] {
  let cumulative = 0;
  const lines = bounds.map((le, i) => {
    cumulative += counts[i] ?? 0;
    return `${name}_bucket{le="${le}"} ${cumulative}`;
  });
  lines.push(`${name}_bucket{le="+Inf"} ${count}`, `${name}_sum ${sum}`, `${name}_count ${count}`);
  return lines;
}

/** Process-level gauges reported with the metrics. */
export interface SystemMetrics {
  upTimeSeconds: number;
  numCpu: number;
  numCpuUsed: number;
  numThreads: number;
  heapUsed: number;
  heapObjects: number;
  stackUsed: number;
}

/** The Prometheus text exposition format (version 0.0.4) of a snapshot, families sorted by name. */
export function renderPrometheus(m: MetricsSnapshot, sys: SystemMetrics): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, lines: string[]) => {
    if (lines.length === 0) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  const byCode = (name: string, counts: Record<string, number>) =>
    Object.keys(counts)
      .sort()
      .map((code) => `${name}{code="${code}"} ${counts[code]}`);
  const gauge = (name: string, help: string, value: number) => family(name, 'gauge', help, [`${name} ${value}`]);

  family('kes_http_request_active', 'gauge', 'Number of active requests that are not finished, yet.', [`kes_http_request_active ${m.active}`]);
  family('kes_http_request_error', 'counter', 'Number of request that failed due to some error. (HTTP 4xx status code)', byCode('kes_http_request_error', m.error));
  family('kes_http_request_failure', 'counter', 'Number of request that failed due to some internal failure. (HTTP 5xx status code)', byCode('kes_http_request_failure', m.failure));
  family('kes_http_request_success', 'counter', 'Number of requests that have been served successfully.', byCode('kes_http_request_success', m.success));
  const histogram = histogramLines('kes_http_response_time', RESPONSE_TIME_BUCKETS, m.buckets, m.sum, m.count);
  family('kes_http_response_time', 'histogram', 'Histogram of request response times spawning from 10ms to 10s.', histogram);
  family('kes_log_audit_events', 'counter', 'Number of audit log events written to subscribers.', [`kes_log_audit_events ${m.logAuditEvents}`]);
  family('kes_log_error_events', 'counter', 'Number of error log events written to subscribers.', [`kes_log_error_events ${m.logErrorEvents}`]);
  // openkes's own metrics: KES's dashboards ignore names they do not know.
  const fine = histogramLines('openkes_http_request_duration_seconds', REQUEST_DURATION_BUCKETS, m.fineBuckets, m.sum, m.count);
  family('openkes_http_request_duration_seconds', 'histogram', 'Histogram of request durations from 100 microseconds to 10 seconds.', fine);
  family('openkes_key_cache_entries', 'gauge', 'Number of entries in the key caches of the server.', [`openkes_key_cache_entries ${m.cacheEntries}`]);
  family('openkes_key_cache_hits_total', 'counter', 'Number of key look-ups answered from the key cache.', [`openkes_key_cache_hits_total ${m.cacheHits}`]);
  family('openkes_key_cache_misses_total', 'counter', 'Number of key look-ups that went to the key store.', [`openkes_key_cache_misses_total ${m.cacheMisses}`]);
  family('openkes_key_rotations_total', 'counter', 'Number of automatic key rotations this server made.', [`openkes_key_rotations_total ${m.keyRotations}`]);
  family('openkes_key_rotation_failures_total', 'counter', 'Number of automatic key rotations that failed on this server.', [`openkes_key_rotation_failures_total ${m.keyRotationFailures}`]);
  gauge('kes_system_mem_heap_objects', 'Number of objects allocated on the heap.', sys.heapObjects);
  gauge('kes_system_mem_heap_used', 'Number of bytes currently allocated on the heap.', sys.heapUsed);
  gauge('kes_system_mem_stack_used', 'Number of bytes currently used on the stack.', sys.stackUsed);
  gauge('kes_system_num_cpu', 'Number of logical CPUs available on the system.', sys.numCpu);
  gauge('kes_system_num_cpu_used', 'Number of logical CPUs usable by the server.', sys.numCpuUsed);
  gauge('kes_system_num_threads', 'Number of threads currently used by the server.', sys.numThreads);
  gauge('kes_system_up_time', 'The time the server has been up and running in seconds.', sys.upTimeSeconds);
  return out.join('\n') + '\n';
}
