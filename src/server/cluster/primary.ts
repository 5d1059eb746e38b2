/**
 * `kes server --workers N`: the primary process runs the server as N worker processes sharing
 * the listening port (node:cluster), a {@link ServerRunner} for the supervisor (supervisor.ts).
 *
 * The primary hands every worker the config (so all serve the same), reloads and refreshes
 * them together, relays metrics and log events between them, keeps the server's one key cache
 * (cache-replicas.ts) and the shared TLS session ticket keys, writes `log.audit_file` (the
 * workers forward every audit event: one file, one hash chain), and replaces a worker that dies,
 * with back-off, for as long as the server runs. Messages: messages.ts.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Writable } from 'node:stream';
import type { ServerConfig } from '../../config/types.js';
import { addSnapshot, emptySnapshot, type MetricsSnapshot } from '../../metrics/metrics.js';
import { AuditFileSink } from '../../log/audit-file-sink.js';
import { ErrorLog, type ErrorEvent } from '../../log/error-log.js';
import { EventHub } from '../../log/event-hub.js';
import { loadTlsMaterial } from '../tls.js';
import { preflight } from '../preflight.js';
import { ticketLifetimeMs, TicketKeyRotation } from '../session-tickets.js';
import { keeperLog } from '../state.js';
import type { ServerRunner } from '../supervisor.js';
import { PrimaryCache } from './cache-replicas.js';
import { backupKeyOf, decodeAuditEvent, dispatch, type Handlers, type LogKind, type ToPrimary, type ToWorker } from './messages.js';

export interface ClusterOptions {
  workers: number;
  /** The config the workers start with. */
  config: ServerConfig;
  /** `--addr`: overrides the config's address. */
  address?: string;
  /** Where the primary reports worker restarts and its own failures. */
  stderr: Writable;
}

/**
 * Restart back-off: the first few restarts within a minute are immediate, later ones wait
 * twice as long each time, up to 30 s. A crashed worker is always replaced: giving up would let
 * a client that can crash a worker stop the whole server.
 */
const RESTART_WINDOW_MS = 60_000;
const IMMEDIATE_RESTARTS = 3;
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
/** How long the workers have to answer a reload, a refresh or a metrics request. */
const ANSWER_TIMEOUT_MS = 30_000;
const METRICS_TIMEOUT_MS = 2_000;
/** How long the workers have to stop before they are killed. */
const STOP_TIMEOUT_MS = 5_000;

/** The delay before restarting a worker, given the restarts within the last minute (this one included). */
export function restartDelayMs(recentRestarts: number): number {
  if (recentRestarts <= IMMEDIATE_RESTARTS) return 0;
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (recentRestarts - IMMEDIATE_RESTARTS - 1));
}

