/**
 * The error catalogue shared by the server and the client SDK: every error answer the server
 * gives comes from here (docs/errors.md lists them; a test pins them).
 *
 * KES's wire format carries no error codes: clients compare the pair (HTTP status, message).
 * Every error therefore has a stable code here, a status and the exact KES message; some codes
 * have further messages (variants), fixed or with `{placeholders}` filled in per request.
 * Handlers throw {@link KesError}; one function turns it into a response.
 */

interface Entry {
  status: number;
  message: string;
  variants?: Readonly<Record<string, string>>;
}

/** Status, default message and the other messages of each error code. */
export const ERRORS = {
  // Sentinel errors of the KES SDK (kms-go kes/error.go): clients compare these by value.
  KES_ERR_NOT_ALLOWED: { status: 403, message: 'not authorized: insufficient permissions' },
  KES_ERR_KEY_NOT_FOUND: { status: 404, message: 'key does not exist' },
  // KES answers 400, not 409, for an existing key: kept for wire compatibility.
  KES_ERR_KEY_EXISTS: { status: 400, message: 'key already exists' },
  KES_ERR_POLICY_NOT_FOUND: { status: 404, message: 'policy does not exist' },
  KES_ERR_IDENTITY_NOT_FOUND: { status: 404, message: 'identity does not exist' },
  KES_ERR_DECRYPT: { status: 400, message: 'decryption failed: ciphertext is not authentic' },

  // Request errors whose message names the offending input.
  KES_ERR_BAD_REQUEST: {
    status: 400,
    message: 'invalid request body',
    variants: { import: 'invalid import key request body', tooManyCiphertexts: 'too many ciphertexts' },
  },
  KES_ERR_INVALID_NAME: {
    status: 400,
    message: 'name is empty, too long or contains invalid characters',
    variants: {
      key: "key name '{name}' is empty, too long or contains invalid characters",
      policy: "policy name '{name}' is empty, too long or contains invalid characters",
      identity: "identity '{name}' is empty, too long or contains invalid characters",
    },
  },
  KES_ERR_INVALID_PATTERN: {
    status: 400,
    message: 'listing pattern is empty, too long or is invalid',
    variants: { pattern: "listing pattern '{pattern}' is empty, too long or is invalid" },
  },
  KES_ERR_TLS: {
    status: 400,
    message: 'tls: client certificate is required',
    variants: {
      // A TLS proxy's forwarded certificate (protocol.md §2.5).
      noForwardedCertificate: 'no client certificate is present',
      tooManyForwardedCertificates: 'too many client certificates are present',
      invalidForwardedCertificate: 'invalid client certificate',
      // A connection whose certificate is missing or not trusted (server/connection.ts).
      untrusted: 'tls: client certificate {reason}',
    },
  },
  KES_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed', variants: { expected: "received method '{method}' expected '{expected}'" } },
  KES_ERR_UNSUPPORTED_ALGORITHM: { status: 406, message: 'algorithm is not supported', variants: { named: "algorithm '{algorithm}' is not supported" } },
  KES_ERR_INVALID_KEY_SIZE: { status: 406, message: 'invalid key size', variants: { named: "invalid key size for '{algorithm}'" } },
  KES_ERR_HMAC_NOT_SUPPORTED: { status: 409, message: 'key does not support HMAC' },
  // Key rings (openkes, docs/key-rings.md).
  KES_ERR_VERSION_NOT_FOUND: { status: 404, message: 'key version does not exist' },
  KES_ERR_ONLY_VERSION: { status: 400, message: 'the only version of a key cannot be deleted' },
  KES_ERR_KEY_CHANGED: { status: 409, message: 'key was changed concurrently: try again' },
  KES_ERR_ROTATION_UNSUPPORTED: { status: 501, message: 'key store cannot change keys: rotation is not supported' },
  KES_ERR_BODY_TOO_LARGE: { status: 413, message: 'request body too large' },

  // MinKMS protocol (docs/minkms.md). Its SDK compares status and message of these sentinels
  // (kms-go kms/error.go), so they differ from KES's where MinKMS's differ.
  KMS_ERR_PERMISSION: { status: 403, message: 'access denied: insufficient permissions' },
  KMS_ERR_KEY_EXISTS: { status: 409, message: 'key already exists' },
  KMS_ERR_DECRYPT: { status: 400, message: 'invalid ciphertext' },
  KMS_ERR_ENCLAVE_EXISTS: { status: 409, message: 'enclave already exists' },
  KMS_ERR_ENCLAVE_NOT_FOUND: { status: 404, message: 'enclave does not exist' },
  KMS_ERR_BAD_REQUEST: {
    status: 400,
    message: 'invalid request',
    variants: {
      frames: 'invalid request: malformed command frames',
      noCommand: 'invalid request: no command',
      tooManyCommands: 'invalid request: more than {max} commands',
      unknownCommand: 'invalid request: unknown command {command}',
      message: 'invalid request: malformed {command} request',
      mixed: 'invalid request: read and write commands cannot be sent together',
      batch: 'invalid request: {command} cannot be sent in a batch',
      name: "invalid request: {kind} name '{name}' is empty, too long or contains invalid characters",
      identity: "invalid request: invalid identity '{identity}'",
      privilege: "invalid request: invalid privilege '{privilege}'",
      length: 'invalid request: data key length must be 1 to 1024 bytes',
      keyType: "invalid request: unsupported key type '{type}'",
      keySize: 'invalid request: invalid key size',
      version: 'invalid request: version must be 0 when all versions are deleted',
      defaultEnclave: 'invalid request: the default enclave cannot be created or deleted',
      configIdentity: 'invalid request: the identity is configured in the config file',
      sysAdminEnclave: 'invalid request: SysAdmin identities belong to the default enclave',
      serviceAccount: 'invalid request: a service account needs a parent identity of the same enclave',
      logRequest: 'invalid request: malformed log request',
    },
  },
  KMS_ERR_NOT_SUPPORTED: {
    status: 501,
    message: 'not supported',
    variants: {
      cluster: 'not supported: openkes servers share the key store and form no cluster',
      hsm: 'not supported: openkes keeps no sealed state and uses no HSM',
      listVersions: 'not supported: KEY:LISTVERSIONS is not defined by the protocol',
      debug: 'not supported: {what}',
    },
  },
  KMS_ERR_BACKUP_NOT_CONFIGURED: { status: 501, message: 'backup is not configured' },
  KMS_ERR_BACKUP_INVALID: { status: 400, message: 'invalid backup: not an openkes backup, damaged, or encrypted under another key' },
  KMS_ERR_STORE_NOT_EMPTY: { status: 409, message: 'key store is not empty: a backup is restored into an empty store' },

  // Server-side failures. Messages are generic: backend details go to the error log only.
  KES_ERR_INTERNAL: { status: 500, message: 'internal server error' },
  KES_ERR_NOT_IMPLEMENTED: { status: 501, message: 'not implemented' },
  KES_ERR_STORE_FAILED: {
    status: 502,
    message: 'key store is unavailable',
    variants: { create: 'failed to create key', read: 'failed to read key', change: 'failed to change key', delete: 'failed to delete key', list: 'failed to list keys' },
  },
  KES_ERR_TIMEOUT: { status: 503, message: 'request timeout exceeded' },
  KES_ERR_STORE_UNREACHABLE: { status: 504, message: 'key store is not reachable' },

  // Client side (SDK): a response the catalogue does not know; its status is the server's.
  KES_ERR_HTTP: { status: 500, message: 'unexpected response' },
} as const satisfies Record<string, Entry>;

