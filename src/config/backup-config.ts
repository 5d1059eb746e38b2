/**
 * `backup:` (openkes, docs/backup.md): the key under which `GET /v1/db` encrypts snapshots of the
 * key store and `PUT /v1/db` authenticates them. Without the section the server answers
 * /v1/db with `backup is not configured`.
 *
 * Like the readers of the whole file (parse-config.ts), this one sits above backup/backup-key.ts.
 */
import { BackupKey, BackupKeyError } from '../backup/backup-key.js';
import { ConfigError } from './config-error.js';
import type { ConfigNode } from './config-node.js';
import type { BackupConfig } from './types.js';

/**
 * Reads `backup.key`: base64 or hex of 32 bytes, usually `${KES_BACKUP_KEY}`. Undefined when
 * the section is absent or null. Error messages never repeat the key.
 * @throws ConfigError naming the field and line
 */
export function readBackupConfig(node: ConfigNode): BackupConfig | undefined {
  if (node.isNull) return undefined;
  const field = node.at('key');
  let text: string;
  try {
    text = node.required('key');
  } catch (err) {
    if (!(err instanceof ConfigError) || !err.reason.startsWith('required')) throw err;
    throw field.error(`${err.reason}: the backup key, 32 random bytes in base64 (e.g. "key: \${KES_BACKUP_KEY}" with KES_BACKUP_KEY set to the output of "openssl rand -base64 32")`);
  }
  try {
    return { key: BackupKey.parse(text) };
  } catch (err) {
    if (err instanceof BackupKeyError) throw field.error(err.message);
    throw err;
  }
}
