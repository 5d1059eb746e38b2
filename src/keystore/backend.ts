/**
 * What the server knows of a key store backend, in one place: the descriptor each store folder
 * exports (`src/keystore/<name>/backend.ts`), listed in registry.ts. The config parser, the
 * connector and the start banner only iterate the registry.
 */
import type { ConfigNode } from '../config/config-node.js';
import type { KeyStore } from './keystore.js';

export interface KeyStoreBackend<C extends { type: string } = { type: string }> {
  /** The config's `type` (KeyStoreConfig['type']). */
  readonly type: C['type'];
  /**
   * Where the section sits under `keystore:` in a config file: the key, and for vendor services
   * the nested key (`aws` → `secretsmanager`). Absent for a store no config file names (mem).
   */
  readonly section?: { key: string; nested?: string };
  /** Reads the section; errors name the offending field (ConfigNode.fail). */
  read?(section: ConfigNode, baseDir: string): C;
  /**
   * Connects. The backend's client libraries are imported here, not at module load, so that
   * commands which never connect do not load them. Absent: recognised in config files but not
   * supported by this version.
   */
  connect?(config: C): Promise<KeyStore>;
  /** One line for the start banner: what and where, never credentials. */
  describe(config: C): string;
}

/** Declares a backend with its config type inferred. */
export function backend<C extends { type: string }>(descriptor: KeyStoreBackend<C>): KeyStoreBackend<C> {
  return descriptor;
}
