/**
 * Mapping between KES key names and etcd keys. etcd keys are byte strings ordered by their
 * bytes; a KES key is stored under `<prefix><name>`, both UTF-8 encoded, so etcd's key order is
 * the UTF-8 byte order every listing uses.
 */

/** The key every range request uses to mean "no bound" (`'\0'`, etcd API). */
const ZERO = Buffer.from([0]);

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A half-open etcd key range [key, rangeEnd). */
export interface KeyRange {
  key: Buffer;
  rangeEnd: Buffer;
}

/** The etcd key of a name under prefix. */
export function etcdKey(prefix: Buffer, name: string): Buffer {
  return Buffer.concat([prefix, Buffer.from(name, 'utf8')]);
}

/**
 * The range of every key that starts with prefix. The end is the prefix with its last byte
 * below 0xff incremented and the rest dropped; a prefix of only 0xff bytes (or an empty one)
 * has no upper bound, which etcd spells `'\0'`.
 */
export function prefixRange(prefix: Buffer): KeyRange {
  const key = prefix.length === 0 ? ZERO : prefix;
  for (let i = prefix.length - 1; i >= 0; i--) {
    const byte = prefix[i] as number;
    if (byte < 0xff) {
      const rangeEnd = Buffer.from(prefix.subarray(0, i + 1));
      rangeEnd[i] = byte + 1;
      return { key, rangeEnd };
    }
  }
  return { key, rangeEnd: ZERO };
}

/** The smallest key after key in byte order: key followed by a zero byte. */
export function keyAfter(key: Buffer): Buffer {
  return Buffer.concat([key, ZERO]);
}

/**
 * The name stored under an etcd key that starts with prefix, or undefined when the rest is not
 * valid UTF-8 (a key some other program wrote; no KES name maps to it).
 */
export function nameOf(prefix: Buffer, key: Buffer): string | undefined {
  try {
    return utf8.decode(key.subarray(prefix.length));
  } catch {
    return undefined;
  }
}
