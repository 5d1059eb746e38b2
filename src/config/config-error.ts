/** Errors of the server config file (protocol.md §13). */

/** Where a config error was found. */
export interface ConfigErrorLocation {
  /** Dotted path of the offending field, e.g. `tls.auth` or `policy.my-app.identities[0]`. */
  field?: string;
  /** 1-based line of the offending YAML node. */
  line?: number;
  /** The config file's name, when known. */
  file?: string;
}

/**
 * An invalid server config. The message names the file, line and field when they are known:
 * `kes.yml:7: tls.auth: must be "on" or "off", got "maybe"`.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Dotted path of the offending field. */
  readonly field?: string;
  /** 1-based line of the offending YAML node. */
  readonly line?: number;
  /** The config file's name, when known. */
  readonly file?: string;
  /** The message without the location prefix. */
  readonly reason: string;

  constructor(reason: string, location: ConfigErrorLocation = {}, options?: ErrorOptions) {
    super(formatConfigMessage(reason, location), options);
    this.reason = reason;
    if (location.field !== undefined) this.field = location.field;
    if (location.line !== undefined) this.line = location.line;
    if (location.file !== undefined) this.file = location.file;
  }
}

/**
 * A message with its location in front, `kes.yml:7: tls.auth: <reason>`, as errors and
 * warnings of the config file show it.
 */
export function formatConfigMessage(reason: string, { field, line, file }: ConfigErrorLocation): string {
  let where: string | undefined;
  if (file !== undefined && line !== undefined) where = `${file}:${line}`;
  else if (file !== undefined) where = file;
  else if (line !== undefined) where = `line ${line}`;
  return [where, field, reason].filter((part) => part !== undefined && part !== '').join(': ');
}
