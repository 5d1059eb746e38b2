/**
 * The front door of every config file reader (parse-config.ts for the server, keystore-file.ts
 * for tools that need only the key store): reading the file, the YAML, `${NAME}` substitution,
 * and the checks of the file as a whole, with one set of error messages.
 */
import { readFile } from 'node:fs/promises';
import YAML, { LineCounter } from 'yaml';
import { ConfigError } from './config-error.js';
import { ConfigNode, type Env } from './config-node.js';
import { sortWarnings, strictConfigError, type ConfigWarning } from './config-warning.js';
import { FieldAccess } from './field-access.js';
import { warnUnknownFields } from './unknown-fields.js';

/** Options of the parsers. */
export interface ParseConfigOptions {
  /** Variables for `${NAME}` references; default process.env. */
  env?: Env;
  /** The file name used in error messages. */
  filename?: string;
  /** Directory for the load-time checks of relative paths; default the working directory. */
  baseDir?: string;
  /**
   * Receives the warnings about a file that is valid (unknown fields, an `admin.identity` that
   * is not an identity), sorted by line. Nothing is added when the file is invalid.
   */
  warnings?: ConfigWarning[];
  /** Makes the warnings errors (`kes server --strict-config`): see strictConfigError. */
  strict?: boolean;
}

/**
 * The root mapping of a config file's text (YAML 1.2, unique keys). Checks `version` (only v1)
 * and rejects the KES ≤ v0.13 `keys:` keystore section.
 * @throws ConfigError naming the file, line and field of the problem
 */
export function openConfig(text: string, options: ParseConfigOptions = {}): ConfigNode {
  const file = options.filename;
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, prettyErrors: false, version: '1.2', uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    throw new ConfigError(`invalid YAML: ${syntax.message}`, { line: lines.linePos(syntax.pos[0]).line, file }, { cause: syntax });
  }
  const root = ConfigNode.root({ doc, lines, env: options.env ?? process.env, file, access: new FieldAccess(), warnings: [] });
  if (root.isNull) throw new ConfigError('the config file is empty', { file });
  if (!root.isMap) root.fail('the top level must be a mapping');

  const version = root.get('version');
  if (version !== undefined && version.text() !== 'v1') {
    version.fail(`invalid server config version ${JSON.stringify(version.text())} (only v1 is supported)`);
  }
  const keys = root.at('keys');
  if (keys.isMap) {
    keys.fail("this is the keystore section of KES v0.13 and older: move it under 'keystore:' (since v0.14 'keys:' lists the names of keys to create)");
  }
  return root;
}

/**
 * Ends the reading of a config whose parts under checked have been read: warns about the fields
 * under it that no reader asked for, then hands the warnings to options.warnings, or with
 * options.strict throws them as one ConfigError.
 * @throws ConfigError with options.strict when there are warnings
 */
export function finishConfig(checked: ConfigNode, options: ParseConfigOptions): void {
  warnUnknownFields(checked);
  const warnings = sortWarnings(checked.warnings());
  const error = options.strict ? strictConfigError(warnings) : undefined;
  if (error !== undefined) throw error;
  options.warnings?.push(...warnings);
}

/**
 * The text of the config file at path.
 * @throws ConfigError `cannot read the config file: ...`, naming the file as given
 */
export async function readConfigFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the config file: ${(err as Error).message}`, { file: path }, { cause: err });
  }
}
