/**
 * A cluster worker: one KesServer sharing the port with the other workers. The primary
 * coordinates reloads and shutdown; metrics and log streams span all workers through it.
 */
import type { Writable } from 'node:stream';
import type { ServerConfig } from '../../config/types.js';
import { loadConfigFile } from '../../config/parse-config.js';
import type { MetricsSnapshot } from '../../metrics/metrics.js';
import type { AuditEvent } from '../../log/audit-log.js';
import type { ErrorEvent } from '../../log/error-log.js';
import { KesServer } from '../server.js';
import { createRuntime } from '../runtime.js';
import { describeFailure } from '../error-response.js';
import { BridgedHub } from './bridged-hub.js';
import { isCacheMessage, WorkerCacheLink } from './cache-link.js';
import { decodeAuditEvent, encodeAuditEvent, isMessage, type LogKind, type ToPrimary, type ToWorker } from './messages.js';

const TLS_REFRESH_MS = 15 * 60_000;

export interface WorkerOptions {
  config: ServerConfig;
  configFile?: string;
  address?: string;
  workers: number;
  /** `--max-connections`: the connection limit of this worker, over the config's. */
  maxConnections?: number;
  env: Record<string, string | undefined>;
  stdout: Writable;
  stderr: Writable;
}

const send = (m: ToPrimary) => process.send?.(m);

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
  // The worker's key cache is a replica of the keeper in the primary.
  const cacheLink = new WorkerCacheLink(send);
  const errorHub = hub<ErrorEvent>('error', (e) => e);
  const auditHub = hub<AuditEvent>('audit', encodeAuditEvent);
  // The primary writes log.audit_file: it needs every audit event.
  auditHub.forwardAll = o.config.log.auditFile !== undefined;
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
  let latestTicketKeys: string | undefined;
  let stopRequested = false;
  let onInit: (ticketKeys: string) => void = () => undefined;
  let onStop: () => void = () => undefined;
  const initialized = new Promise<string>((resolve) => (onInit = resolve));
  const stopped = new Promise<void>((resolve) => (onStop = resolve));
  const stop = () => {
    stopRequested = true;
    onStop();
  };

  // Listening from the start: a shutdown may arrive while the server is still starting.
  const onMessage = (m: unknown) => {
    if (!isMessage(m)) return;
    const msg = m as ToWorker;
    if (isCacheMessage(msg)) return cacheLink.receive(msg);
    switch (msg.type) {
      case 'init':
        return onInit(msg.ticketKeys);
      case 'ticket-keys':
        latestTicketKeys = msg.ticketKeys;
        return server?.setTicketKeys(Buffer.from(msg.ticketKeys, 'hex'));
      case 'shutdown':
        return stop();
      case 'reload':
        if (!server || !o.configFile) return send({ type: 'reloaded', id: msg.id });
        loadConfigFile(o.configFile, o.env)
          .then((c) => server!.reload(c).then(() => (auditHub.forwardAll = c.log.auditFile !== undefined)))
          .then(
            () => send({ type: 'reloaded', id: msg.id }),
            (err) => send({ type: 'reloaded', id: msg.id, error: describeFailure(err) }),
          );
        return;
      case 'metrics-collect':
        return send({ type: 'metrics-snapshot', id: msg.id, snapshot: runtime.metrics.data });
      case 'metrics-result':
        pending.get(msg.id)?.(msg.snapshot);
        pending.delete(msg.id);
        return;
      case 'event':
        if (msg.kind === 'error') errorHub.deliver(msg.event as ErrorEvent);
        else auditHub.deliver(decodeAuditEvent(msg.event));
        return;
      case 'subscribers':
        (msg.kind === 'error' ? errorHub : auditHub).othersSubscribed = msg.others;
        return;
    }
  };
  process.on('message', onMessage);
  // The primary is gone (killed): stop serving.
  process.once('disconnect', stop);
  send({ type: 'hello' });

  let code = 0;
  const initialKeys = await Promise.race([initialized, stopped.then(() => undefined)]);
  if (initialKeys !== undefined && !stopRequested) {
    try {
      // Keys rotated while the server was starting apply once it runs.
      const ticketKeys = () => Buffer.from(latestTicketKeys ?? initialKeys, 'hex');
      server = await KesServer.start(o.config, { address: o.address, runtime, auditFile: false, maxConnections: o.maxConnections, ticketKeys: ticketKeys() });
      server.setTicketKeys(ticketKeys());
      send({ type: 'ready', ...server.address });
    } catch (err) {
      send({ type: 'failed', message: describeFailure(err) });
      code = 1;
    }
  }
  if (server) {
    const s = server;
    const refreshTls = setInterval(() => {
      if (!o.configFile) return;
      loadConfigFile(o.configFile, o.env)
        .then((c) => s.reloadTls(c))
        .catch((err) => o.stderr.write(`Error: failed to reload TLS certificates: ${describeFailure(err)}\n`));
    }, TLS_REFRESH_MS);
    refreshTls.unref();
    await stopped;
    clearInterval(refreshTls);
    await s.close().catch(() => (code = 1));
  }
  process.off('message', onMessage);
  // The IPC channel would keep the worker alive: let go of it.
  if (process.connected) process.disconnect();
  return code;
}
