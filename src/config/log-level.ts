/** Log levels of `log.error` and `log.audit` (protocol.md §11.3). */
import { LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_OFF, LOG_WARN } from './types.js';

const NAMED: Readonly<Record<string, number>> = { debug: LOG_DEBUG, info: LOG_INFO, warn: LOG_WARN, error: LOG_ERROR };

const LEVEL = /^(debug|info|warn|error)([+-]\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/**
 * Parses a config log level, case-insensitively: `""` and `on` → INFO, `off` → LOG_OFF;
 * `DEBUG`, `INFO`, `WARN` or `ERROR` with an optional `+n`/`-n` offset (`INFO+2`); or a plain
 * integer in slog numbering (DEBUG −4, INFO 0, WARN 4, ERROR 8).
 * @returns the slog level, or undefined if the text is not a level.
 */
export function parseLogLevel(text: string): number | undefined {
  const lower = text.toLowerCase();
  if (lower === '' || lower === 'on') return LOG_INFO;
  if (lower === 'off') return LOG_OFF;
  if (INTEGER.test(lower)) return safeInteger(Number(lower));
  const match = LEVEL.exec(lower);
  if (match === null) return undefined;
  const base = NAMED[match[1] ?? ''];
  if (base === undefined) return undefined;
  return safeInteger(base + (match[2] === undefined ? 0 : Number(match[2])));
}

function safeInteger(n: number): number | undefined {
  return Number.isSafeInteger(n) ? n : undefined;
}
