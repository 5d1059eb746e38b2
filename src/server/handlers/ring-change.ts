/**
 * How a key's ring changes (rotate, delete-version, automatic rotation): by compare-and-swap on
 * its store entry (KeyStore.replace). The entry is read from the store (not the cache, which may
 * lag), changed, and written back only if no other writer changed it meanwhile; otherwise it is
 * read again. Two servers rotating a key at once thus end with two new versions, never a lost
 * one, and a due automatic rotation that another server made first is seen and not repeated.
 * Every cache of the server drops the key before the change returns (KeyCache.replace); other
 * servers see it as they see a delete.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KesError } from '../../api/errors.js';
import { KeyRingError, type KeyRing } from '../../crypto/key-ring.js';
import { encodeKeyRing, parseKeyRing } from '../../crypto/key-ring-entry.js';
import { KeyVersionError } from '../../crypto/key-version.js';
import { KeyStoreConflictError } from '../../keystore/keystore.js';
import type { KeyCache } from '../../keystore/cache.js';
import { storeCall, storeError } from './common.js';

/** Compare-and-swap attempts before a change gives up with KES_ERR_KEY_CHANGED. */
const ATTEMPTS = 10;
/** The longest pause before another attempt, in ms (a random share of it spreads contenders). */
const MAX_BACKOFF_MS = 50;

/**
 * Changes a key's ring: edit gets the ring as stored now and returns the new one, or undefined
 * to leave it as it is. Returns the ring stored in the end.
 * @throws KesError 404 (no key), 409 KES_ERR_KEY_CHANGED, 501 (no compare-and-swap), 502;
 *   whatever edit throws
 */
export async function changeRing(cache: KeyCache, name: string, edit: (ring: KeyRing) => KeyRing | undefined): Promise<KeyRing> {
  if (!cache.store.replace) throw new KesError('KES_ERR_ROTATION_UNSUPPORTED');
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const stored = Buffer.from(await storeCall('read key', () => cache.store.get(name)));
    let current: KeyRing;
    let next: KeyRing | undefined;
    try {
      current = parseKeyRing(stored);
      next = edit(current);
    } catch (err) {
      if (err instanceof KeyVersionError) throw storeError('read key', new Error(`key '${name}' has an invalid entry: ${err.message}`, { cause: err }));
      if (err instanceof KeyRingError) throw new KesError('KES_ERR_BAD_REQUEST', undefined, { cause: err });
      throw err;
    }
    if (next === undefined) return current;
    try {
      await cache.replace(name, stored, encodeKeyRing(next));
      return next;
    } catch (err) {
      if (err instanceof KeyStoreConflictError) {
        await sleep((Math.random() * MAX_BACKOFF_MS * (attempt + 1)) / ATTEMPTS);
        continue;
      }
      throw storeError('change key', err);
    }
  }
  throw new KesError('KES_ERR_KEY_CHANGED');
}
