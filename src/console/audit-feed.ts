/**
 * The live audit stream of the console: while at least one page listens, the console follows
 * `/v1/log/audit` of every server and hands each event to every listener. A stream that breaks
 * is followed again after a pause; when the last listener leaves, the streams are closed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent } from '../client/types.js';
import type { AuditEntry, AuditProblem } from './api-types.js';
import type { Server } from './backend.js';
import { errorAnswer } from './errors.js';

/** How long to wait before following a broken stream again. */
const RETRY_MS = 2000;

export type AuditListener = (entry: AuditEntry) => void;
/** Why a server's stream is broken (message), or that it works again (''). */
export type ProblemListener = (problem: AuditProblem) => void;

export function auditEntry(server: string, e: AuditEvent): AuditEntry {
  return {
    server,
    time: e.time.toISOString(),
    identity: e.request.identity,
    ip: e.request.ip,
    path: e.request.path,
    status: e.response.code,
    durationMs: e.response.time / 1e6,
  };
}

export class AuditFeed {
  private readonly listeners = new Set<{ entry: AuditListener; problem: ProblemListener }>();
  /** The servers whose stream is broken now, and why. */
  private readonly problems = new Map<string, string>();
  private following: { abort: AbortController; done: Promise<void> } | undefined;

  constructor(private readonly servers: readonly Server[]) {}

  /**
   * Calls entry with every audit event from now on, and problem when a server's stream breaks
   * or works again (at once for those broken now); returns the unsubscribe function.
   */
  subscribe(entry: AuditListener, problem: ProblemListener = () => undefined): () => void {
    const listener = { entry, problem };
    this.listeners.add(listener);
    for (const [server, message] of this.problems) problem({ server, message });
    if (!this.following) {
      const abort = new AbortController();
      this.following = { abort, done: Promise.all(this.servers.map((s) => this.follow(s, abort.signal))).then(() => undefined) };
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.stop();
    };
  }

  private report(server: string, message: string): void {
    if ((this.problems.get(server) ?? '') === message) return;
    if (message === '') this.problems.delete(server);
    else this.problems.set(server, message);
    for (const l of this.listeners) l.problem({ server, message });
  }

  private async stop(): Promise<void> {
    const following = this.following;
    this.following = undefined;
    following?.abort.abort();
    await following?.done;
  }

  private async follow(server: Server, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const event of server.client.auditLog({ signal })) {
          this.report(server.endpoint, '');
          const entry = auditEntry(server.endpoint, event);
          for (const l of this.listeners) l.entry(entry);
        }
        if (!signal.aborted) this.report(server.endpoint, 'the server closed the audit stream');
      } catch (err) {
        // Refused (the operator may not read the audit log), or broken (a restart, the network):
        // the page says so, and the stream is followed again after a pause.
        if (!signal.aborted) this.report(server.endpoint, errorAnswer(err).message);
      }
      await sleep(RETRY_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.problems.clear();
    await this.stop();
  }
}
