/**
 * A cluster worker: one KesServer sharing the port with the other workers, serving the config
 * its primary sends. It takes no signals and runs no timers of its own: the primary tells it
 * to reload, refresh its certificates or stop (primary.ts). Metrics and log streams span all
 * workers through the primary; its key cache is a replica of the primary's keeper.
 */
import type { Writable } from 'node:stream';
import type { ServerConfig } from '../../config/types.js';
import type { MetricsSnapshot } from '../../metrics/metrics.js';
import type { AuditEvent } from '../../log/audit-log.js';
import type { ErrorEvent } from '../../log/error-log.js';
import { KesServer } from '../server.js';
import { createRuntime } from '../runtime.js';
import { describeFailure } from '../error-response.js';
import { BridgedHub } from './bridged-hub.js';
import { WorkerCacheLink } from './cache-link.js';
import { decodeAuditEvent, dispatch, encodeAuditEvent, withBackupKey, type Handlers, type LogKind, type ToPrimary, type ToWorker } from './messages.js';

export interface WorkerOptions {
  workers: number;
  /** `--addr`: overrides the config's address. */
  address?: string;
  /** `--max-connections`: the connection limit of this worker, over the config's. */
  maxConnections?: number;
  stdout: Writable;
  stderr: Writable;
}

/** Sends a message to the primary; once the primary is gone there is nobody to tell. */
const send = (m: ToPrimary) => {
  if (process.connected) process.send?.(m, undefined, undefined, () => undefined);
};

/** Runs a worker until the primary shuts it down (or goes away); returns the exit code. */
export async function runWorker(o: WorkerOptions): Promise<number> {
  // Signals from a terminal reach the whole process group: only the primary acts on them.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => undefined);

  const pending = new Map<number, (s: MetricsSnapshot) => void>();
  let nextId = 1;
  const hub = <T>(kind: LogKind, encode: (e: T) => unknown) =>
    new BridgedHub<T>(
      (event) => send({ type: 'event', kind, event: encode(event) }),
      (count) => send({ type: 'subscribers', kind, count }),
    );
  const errorHub = hub<ErrorEvent>('error', (e) => e);
  const auditHub = hub<AuditEvent>('audit', encodeAuditEvent);
  // The worker's key cache is a replica of the keeper in the primary.
  const cacheLink = new WorkerCacheLink(send);
  const runtime = createRuntime({
    stdout: o.stdout,
    stderr: o.stderr,
    workers: o.workers,
    errorHub,
    auditHub,
    cacheLink,
    metricsSnapshot: () =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        send({ type: 'metrics-request', id });
      }),
  });

  let server: KesServer | undefined;
  let ticketKeys = '';
  let onInit: (config: ServerConfig | undefined) => void = () => undefined;
  const initialized = new Promise<ServerConfig | undefined>((resolve) => (onInit = resolve));
  let onStop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (onStop = resolve));
  let stopRequested = false;
  const stop = () => {
    stopRequested = true;
    onInit(undefined);
    onStop();
  };
  /** Answers a reload or refresh with 'done'. */
  const apply = (id: number, change: (s: KesServer) => Promise<void>) => {
    if (!server) return send({ type: 'done', id });
    change(server).then(
      () => send({ type: 'done', id }),
      (err) => send({ type: 'done', id, error: describeFailure(err) }),
    );
  };

  // Listening from the start: a shutdown may arrive while the server is still starting.
  const handlers: Handlers<ToWorker> = {
    init: (m) => {
      ticketKeys = m.ticketKeys;
      onInit(withBackupKey(m.config, m.backupKey));
    },
    'ticket-keys': (m) => {
      ticketKeys = m.ticketKeys;
      server?.setTicketKeys(Buffer.from(m.ticketKeys, 'hex'));
    },
    reload: (m) =>
      apply(m.id, async (s) => {
        await s.reload(withBackupKey(m.config, m.backupKey));
        // The primary writes log.audit_file: it needs every audit event.
        auditHub.forwardAll = m.config.log.auditFile !== undefined;
      }),
    'refresh-tls': (m) => apply(m.id, (s) => s.reloadTls(m.config)),
    shutdown: () => stop(),
    'metrics-collect': (m) => send({ type: 'metrics-snapshot', id: m.id, snapshot: runtime.metrics.current() }),
    'metrics-result': (m) => {
      pending.get(m.id)?.(m.snapshot);
      pending.delete(m.id);
    },
    event: (m) => (m.kind === 'error' ? errorHub.deliver(m.event as ErrorEvent) : auditHub.deliver(decodeAuditEvent(m.event))),
    subscribers: (m) => void ((m.kind === 'error' ? errorHub : auditHub).othersSubscribed = m.others),
    ...cacheLink.handlers,
  };
  const onMessage = (m: unknown) => dispatch(handlers, m);
  process.on('message', onMessage);
  // The primary is gone (killed): stop serving.
  process.once('disconnect', stop);
  send({ type: 'hello' });

  let code = 0;
  const config = await initialized;
  if (config && !stopRequested) {
    auditHub.forwardAll = config.log.auditFile !== undefined;
    try {
      server = await KesServer.start(config, { address: o.address, runtime, auditFile: false, maxConnections: o.maxConnections, ticketKeys: Buffer.from(ticketKeys, 'hex') });
      // Keys rotated while the server was starting apply from now on.
      server.setTicketKeys(Buffer.from(ticketKeys, 'hex'));
      send({ type: 'ready', ...server.address });
    } catch (err) {
      send({ type: 'failed', message: describeFailure(err) });
      code = 1;
    }
  }
  if (server) {
    await stopped;
    await server.close().catch(() => (code = 1));
  }
  process.off('message', onMessage);
  // The IPC channel would keep the worker alive: let go of it.
  if (process.connected) process.disconnect();
  return code;
}
