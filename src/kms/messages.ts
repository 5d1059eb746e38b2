/**
 * MinKMS protocol messages (proto3, package `minio.kms`): one codec per message, each declared as
 * a schema of `[field number, name, kind]`; the TypeScript type of a message is derived from its
 * schema. Written from the MinKMS client protocol, not from generated code.
 *
 * proto3 rules: default values are not written; on decode, fields may come in any order, unknown
 * fields are skipped, the last occurrence of a scalar wins, repeated fields and map entries
 * accumulate, and several occurrences of an embedded message are merged. A known field with the
 * wrong wire type, a uint32/sint32 out of range and a string that is not UTF-8 are errors.
 */
import {
  encodeVarint,
  LEN,
  ProtobufError,
  ProtoWriter,
  readFields,
  readPackedVarints,
  unzigzag,
  VARINT,
  zigzag,
  type ProtoField,
} from '../crypto/protobuf.js';
import { Timestamp } from '../util/time.js';
import { CMD } from './commands.js';

/**
 * Thrown when bytes are not a valid message, or a message cannot be encoded. The message names the
 * message type and field, never the bytes or values.
 */
export class MessageError extends Error {
  override readonly name = 'MessageError';

  constructor(
    /** The message type being decoded or encoded, e.g. `GenerateKeyRequest`. */
    readonly messageType: string,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Schemas and the types derived from them

/** Policy rules on the wire (`map<string, RuleSet>`): command name → sorted patterns, no `""`. */
export type RuleSets = Record<string, string[]>;

/** TypeScript type of each field kind that does not refer to another message. */
interface KindTypes {
  string: string;
  bytes: Buffer;
  uint32: number;
  uint64: bigint;
  sint32: number;
  sint64: bigint;
  bool: boolean;
  /** google.protobuf.Timestamp; undefined when absent. */
  timestamp: Timestamp | undefined;
  /** google.protobuf.Duration as nanoseconds. */
  duration: bigint;
  'repeated string': string[];
  'repeated uint32': number[];
  'map<string,string>': Record<string, string>;
  'map<uint32,string>': Record<number, string>;
  /** `map<string, Rule>` of a RuleSet: its patterns, sorted, without `""`. */
  patterns: string[];
  /** `map<string, RuleSet>`: a policy's allow or deny rules. */
  'map<string,RuleSet>': RuleSets;
}

/** How a field is encoded: a kind of KindTypes, or an embedded message (one, repeated, or map<uint32, M>). */
export type FieldKind =
  | keyof KindTypes
  | { readonly message: AnyMessageCodec }
  | { readonly repeated: AnyMessageCodec }
  | { readonly mapUint32: AnyMessageCodec };

/** One field of a schema: `[field number, TypeScript name, kind]`. */
export type FieldSpec = readonly [num: number, name: string, kind: FieldKind];

type TypeOfKind<K> = K extends keyof KindTypes
  ? KindTypes[K]
  : K extends { readonly message: MessageCodec<infer T> }
    ? T | undefined
    : K extends { readonly repeated: MessageCodec<infer T> }
      ? T[]
      : K extends { readonly mapUint32: MessageCodec<infer T> }
        ? Record<number, T>
        : never;

/** The message type described by a schema. */
export type MessageOf<F extends readonly FieldSpec[]> = { [S in F[number] as S[1]]: TypeOfKind<S[2]> };

/** The message type of a codec: `MessageType<typeof GenerateKeyRequest>`. */
export type MessageType<C> = C extends MessageCodec<infer T> ? T : never;

/** Encoder and decoder of one message type. */
export interface MessageCodec<T> {
  /** The protobuf message name, e.g. `GenerateKeyRequest`. */
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  /**
   * The protobuf encoding; absent fields and default values are not written.
   * @throws MessageError when a value does not fit its field (e.g. a uint32 of 2^32, a lone surrogate).
   */
  encode(msg: Partial<T>): Buffer;
  /**
   * Decodes a message; absent fields get their defaults. Bytes fields are copies.
   * @throws MessageError for malformed input.
   */
  decode(buf: Uint8Array): T;
  /** A message with the given fields and defaults for the others. */
  create(init?: Partial<T>): T;
}

/** A codec of any message type. */
export type AnyMessageCodec = MessageCodec<object>;

/** Declares a message: its codec, with a type derived from the schema. */
function message<const F extends readonly FieldSpec[]>(name: string, fields: F): MessageCodec<MessageOf<F>> {
  return {
    name,
    fields,
    encode: (msg) => encodeFields(fields, msg as Obj, new Where(name, 'cannot encode')),
    decode: (buf) => decodeFields(fields, toBuffer(buf), new Where(name, 'invalid')) as MessageOf<F>,
    create: (init) => {
      const msg = defaults(fields);
      for (const [key, value] of Object.entries(init ?? {})) if (value !== undefined) msg[key] = value;
      return msg as MessageOf<F>;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 7.1 Common and errors

export const ListRequest = message('ListRequest', [
  [1, 'prefix', 'string'],
  [2, 'continueAt', 'string'],
  [3, 'limit', 'uint32'],
]);
export type ListRequest = MessageType<typeof ListRequest>;

export const ErrResponse = message('ErrResponse', [[1, 'message', 'string']]);
export type ErrResponse = MessageType<typeof ErrResponse>;

export const VersionResponse = message('VersionResponse', [
  [1, 'version', 'string'],
  [2, 'commit', 'string'],
  [3, 'apiVersion', 'string'],
  [4, 'host', 'string'],
  [5, 'fips140', 'bool'],
]);
export type VersionResponse = MessageType<typeof VersionResponse>;

// ---------------------------------------------------------------------------------------------
// 7.2 Cluster

export const AddClusterNodeRequest = message('AddClusterNodeRequest', [[1, 'host', 'string']]);
export type AddClusterNodeRequest = MessageType<typeof AddClusterNodeRequest>;

export const RemoveClusterNodeRequest = message('RemoveClusterNodeRequest', [
  [1, 'host', 'string'],
  [2, 'deleteClusterOnHost', 'bool'],
]);
export type RemoveClusterNodeRequest = MessageType<typeof RemoveClusterNodeRequest>;

export const EditClusterRequest = message('EditClusterRequest', [
  [1, 'host', 'string'],
  [2, 'removeIds', 'repeated uint32'],
]);
export type EditClusterRequest = MessageType<typeof EditClusterRequest>;

export const AddHSMRequest = message('AddHSMRequest', [
  [1, 'name', 'string'],
  [2, 'overwrite', 'bool'],
]);
export type AddHSMRequest = MessageType<typeof AddHSMRequest>;

export const RemoveHSMRequest = message('RemoveHSMRequest', [[1, 'name', 'string']]);
export type RemoveHSMRequest = MessageType<typeof RemoveHSMRequest>;

export const ClusterStatusRequest = message('ClusterStatusRequest', []);
export type ClusterStatusRequest = MessageType<typeof ClusterStatusRequest>;

export const ServerStatusResponse = message('ServerStatusResponse', [
  [1, 'version', 'string'],
  [2, 'apiVersion', 'string'],
  [3, 'host', 'string'],
  [4, 'upTime', 'duration'],
  [5, 'role', 'string'],
  [6, 'commit', 'uint64'],
  [7, 'nodes', 'map<uint32,string>'],
  [8, 'id', 'uint32'],
  [9, 'leaderId', 'sint64'],
  [10, 'lastHeartbeat', 'duration'],
  [11, 'heartbeatInterval', 'duration'],
  [12, 'electionTimeout', 'duration'],
  [13, 'os', 'string'],
  [14, 'arch', 'string'],
  [15, 'cpus', 'uint32'],
  [16, 'usableCpus', 'uint32'],
  [17, 'heapMemInUse', 'uint64'],
  [18, 'stackMemInUse', 'uint64'],
  [19, 'hsms', 'repeated string'],
  [20, 'configuredHsms', 'repeated string'],
]);
export type ServerStatusResponse = MessageType<typeof ServerStatusResponse>;

export const ClusterStatusResponse = message('ClusterStatusResponse', [
  [1, 'nodesUp', { mapUint32: ServerStatusResponse }],
  [2, 'nodesDown', 'map<uint32,string>'],
]);
export type ClusterStatusResponse = MessageType<typeof ClusterStatusResponse>;

// ---------------------------------------------------------------------------------------------
// 7.3 Enclaves

export const CreateEnclaveRequest = message('CreateEnclaveRequest', [[1, 'name', 'string']]);
export type CreateEnclaveRequest = MessageType<typeof CreateEnclaveRequest>;

export const DeleteEnclaveRequest = message('DeleteEnclaveRequest', [[1, 'name', 'string']]);
export type DeleteEnclaveRequest = MessageType<typeof DeleteEnclaveRequest>;

export const EnclaveStatusRequest = message('EnclaveStatusRequest', [[1, 'name', 'string']]);
export type EnclaveStatusRequest = MessageType<typeof EnclaveStatusRequest>;

export const EnclaveStatusResponse = message('EnclaveStatusResponse', [
  [1, 'name', 'string'],
  [2, 'createdAt', 'timestamp'],
  [3, 'createdBy', 'string'],
]);
export type EnclaveStatusResponse = MessageType<typeof EnclaveStatusResponse>;

export const ListEnclavesResponse = message('ListEnclavesResponse', [
  [1, 'enclaves', { repeated: EnclaveStatusResponse }],
  [2, 'continueAt', 'string'],
]);
export type ListEnclavesResponse = MessageType<typeof ListEnclavesResponse>;

// ---------------------------------------------------------------------------------------------
// 7.4 Keys

export const CreateKeyRequest = message('CreateKeyRequest', [
  [1, 'name', 'string'],
  [2, 'type', 'string'],
  [3, 'addVersion', 'bool'],
]);
export type CreateKeyRequest = MessageType<typeof CreateKeyRequest>;

export const ImportKeyRequest = message('ImportKeyRequest', [
  [1, 'name', 'string'],
  [2, 'type', 'string'],
  [3, 'key', 'bytes'],
]);
export type ImportKeyRequest = MessageType<typeof ImportKeyRequest>;

export const DeleteKeyRequest = message('DeleteKeyRequest', [
  [1, 'name', 'string'],
  [2, 'version', 'uint32'],
  [3, 'allVersions', 'bool'],
]);
export type DeleteKeyRequest = MessageType<typeof DeleteKeyRequest>;

export const KeyStatusRequest = message('KeyStatusRequest', [
  [1, 'name', 'string'],
  [2, 'version', 'uint32'],
]);
export type KeyStatusRequest = MessageType<typeof KeyStatusRequest>;

export const KeyStatusResponse = message('KeyStatusResponse', [
  [1, 'name', 'string'],
  [2, 'version', 'uint32'],
  [3, 'type', 'string'],
  [4, 'createdAt', 'timestamp'],
  [5, 'createdBy', 'string'],
]);
export type KeyStatusResponse = MessageType<typeof KeyStatusResponse>;

export const ListKeysResponse = message('ListKeysResponse', [
  [1, 'keys', { repeated: KeyStatusResponse }],
  [2, 'continueAt', 'string'],
]);
export type ListKeysResponse = MessageType<typeof ListKeysResponse>;

export const EncryptRequest = message('EncryptRequest', [
  [1, 'name', 'string'],
  [2, 'version', 'uint32'],
  [3, 'plaintext', 'bytes'],
  [4, 'associatedData', 'bytes'],
]);
export type EncryptRequest = MessageType<typeof EncryptRequest>;

export const EncryptResponse = message('EncryptResponse', [
  [1, 'version', 'uint32'],
  [2, 'ciphertext', 'bytes'],
]);
export type EncryptResponse = MessageType<typeof EncryptResponse>;

export const DecryptRequest = message('DecryptRequest', [
  [1, 'name', 'string'],
  [2, 'version', 'uint32'],
  [3, 'ciphertext', 'bytes'],
  [4, 'associatedData', 'bytes'],
]);
export type DecryptRequest = MessageType<typeof DecryptRequest>;

export const DecryptResponse = message('DecryptResponse', [[1, 'plaintext', 'bytes']]);
export type DecryptResponse = MessageType<typeof DecryptResponse>;

export const GenerateKeyRequest = message('GenerateKeyRequest', [
  [1, 'name', 'string'],
  [2, 'version', 'uint32'],
  [3, 'associatedData', 'bytes'],
  [4, 'length', 'uint32'],
]);
export type GenerateKeyRequest = MessageType<typeof GenerateKeyRequest>;

export const GenerateKeyResponse = message('GenerateKeyResponse', [
  [1, 'version', 'uint32'],
  [2, 'plaintext', 'bytes'],
  [3, 'ciphertext', 'bytes'],
]);
export type GenerateKeyResponse = MessageType<typeof GenerateKeyResponse>;

export const MACRequest = message('MACRequest', [
  [1, 'name', 'string'],
  [2, 'version', 'uint32'],
  [3, 'message', 'bytes'],
]);
export type MACRequest = MessageType<typeof MACRequest>;

export const MACResponse = message('MACResponse', [
  [1, 'version', 'uint32'],
  [2, 'mac', 'bytes'],
]);
export type MACResponse = MessageType<typeof MACResponse>;

// ---------------------------------------------------------------------------------------------
// 7.5 Policies

/** An empty message: room for future conditions on a pattern. */
export const Rule = message('Rule', []);
export type Rule = MessageType<typeof Rule>;

/** The patterns of one command: `map<string, Rule>` on the wire, a sorted list here. */
export const RuleSet = message('RuleSet', [[1, 'rules', 'patterns']]);
export type RuleSet = MessageType<typeof RuleSet>;

export const CreatePolicyRequest = message('CreatePolicyRequest', [
  [1, 'name', 'string'],
  [2, 'allow', 'map<string,RuleSet>'],
  [3, 'deny', 'map<string,RuleSet>'],
]);
export type CreatePolicyRequest = MessageType<typeof CreatePolicyRequest>;

export const PolicyRequest = message('PolicyRequest', [[1, 'name', 'string']]);
export type PolicyRequest = MessageType<typeof PolicyRequest>;

export const DeletePolicyRequest = message('DeletePolicyRequest', [[1, 'name', 'string']]);
export type DeletePolicyRequest = MessageType<typeof DeletePolicyRequest>;

export const AssignPolicyRequest = message('AssignPolicyRequest', [
  [1, 'identity', 'string'],
  [2, 'policy', 'string'],
]);
export type AssignPolicyRequest = MessageType<typeof AssignPolicyRequest>;

export const PolicyStatusResponse = message('PolicyStatusResponse', [
  [1, 'name', 'string'],
  [4, 'createdAt', 'timestamp'],
  [5, 'createdBy', 'string'],
]);
export type PolicyStatusResponse = MessageType<typeof PolicyStatusResponse>;

export const PolicyResponse = message('PolicyResponse', [
  [1, 'name', 'string'],
  [2, 'allow', 'map<string,RuleSet>'],
  [3, 'deny', 'map<string,RuleSet>'],
  [4, 'createdAt', 'timestamp'],
  [5, 'createdBy', 'string'],
]);
export type PolicyResponse = MessageType<typeof PolicyResponse>;

export const ListPoliciesResponse = message('ListPoliciesResponse', [
  [1, 'policies', { repeated: PolicyStatusResponse }],
  [2, 'continueAt', 'string'],
]);
export type ListPoliciesResponse = MessageType<typeof ListPoliciesResponse>;

// ---------------------------------------------------------------------------------------------
// 7.6 Identities

export const CreateIdentityRequest = message('CreateIdentityRequest', [
  [1, 'identity', 'string'],
  [2, 'privilege', 'string'],
  [3, 'isServiceAccount', 'bool'],
  [4, 'tags', 'map<string,string>'],
]);
export type CreateIdentityRequest = MessageType<typeof CreateIdentityRequest>;

export const IdentityRequest = message('IdentityRequest', [[1, 'identity', 'string']]);
export type IdentityRequest = MessageType<typeof IdentityRequest>;

export const DeleteIdentityRequest = message('DeleteIdentityRequest', [[1, 'identity', 'string']]);
export type DeleteIdentityRequest = MessageType<typeof DeleteIdentityRequest>;

export const IdentityResponse = message('IdentityResponse', [
  [1, 'identity', 'string'],
  [2, 'privilege', 'uint32'],
  [3, 'policy', 'string'],
  [4, 'createdAt', 'timestamp'],
  [5, 'createdBy', 'string'],
  [6, 'isServiceAccount', 'bool'],
  [7, 'serviceAccounts', 'repeated string'],
  [8, 'tags', 'map<string,string>'],
]);
export type IdentityResponse = MessageType<typeof IdentityResponse>;

export const ListIdentitiesResponse = message('ListIdentitiesResponse', [
  [1, 'identities', { repeated: IdentityResponse }],
  [2, 'continueAt', 'string'],
]);
export type ListIdentitiesResponse = MessageType<typeof ListIdentitiesResponse>;

// ---------------------------------------------------------------------------------------------
// 7.7 Debug (LogRequest and LogRecord as in the current protocol; the older SDK's extra fields
// are unknown fields here and skipped)

export const ProfileStatusResponse = message('ProfileStatusResponse', [
  [1, 'started', 'timestamp'],
  [2, 'cpu', 'bool'],
  [3, 'heap', 'bool'],
  [4, 'goroutine', 'bool'],
  [5, 'thread', 'bool'],
  [6, 'blockRate', 'uint32'],
  [7, 'mutexFraction', 'uint32'],
]);
export type ProfileStatusResponse = MessageType<typeof ProfileStatusResponse>;

export const LogRequest = message('LogRequest', [
  [1, 'level', 'sint32'],
  [2, 'message', 'string'],
  [3, 'since', 'timestamp'],
  [4, 'traceLevel', 'sint32'],
]);
export type LogRequest = MessageType<typeof LogRequest>;

/**
 * What a server reads of a LogRequest: fields 1–3, which both SDK versions send alike. Field 4
 * is TraceLevel (sint32) in the current protocol but a Method filter (string) in the older SDK
 * MinIO pins, so it is left out here (skipped as unknown) rather than refused.
 */
export const LogFilter = message('LogFilter', [
  [1, 'level', 'sint32'],
  [2, 'message', 'string'],
  [3, 'since', 'timestamp'],
]);
export type LogFilter = MessageType<typeof LogFilter>;

/** `LogRecord.StackFrame`. */
export const StackFrame = message('LogRecord.StackFrame', [
  [1, 'function', 'string'],
  [2, 'file', 'string'],
  [3, 'line', 'uint32'],
]);
export type StackFrame = MessageType<typeof StackFrame>;

export const LogRecord = message('LogRecord', [
  [1, 'level', 'sint32'],
  [2, 'time', 'timestamp'],
  [3, 'message', 'string'],
  [4, 'trace', { repeated: StackFrame }],
]);
export type LogRecord = MessageType<typeof LogRecord>;

// ---------------------------------------------------------------------------------------------
// Commands → messages

/** The request message of a command and its answer message (undefined: the answer frame is empty). */
export interface CommandMessages {
  readonly request: AnyMessageCodec;
  readonly response: AnyMessageCodec | undefined;
}

/** Request and answer codecs of every command that has messages (all but KEY:LISTVERSIONS, 209). */
export const COMMAND_MESSAGES = {
  [CMD.CLUSTER_ADDNODE]: { request: AddClusterNodeRequest, response: undefined },
  [CMD.CLUSTER_REMOVENODE]: { request: RemoveClusterNodeRequest, response: undefined },
  [CMD.CLUSTER_STATUS]: { request: ClusterStatusRequest, response: ClusterStatusResponse },
  [CMD.CLUSTER_EDIT]: { request: EditClusterRequest, response: undefined },
  [CMD.CLUSTER_ADDHSM]: { request: AddHSMRequest, response: undefined },
  [CMD.CLUSTER_REMOVEHSM]: { request: RemoveHSMRequest, response: undefined },
  [CMD.ENCLAVE_CREATE]: { request: CreateEnclaveRequest, response: undefined },
  [CMD.ENCLAVE_DELETE]: { request: DeleteEnclaveRequest, response: undefined },
  [CMD.ENCLAVE_STATUS]: { request: EnclaveStatusRequest, response: EnclaveStatusResponse },
  [CMD.ENCLAVE_LIST]: { request: ListRequest, response: ListEnclavesResponse },
  [CMD.KEY_CREATE]: { request: CreateKeyRequest, response: undefined },
  [CMD.KEY_DELETE]: { request: DeleteKeyRequest, response: undefined },
  [CMD.KEY_IMPORT]: { request: ImportKeyRequest, response: undefined },
  [CMD.KEY_STATUS]: { request: KeyStatusRequest, response: KeyStatusResponse },
  [CMD.KEY_ENCRYPT]: { request: EncryptRequest, response: EncryptResponse },
  [CMD.KEY_DECRYPT]: { request: DecryptRequest, response: DecryptResponse },
  [CMD.KEY_GENERATE]: { request: GenerateKeyRequest, response: GenerateKeyResponse },
  [CMD.KEY_LIST]: { request: ListRequest, response: ListKeysResponse },
  [CMD.KEY_MAC]: { request: MACRequest, response: MACResponse },
  [CMD.POLICY_CREATE]: { request: CreatePolicyRequest, response: undefined },
  [CMD.POLICY_DELETE]: { request: DeletePolicyRequest, response: undefined },
  [CMD.POLICY_ASSIGN]: { request: AssignPolicyRequest, response: undefined },
  [CMD.POLICY_GET]: { request: PolicyRequest, response: PolicyResponse },
  [CMD.POLICY_STATUS]: { request: PolicyRequest, response: PolicyStatusResponse },
  [CMD.POLICY_LIST]: { request: ListRequest, response: ListPoliciesResponse },
  [CMD.IDENTITY_CREATE]: { request: CreateIdentityRequest, response: undefined },
  [CMD.IDENTITY_DELETE]: { request: DeleteIdentityRequest, response: undefined },
  [CMD.IDENTITY_STATUS]: { request: IdentityRequest, response: IdentityResponse },
  [CMD.IDENTITY_LIST]: { request: ListRequest, response: ListIdentitiesResponse },
} as const satisfies Record<number, CommandMessages>;

/** The codecs of a command, or undefined for an unknown command or one without messages (209). */
export function commandMessages(command: number): CommandMessages | undefined {
  return Object.hasOwn(COMMAND_MESSAGES, command) ? (COMMAND_MESSAGES as Record<number, CommandMessages>)[command] : undefined;
}

// ---------------------------------------------------------------------------------------------
// protobuf-JSON

/**
 * VersionResponse in protobuf-JSON, as the SDK parses `/version` answers that are not
 * `application/octet-stream`: keys `version`, `commit`, `api_version`, `host`, `fips140`; default
 * values omitted, no other keys.
 */
export function versionResponseJson(v: Partial<VersionResponse>): string {
  const out: Record<string, string | boolean> = {};
  if (v.version) out['version'] = v.version;
  if (v.commit) out['commit'] = v.commit;
  if (v.apiVersion) out['api_version'] = v.apiVersion;
  if (v.host) out['host'] = v.host;
  if (v.fips140) out['fips140'] = true;
  return JSON.stringify(out);
}

// ---------------------------------------------------------------------------------------------
// Encoding and decoding by schema

type Obj = Record<string, unknown>;

const UINT32_LIMIT = 2n ** 32n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const NANOS_PER_SECOND = 1_000_000_000n;
/** google.protobuf.Duration's range: ±10,000 years. */
const MAX_DURATION_SECONDS = 315_576_000_000n;

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LONE_SURROGATE = /\p{Cs}/u;

// Map entries are messages { 1: key, 2: value }; their keys and values are always written.
const STRING_ENTRY = [
  [1, 'key', 'string'],
  [2, 'value', 'string'],
] as const satisfies readonly FieldSpec[];
const UINT32_STRING_ENTRY = [
  [1, 'key', 'uint32'],
  [2, 'value', 'string'],
] as const satisfies readonly FieldSpec[];
const PATTERN_ENTRY = [
  [1, 'key', 'string'],
  [2, 'value', { message: Rule }],
] as const satisfies readonly FieldSpec[];
const RULE_SET_ENTRY = [
  [1, 'key', 'string'],
  [2, 'value', { message: RuleSet }],
] as const satisfies readonly FieldSpec[];
const messageEntries = new WeakMap<AnyMessageCodec, readonly FieldSpec[]>();

function messageEntry(codec: AnyMessageCodec): readonly FieldSpec[] {
  let entry = messageEntries.get(codec);
  if (!entry) {
    entry = [
      [1, 'key', 'uint32'],
      [2, 'value', { message: codec }],
    ];
    messageEntries.set(codec, entry);
  }
  return entry;
}

const fieldsByNumber = new WeakMap<readonly FieldSpec[], Map<number, FieldSpec>>();

function byNumber(fields: readonly FieldSpec[]): Map<number, FieldSpec> {
  let map = fieldsByNumber.get(fields);
  if (!map) {
    map = new Map(fields.map((f) => [f[0], f]));
    fieldsByNumber.set(fields, map);
  }
  return map;
}

/** The message type and field path an error is about; builds the MessageError. */
class Where {
  constructor(
    private readonly type: string,
    private readonly verb: 'invalid' | 'cannot encode',
    private readonly path = '',
  ) {}

  field(name: string): Where {
    return new Where(this.type, this.verb, this.path ? `${this.path}.${name}` : name);
  }

  fail(problem: string): never {
    throw new MessageError(this.type, `kms: ${this.verb} ${this.type}: ${this.path ? `${this.path}: ` : ''}${problem}`);
  }
}

function toBuffer(buf: Uint8Array): Buffer {
  return Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
}

function defaultOf(kind: FieldKind): unknown {
  if (typeof kind === 'object') return 'message' in kind ? undefined : 'repeated' in kind ? [] : {};
  switch (kind) {
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'uint32':
    case 'sint32':
      return 0;
    case 'uint64':
    case 'sint64':
    case 'duration':
      return 0n;
    case 'bool':
      return false;
    case 'timestamp':
      return undefined;
    case 'repeated string':
    case 'repeated uint32':
    case 'patterns':
      return [];
    case 'map<string,string>':
    case 'map<uint32,string>':
    case 'map<string,RuleSet>':
      return {};
  }
}

function defaults(fields: readonly FieldSpec[]): Obj {
  const msg: Obj = {};
  for (const [, name, kind] of fields) msg[name] = defaultOf(kind);
  return msg;
}

/** Sets a map entry as an own property, even for keys such as `__proto__`. */
function setEntry(map: object, key: string | number, value: unknown): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The patterns of a rule set as kept here: unique, sorted, without `""`. */
function normalizePatterns(patterns: Iterable<string>): string[] {
  return [...new Set(patterns)].filter((p) => p !== '').sort();
}

// --- decoding

function decodeFields(fields: readonly FieldSpec[], buf: Buffer, where: Where): Obj {
  let wire: ProtoField[];
  try {
    wire = readFields(buf);
  } catch (err) {
    if (err instanceof ProtobufError) where.fail(err.message);
    throw err;
  }
  const specs = byNumber(fields);
  const msg = defaults(fields);
  // Occurrences of singular embedded messages, merged (parsed as one concatenation) at the end.
  const parts = new Map<FieldSpec, Buffer[]>();
  const patterns = new Map<string, string[]>();
  for (const f of wire) {
    const spec = specs.get(f.num);
    if (!spec) continue;
    const [, name, kind] = spec;
    const at = where.field(name);
    if (kind === 'timestamp' || kind === 'duration' || (typeof kind === 'object' && 'message' in kind)) {
      const list = parts.get(spec) ?? [];
      list.push(lenOf(f, at));
      parts.set(spec, list);
    } else if (kind === 'patterns') {
      const entry = decodeFields(PATTERN_ENTRY, lenOf(f, at), at);
      const list = patterns.get(name) ?? [];
      list.push(entry['key'] as string);
      patterns.set(name, list);
    } else {
      decodeField(msg, name, kind, f, at);
    }
  }
  for (const [[, name, kind], list] of parts) {
    const at = where.field(name);
    const bytes = list.length === 1 ? list[0]! : Buffer.concat(list);
    if (kind === 'timestamp') {
      const [seconds, nanos] = secondsAndNanos(bytes, at);
      msg[name] = checkTimestamp(Timestamp.fromSecondsNanos(seconds, nanos), at);
    } else if (kind === 'duration') {
      const [seconds, nanos] = secondsAndNanos(bytes, at);
      msg[name] = checkDuration(seconds * NANOS_PER_SECOND + nanos, at);
    } else if (typeof kind === 'object' && 'message' in kind) {
      msg[name] = decodeFields(kind.message.fields, bytes, at);
    }
  }
  for (const [name, list] of patterns) msg[name] = normalizePatterns(list);
  return msg;
}

function decodeField(msg: Obj, name: string, kind: FieldKind, f: ProtoField, at: Where): void {
  if (typeof kind === 'object') {
    if ('repeated' in kind) {
      (msg[name] as Obj[]).push(decodeFields(kind.repeated.fields, lenOf(f, at), at));
    } else if ('mapUint32' in kind) {
      const entry = decodeFields(messageEntry(kind.mapUint32), lenOf(f, at), at);
      setEntry(msg[name] as object, entry['key'] as number, entry['value'] ?? kind.mapUint32.create());
    }
    return;
  }
  switch (kind) {
    case 'string':
      msg[name] = utf8(lenOf(f, at), at);
      return;
    case 'bytes':
      msg[name] = Buffer.from(lenOf(f, at));
      return;
    case 'uint32':
      msg[name] = uint32Of(varintOf(f, at), at);
      return;
    case 'uint64':
      msg[name] = varintOf(f, at);
      return;
    case 'sint32':
      msg[name] = Number(unzigzag(BigInt(uint32Of(varintOf(f, at), at, 'sint32'))));
      return;
    case 'sint64':
      msg[name] = unzigzag(varintOf(f, at));
      return;
    case 'bool':
      msg[name] = varintOf(f, at) !== 0n;
      return;
    case 'repeated string':
      (msg[name] as string[]).push(utf8(lenOf(f, at), at));
      return;
    case 'repeated uint32': {
      const list = msg[name] as number[];
      if (f.wire === VARINT) {
        list.push(uint32Of(f.value, at));
      } else {
        let values: bigint[];
        try {
          values = readPackedVarints(lenOf(f, at));
        } catch (err) {
          if (err instanceof ProtobufError) at.fail(err.message);
          throw err;
        }
        for (const v of values) list.push(uint32Of(v, at));
      }
      return;
    }
    case 'map<string,string>': {
      const entry = decodeFields(STRING_ENTRY, lenOf(f, at), at);
      setEntry(msg[name] as object, entry['key'] as string, entry['value']);
      return;
    }
    case 'map<uint32,string>': {
      const entry = decodeFields(UINT32_STRING_ENTRY, lenOf(f, at), at);
      setEntry(msg[name] as object, entry['key'] as number, entry['value']);
      return;
    }
    case 'map<string,RuleSet>': {
      const entry = decodeFields(RULE_SET_ENTRY, lenOf(f, at), at);
      setEntry(msg[name] as object, entry['key'] as string, (entry['value'] as RuleSet | undefined)?.rules ?? []);
      return;
    }
    case 'timestamp':
    case 'duration':
    case 'patterns':
      return; // collected by decodeFields
  }
}

function lenOf(f: ProtoField, at: Where): Buffer {
  if (f.wire !== LEN) at.fail('wrong wire type');
  return f.value;
}

function varintOf(f: ProtoField, at: Where): bigint {
  if (f.wire !== VARINT) at.fail('wrong wire type');
  return f.value;
}

function uint32Of(v: bigint, at: Where, type = 'uint32'): number {
  if (v >= UINT32_LIMIT) at.fail(`value out of range for ${type}`);
  return Number(v);
}

function utf8(bytes: Buffer, at: Where): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    return at.fail('string is not valid UTF-8');
  }
}

/** `google.protobuf.Timestamp` and `Duration`: { 1: int64 seconds, 2: int32 nanos }. */
function secondsAndNanos(buf: Buffer, at: Where): [bigint, bigint] {
  let seconds = 0n;
  let nanos = 0n;
  let wire: ProtoField[];
  try {
    wire = readFields(buf);
  } catch (err) {
    if (err instanceof ProtobufError) at.fail(err.message);
    throw err;
  }
  for (const f of wire) {
    if (f.num === 1) seconds = BigInt.asIntN(64, varintOf(f, at.field('seconds')));
    else if (f.num === 2) nanos = BigInt.asIntN(32, varintOf(f, at.field('nanos')));
  }
  return [seconds, nanos];
}

/** A timestamp whose seconds fit an int64. */
function checkTimestamp(t: Timestamp, at: Where): Timestamp {
  if (t.seconds < INT64_MIN || t.seconds > INT64_MAX) at.fail('timestamp out of range');
  return t;
}

/** A duration in nanoseconds within google.protobuf.Duration's ±10,000 years. */
function checkDuration(nanos: bigint, at: Where): bigint {
  const seconds = nanos / NANOS_PER_SECOND;
  if (seconds > MAX_DURATION_SECONDS || seconds < -MAX_DURATION_SECONDS) at.fail('duration out of range');
  return nanos;
}

// --- encoding

function encodeFields(fields: readonly FieldSpec[], msg: Obj, where: Where, always = false): Buffer {
  if (typeof msg !== 'object' || msg === null) where.fail('not a message');
  const w = new ProtoWriter();
  for (const [num, name, kind] of fields) {
    const value = msg[name];
    if (value !== undefined) encodeField(w, num, kind, value, where.field(name), always);
  }
  return w.finish();
}

function encodeField(w: ProtoWriter, num: number, kind: FieldKind, value: unknown, at: Where, always: boolean): void {
  if (typeof kind === 'object') {
    if ('message' in kind) {
      w.bytes(num, encodeFields(kind.message.fields, value as Obj, at), true);
    } else if ('repeated' in kind) {
      for (const item of arrayOf(value, at)) w.bytes(num, encodeFields(kind.repeated.fields, item as Obj, at), true);
    } else {
      const entry = messageEntry(kind.mapUint32);
      for (const [key, item] of entriesOf(value, at)) {
        w.bytes(num, encodeFields(entry, { key: uint32Key(key, at), value: item }, at, true), true);
      }
    }
    return;
  }
  switch (kind) {
    case 'string': {
      const s = stringOf(value, at);
      if (s.length > 0 || always) w.bytes(num, s, true);
      return;
    }
    case 'bytes':
      if (!(value instanceof Uint8Array)) at.fail('not bytes');
      if (value.length > 0 || always) w.bytes(num, value, true);
      return;
    case 'uint32':
      w.varint(num, uint32Value(value, at), always);
      return;
    case 'uint64':
      if (typeof value !== 'bigint' || value < 0n || value >= 2n ** 64n) at.fail('value out of range for uint64');
      w.varint(num, value, always);
      return;
    case 'sint32':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
        at.fail('value out of range for sint32');
      }
      w.varint(num, zigzag(BigInt(value)), always);
      return;
    case 'sint64':
      if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX) at.fail('value out of range for sint64');
      w.varint(num, zigzag(value), always);
      return;
    case 'bool':
      if (typeof value !== 'boolean') at.fail('not a boolean');
      w.varint(num, value ? 1 : 0, always);
      return;
    case 'timestamp':
      if (!(value instanceof Timestamp)) at.fail('not a Timestamp');
      checkTimestamp(value, at);
      w.message(num, new ProtoWriter().varint(1, value.seconds).varint(2, value.nanos));
      return;
    case 'duration':
      if (typeof value !== 'bigint') at.fail('not a duration in nanoseconds');
      checkDuration(value, at);
      // seconds and nanos share the sign of the duration
      if (value !== 0n || always) w.message(num, new ProtoWriter().varint(1, value / NANOS_PER_SECOND).varint(2, value % NANOS_PER_SECOND));
      return;
    case 'repeated string':
      for (const item of arrayOf(value, at)) w.bytes(num, stringOf(item, at), true);
      return;
    case 'repeated uint32': {
      const items = arrayOf(value, at);
      if (items.length > 0) w.bytes(num, Buffer.concat(items.map((v) => encodeVarint(BigInt(uint32Value(v, at))))), true);
      return;
    }
    case 'map<string,string>':
      for (const [key, item] of entriesOf(value, at)) w.bytes(num, encodeFields(STRING_ENTRY, { key, value: item }, at, true), true);
      return;
    case 'map<uint32,string>':
      for (const [key, item] of entriesOf(value, at)) {
        w.bytes(num, encodeFields(UINT32_STRING_ENTRY, { key: uint32Key(key, at), value: item }, at, true), true);
      }
      return;
    case 'patterns':
      for (const pattern of normalizePatterns(arrayOf(value, at).map((p) => checkString(p, at)))) {
        w.bytes(num, encodeFields(PATTERN_ENTRY, { key: pattern, value: {} }, at, true), true);
      }
      return;
    case 'map<string,RuleSet>':
      for (const [key, rules] of entriesOf(value, at)) {
        w.bytes(num, encodeFields(RULE_SET_ENTRY, { key, value: { rules } }, at, true), true);
      }
      return;
  }
}

/** A string as UTF-8 bytes. */
function stringOf(value: unknown, at: Where): Buffer {
  return Buffer.from(checkString(value, at), 'utf8');
}

/** A string that has a UTF-8 encoding: one without lone surrogates. */
function checkString(value: unknown, at: Where): string {
  if (typeof value !== 'string') at.fail('not a string');
  if (LONE_SURROGATE.test(value)) at.fail('string is not valid UTF-16 (lone surrogate)');
  return value;
}

function uint32Value(value: unknown, at: Where): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= 2 ** 32) at.fail('value out of range for uint32');
  return value;
}

function uint32Key(key: string, at: Where): number {
  const n = Number(key);
  if (String(n) !== key || !Number.isInteger(n) || n < 0 || n >= 2 ** 32) at.fail('map key is not a uint32');
  return n;
}

function arrayOf(value: unknown, at: Where): unknown[] {
  if (!Array.isArray(value)) at.fail('not an array');
  return value;
}

function entriesOf(value: unknown, at: Where): [string, unknown][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) at.fail('not a map');
  return Object.entries(value);
}
