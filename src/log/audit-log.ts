/**
 * The audit log (protocol.md §11.2, §6.17, protocol.md §20.18): one event per authenticated request.
 * Every event goes to the subscribers of `/v1/log/audit`; the stdout sink, off by default,
 * writes slog text lines when `log.audit` is `on` or a level.
 */
import type { Writable } from 'node:stream';
import { Timestamp } from '../util/time.js';
import { goDuration } from '../util/go-duration.js';
import { LOG_INFO } from '../config/types.js';
import type { EventHub } from './event-hub.js';
import { formatRecord } from './slog-text.js';

export interface AuditEvent {
  time: Timestamp;
  /** A short description: `secret key 'k' created` for the events KES audits, else `api request`. */
  message: string;
  method: string;
  path: string;
  ip: string;
  identity: string;
  status: number;
  /** Response time in nanoseconds. */
  durationNs: number;
}

/** The JSON shape of a `/v1/log/audit` event; `response.time` in nanoseconds (protocol.md §20.3). */
export function auditEventJson(e: AuditEvent): object {
  const request: Record<string, string> = {};
  if (e.ip) request.ip = e.ip;
  request.path = e.path;
  if (e.identity) request.identity = e.identity;
  return { time: e.time.toString(), request, response: { code: e.status, time: e.durationNs } };
}

/** The slog text line of an audit event (test-vectors.md §10). */
export function auditEventText(e: AuditEvent): string {
  return formatRecord(e.time, LOG_INFO, e.message, [
    ['req.method', e.method],
    ['req.path', e.path],
    ['req.ip', e.ip],
    ['req.identity', e.identity],
    ['res.code', e.status],
    ['res.time', goDuration(e.durationNs)],
  ]);
}

export class AuditLog {
  /**
   * @param threshold the stdout sink writes when it is INFO or lower
   * @param out the sink (stdout), or null for none
   * @param hub the stream subscribers
   */
  constructor(
    readonly threshold: number,
    private readonly out: Writable | null,
    private readonly hub: EventHub<AuditEvent>,
  ) {}

  /** Reports whether an event would go anywhere (the sink is on, or someone subscribed). */
  get enabled(): boolean {
    return (this.out !== null && this.threshold <= LOG_INFO) || this.hub.active;
  }

  log(event: AuditEvent): void {
    if (this.out !== null && this.threshold <= LOG_INFO) this.out.write(auditEventText(event) + '\n');
    this.hub.publish(event);
  }
}
