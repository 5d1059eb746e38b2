/**
 * The key store contract (protocol.md §9.1): a map from key names to opaque bytes.
 *
 * Stores know nothing about key types, encryption, caching or policies; the server stores the
 * encoded key version (§8.3) verbatim. Every store translates its own failures at its boundary
 * into exactly these outcomes:
 * - `KesError('KES_ERR_KEY_EXISTS')` from create when the name is taken;
 * - `KesError('KES_ERR_KEY_NOT_FOUND')` from get (and from delete where the backend can tell);
 * - {@link KeyStoreUnreachableError} when the backend cannot be reached (network, sealed, timeout);
 * - any other error for everything else (an internal failure of the store).
 */

/** The result of a successful status check. */
export interface KeyStoreState {
  /** Round-trip time of the check, in milliseconds. */
  latencyMs: number;
}

export interface KeyStore {
  /**
   * Checks that the backend is reachable and working.
   * @throws KeyStoreUnreachableError when it cannot be reached.
   */
  status(): Promise<KeyStoreState>;

  /**
   * Stores value under name if, and only if, no entry with that name exists. Atomic: a
   * concurrent create of the same name or a crash leaves either no entry or a complete one.
   * @throws KesError KES_ERR_KEY_EXISTS when the name is taken.
   */
  create(name: string, value: Uint8Array): Promise<void>;

  /**
   * The value stored under name.
   * @throws KesError KES_ERR_KEY_NOT_FOUND when there is none.
   */
  get(name: string): Promise<Uint8Array>;

  /**
   * Optional: replaces the value stored under name with value if, and only if, it is still
   * `expected`, byte for byte (compare-and-swap; key rings rotate with it, docs/key-rings.md).
   * Atomic: of concurrent replaces from the same expected value exactly one succeeds, and a crash
   * leaves the old value or the new one. A store without it cannot change an entry once
   * written, and keys in it cannot be rotated.
   * @throws KeyStoreConflictError when the entry holds another value
   * @throws KesError KES_ERR_KEY_NOT_FOUND when there is no entry (none is created)
   */
  replace?(name: string, expected: Uint8Array, value: Uint8Array): Promise<void>;

  /**
   * Removes the entry stored under name.
   * @throws KesError KES_ERR_KEY_NOT_FOUND when there is none (backends that cannot tell
   *   succeed silently).
   */
  delete(name: string): Promise<void>;

  /**
   * The names starting with prefix, in ascending byte order, produced page by page so that
   * memory is bounded by the page size and not by the number of keys.
   * @param from a hint: the caller skips the names before it (a listing page that starts in the
   *   middle), so a store may start there instead of at the first name
   */
  list(prefix: string, from?: string): AsyncIterable<string>;

  /** Releases connections and timers. The store must not be used afterwards. */
  close(): Promise<void>;

  /**
   * Optional, for stores that can notify (etcd watch, PostgreSQL LISTEN): reports every change
   * of an entry, by any writer, other servers included, until the returned function is called.
   * A store without it gives no notifications: caches of other servers see its changes only when
   * their entries expire.
   */
  watch?(listener: KeyStoreChanges): () => void;
}

/** What a store's change notifications report (see {@link KeyStore.watch}). */
export interface KeyStoreChanges {
  /** The entry of name was created, replaced or deleted. */
  changed(name: string): void;
  /** Notifications stopped (e.g. the connection was lost): changes may go unreported. */
  interrupted(reason: string): void;
  /** Notifications work again; changes made while they were interrupted may have been missed. */
  resumed(): void;
}

/**
 * A compare-and-swap found the entry changed by another writer (see {@link KeyStore.replace}).
 * The caller reads the entry again and decides whether to retry.
 */
export class KeyStoreConflictError extends Error {
  override readonly name = 'KeyStoreConflictError';
}

/**
 * The backend could not be reached (network failure, time-out, sealed or uninitialised).
 * The message is for the error log; clients see only KES's generic messages.
 */
export class KeyStoreUnreachableError extends Error {
  override readonly name = 'KeyStoreUnreachableError';
}

/**
 * The store, once check has passed (by default its status: a store whose service cannot be
 * reached fails when it connects); closed, and the failure rethrown, when it has not.
 */
export async function checkedStore<S extends KeyStore>(store: S, check: (store: S) => Promise<unknown> = (s) => s.status()): Promise<S> {
  try {
    await check(store);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/** Collects every name of a listing (for tests and small listings only). */
export async function listAll(store: KeyStore, prefix = ''): Promise<string[]> {
  const names: string[] = [];
  for await (const name of store.list(prefix)) names.push(name);
  return names;
}

/**
 * Compares strings by their UTF-8 bytes (= code point order), the order every listing uses.
 * UTF-16 order differs only where a surrogate meets a code unit of U+E000…U+FFFF.
 */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) return codePointRank(x) - codePointRank(y);
    return x - y;
  }
  return a.length - b.length;
}

// Surrogates (U+D800…U+DFFF) encode code points above U+FFFF: rank them after U+E000…U+FFFF.
function codePointRank(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}
