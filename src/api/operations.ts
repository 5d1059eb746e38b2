/**
 * Authorization by operation, not by spelling (SECURITY.md, docs/api.md).
 *
 * A policy names API paths, and each operation a key server performs has one canonical path: a
 * decryption is `/v1/key/decrypt/<name>`. An entry point that performs an operation under
 * another spelling (a legacy route, an alias, a command of another protocol) must not open what
 * the canonical path keeps closed: a policy that denies `/v1/key/decrypt/secret*` has to deny
 * every way of decrypting with `secret`. A request is therefore allowed only if the policy
 * allows its own path (as KES checks it) and the canonical path of every operation it performs.
 *
 * This table lists, for every entry point whose operations are not just its own path, the
 * canonical paths (route prefixes) of what it performs; the request's resource (key name) is
 * appended to each. Routes and protocols added later join it.
 */
import * as P from './paths.js';

export const OPERATIONS: ReadonlyMap<string, readonly string[]> = new Map([
  // Legacy bulk decryption (KES v0.19–v0.22) decrypts: it needs /v1/key/decrypt/<name> too.
  [P.PATH_KEY_BULK_DECRYPT, [P.PATH_KEY_DECRYPT]],
  // Rewrapping decrypts (and encrypts under the latest version): it needs /v1/key/decrypt/<name> too.
  [P.PATH_KEY_REWRAP, [P.PATH_KEY_DECRYPT]],
]);

/** The canonical operation paths an entry point performs besides its own path. */
export function operationsOf(entryPoint: string): readonly string[] {
  return OPERATIONS.get(entryPoint) ?? [];
}

/**
 * An operation as both protocols name it: the MinKMS command a runtime policy names (none for
 * an import, which MinKMS policies cannot express) and the KES path a config policy names
 * (none for runtime-only operations: enclaves, writes of policies and identities). `system`
 * operations belong to no enclave and are SysAdmin's alone (docs/minkms.md "Access").
 */
export interface Operation {
  readonly command?: string;
  readonly kesPath?: string;
  readonly system?: boolean;
}

/** Every operation of the MinKMS protocol and the KES API (docs/minkms.md "Access"). */
export const OPS = {
  keyCreate: { command: 'KEY:CREATE', kesPath: P.PATH_KEY_CREATE },
  keyRotate: { command: 'KEY:CREATE', kesPath: P.PATH_KEY_ROTATE },
  keyImport: { kesPath: P.PATH_KEY_IMPORT },
  keyDelete: { command: 'KEY:DELETE', kesPath: P.PATH_KEY_DELETE },
  keyDeleteVersion: { command: 'KEY:DELETE', kesPath: P.PATH_KEY_DELETE_VERSION },
  keyStatus: { command: 'KEY:STATUS', kesPath: P.PATH_KEY_DESCRIBE },
  keyList: { command: 'KEY:LIST', kesPath: P.PATH_KEY_LIST },
  keyEncrypt: { command: 'KEY:ENCRYPT', kesPath: P.PATH_KEY_ENCRYPT },
  keyDecrypt: { command: 'KEY:DECRYPT', kesPath: P.PATH_KEY_DECRYPT },
  keyGenerate: { command: 'KEY:GENERATE', kesPath: P.PATH_KEY_GENERATE },
  keyMac: { command: 'KEY:MAC', kesPath: P.PATH_KEY_HMAC },
  policyCreate: { command: 'POLICY:CREATE' },
  policyDelete: { command: 'POLICY:DELETE' },
  policyAssign: { command: 'POLICY:ASSIGN' },
  policyGet: { command: 'POLICY:GET', kesPath: P.PATH_POLICY_READ },
  policyStatus: { command: 'POLICY:STATUS', kesPath: P.PATH_POLICY_DESCRIBE },
  policyList: { command: 'POLICY:LIST', kesPath: P.PATH_POLICY_LIST },
  identityCreate: { command: 'IDENTITY:CREATE' },
  identityDelete: { command: 'IDENTITY:DELETE' },
  identityStatus: { command: 'IDENTITY:STATUS', kesPath: P.PATH_IDENTITY_DESCRIBE },
  identityList: { command: 'IDENTITY:LIST', kesPath: P.PATH_IDENTITY_LIST },
  enclave: { system: true },
  cluster: { system: true },
  /** KES endpoints that are no command (status, metrics, logs, backup, debug). */
  server: { system: true },
} as const satisfies Record<string, Operation>;

/**
 * The operations of each KES route, for identities with runtime rights (MinKMS identities of
 * the default enclave): a route not listed here is a `server` operation.
 */
export const KES_ROUTE_OPERATIONS: ReadonlyMap<string, readonly Operation[]> = new Map<string, readonly Operation[]>([
  [P.PATH_KEY_CREATE, [OPS.keyCreate]],
  [P.PATH_KEY_IMPORT, [OPS.keyImport]],
  [P.PATH_KEY_DESCRIBE, [OPS.keyStatus]],
  [P.PATH_KEY_LIST, [OPS.keyList]],
  [P.PATH_KEY_DELETE, [OPS.keyDelete]],
  [P.PATH_KEY_GENERATE, [OPS.keyGenerate]],
  [P.PATH_KEY_ENCRYPT, [OPS.keyEncrypt]],
  [P.PATH_KEY_DECRYPT, [OPS.keyDecrypt]],
  [P.PATH_KEY_HMAC, [OPS.keyMac]],
  [P.PATH_KEY_ROTATE, [OPS.keyRotate]],
  [P.PATH_KEY_DELETE_VERSION, [OPS.keyDeleteVersion]],
  [P.PATH_KEY_REWRAP, [OPS.keyDecrypt, OPS.keyEncrypt]],
  [P.PATH_KEY_BULK_DECRYPT, [OPS.keyDecrypt]],
  [P.PATH_POLICY_DESCRIBE, [OPS.policyStatus]],
  [P.PATH_POLICY_READ, [OPS.policyGet]],
  [P.PATH_POLICY_LIST, [OPS.policyList]],
  [P.PATH_IDENTITY_DESCRIBE, [OPS.identityStatus]],
  [P.PATH_IDENTITY_LIST, [OPS.identityList]],
]);
