/**
 * The console's metrics: every interval it reads each server's `/v1/metrics` and keeps, per
 * server, the last samples of request rates by outcome and latency percentiles — computed from
 * the difference of two scrapes of openkes's fine histogram (from 100 µs; KES's own starts at
 * 10 ms and is used only for KES servers).
 */
import type { KesClient } from '../client/client.js';
import type { ServerMetrics } from '../client/types.js';
import type { MetricSample, MetricsFeed as FeedAnswer } from './api-types.js';

/** Samples kept per server: 5 minutes at the default interval. */
const HISTORY = 150;
/** The feed stops scraping when the page has not asked for this long. */
const IDLE_MS = 60_000;

/**
 * The q-quantile (0 < q < 1) in milliseconds of the requests between two scrapes, interpolated
 * linearly inside its histogram bucket; null when no request finished in between.
 */
export function latencyQuantile(prev: ServerMetrics, cur: ServerMetrics, q: number): number | null {
  const count = cur.latencyCount - prev.latencyCount;
  if (count <= 0) return null;
  const want = q * count;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of [...cur.latency.entries()].sort((a, b) => a[0] - b[0])) {
    const n = cumulative - (prev.latency.get(le) ?? 0);
    if (n >= want) {
      const inBucket = n - below;
      const fraction = inBucket > 0 ? (want - below) / inBucket : 1;
      return (lower + (le - lower) * fraction) * 1000;
    }
    lower = le;
    below = n;
  }
  return lower * 1000; // beyond the last bound: at least that long
}

/** The sample of the interval between two scrapes, ms apart. */
export function sampleOf(prev: ServerMetrics, cur: ServerMetrics, time: number, ms: number): MetricSample {
  const rate = (k: 'requestOK' | 'requestErr' | 'requestFail') => Math.max(0, cur[k] - prev[k]) / (ms / 1000);
  return {
    time,
    success: rate('requestOK'),
    error: rate('requestErr'),
    failure: rate('requestFail'),
    p50: latencyQuantile(prev, cur, 0.5),
    p90: latencyQuantile(prev, cur, 0.9),
    p99: latencyQuantile(prev, cur, 0.99),
    active: cur.requestActive,
  };
}

interface ServerSeries {
  endpoint: string;
  client: KesClient;
  last?: { metrics: ServerMetrics; time: number };
  samples: MetricSample[];
  error?: string;
}

export class MetricsFeed {
  private readonly series: ServerSeries[];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private touched = 0;
  private closed = false;

  constructor(
    servers: readonly { endpoint: string; client: KesClient }[],
    readonly intervalMs = 2000,
    private readonly describeError: (err: unknown) => string = (err) => (err as Error).message,
  ) {
    this.series = servers.map((s) => ({ ...s, samples: [] }));
  }

  /**
   * Keeps the feed scraping while the page asks for it: the first call starts it, and it stops
   * after a minute without one (so an idle console puts no load on the servers).
   */
  touch(): void {
    this.touched = Date.now();
    if (this.timer === undefined && this.running === undefined && !this.closed) this.schedule(0);
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (Date.now() - this.touched > IDLE_MS) {
        for (const s of this.series) delete s.last; // a later start begins a new interval
        return;
      }
      this.running = this.scrape().finally(() => {
        this.running = undefined;
        if (!this.closed) this.schedule(this.intervalMs);
      });
    }, ms);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One scrape of every server. */
  async scrape(): Promise<void> {
    await Promise.all(
      this.series.map(async (s) => {
        try {
          const metrics = await s.client.metrics({ signal: AbortSignal.timeout(this.intervalMs * 2) });
          const time = Date.now();
          if (s.last) {
            s.samples.push(sampleOf(s.last.metrics, metrics, time, time - s.last.time));
            if (s.samples.length > HISTORY) s.samples.shift();
          }
          s.last = { metrics, time };
          delete s.error;
        } catch (err) {
          s.error = this.describeError(err);
          delete s.last; // the next scrape starts a new interval
        }
      }),
    );
  }

  /** The samples after since (unix ms), per server. */
  since(since: number): FeedAnswer {
    return {
      intervalMs: this.intervalMs,
      servers: this.series.map((s) => ({
        endpoint: s.endpoint,
        samples: s.samples.filter((x) => x.time > since),
        ...(s.error !== undefined && { error: s.error }),
      })),
    };
  }

  /** The last scrape of a server (for its status), if it answered. */
  latest(endpoint: string): ServerMetrics | undefined {
    return this.series.find((s) => s.endpoint === endpoint)?.last?.metrics;
  }
}
