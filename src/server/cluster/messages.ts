/**
 * The messages between the primary process and the workers of a cluster (node:cluster IPC).
 * Each side handles them with a table of one handler per message type (primary.ts,
 * worker.ts), so that a message without a handler does not compile.
 */
import { BackupKey } from '../../backup/backup-key.js';
import type { MetricsSnapshot } from '../../metrics/metrics.js';
import type { AuditEvent } from '../../log/audit-log.js';
import type { ServerConfig } from '../../config/types.js';
import { Timestamp } from '../../util/time.js';

export type LogKind = 'error' | 'audit';

/** Primary → worker. */
export type ToWorker =
  /** The answer to 'hello': the config to serve and the TLS session ticket keys (hex). */
  | { type: 'init'; config: ServerConfig; backupKey?: string; ticketKeys: string }
  /** New TLS session ticket keys (hex), sent before a reload and every ticket lifetime. */
  | { type: 'ticket-keys'; ticketKeys: string }
  /** Serve this config from now on; answer 'done'. */
  | { type: 'reload'; id: number; config: ServerConfig; backupKey?: string }
  /** Re-read the TLS certificates of this config; answer 'done'. */
  | { type: 'refresh-tls'; id: number; config: ServerConfig }
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
  /** The answer to 'reload' or 'refresh-tls'. */
  | { type: 'done'; id: number; error?: string }
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

/** One handler per message type of M. */
export type Handlers<M extends { type: string }, Args extends unknown[] = []> = { [T in M['type']]: (message: Extract<M, { type: T }>, ...args: Args) => void };

/** Calls the handler of a message; anything that is not a message of the table is ignored. */
export function dispatch<M extends { type: string }, Args extends unknown[]>(handlers: Handlers<M, Args>, message: unknown, ...args: Args): void {
  if (typeof message !== 'object' || message === null) return;
  const type = (message as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(handlers, type)) return;
  (handlers[type as M['type']] as (m: M, ...a: Args) => void)(message as M, ...args);
}

/** An audit event as sent between processes: its time as RFC 3339 text. */
export function encodeAuditEvent(e: AuditEvent): unknown {
  return { ...e, time: e.time.toString() };
}

export function decodeAuditEvent(event: unknown): AuditEvent {
  const e = event as Omit<AuditEvent, 'time'> & { time: string };
  return { ...e, time: Timestamp.parse(e.time) ?? Timestamp.now() };
}

/**
 * The backup key of a config as it crosses to a worker: key objects do not survive the channel's
 * serialization (and never print their bytes), so the key travels as base64 beside the config.
 */
export function backupKeyOf(config: ServerConfig): string | undefined {
  return config.backup?.key.exportBase64();
}

/** The config a worker received, with its backup key restored. */
export function withBackupKey(config: ServerConfig, backupKey: string | undefined): ServerConfig {
  return backupKey === undefined ? config : { ...config, backup: { ...config.backup, key: BackupKey.parse(backupKey) } };
}
