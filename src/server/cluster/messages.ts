/** Messages between the primary process and the workers of a cluster (node:cluster IPC). */
import type { MetricsSnapshot } from '../../metrics/metrics.js';
import type { AuditEvent } from '../../log/audit-log.js';
import { Timestamp } from '../../util/time.js';

export type LogKind = 'error' | 'audit';

/** Primary → worker. */
export type ToWorker =
  | { type: 'init'; ticketKeys: string }
  /** New TLS session ticket keys (hex), sent before a reload and every ticket lifetime. */
  | { type: 'ticket-keys'; ticketKeys: string }
  | { type: 'reload'; id: number }
  | { type: 'shutdown' }
  | { type: 'metrics-collect'; id: number }
  | { type: 'metrics-result'; id: number; snapshot: MetricsSnapshot }
  | { type: 'event'; kind: LogKind; event: unknown }
  /** Whether subscribers exist in other workers (so local events must be forwarded). */
  | { type: 'subscribers'; kind: LogKind; others: boolean }
  | CacheToWorker;

/** The primary's key cache keeper → a worker's cache (cache-keeper.ts); entries in base64. */
export type CacheToWorker =
  /** Another worker fetched the key: cache it too. */
  | { type: 'cache-fill'; name: string; entry: string }
  /** Drop the names (all for 'all'), remember seq; answer 'cache-evicted'. */
  | { type: 'cache-evict'; seq: number; names: string[] | 'all' }
  /** Every key the server caches, for a worker that starts. */
  | { type: 'cache-snapshot'; seq: number; entries: [string, string][] }
  /** Answer 'cache-used' with the names used since the previous sweep. */
  | { type: 'cache-sweep'; id: number }
  | { type: 'cache-offline'; offline: boolean }
  /** The write 'cache-write' id reported is now dropped by every worker. */
  | { type: 'cache-written'; id: number };

/** Worker → primary. */
export type ToPrimary =
  /** The worker listens for messages now: the primary answers with 'init'. */
  | { type: 'hello' }
  | { type: 'ready'; host: string; port: number }
  | { type: 'failed'; message: string }
  | { type: 'reloaded'; id: number; error?: string }
  | { type: 'metrics-request'; id: number }
  | { type: 'metrics-snapshot'; id: number; snapshot: MetricsSnapshot }
  | { type: 'event'; kind: LogKind; event: unknown }
  | { type: 'subscribers'; kind: LogKind; count: number }
  | CacheToPrimary;

/** A worker's cache → the primary's keeper. */
export type CacheToPrimary =
  /** Fetched from the store, having seen invalidations up to seen. */
  | { type: 'cache-fill'; name: string; entry: string; seen: number }
  /** Created, imported or deleted: answer 'cache-written' once every worker dropped name. */
  | { type: 'cache-write'; id: number; name: string }
  | { type: 'cache-evicted'; seq: number }
  | { type: 'cache-used'; id: number; names: string[] };

export function isMessage(value: unknown): value is { type: string } {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

/** An audit event as sent between processes: its time as RFC 3339 text. */
export function encodeAuditEvent(e: AuditEvent): unknown {
  return { ...e, time: e.time.toString() };
}

export function decodeAuditEvent(event: unknown): AuditEvent {
  const e = event as Omit<AuditEvent, 'time'> & { time: string };
  return { ...e, time: Timestamp.parse(e.time) ?? Timestamp.now() };
}
