/** Creates the process-wide {@link Runtime} of a server. */
import type { Writable } from 'node:stream';
import { Timestamp } from '../util/time.js';
import { EventHub } from '../log/event-hub.js';
import { Metrics, type MetricsSnapshot } from '../metrics/metrics.js';
import { buildInfo } from '../util/build-info.js';
import type { Runtime } from './state.js';
import type { ErrorEvent } from '../log/error-log.js';
import type { AuditEvent } from '../log/audit-log.js';
import type { ReplicaLink } from '../keystore/cache.js';

export interface RuntimeOptions {
  /** Audit log sink (default process.stdout); null for none. */
  stdout?: Writable | null;
  /** Error log sink (default process.stderr); null for none. */
  stderr?: Writable | null;
  workers?: number;
  /** Sums the metrics of all workers; default: this process's own. */
  metricsSnapshot?: (own: MetricsSnapshot) => Promise<MetricsSnapshot>;
  /** Log event hubs (a cluster worker passes hubs that span the workers). */
  errorHub?: EventHub<ErrorEvent>;
  auditHub?: EventHub<AuditEvent>;
  /** A cluster worker's link to the primary's key cache keeper. */
  cacheLink?: ReplicaLink;
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const metrics = new Metrics();
  const workers = options.workers ?? 1;
  const threadPool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const sum = options.metricsSnapshot;
  return {
    build: buildInfo(),
    startTime: Timestamp.now(),
    metrics,
    errorHub: options.errorHub ?? new EventHub<ErrorEvent>(),
    auditHub: options.auditHub ?? new EventHub<AuditEvent>(),
    workers,
    threads: threadPool + workers,
    metricsSnapshot: () => (sum ? sum(metrics.current()) : Promise.resolve(structuredClone(metrics.current()))),
    ...(options.cacheLink && { cacheLink: options.cacheLink }),
    stdout: options.stdout === undefined ? process.stdout : options.stdout,
    stderr: options.stderr === undefined ? process.stderr : options.stderr,
  };
}