/**
 * The plain-text answers of the router, as Go's http.ServeMux gives them (protocol.md §1.2): an
 * unknown path, and a path that cannot be decoded. They are not KES JSON errors.
 */
export const ROUTER_ANSWERS = {
  notFound: { status: 404, body: '404 page not found\n' },
  badPath: { status: 400, body: '400 Bad Request' },
} as const;

/**
 * Messages of KES servers and SDKs before the current ones, which clients still recognise
 * (protocol.md §5.1): the SDK maps them to the same codes.
 */
export const LEGACY_MESSAGES: readonly { status: number; message: string; code: KesErrorCode }[] = [
  { status: 403, message: 'prohibited by policy', code: 'KES_ERR_NOT_ALLOWED' },
  { status: 400, message: 'key does already exist', code: 'KES_ERR_KEY_EXISTS' },
];

/** A stable error code; callers branch on it, never on the message text. */
export type KesErrorCode = keyof typeof ERRORS;

/** The variant names of a code's further messages. */
export type KesErrorVariant<C extends KesErrorCode> = (typeof ERRORS)[C] extends { variants: infer V } ? keyof V & string : never;

/**
 * An error with a stable code, an HTTP status and a client-visible message.
 *
 * The message must never contain secret material: it is written to clients and logs.
 */
export class KesError extends Error {
  override readonly name = 'KesError';
  readonly code: KesErrorCode;
  readonly status: number;

  /**
   * @param message the server passes none (the code's default) and uses {@link kesError} for
   *   the other catalogued messages; the SDK passes the message it received
   */
  constructor(code: KesErrorCode, message?: string, options?: ErrorOptions & { status?: number }) {
    super(message ?? ERRORS[code].message, options);
    this.code = code;
    this.status = options?.status ?? ERRORS[code].status;
  }
}

/**
 * The error with one of a code's catalogued messages: `variant` names it, `values` fill its
 * `{placeholders}`.
 * @example kesError('KES_ERR_INVALID_NAME', 'key', { name })
 */
export function kesError<C extends KesErrorCode>(code: C, variant: KesErrorVariant<C>, values: Record<string, string> = {}, options?: ErrorOptions): KesError {
  const template = (ERRORS[code] as Entry).variants![variant]!;
  return new KesError(code, template.replace(/\{(\w+)\}/g, (_, key: string) => values[key] ?? `{${key}}`), options);
}

/** Reports whether err is a {@link KesError} with the given code. */
export function isKesError(err: unknown, code?: KesErrorCode): err is KesError {
  return err instanceof KesError && (code === undefined || err.code === code);
}

/**
 * Every message of the catalogue with its code and status; templates as regular expressions
 * (a placeholder matches any text).
 */
export function catalogue(): { code: KesErrorCode; status: number; message: string; pattern: RegExp }[] {
  const out: { code: KesErrorCode; status: number; message: string; pattern: RegExp }[] = [];
  for (const [code, entry] of Object.entries(ERRORS) as [KesErrorCode, Entry][]) {
    for (const message of [entry.message, ...Object.values(entry.variants ?? {})]) {
      const pattern = new RegExp(`^${message.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '.*')}$`);
      out.push({ code, status: entry.status, message, pattern });
    }
  }
  return out;
}
