/**
 * Copying key store entries from one store to another (`kes migrate`): the stored bytes are
 * copied as they are, never decoded or re-encoded, so the destination holds exactly what the
 * source held.
 */
import { KesError } from '../api/errors.js';
import type { KeyStore } from '../keystore/keystore.js';
import { compileGlob } from './glob.js';

/** What to do with a key that already exists in the destination. */
export type ExistingKeyPolicy = 'fail' | 'replace' | 'skip';

/** Options of migrateKeys. */
export interface MigrateOptions {
  /** Which names to copy: `*` any run of characters, `?` one character (default `*`). */
  pattern?: string;
  /** fail: stop with an error (default); replace: delete and re-create; skip: keep it. */
  existing?: ExistingKeyPolicy;
  /** Stops after the key being copied when aborted; the result then says `interrupted`. */
  signal?: AbortSignal;
  /** Called after each copied or skipped key with the running counts. */
  onProgress?: (counts: Readonly<MigrateCounts>) => void;
}

/** How many keys were copied and how many were left as they were in the destination. */
export interface MigrateCounts {
  migrated: number;
  skipped: number;
}

/** The result of a migration that was not stopped by an error. */
export interface MigrateResult extends MigrateCounts {
  /** True when the signal stopped the migration before every key was copied. */
  interrupted: boolean;
}

/** A migration stopped by an error; the counts say what was done before it. */
export class MigrateError extends Error {
  override readonly name = 'MigrateError';
  constructor(
    message: string,
    readonly counts: Readonly<MigrateCounts>,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Copies every entry of from whose name matches the pattern into to, in the order the source
 * lists them. Keys deleted from the source while the migration runs are passed over.
 * @throws MigrateError when a key exists in the destination (with existing `fail`) or a store
 *   fails; the message names the key, the cause and the counts so far
 */
export async function migrateKeys(from: KeyStore, to: KeyStore, options: MigrateOptions = {}): Promise<MigrateResult> {
  const glob = compileGlob(options.pattern ?? '*');
  const existing = options.existing ?? 'fail';
  const counts: MigrateCounts = { migrated: 0, skipped: 0 };
  const fail = (name: string, what: string, err: unknown): never => {
    const reason = err instanceof Error ? err.message : String(err);
    throw new MigrateError(`failed to ${what} '${name}': ${reason}`, { ...counts }, { cause: err });
  };
  const names = from.list(glob.prefix)[Symbol.asyncIterator]();
  try {
    for (;;) {
      if (options.signal?.aborted) return { ...counts, interrupted: true };
      let next: IteratorResult<string>;
      try {
        next = await names.next();
      } catch (err) {
        throw new MigrateError(`failed to list the source keys: ${err instanceof Error ? err.message : String(err)}`, { ...counts }, { cause: err });
      }
      if (next.done) return { ...counts, interrupted: false };
      const name = next.value;
      if (!glob.matches(name)) continue;

      let value: Uint8Array;
      try {
        value = await from.get(name);
      } catch (err) {
        if (isCode(err, 'KES_ERR_KEY_NOT_FOUND')) continue; // deleted since it was listed
        return fail(name, 'read the source key', err);
      }
      try {
        await to.create(name, value);
        counts.migrated++;
      } catch (err) {
        if (!isCode(err, 'KES_ERR_KEY_EXISTS')) return fail(name, 'create the key', err);
        if (existing === 'fail') {
          throw new MigrateError(`key '${name}' already exists in the destination: use --merge to keep the existing keys or --force to replace them`, { ...counts });
        }
        if (existing === 'skip') {
          counts.skipped++;
        } else {
          try {
            await to.delete(name);
          } catch (err) {
            if (!isCode(err, 'KES_ERR_KEY_NOT_FOUND')) fail(name, 'delete the existing key', err);
          }
          try {
            await to.create(name, value);
          } catch (err) {
            fail(name, 're-create the key', err);
          }
          counts.migrated++;
        }
      }
      options.onProgress?.(counts);
    }
  } finally {
    await names.return?.();
  }
}

function isCode(err: unknown, code: string): boolean {
  return err instanceof KesError && err.code === code;
}
