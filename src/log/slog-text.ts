/**
 * Log lines in Go's `log/slog` text format, which KES writes and its users parse:
 * `time=2023-10-19T08:44:00.000Z level=INFO msg="..." key=value ...`.
 */
import type { Timestamp } from '../util/time.js';

export type LogValue = string | number | boolean;

/** slog's level names: DEBUG, INFO, WARN, ERROR, with an offset such as `INFO+2`. */
export function levelName(level: number): string {
  const names: [number, string][] = [[8, 'ERROR'], [4, 'WARN'], [0, 'INFO'], [-4, 'DEBUG']];
  for (const [base, name] of names) {
    if (level >= base) return level === base ? name : `${name}+${level - base}`;
  }
  return `DEBUG${level + 4}`;
}

/** Formats a time as slog does: RFC 3339 with milliseconds, in the local time zone. */
export function slogTime(t: Timestamp): string {
  return t.withOffset(-new Date(t.toMillis()).getTimezoneOffset() * 60).toMillisString();
}

/** Quotes a value the way slog's text handler does when it contains spaces, `=`, `"` or controls. */
export function slogValue(value: LogValue): string {
  const s = String(value);
  if (s !== '' && !/[\s="\\\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(s)) return s;
  return JSON.stringify(s);
}

/** One log line without the trailing newline. */
export function formatRecord(time: Timestamp, level: number, message: string, attrs: readonly (readonly [string, LogValue])[] = []): string {
  let line = `time=${slogTime(time)} level=${levelName(level)} msg=${slogValue(message)}`;
  for (const [key, value] of attrs) line += ` ${key}=${slogValue(value)}`;
  return line;
}
