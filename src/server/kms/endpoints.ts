/**
 * MinKMS's endpoints besides the commands (docs/minkms.md): health, the log stream, and the
 * debug endpoints openkes does not offer. `/version` answers both protocols (handlers/status.ts).
 */
import { KesError, kesError } from '../../api/errors.js';
import { auditEventText } from '../../log/audit-log.js';
import * as M from '../../kms/messages.js';
import { Timestamp } from '../../util/time.js';
import { StreamAbort, type Reply, type StreamWriter } from '../reply.js';
import type { RequestContext } from '../context.js';
import { rightsOf } from '../access.js';
import { DEFAULT_ENCLAVE } from '../../keystore/entry-names.js';

/** `GET /v1/health/live`: the server answers. */
export function live(): undefined {
  return undefined;
}

/**
 * Requires the caller to be SysAdmin (backup, logs, debug), answering as MinKMS's SDK expects.
 * @throws KesError 400 (no certificate), 403 KMS_ERR_PERMISSION
 */
export async function requireSysAdmin(ctx: RequestContext): Promise<void> {
  if (ctx.identity === '') throw new KesError('KES_ERR_TLS');
  if ((await rightsOf(ctx.state, ctx.identity, DEFAULT_ENCLAVE)).kind !== 'sysadmin') throw new KesError('KMS_ERR_PERMISSION');
}

/** The largest log record the MinKMS SDK reads (it aborts on a longer one). */
const MAX_RECORD = 4096;
const MAX_BUFFERED = 1 << 20;
const LEVELS: Record<string, number> = { DEBUG: -4, INFO: 0, WARN: 4, ERROR: 8 };

/**
 * `POST /v1/debug/log` (SysAdmin): the error and audit events the KES log streams carry, as
 * length-prefixed LogRecords, from now on (past events are not kept, so `since` is ignored).
 */
export async function debugLog(ctx: RequestContext): Promise<Reply> {
  await requireSysAdmin(ctx);
  // Read outside the decoding: a body over the limit is a 413, a broken-off one no answer.
  const body = await ctx.body();
  let filter: M.LogFilter;
  try {
    filter = M.LogFilter.decode(body);
  } catch (err) {
    if (!(err instanceof M.MessageError)) throw err;
    throw kesError('KMS_ERR_BAD_REQUEST', 'logRequest');
  }
  const { runtime } = ctx.state;
  return {
    kind: 'stream',
    contentType: 'application/octet-stream',
    async open() {
      return (w: StreamWriter) =>
        new Promise<void>((resolve, reject) => {
          const send = (level: number, message: string) => {
            if (w.signal.aborted || level < filter.level || (filter.message !== '' && !message.includes(filter.message))) return;
            if (w.buffered > MAX_BUFFERED) {
              stop();
              return reject(new StreamAbort('log stream client does not keep up'));
            }
            w.write(logRecord(level, message));
          };
          const unsubscribe = [
            runtime.errorHub.subscribe((e) => send(LEVELS[/level=(\w+)/.exec(e.message)?.[1] ?? 'INFO'] ?? 0, e.message)),
            runtime.auditHub.subscribe((e) => send(0, auditEventText(e))),
          ];
          const stop = () => unsubscribe.forEach((u) => u());
          const done = () => {
            stop();
            resolve();
          };
          if (w.signal.aborted) done();
          else w.signal.addEventListener('abort', done, { once: true });
        });
    },
  };
}

/** One record of the stream: its length (4 bytes, big-endian) and the LogRecord. */
function logRecord(level: number, message: string): Buffer {
  let text = message;
  let record = M.LogRecord.encode({ level, time: Timestamp.now(), message: text });
  while (record.length > MAX_RECORD) {
    text = text.slice(0, text.length - (record.length - MAX_RECORD) - 4) + '…';
    record = M.LogRecord.encode({ level, time: Timestamp.now(), message: text });
  }
  const head = Buffer.alloc(4);
  head.writeUInt32BE(record.length);
  return Buffer.concat([head, record]);
}

/**
 * The endpoints openkes does not offer: profiling and restart (debug endpoints, SysAdmin's:
 * anyone else is refused first), MinKMS's inter-node RPC.
 */
export function notSupported(what: string, sysAdminOnly = false): (ctx: RequestContext) => Promise<never> {
  return async (ctx) => {
    if (sysAdminOnly) await requireSysAdmin(ctx);
    throw kesError('KMS_ERR_NOT_SUPPORTED', 'debug', { what });
  };
}
