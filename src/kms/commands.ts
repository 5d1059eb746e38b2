/**
 * The MinKMS command table: the number carried in each command frame (frames.ts), the text name
 * used in policies, and whether the command changes state (write) or works outside enclaves
 * (cluster-level, SysAdmin only). Written from the MinKMS client protocol, not from its code.
 */

/** Command numbers, named after their text names (`KEY:GENERATE` → `KEY_GENERATE`). */
export const CMD = {
  CLUSTER_ADDNODE: 1,
  CLUSTER_REMOVENODE: 2,
  CLUSTER_STATUS: 3,
  CLUSTER_EDIT: 4,
  CLUSTER_ADDHSM: 5,
  CLUSTER_REMOVEHSM: 6,
  ENCLAVE_CREATE: 101,
  ENCLAVE_DELETE: 102,
  ENCLAVE_STATUS: 103,
  ENCLAVE_LIST: 104,
  KEY_CREATE: 201,
  KEY_DELETE: 202,
  /** KEY:IMPORT has no text name: policies cannot name it. */
  KEY_IMPORT: 203,
  KEY_STATUS: 204,
  KEY_ENCRYPT: 205,
  KEY_DECRYPT: 206,
  KEY_GENERATE: 207,
  KEY_LIST: 208,
  /** Has a number and a name but no request or answer message. */
  KEY_LISTVERSIONS: 209,
  KEY_MAC: 210,
  POLICY_CREATE: 301,
  POLICY_DELETE: 302,
  POLICY_ASSIGN: 303,
  POLICY_GET: 304,
  POLICY_STATUS: 305,
  POLICY_LIST: 306,
  IDENTITY_CREATE: 401,
  IDENTITY_DELETE: 402,
  IDENTITY_STATUS: 403,
  IDENTITY_LIST: 404,
} as const;

/** One of the command numbers of CMD. */
export type CommandNumber = (typeof CMD)[keyof typeof CMD];

/** What the protocol says about one command. */
export interface Command {
  readonly number: CommandNumber;
  /** The upper-case text name used in policies, e.g. `KEY:GENERATE`; undefined for 203 (import). */
  readonly name: string | undefined;
  /** Changes state. A server may refuse requests that mix write and read-only commands. */
  readonly write: boolean;
  /** Works outside enclaves (always sent to `/v1/kms`) and needs SysAdmin: 1–6 and 101–104. */
  readonly cluster: boolean;
  /** Enclave management (101–104): cluster-level commands that create, delete, show or list enclaves. */
  readonly enclaveManagement: boolean;
}

const W = true;
const R = false;

// [number, name, write]; cluster-level and enclave management follow from the number.
const TABLE: readonly (readonly [CommandNumber, string | undefined, boolean])[] = [
  [CMD.CLUSTER_ADDNODE, 'CLUSTER:ADDNODE', W],
  [CMD.CLUSTER_REMOVENODE, 'CLUSTER:REMOVENODE', W],
  [CMD.CLUSTER_STATUS, 'CLUSTER:STATUS', R],
  [CMD.CLUSTER_EDIT, 'CLUSTER:EDIT', W],
  [CMD.CLUSTER_ADDHSM, 'CLUSTER:ADDHSM', W],
  [CMD.CLUSTER_REMOVEHSM, 'CLUSTER:REMOVEHSM', W],
  [CMD.ENCLAVE_CREATE, 'ENCLAVE:CREATE', W],
  [CMD.ENCLAVE_DELETE, 'ENCLAVE:DELETE', W],
  [CMD.ENCLAVE_STATUS, 'ENCLAVE:STATUS', R],
  [CMD.ENCLAVE_LIST, 'ENCLAVE:LIST', R],
  [CMD.KEY_CREATE, 'KEY:CREATE', W],
  [CMD.KEY_DELETE, 'KEY:DELETE', W],
  [CMD.KEY_IMPORT, undefined, W],
  [CMD.KEY_STATUS, 'KEY:STATUS', R],
  [CMD.KEY_ENCRYPT, 'KEY:ENCRYPT', R],
  [CMD.KEY_DECRYPT, 'KEY:DECRYPT', R],
  [CMD.KEY_GENERATE, 'KEY:GENERATE', R],
  [CMD.KEY_LIST, 'KEY:LIST', R],
  [CMD.KEY_LISTVERSIONS, 'KEY:LISTVERSIONS', R],
  [CMD.KEY_MAC, 'KEY:MAC', R],
  [CMD.POLICY_CREATE, 'POLICY:CREATE', W],
  [CMD.POLICY_DELETE, 'POLICY:DELETE', W],
  [CMD.POLICY_ASSIGN, 'POLICY:ASSIGN', W],
  [CMD.POLICY_GET, 'POLICY:GET', R],
  [CMD.POLICY_STATUS, 'POLICY:STATUS', R],
  [CMD.POLICY_LIST, 'POLICY:LIST', R],
  [CMD.IDENTITY_CREATE, 'IDENTITY:CREATE', W],
  [CMD.IDENTITY_DELETE, 'IDENTITY:DELETE', W],
  [CMD.IDENTITY_STATUS, 'IDENTITY:STATUS', R],
  [CMD.IDENTITY_LIST, 'IDENTITY:LIST', R],
];

/** Every command, in ascending number order. */
export const COMMANDS: readonly Command[] = TABLE.map(([number, name, write]) =>
  Object.freeze({
    number,
    name,
    write,
    cluster: number <= 104,
    enclaveManagement: number >= 101 && number <= 104,
  }),
);

const BY_NUMBER = new Map<number, Command>(COMMANDS.map((c) => [c.number, c]));
const BY_NAME = new Map<string, Command>(COMMANDS.flatMap((c) => (c.name === undefined ? [] : [[c.name, c] as const])));

/** The command with this number, or undefined for a number the protocol does not define. */
export function commandByNumber(n: number): Command | undefined {
  return BY_NUMBER.get(n);
}

/**
 * The command with this text name, compared case-insensitively (`key:generate` is KEY:GENERATE,
 * as the MinKMS SDK upper-cases names before parsing them). Undefined for an unknown name.
 */
export function commandByName(text: string): Command | undefined {
  return BY_NAME.get(text.toUpperCase());
}
