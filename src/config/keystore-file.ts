/**
 * Reads only the `keystore:` section of a KES server config file, for tools that open a key
 * store without running a server (`kes migrate`). The rest of the file is not validated, so a
 * config whose TLS files live on another machine still works. YAML, `${NAME}` substitution and
 * error messages are those of the full parser (parse-config.ts).
 */
import type { Env } from './config-node.js';
import { openConfig, readConfigFile, type ParseConfigOptions } from './config-file.js';
import { readKeyStoreConfig } from '../keystore/registry.js';
import type { KeyStoreConfig } from './types.js';

/**
 * Parses the `keystore:` section of a server config (YAML 1.2). Also checks `version` (only v1)
 * and rejects the KES ≤ v0.13 `keys:` keystore section, as the full parser does.
 * @throws ConfigError naming the file, line and field of the first problem found
 */
export function parseKeyStoreConfig(text: string, options: ParseConfigOptions = {}): KeyStoreConfig {
  const root = openConfig(text, options);
  return readKeyStoreConfig(root.section('keystore'), { baseDir: options.baseDir ?? process.cwd() });
}

/**
 * Reads the config file at path and parses its `keystore:` section; error messages name the
 * file as given. Relative paths in the section are relative to the working directory, as for
 * `kes server`.
 * @throws ConfigError when the file cannot be read or its keystore section is invalid
 */
export async function loadKeyStoreConfigFile(path: string, env: Env = process.env): Promise<KeyStoreConfig> {
  return parseKeyStoreConfig(await readConfigFile(path), { env, filename: path });
}
