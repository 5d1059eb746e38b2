/**
 * `/v1/db`, backup and restore (MinKMS's ReadDB and WriteDB; docs/backup.md): GET answers a
 * snapshot of the whole key store encrypted under the configured backup key, PUT restores one
 * into an empty key store. SysAdmins only (docs/minkms.md "Access"): the config's admin, or a
 * runtime SysAdmin.
 *
 * A snapshot is read from the key store itself, not the key cache: it holds what the store
 * holds. A restore creates its entries through the cache, which drops each name everywhere.
 */
import { KesError, kesError } from '../../api/errors.js';
import { BackupKey } from '../../backup/backup-key.js';
import { createSnapshot, RestoreError, restoreSnapshot } from '../../backup/snapshot.js';
import { binary, json, type Reply } from '../reply.js';
import type { RequestContext } from '../context.js';
import { storeError } from './common.js';
import { requireSysAdmin } from '../kms/endpoints.js';

/**
 * GET: the snapshot (`application/octet-stream`). PUT: restores the body, answers
 * `{"entries":N}` (MinKMS's SDK ignores the body).
 * @throws KesError KMS_ERR_BACKUP_NOT_CONFIGURED (501) without `backup.key`;
 *   KMS_ERR_BACKUP_INVALID (400) and KMS_ERR_STORE_NOT_EMPTY (409), with nothing written;
 *   KES_ERR_STORE_FAILED (502) when the store fails (a restore stopped midway: the error log
 *   says how many entries were written and which one failed)
 */
export async function db(ctx: RequestContext): Promise<Reply | undefined> {
  await requireSysAdmin(ctx);
  const key = backupKey(ctx);
  // The route answers GET and PUT only (routes.ts).
  return ctx.method === 'GET' ? readDb(ctx, key) : writeDb(ctx, key);
}

function backupKey(ctx: RequestContext): BackupKey {
  const backup = ctx.state.config.backup;
  if (backup === undefined) throw new KesError('KMS_ERR_BACKUP_NOT_CONFIGURED');
  // The key does not survive JSON: a cluster worker has it only if its primary handed it over.
  if (!(backup.key instanceof BackupKey)) throw new Error('backup: the backup key did not reach this server process');
  return backup.key;
}

async function readDb(ctx: RequestContext, key: BackupKey): Promise<Reply | undefined> {
  const snapshot = createSnapshot(ctx.state.cache.store, key);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of snapshot) {
      // The client went away or the time-out answered: no one reads the rest.
      if (ctx.signal.aborted) return undefined;
      chunks.push(chunk);
    }
  } catch (err) {
    throw storeError('read key', err);
  }
  ctx.auditMessage = `backup of ${snapshot.entries} entries read`;
  return binary(Buffer.concat(chunks));
}

async function writeDb(ctx: RequestContext, key: BackupKey): Promise<Reply> {
  const body = await ctx.body();
  let entries: number;
  try {
    // Created through the key cache, so that every cache of the server (every worker) drops what
    // it knew of each name: a record it had found missing, say.
    const { cache } = ctx.state;
    ({ entries } = await restoreSnapshot({ list: (prefix) => cache.list(prefix), create: (name, value) => cache.create(name, value) }, body, key));
  } catch (err) {
    if (err instanceof RestoreError) {
      ctx.auditMessage = `backup restore failed after ${err.written} of ${err.total} entries`;
      throw kesError('KES_ERR_STORE_FAILED', 'create', {}, { cause: err });
    }
    // An invalid backup or a store that is not empty; else the listing failed.
    throw storeError('list keys', err);
  }
  ctx.auditMessage = `backup of ${entries} entries restored`;
  return json({ entries });
}
