/**
 * What a MinKMS command is to the server (docs/minkms.md): its messages, the operation it
 * performs (api/operations.ts, the table both APIs are authorized by), the subject a policy
 * pattern is matched against, and what it does.
 */
import { kesError } from '../../api/errors.js';
import type { Operation } from '../../api/operations.js';
import type { MessageCodec } from '../../kms/messages.js';
import { isValidName } from '../../policy/names.js';
import type { RequestContext } from '../context.js';
import type { ServerState } from '../state.js';
import type { Rights } from '../access.js';

/** One command of one request, as its implementation sees it. */
export interface Exec {
  readonly ctx: RequestContext;
  readonly state: ServerState;
  /** The enclave of the request path (the default enclave for `/v1/kms`). */
  readonly enclave: string;
  /** The caller's identity (hex). */
  readonly identity: string;
  readonly rights: Rights;
}

export interface CommandSpec<Req extends object, Res extends object> {
  readonly request: MessageCodec<Req>;
  /** The answer message; none: the answer frame is empty. */
  readonly response?: MessageCodec<Res>;
  /** Works outside enclaves (enclave management, cluster): the enclave of the path is ignored. */
  readonly system?: boolean;
  /** The operation the request performs (some commands perform one of two). */
  operation(req: NoInfer<Req>): Operation;
  /** What a policy pattern is matched against: a name, an identity, `<prefix>*` for listings. */
  subject(req: NoInfer<Req>): string;
  /** Performs the command; the caller is authorized and the enclave exists. */
  run(x: Exec, req: NoInfer<Req>): Promise<Partial<Res> | undefined> | Partial<Res> | undefined;
}

/** Declares a command with its types inferred from its messages. */
export function command<Req extends object, Res extends object = object>(spec: CommandSpec<Req, Res>): CommandSpec<Req, Res> {
  return spec;
}

/** The listing subject of a prefix: `<prefix>*`, as a KES listing pattern. */
export const listSubject = (req: { prefix: string }): string => `${listPrefix(req.prefix)}*`;

/** A listing prefix with one trailing `*` ignored (MinIO passes user patterns). */
export function listPrefix(prefix: string): string {
  return prefix.endsWith('*') ? prefix.slice(0, -1) : prefix;
}

/** A valid key, policy or enclave name. @throws KesError 400 */
export function validName(kind: 'key' | 'policy' | 'enclave', name: string): string {
  if (!isValidName(name)) throw kesError('KMS_ERR_BAD_REQUEST', 'name', { kind, name });
  return name;
}
