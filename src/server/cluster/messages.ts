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
  | { type: 'subscribers'; kind: LogKind; others: boolean };

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
  | { type: 'subscribers'; kind: LogKind; count: number };

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
