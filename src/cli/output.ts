/** Terminal output helpers: colours (when wanted) and error lines. */
import type { Writable } from 'node:stream';
import { UsageError } from './flags.js';

export type ColorMode = 'auto' | 'always' | 'never';

/** Reports whether to colour output: auto = when the stream is a terminal and NO_COLOR is unset. */
export function useColor(stream: Writable & { isTTY?: boolean }, mode: ColorMode = 'auto', env: Record<string, string | undefined> = process.env): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  return stream.isTTY === true && env.NO_COLOR === undefined;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, cyan: 36, gray: 90, bold: 1, underline: 4 } as const;
export type Style = keyof typeof CODES;

/** Wraps text in ANSI styles when enabled. */
export function paint(enabled: boolean, text: string, ...styles: Style[]): string {
  if (!enabled || styles.length === 0) return text;
  return `\x1b[${styles.map((s) => CODES[s]).join(';')}m${text}\x1b[0m`;
}

/** The `--color` flag's mode; throws a UsageError for other values. */
export function colorMode(value: unknown): ColorMode {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'always' || value === 'never') return value;
  throw new UsageError(`invalid --color '${String(value)}': use auto, always or never`);
}

/** Reports whether the stream is a terminal. */
export function isTTY(stream: { isTTY?: boolean }): boolean {
  return stream.isTTY === true;
}

/** `YYYY-MM-DD HH:MM:SS` in local time, as KES's CLI prints dates. */
export function formatDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Aligned `Label  value` lines. */
export function formatFields(rows: readonly (readonly [string, string])[], color: boolean): string {
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, v]) => `${paint(color, l.padEnd(width), 'bold')}${v}`).join('\n') + '\n';
}

/**
 * A list of names: a JSON array with --json; on a terminal an underlined header and one name
 * per line; when piped one name per line.
 */
export function formatList(header: string, names: readonly string[], o: { json: boolean; tty: boolean; color: boolean }): string {
  if (o.json) return JSON.stringify(names) + '\n';
  const body = names.map((n) => n + '\n').join('');
  return o.tty ? `${paint(o.color, header, 'bold', 'underline')}\n${body}` : body;
}
