/**
 * The primary process of `kes server --workers N`: forks the workers (they share the listening
 * port through node:cluster), prints the banner once they listen, relays metrics and log events
 * between them, forwards SIGHUP as a reload and SIGINT/SIGTERM as a graceful shutdown, and
 * replaces a worker that dies, with back-off, for as long as the server runs. It writes
 * `log.audit_file`: the workers forward every audit event, so there is one file and one hash
 * chain.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Writable } from 'node:stream';
import { loadConfigFile } from '../../config/parse-config.js';
import { addSnapshot, emptySnapshot, type MetricsSnapshot } from '../../metrics/metrics.js';
import { describeFailure } from '../error-response.js';
import { loadTlsMaterial } from '../tls.js';
import { ticketLifetimeMs, TicketKeyRotation } from '../session-tickets.js';
import type { ServerConfig } from '../../config/types.js';
import { AuditFileSink } from '../../log/audit-file-sink.js';
import { ErrorLog } from '../../log/error-log.js';
import { EventHub } from '../../log/event-hub.js';
import { decodeAuditEvent, isMessage, type CacheToPrimary, type LogKind, type ToPrimary, type ToWorker } from './messages.js';
import { PrimaryCache } from './cache-replicas.js';
import { keeperLog } from '../state.js';
import type { ErrorEvent } from '../../log/error-log.js';

export interface PrimaryOptions {
  workers: number;
  /** The config the workers start with. */
  config: ServerConfig;
  configFile?: string;
  env: Record<string, string | undefined>;
  stdout: Writable;
  stderr: Writable;
  /** Prints the banner for the address the workers listen on. */
  banner: (host: string, port: number) => string;
}

const TLS_REFRESH_MS = 15 * 60_000;

/**
 * Restart back-off: the first few restarts within a minute are immediate, later ones wait
 * twice as long each time, up to 30 s. A crashed worker is always replaced: giving up would let
 * a client that can crash a worker stop the whole server.
 */
const RESTART_WINDOW_MS = 60_000;
const IMMEDIATE_RESTARTS = 3;
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

/** The delay before restarting a worker, given the restarts within the last minute (this one included). */
export function restartDelayMs(recentRestarts: number): number {
  if (recentRestarts <= IMMEDIATE_RESTARTS) return 0;
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (recentRestarts - IMMEDIATE_RESTARTS - 1));
}

/** The primary's error log events, relayed to the workers whose clients follow /v1/log/error. */
class WorkerRelayHub extends EventHub<ErrorEvent> {
  constructor(
    private readonly targets: () => Worker[],
    private readonly relay: (worker: Worker, event: ErrorEvent) => void,
  ) {
    super();
  }

  override get active(): boolean {
    return this.targets().length > 0;
  }

  override publish(event: ErrorEvent): number {
    const targets = this.targets();
    for (const w of targets) this.relay(w, event);
    return targets.length;
  }
}

