/**
 * The error log (protocol.md §11.1, §20.19): slog text lines on stderr at or above the
 * configured level, and every event at INFO or above (DEBUG too when configured) to the
 * subscribers of `/v1/log/error`. Messages must never contain secret material.
 */
import type { Writable } from 'node:stream';
import { Timestamp } from '../util/time.js';
import { LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN } from '../config/types.js';
import type { EventHub } from './event-hub.js';
import { formatRecord, type LogValue } from './slog-text.js';

/** An event of the `/v1/log/error` stream: one slog text line. */
export interface ErrorEvent {
  message: string;
}

export type LogAttrs = readonly (readonly [string, LogValue])[];

export class ErrorLog {
  /**
   * @param threshold lowest level written to out
   * @param out the sink (stderr), or null for none
   * @param hub the stream subscribers
   */
  constructor(
    readonly threshold: number,
    private readonly out: Writable | null,
    private readonly hub: EventHub<ErrorEvent>,
  ) {}

  log(level: number, message: string, attrs: LogAttrs = []): void {
    const toOut = this.out !== null && level >= this.threshold;
    const toHub = this.hub.active && level >= Math.min(this.threshold, LOG_INFO);
    if (!toOut && !toHub) return;
    const line = formatRecord(Timestamp.now(), level, message, attrs);
    if (toOut) this.out!.write(line + '\n');
    if (toHub) this.hub.publish({ message: line });
  }

  debug(message: string, attrs?: LogAttrs): void {
    this.log(LOG_DEBUG, message, attrs);
  }

  info(message: string, attrs?: LogAttrs): void {
    this.log(LOG_INFO, message, attrs);
  }

  warn(message: string, attrs?: LogAttrs): void {
    this.log(LOG_WARN, message, attrs);
  }

  error(message: string, attrs?: LogAttrs): void {
    this.log(LOG_ERROR, message, attrs);
  }
}
