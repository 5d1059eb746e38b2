/** Terminal output helpers: colours (when wanted) and error lines. */
import type { Writable } from 'node:stream';

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
