/**
 * The live audit stream of the console: while at least one page listens, the console follows
 * `/v1/log/audit` of every server and hands each event to every listener. A stream that breaks
 * is followed again after a pause; when the last listener leaves, the streams are closed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent } from '../client/types.js';
import type { AuditEntry } from './api-types.js';
import type { Server } from './backend.js';

/** How long to wait before following a broken stream again. */
const RETRY_MS = 2000;

export type AuditListener = (entry: AuditEntry) => void;

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
  private readonly listeners = new Set<AuditListener>();
  private following: { abort: AbortController; done: Promise<void> } | undefined;

  constructor(private readonly servers: readonly Server[]) {}

  /** Calls listener with every audit event from now on; returns the unsubscribe function. */
  subscribe(listener: AuditListener): () => void {
    this.listeners.add(listener);
    if (!this.following) {
      const abort = new AbortController();
      this.following = { abort, done: Promise.all(this.servers.map((s) => this.follow(s, abort.signal))).then(() => undefined) };
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.stop();
    };
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
          const entry = auditEntry(server.endpoint, event);
          for (const listener of this.listeners) listener(entry);
        }
      } catch {
        // The stream broke (server restarted, network): follow it again after a pause.
      }
      await sleep(RETRY_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.stop();
  }
}
