/**
 * Warnings about a server config file that loads: fields no reader knows (typos, misplaced
 * sections) and values KES accepts but that are most likely mistakes (an `admin.identity` that
 * is not an identity). `kes server --strict-config` makes them errors ({@link strictConfigError}).
 */
import { ConfigError, formatConfigMessage, type ConfigErrorLocation } from './config-error.js';

/** What a warning is about. */
export type ConfigWarningKind = 'unknown-field' | 'admin-identity';

/**
 * One warning, located like a ConfigError: `kes.yml:12: tls.auht: unknown field, ignored (did
 * you mean "auth"?)`.
 */
export class ConfigWarning {
  /** The whole text, location first. */
  readonly message: string;
  /** Dotted path of the field, e.g. `policy.my-app.alow`. */
  readonly field?: string;
  /** 1-based line of the field's key (or value). */
  readonly line?: number;
  /** The config file's name, when known. */
  readonly file?: string;

  constructor(
    readonly kind: ConfigWarningKind,
    /** The message without the location prefix. */
    readonly reason: string,
    location: ConfigErrorLocation = {},
  ) {
    this.message = formatConfigMessage(reason, location);
    if (location.field !== undefined) this.field = location.field;
    if (location.line !== undefined) this.line = location.line;
    if (location.file !== undefined) this.file = location.file;
  }

  toString(): string {
    return this.message;
  }
}

/**
 * The error `--strict-config` turns the warnings into; undefined when there are none. One
 * warning keeps its location (`kes.yml:12: tls.auht: unknown field, ...`); several are listed
 * one a line after `kes.yml: 2 warnings are errors with --strict-config:`.
 */
export function strictConfigError(warnings: readonly ConfigWarning[]): ConfigError | undefined {
  const [first] = warnings;
  if (first === undefined) return undefined;
  if (warnings.length === 1) {
    return new ConfigError(`${first.reason} (an error with --strict-config)`, { field: first.field, line: first.line, file: first.file });
  }
  const list = warnings.map((w) => `\n  ${w.message}`).join('');
  return new ConfigError(`${warnings.length} warnings are errors with --strict-config:${list}`, { file: first.file });
}

/** Sorts warnings by line (those without one last), keeping the order of each line's own. */
export function sortWarnings(warnings: ConfigWarning[]): ConfigWarning[] {
  return warnings.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
}
