/**
 * Reads only the `keystore:` section of a KES server config file, for tools that open a key
 * store without running a server (`kes migrate`). The rest of the file is not validated, so a
 * config whose TLS files live on another machine still works. YAML, `${NAME}` substitution and
 * error messages are those of the full parser (parse-config.ts).
 */
import { readFile } from 'node:fs/promises';
import YAML, { LineCounter } from 'yaml';
import { ConfigError } from './config-error.js';
import { ConfigNode, type Env } from './config-node.js';
import { readKeyStoreConfig } from '../keystore/registry.js';
import type { ParseConfigOptions } from './parse-config.js';
import type { KeyStoreConfig } from './types.js';

/**
 * Parses the `keystore:` section of a server config (YAML 1.2). Also checks `version` (only v1)
 * and rejects the KES ≤ v0.13 `keys:` keystore section, as the full parser does.
 * @throws ConfigError naming the file, line and field of the first problem found
 */
export function parseKeyStoreConfig(text: string, options: ParseConfigOptions = {}): KeyStoreConfig {
  const file = options.filename;
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, prettyErrors: false, version: '1.2', uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    throw new ConfigError(`invalid YAML: ${syntax.message}`, { line: lines.linePos(syntax.pos[0]).line, file }, { cause: syntax });
  }
  const root = ConfigNode.root({ doc, lines, env: options.env ?? process.env, file });
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
  return readKeyStoreConfig(root.section('keystore'), { baseDir: options.baseDir ?? process.cwd() });
}

/**
 * Reads the config file at path and parses its `keystore:` section; error messages name the
 * file as given. Relative paths in the section are relative to the working directory, as for
 * `kes server`.
 * @throws ConfigError when the file cannot be read or its keystore section is invalid
 */
export async function loadKeyStoreConfigFile(path: string, env: Env = process.env): Promise<KeyStoreConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the config file: ${(err as Error).message}`, { file: path }, { cause: err });
  }
  return parseKeyStoreConfig(text, { env, filename: path });
}
