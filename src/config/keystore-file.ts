/**
 * Reads only the `keystore:` section of a KES server config file, for tools that open a key
 * store without running a server (`kes migrate`). The rest of the file is not validated, so a
 * config whose TLS files live on another machine still works. YAML, `${NAME}` substitution and
 * error messages are those of the full parser (parse-config.ts).
 */
import type { Env } from './config-node.js';
import { finishConfig, openConfig, readConfigFile, type ParseConfigOptions } from './config-file.js';
import { readKeyStoreConfig } from '../keystore/registry.js';
import type { KeyStoreConfig } from './types.js';

/**
 * Parses the `keystore:` section of a server config (YAML 1.2). Also checks `version` (only v1)
 * and rejects the KES ≤ v0.13 `keys:` keystore section, as the full parser does. Unknown fields
 * under `keystore:` (only there) are reported to options.warnings, as parseConfig does.
 * @throws ConfigError naming the file, line and field of the first problem found
 */
export function parseKeyStoreConfig(text: string, options: ParseConfigOptions = {}): KeyStoreConfig {
  const root = openConfig(text, options);
  const keystore = root.section('keystore');
  const config = readKeyStoreConfig(keystore, { baseDir: options.baseDir ?? process.cwd() });
  finishConfig(keystore, options);
  return config;
}

/**
 * Reads the config file at path and parses its `keystore:` section; error messages name the
 * file as given. Relative paths in the section are relative to the working directory, as for
 * `kes server`.
 * @throws ConfigError when the file cannot be read or its keystore section is invalid
 */
export async function loadKeyStoreConfigFile(path: string, env: Env = process.env, options: Omit<ParseConfigOptions, 'env' | 'filename'> = {}): Promise<KeyStoreConfig> {
  return parseKeyStoreConfig(await readConfigFile(path), { ...options, env, filename: path });
}
