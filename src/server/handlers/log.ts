/**
 * Log streams `/v1/log/error` and `/v1/log/audit` (protocol.md §6.17, §20.2): NDJSON,
 * one event per line, flushed per event, from subscription until the client disconnects.
 * A client that stops reading is disconnected once 1 MiB is buffered for it.
 */
import { auditEventJson } from '../../log/audit-log.js';
import { goJsonValue } from '../../util/go-json.js';
import type { EventHub } from '../../log/event-hub.js';
import { StreamAbort, type Reply, type StreamWriter } from '../reply.js';
import type { RequestContext } from '../context.js';

const MAX_BUFFERED = 1 << 20;

function stream<T>(hub: EventHub<T>, toJson: (e: T) => object, counted: () => void): Reply {
  return {
    kind: 'stream',
    contentType: 'application/x-ndjson',
    async open() {
      return (w: StreamWriter) =>
        new Promise<void>((resolve, reject) => {
          const done = () => {
            unsubscribe();
            resolve();
          };
          const unsubscribe = hub.subscribe((event) => {
            if (w.signal.aborted) return;
            if (w.buffered > MAX_BUFFERED) {
              unsubscribe();
              return reject(new StreamAbort('log stream client does not keep up'));
            }
            w.write(goJsonValue(toJson(event)) + '\n');
            counted();
          });
          if (w.signal.aborted) done();
          else w.signal.addEventListener('abort', done, { once: true });
        });
    },
  };
}

export function errorLog(ctx: RequestContext): Reply {
  const { runtime } = ctx.state;
  return stream(runtime.errorHub, (e) => e, () => runtime.metrics.data.logErrorEvents++);
}

export function auditLog(ctx: RequestContext): Reply {
  const { runtime } = ctx.state;
  return stream(runtime.auditHub, auditEventJson, () => runtime.metrics.data.logAuditEvents++);
}
