/**
 * What the names of a key store's entries hold (docs/minkms.md "Storage"). KES's keys are stored
 * under their names; a KES name never begins with `-` (protocol.md §4.1), so openkes's own
 * entries — the MinKMS enclaves, their keys, policies and identities — do, and every store that
 * holds KES's keys holds them too:
 *
 *   `-enclave@<enclave>`              an enclave
 *   `-key@<enclave>@<key>`            a key of an enclave other than the default one
 *   `-policy@<enclave>@<policy>`      a policy
 *   `-identity@<enclave>@<identity>`  an identity (hex)
 *
 * Enclave, key and policy names follow KES's name rules (no `@`), so each name has one reading;
 * `@` is a character every store takes in a name (the fs store refuses `.`, as KES's does).
 * Keys of the default enclave are KES's keys, under their own names.
 */

/** The enclave whose keys are the KES API's keys: `/v1/kms` and `/v1/kms/default`. */
export const DEFAULT_ENCLAVE = 'default';

const ENCLAVE = '-enclave@';
const KEY = '-key@';
const POLICY = '-policy@';
const IDENTITY = '-identity@';

/** Reports whether a store entry is one of openkes's own, not a KES key. */
export function isInternalEntry(name: string): boolean {
  return name.charCodeAt(0) === 0x2d; // '-'
}

/** Reports whether a store entry holds a key (ring): KES's keys and the keys of enclaves. */
export function holdsKey(name: string): boolean {
  return !isInternalEntry(name) || name.startsWith(KEY);
}

export const enclaveEntry = (enclave: string): string => ENCLAVE + enclave;
export const enclaveEntries = (prefix = ''): string => ENCLAVE + prefix;

/** The entry of a key of an enclave: its own name in the default enclave. */
export const keyEntry = (enclave: string, key: string): string => (enclave === DEFAULT_ENCLAVE ? key : `${KEY}${enclave}@${key}`);
/** The entry-name prefix of an enclave's keys starting with prefix. */
export const keyEntries = (enclave: string, prefix = ''): string => (enclave === DEFAULT_ENCLAVE ? prefix : `${KEY}${enclave}@${prefix}`);

export const policyEntry = (enclave: string, policy: string): string => `${POLICY}${enclave}@${policy}`;
export const policyEntries = (enclave: string, prefix = ''): string => `${POLICY}${enclave}@${prefix}`;

export const identityEntry = (enclave: string, identity: string): string => `${IDENTITY}${enclave}@${identity}`;
export const identityEntries = (enclave: string, prefix = ''): string => `${IDENTITY}${enclave}@${prefix}`;

/** Every entry-name prefix of an enclave's contents (keys of the default enclave excluded). */
export function enclaveContents(enclave: string): string[] {
  const contents = [policyEntries(enclave), identityEntries(enclave)];
  if (enclave !== DEFAULT_ENCLAVE) contents.push(keyEntries(enclave));
  return contents;
}
