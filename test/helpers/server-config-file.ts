/** The config file of a `kes server` process started by a test. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ServerConfigFile {
  /** The admin identity. */
  admin: string;
  /** Holds `server.key` and `server.crt` (TestPki.writeFiles) and, by default, the key store. */
  dir: string;
  /** More lines of the `tls:` section, indented (e.g. `ca` and `auth`). */
  tls?: string;
  /** Whole sections between `tls:` and `keystore:` (policies, keys, log, api). */
  sections?: string;
  /** The filesystem key store's directory; default `<dir>/keys`. */
  keysDir?: string;
}

/** The YAML: a free port on 127.0.0.1, the given admin and TLS files, a filesystem key store. */
export function serverConfigYaml({ admin, dir, tls = '', sections = '', keysDir = join(dir, 'keys') }: ServerConfigFile): string {
  return `version: v1
address: 127.0.0.1:0
admin:
  identity: ${admin}
tls:
  key: ${join(dir, 'server.key')}
  cert: ${join(dir, 'server.crt')}
${tls}${sections}keystore:
  fs:
    path: ${keysDir}
`;
}

/** Writes the config to `<dir>/config.yml` and returns its path. */
export function writeServerConfig(config: ServerConfigFile): string {
  const file = join(config.dir, 'config.yml');
  writeFileSync(file, serverConfigYaml(config));
  return file;
}