export async function runPrimary(o: PrimaryOptions): Promise<number> {
  // The audit file, opened before the workers start; its errors go to stderr.
  const audit = new AuditFileSink();
  let current = o.config;
  const applyAuditFile = async (config: ServerConfig) => {
    if (!config.log.auditFile) return audit.close();
    audit.configure(config.log.auditFile, await loadTlsMaterial(config.tls), new ErrorLog(config.log.error, o.stderr, new EventHub()));
  };
  try {
    await applyAuditFile(o.config);
  } catch (err) {
    o.stderr.write(`Error: ${describeFailure(err)}\n`);
    return 1;
  }
  // Certificates may be renewed with a new key: checkpoints are signed with the current one.
  const refreshKey = setInterval(() => {
    if (!o.configFile || !current.log.auditFile) return;
    loadConfigFile(o.configFile, o.env)
      .then((c) => loadTlsMaterial(c.tls))
      .then((tls) => audit.updateKey(tls))
      .catch(() => undefined); // The workers report TLS reload errors.
  }, TLS_REFRESH_MS);
  refreshKey.unref();

  // One set of ticket keys for all workers (a session resumes on any), rotated every ticket
  // lifetime and on every reload (session-tickets.ts).
  const tickets = new TicketKeyRotation((keys) => {
    for (const w of live()) send(w, { type: 'ticket-keys', ticketKeys: keys.toString('hex') });
  });
  const subscribers: Record<LogKind, Map<number, number>> = { error: new Map(), audit: new Map() };
  // A worker's metrics request: the id it used, the workers still to answer, the running sum.
  const metricRequests = new Map<number, { from: Worker; replyId: number; waiting: Set<number>; sum: MetricsSnapshot; timer: NodeJS.Timeout }>();
  const reloads = new Map<number, { waiting: Set<number>; errors: string[] }>();
  const restarts: number[] = [];
  const pendingRestarts = new Set<NodeJS.Timeout>();
  let nextId = 1;
  let started = false;
  let stopping = false;

  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
  const send = (w: Worker, m: ToWorker) => {
    if (w.isConnected()) w.send(m);
  };

  // The server's one key cache: the keeper here, with its own store connection; the workers'
  // caches are its replicas. Its reports go to stderr and to the workers' log subscribers.
  const errorRelay = new WorkerRelayHub(
    () => live().filter((w) => (subscribers.error.get(w.id) ?? 0) > 0),
    (w, event) => send(w, { type: 'event', kind: 'error', event }),
  );
  let cache: PrimaryCache;
  try {
    cache = await PrimaryCache.start(o.config, live, send, keeperLog(new ErrorLog(o.config.log.error, o.stderr, errorRelay)));
  } catch (err) {
    clearInterval(refreshKey);
    audit.close();
    o.stderr.write(`Error: ${describeFailure(err)}\n`);
    return 1;
  }

  return new Promise<number>((resolve) => {
    let ready = 0;

    const finish = (code: number) => {
      clearInterval(refreshKey);
      void cache.close();
      tickets.stop();
      for (const timer of pendingRestarts) clearTimeout(timer);
      audit.close();
      process.off('SIGHUP', onHup);
      process.off('SIGINT', onStop);
      process.off('SIGTERM', onStop);
      resolve(code);
    };

    const shutdown = (code: number) => {
      if (stopping) return;
      stopping = true;
      const workers = live();
      const force = setTimeout(() => workers.forEach((w) => w.process.kill('SIGKILL')), 5000);
      let left = workers.length;
      if (left === 0) {
        clearTimeout(force);
        return finish(code);
      }
      for (const w of workers) {
        w.once('exit', () => {
          if (--left === 0) {
            clearTimeout(force);
            finish(code);
          }
        });
        send(w, { type: 'shutdown' });
      }
    };

    const updateSubscribers = (kind: LogKind) => {
      const counts = subscribers[kind];
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      for (const w of live()) send(w, { type: 'subscribers', kind, others: total - (counts.get(w.id) ?? 0) > 0 });
    };

    const finishMetrics = (id: number) => {
      const r = metricRequests.get(id);
      if (!r) return;
      clearTimeout(r.timer);
      metricRequests.delete(id);
      send(r.from, { type: 'metrics-result', id: r.replyId, snapshot: r.sum });
    };

    const onMessage = (w: Worker, m: unknown) => {
      if (!isMessage(m)) return;
      const msg = m as ToPrimary;
      if (msg.type.startsWith('cache-')) return cache.receive(w, msg as CacheToPrimary);
      switch (msg.type) {
        case 'hello':
          return send(w, { type: 'init', ticketKeys: tickets.keys.toString('hex') });
        case 'ready':
          cache.ready(w);
          if (started) o.stderr.write(`=> Worker ${w.process.pid} is serving\n`);
          else if (++ready === o.workers) {
            started = true;
            o.stdout.write(o.banner(msg.host, msg.port));
          }
          return;
        case 'failed':
          // At start-up a config that cannot serve is refused; later, the worker exits and is
          // replaced with back-off.
          if (started) return void o.stderr.write(`Error: a new worker failed to start: ${msg.message}\n`);
          o.stderr.write(`Error: ${msg.message}\n`);
          return shutdown(1);
        case 'metrics-request': {
          const workers = live();
          const id = nextId++;
          const timer = setTimeout(() => finishMetrics(id), 2000);
          metricRequests.set(id, { from: w, replyId: msg.id, waiting: new Set(workers.map((x) => x.id)), sum: emptySnapshot(), timer });
          for (const x of workers) send(x, { type: 'metrics-collect', id });
          return;
        }
        case 'metrics-snapshot': {
          const r = metricRequests.get(msg.id);
          if (!r) return;
          addSnapshot(r.sum, msg.snapshot);
          r.waiting.delete(w.id);
          if (r.waiting.size === 0) finishMetrics(msg.id);
          return;
        }
        case 'event':
          if (msg.kind === 'audit') audit.write(decodeAuditEvent(msg.event));
          for (const x of live()) if (x.id !== w.id && (subscribers[msg.kind].get(x.id) ?? 0) > 0) send(x, { type: 'event', kind: msg.kind, event: msg.event });
          return;
        case 'subscribers':
          subscribers[msg.kind].set(w.id, msg.count);
          return updateSubscribers(msg.kind);
        case 'reloaded': {
          const r = reloads.get(msg.id);
          if (!r) return;
          if (msg.error) r.errors.push(msg.error);
          r.waiting.delete(w.id);
          if (r.waiting.size === 0) {
            reloads.delete(msg.id);
            if (r.errors.length === 0) o.stderr.write(`=> Reloaded config file '${o.configFile}'\n`);
            else o.stderr.write(`Error: failed to reload config file '${o.configFile}': ${r.errors[0]}\n`);
          }
          return;
        }
      }
    };

    const fork = () => {
      const w = cluster.fork();
      w.on('message', (m) => onMessage(w, m));
      w.on('exit', (code, signal) => {
        cache.gone(w);
        for (const kind of ['error', 'audit'] as const) {
          subscribers[kind].delete(w.id);
          updateSubscribers(kind);
        }
        if (stopping) return;
        if (!started) return shutdown(1);
        const now = Date.now();
        restarts.push(now);
        while (restarts.length && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
        const delay = restartDelayMs(restarts.length);
        const when = delay === 0 ? '' : ` in ${delay / 1000} s (${restarts.length} restarts within a minute)`;
        o.stderr.write(`Error: worker ${w.process.pid} exited (${signal ?? `code ${code}`}); starting a new one${when}\n`);
        const timer = setTimeout(() => {
          pendingRestarts.delete(timer);
          if (!stopping) fork();
        }, delay);
        pendingRestarts.add(timer);
      });
    };

    const onHup = () => {
      if (!o.configFile || stopping) return;
      const file = o.configFile;
      loadConfigFile(file, o.env)
        .then(async (config) => {
          await applyAuditFile(config);
          await cache.reload(config);
          current = config;
          tickets.rotate(ticketLifetimeMs(config.tls));
          const workers = live();
          const id = nextId++;
          reloads.set(id, { waiting: new Set(workers.map((w) => w.id)), errors: [] });
          for (const w of workers) send(w, { type: 'reload', id });
        })
        .catch((err) => o.stderr.write(`Error: failed to reload config file '${file}': ${describeFailure(err)}\n`));
    };
    const onStop = () => {
      if (!stopping) o.stdout.write('\n=> Stopping server... Goodbye.\n');
      shutdown(0);
    };
    process.on('SIGHUP', onHup);
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
    tickets.rotate(ticketLifetimeMs(o.config.tls));
    for (let i = 0; i < o.workers; i++) fork();
  });
}
