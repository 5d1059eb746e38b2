/**
 * The connection limit (`api.max_connections`, an openkes extension): beyond it, Node's
 * net.Server closes new connections at once (`maxConnections`, the 'drop' event) instead of
 * queueing them, and this reporter says so in the error log, at most once per interval. With
 * workers, each worker process has its own limit.
 */

/** At most one error-log line per this interval while connections are being dropped. */
const REPORT_INTERVAL_MS = 60_000;

export class ConnectionLimitReporter {
  private lastReport = -Infinity;
  private dropped = 0;

  /** @param report writes one error-log line */
  constructor(private readonly report: (message: string) => void) {}

  /** A connection was closed because `limit` connections are open. */
  onDrop(limit: number, now = performance.now()): void {
    this.dropped++;
    if (now - this.lastReport < REPORT_INTERVAL_MS) return;
    const more = this.dropped > 1 ? ` (${this.dropped} connections closed since the last report)` : '';
    this.report(`http: connection limit of ${limit} reached: new connections are closed${more}`);
    this.lastReport = now;
    this.dropped = 0;
  }
}
