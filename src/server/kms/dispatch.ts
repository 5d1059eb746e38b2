/**
 * `POST /v1/kms[/<enclave>]`: MinKMS commands in frames (docs/minkms.md). A request is all or
 * nothing: its frames are decoded and every command authorized before any runs; a write comes
 * alone; the answer has one frame per command, in order, or one error for the whole request.
 */
import { KesError, kesError, type KesErrorCode } from '../../api/errors.js';
import { CMD, commandByNumber, type Command } from '../../kms/commands.js';
import { decodeFrames, encodeFrames, FrameError } from '../../kms/frames.js';
import { MessageError } from '../../kms/messages.js';
import { DEFAULT_ENCLAVE } from '../../keystore/entry-names.js';
import { binary, type Reply } from '../reply.js';
import type { RequestContext } from '../context.js';
import { allows, rightsOf } from '../access.js';
import { validName, type CommandSpec, type Exec } from './command.js';
import { KEY_COMMANDS } from './key-commands.js';
import { ADMIN_COMMANDS } from './admin-commands.js';

/** The most commands one request may carry. */
export const MAX_COMMANDS = 1000;

const COMMANDS: ReadonlyMap<number, CommandSpec<any, any>> = new Map([...KEY_COMMANDS, ...ADMIN_COMMANDS]);

/** Commands openkes does not implement, with the reason it gives. */
function unsupported(cmd: Command): KesError | undefined {
  if (cmd.number === CMD.CLUSTER_ADDHSM || cmd.number === CMD.CLUSTER_REMOVEHSM) return kesError('KMS_ERR_NOT_SUPPORTED', 'hsm');
  if (cmd.cluster && !cmd.enclaveManagement) return kesError('KMS_ERR_NOT_SUPPORTED', 'cluster');
  if (cmd.number === CMD.KEY_LISTVERSIONS) return kesError('KMS_ERR_NOT_SUPPORTED', 'listVersions');
  return undefined;
}

interface Decoded {
  spec: CommandSpec<any, any>;
  number: number;
  req: object;
}

export async function kmsCommands(ctx: RequestContext): Promise<Reply> {
  if (ctx.identity === '') throw new KesError('KES_ERR_TLS');
  const enclave = ctx.resource === '' ? DEFAULT_ENCLAVE : validName('enclave', ctx.resource);
  try {
    const decoded = decode(await ctx.body());
    // The audit event names what was asked (a write's success replaces it with what was done).
    ctx.auditMessage = summary(decoded, enclave);
    const { state } = ctx;
    const rights = await rightsOf(state, ctx.identity, enclave);
    const x: Exec = { ctx, state, enclave, identity: ctx.identity, rights };
    for (const d of decoded) {
      if (!allows(rights, d.spec.operation(d.req), d.spec.subject(d.req))) throw new KesError('KMS_ERR_PERMISSION');
    }
    if (decoded.some((d) => !d.spec.system) && !(await state.enclaves.enclave(enclave))) throw new KesError('KMS_ERR_ENCLAVE_NOT_FOUND');
    const answers: Buffer[] = [];
    for (const d of decoded) {
      const res = await d.spec.run(x, d.req);
      answers.push(d.spec.response && res ? d.spec.response.encode(res) : Buffer.alloc(0));
    }
    // A write's own audit message names what it did; outside the default enclave, also where.
    if (write(decoded) && !decoded[0]!.spec.system && enclave !== DEFAULT_ENCLAVE) ctx.auditMessage += ` in enclave '${enclave}'`;
    return binary(encodeFrames(decoded.map((d, i) => ({ command: d.number, payload: answers[i]! }))));
  } catch (err) {
    throw asKmsError(err);
  }
}

/** Decodes and checks a request's frames. @throws KesError 400, 501 */
function decode(body: Buffer): Decoded[] {
  let frames;
  try {
    frames = decodeFrames(body, MAX_COMMANDS);
  } catch (err) {
    if (err instanceof FrameError) throw kesError('KMS_ERR_BAD_REQUEST', /more than/.test(err.message) ? 'tooManyCommands' : 'frames', { max: String(MAX_COMMANDS) });
    throw err;
  }
  if (frames.length === 0) throw kesError('KMS_ERR_BAD_REQUEST', 'noCommand');
  const commands = frames.map((f) => {
    const cmd = commandByNumber(f.command);
    if (!cmd) throw kesError('KMS_ERR_BAD_REQUEST', 'unknownCommand', { command: String(f.command) });
    const refusal = unsupported(cmd);
    if (refusal) throw refusal;
    return cmd;
  });
  const write = commands.some((c) => c.write);
  if (write && commands.some((c) => !c.write)) throw kesError('KMS_ERR_BAD_REQUEST', 'mixed');
  // Writes come one at a time (the SDK never batches them): a request then changes one thing.
  if (write && commands.length > 1) throw kesError('KMS_ERR_BAD_REQUEST', 'batch', { command: commands[0]!.name ?? String(commands[0]!.number) });
  return frames.map((f, i) => {
    const spec = COMMANDS.get(f.command)!;
    try {
      return { spec, number: f.command, req: spec.request.decode(f.payload) };
    } catch (err) {
      if (err instanceof MessageError) throw kesError('KMS_ERR_BAD_REQUEST', 'message', { command: commands[i]!.name ?? 'KEY:IMPORT' });
      throw err;
    }
  });
}

const write = (decoded: readonly Decoded[]) => commandByNumber(decoded[0]!.number)!.write;

/** `KEY:GENERATE 'minio-key'`, `KEY:STATUS 'a' and 2 more`, with the enclave unless the default. */
function summary(decoded: readonly Decoded[], enclave: string): string {
  const [first] = decoded;
  const name = commandByNumber(first!.number)?.name ?? 'KEY:IMPORT';
  const subject = first!.spec.subject(first!.req);
  const more = decoded.length > 1 ? ` and ${decoded.length - 1} more` : '';
  return `${name}${subject === '' ? '' : ` '${subject}'`}${more}${enclave === DEFAULT_ENCLAVE || first!.spec.system ? '' : ` in enclave '${enclave}'`}`;
}

/** KES errors that MinKMS's SDK knows under another status or message. */
const KMS_EQUIVALENTS: Partial<Record<KesErrorCode, KesErrorCode>> = {
  KES_ERR_KEY_EXISTS: 'KMS_ERR_KEY_EXISTS',
  KES_ERR_DECRYPT: 'KMS_ERR_DECRYPT',
  KES_ERR_NOT_ALLOWED: 'KMS_ERR_PERMISSION',
  KES_ERR_VERSION_NOT_FOUND: 'KES_ERR_KEY_NOT_FOUND',
  KES_ERR_BAD_REQUEST: 'KMS_ERR_BAD_REQUEST',
};

/** The error as the MinKMS SDK expects it (its sentinels compare status and message). */
export function asKmsError(err: unknown): unknown {
  if (!(err instanceof KesError)) return err;
  const code = KMS_EQUIVALENTS[err.code];
  return code ? new KesError(code, undefined, { cause: err.cause }) : err;
}