export function clusterRunner(o: ClusterOptions): ServerRunner {
  return new Cluster(o);
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

/** A request to every worker, answered by each ('done', 'metrics-snapshot'). */
interface Round {
  waiting: Set<number>;
  errors: string[];
  finish: () => void;
}

class Cluster implements ServerRunner {
  private config: ServerConfig;
  private readonly audit = new AuditFileSink();
  private cache: PrimaryCache | undefined;
  // One set of ticket keys for all workers (a session resumes on any), rotated every ticket
  // lifetime and on every reload (session-tickets.ts).
  private readonly tickets = new TicketKeyRotation((keys) => this.broadcast({ type: 'ticket-keys', ticketKeys: keys.toString('hex') }));
  private readonly subscribers: Record<LogKind, Map<number, number>> = { error: new Map(), audit: new Map() };
  private readonly rounds = new Map<number, Round>();
  private readonly metrics = new Map<number, { from: Worker; replyId: number; sum: MetricsSnapshot }>();
  private readonly restarts: number[] = [];
  private readonly pendingRestarts = new Set<NodeJS.Timeout>();
  private nextId = 1;
  private started = false;
  private stopping: Promise<void> | undefined;
  private startup: { ready: number; resolve: (a: { host: string; port: number }) => void; reject: (err: Error) => void } | undefined;

  constructor(private readonly o: ClusterOptions) {
    this.config = o.config;
  }

  async start(): Promise<{ host: string; port: number }> {
    // What every worker would need, checked here: a problem is reported once, and no worker starts.
    for (const warning of await preflight(this.config, this.o.address)) this.o.stderr.write(`Warning: ${warning}\n`);
    await this.applyAuditFile(this.config);
    try {
      // The server's one key cache: the keeper here, with its own store connection; the
      // workers' caches are its replicas. Its reports go to stderr and to log subscribers.
      const relay = new WorkerRelayHub(
        () => this.live().filter((w) => (this.subscribers.error.get(w.id) ?? 0) > 0),
        (w, event) => this.send(w, { type: 'event', kind: 'error', event }),
      );
      this.cache = await PrimaryCache.start(this.config, () => this.live(), (w, m) => this.send(w, m), keeperLog(new ErrorLog(this.config.log.error, this.o.stderr, relay)));
    } catch (err) {
      this.audit.close();
      throw err;
    }
    this.tickets.rotate(ticketLifetimeMs(this.config.tls));
    const address = new Promise<{ host: string; port: number }>((resolve, reject) => (this.startup = { ready: 0, resolve, reject }));
    for (let i = 0; i < this.o.workers; i++) this.fork();
    return address;
  }

  async reload(config: ServerConfig): Promise<void> {
    await this.applyAuditFile(config);
    await this.cache!.reload(config);
    this.config = config;
    this.tickets.rotate(ticketLifetimeMs(config.tls));
    await this.everyWorker((id) => ({ type: 'reload', id, config, backupKey: backupKeyOf(config) }));
  }

  async refreshTls(config: ServerConfig): Promise<void> {
    // Certificates may be renewed with a new key: checkpoints are signed with the current one.
    if (this.config.log.auditFile) this.audit.updateKey(await loadTlsMaterial(config.tls));
    await this.everyWorker((id) => ({ type: 'refresh-tls', id, config }));
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const timer of this.pendingRestarts) clearTimeout(timer);
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              const kill = setTimeout(() => w.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
              w.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              this.send(w, { type: 'shutdown' });
            }),
        ),
      );
      this.tickets.stop();
      await this.cache?.close();
      this.audit.close();
    })();
    return this.stopping;
  }

  private readonly handlers: Handlers<ToPrimary, [Worker]> = {
    hello: (_, w) => this.send(w, { type: 'init', config: this.config, backupKey: backupKeyOf(this.config), ticketKeys: this.tickets.keys.toString('hex') }),
    ready: (m, w) => {
      this.cache?.ready(w);
      if (this.started) return void this.o.stderr.write(`=> Worker ${w.process.pid} is serving\n`);
      if (this.startup && ++this.startup.ready === this.o.workers) {
        this.started = true;
        this.startup.resolve({ host: m.host, port: m.port });
      }
    },
    failed: (m) => {
      // At start-up a config that cannot serve is refused; later, the worker exits and is
      // replaced with back-off.
      if (this.started) return void this.o.stderr.write(`Error: a new worker failed to start: ${m.message}\n`);
      this.failStart(new Error(m.message));
    },
    done: (m, w) => {
      const round = this.rounds.get(m.id);
      if (!round) return;
      if (m.error) round.errors.push(m.error);
      this.answered(round, w);
    },
    'metrics-request': (m, w) => {
      const id = this.nextId++;
      this.metrics.set(id, { from: w, replyId: m.id, sum: emptySnapshot() });
      void this.ask(id, (x) => this.send(x, { type: 'metrics-collect', id }), METRICS_TIMEOUT_MS).finally(() => {
        const r = this.metrics.get(id);
        this.metrics.delete(id);
        if (r) this.send(r.from, { type: 'metrics-result', id: r.replyId, snapshot: r.sum });
      });
    },
    'metrics-snapshot': (m, w) => {
      const r = this.metrics.get(m.id);
      const round = this.rounds.get(m.id);
      if (!r || !round) return;
      addSnapshot(r.sum, m.snapshot);
      this.answered(round, w);
    },
    event: (m, w) => {
      if (m.kind === 'audit') this.audit.write(decodeAuditEvent(m.event));
      for (const x of this.live()) if (x.id !== w.id && (this.subscribers[m.kind].get(x.id) ?? 0) > 0) this.send(x, { type: 'event', kind: m.kind, event: m.event });
    },
    subscribers: (m, w) => {
      this.subscribers[m.kind].set(w.id, m.count);
      this.updateSubscribers(m.kind);
    },
    'cache-fill': (m, w) => this.cache?.handlers['cache-fill'](m, w),
    'cache-write': (m, w) => this.cache?.handlers['cache-write'](m, w),
    'cache-evicted': (m, w) => this.cache?.handlers['cache-evicted'](m, w),
    'cache-used': (m, w) => this.cache?.handlers['cache-used'](m, w),
  };

  private fork(): void {
    const w = cluster.fork();
    w.on('message', (m) => dispatch(this.handlers, m, w));
    // IPC to a worker that is exiting fails (EPIPE); its exit is handled below.
    w.on('error', () => undefined);
    w.on('exit', (code, signal) => {
      this.cache?.gone(w);
      for (const round of this.rounds.values()) this.answered(round, w);
      for (const kind of ['error', 'audit'] as const) {
        this.subscribers[kind].delete(w.id);
        this.updateSubscribers(kind);
      }
      if (this.stopping) return;
      if (!this.started) return this.failStart(new Error(`a worker exited (${signal ?? `code ${code}`}) while starting`));
      const now = Date.now();
      this.restarts.push(now);
      while (this.restarts.length && this.restarts[0]! < now - RESTART_WINDOW_MS) this.restarts.shift();
      const delay = restartDelayMs(this.restarts.length);
      const when = delay === 0 ? '' : ` in ${delay / 1000} s (${this.restarts.length} restarts within a minute)`;
      this.o.stderr.write(`Error: worker ${w.process.pid} exited (${signal ?? `code ${code}`}); starting a new one${when}\n`);
      const timer = setTimeout(() => {
        this.pendingRestarts.delete(timer);
        if (!this.stopping) this.fork();
      }, delay);
      this.pendingRestarts.add(timer);
    });
  }

  /** The start failed: the other workers stop, then start() rejects. */
  private failStart(err: Error): void {
    const startup = this.startup;
    if (!startup) return;
    this.startup = undefined;
    void this.stop().then(() => startup.reject(err));
  }

  private async applyAuditFile(config: ServerConfig): Promise<void> {
    if (!config.log.auditFile) return this.audit.close();
    this.audit.configure(config.log.auditFile, await loadTlsMaterial(config.tls), new ErrorLog(config.log.error, this.o.stderr, new EventHub()));
  }

  /** Sends every worker its message of a round; rejects with the first worker's error. */
  private async everyWorker(message: (id: number) => ToWorker): Promise<void> {
    const id = this.nextId++;
    const errors = await this.ask(id, (w) => this.send(w, message(id)), ANSWER_TIMEOUT_MS);
    if (errors.length > 0) throw new Error(errors[0]);
  }

  /** Asks every live worker; resolves with their errors once all answered, left or timed out. */
  private ask(id: number, send: (w: Worker) => void, timeoutMs: number): Promise<string[]> {
    const workers = this.live();
    return new Promise((resolve) => {
      const round: Round = {
        waiting: new Set(workers.map((w) => w.id)),
        errors: [],
        finish: () => {
          clearTimeout(timer);
          this.rounds.delete(id);
          resolve(round.errors);
        },
      };
      const timer = setTimeout(() => {
        round.errors.push(`no answer from ${round.waiting.size} worker(s) within ${timeoutMs / 1000} s`);
        round.finish();
      }, timeoutMs);
      this.rounds.set(id, round);
      for (const w of workers) send(w);
      if (round.waiting.size === 0) round.finish();
    });
  }

  private answered(round: Round, w: Worker): void {
    if (round.waiting.delete(w.id) && round.waiting.size === 0) round.finish();
  }

  private updateSubscribers(kind: LogKind): void {
    const counts = this.subscribers[kind];
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    for (const w of this.live()) this.send(w, { type: 'subscribers', kind, others: total - (counts.get(w.id) ?? 0) > 0 });
  }

  private live(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
  }

  /** Sends a message; a worker that is exiting may not take it, which is not an error here. */
  private send(w: Worker, m: ToWorker): void {
    if (w.isConnected()) w.send(m, undefined, undefined, () => undefined);
  }

  private broadcast(m: ToWorker): void {
    for (const w of this.live()) this.send(w, m);
  }
}
