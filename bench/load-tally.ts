/**
 * What a closed-loop HTTP/2 load counts (h2-load.ts, h2-raw-load.ts): answers, errors and exact
 * latencies of the requests that ended before the deadline, and the load generator's CPU share.
 * Each request slot sends its next request when the last one ended, until the deadline.
 */
import type { HttpResult } from './load-spec.js';
import { percentile } from './stats.js';

/** After the deadline, how long in-flight requests may take before they count as errors. */
const DRAIN_MS = 10_000;

export class LoadTally {
  readonly latencies: number[] = [];
  requests = 0;
  errors = 0;
  non2xx = 0;
  /** No request is sent from then on (performance.now()); none before the load begins. */
  deadline = Infinity;
  private busySlots = 0;
  private allIdle: () => void = () => undefined;
  private idle: Promise<void> = Promise.resolve();
  private startedAt = 0;
  private cpuBefore: NodeJS.CpuUsage = process.cpuUsage();

  /** Starts the measured time for `slots` request slots (the connections are already set up). */
  begin(slots: number, durationS: number): void {
    this.cpuBefore = process.cpuUsage();
    this.startedAt = performance.now();
    this.deadline = this.startedAt + durationS * 1000;
    this.busySlots = slots;
    this.idle = new Promise<void>((resolve) => (this.allIdle = resolve));
  }

  /** A slot found the deadline passed and sends no more. */
  slotIdle(): void {
    if (--this.busySlots === 0) this.allIdle();
  }

  /** A request sent at sentAt ended now: ok (its response was read) or not; 2xx or not. */
  record(ok: boolean, is2xx: boolean, sentAt: number, now: number): void {
    if (now > this.deadline) return;
    if (!ok) this.errors++;
    else {
      this.requests++;
      if (is2xx) this.latencies.push(now - sentAt);
      else this.non2xx++;
    }
  }

  /**
   * Waits until every slot is idle, at most DRAIN_MS past the deadline; the requests still in
   * flight then (a stuck server: `inFlight()` of them) are errors.
   */
  async result(durationS: number, inFlight: () => number): Promise<HttpResult> {
    let drained = true;
    await Promise.race([this.idle, new Promise<void>((resolve) => setTimeout(() => ((drained = false), resolve()), durationS * 1000 + DRAIN_MS).unref())]);
    const cpu = process.cpuUsage(this.cpuBefore);
    const elapsedMs = performance.now() - this.startedAt;
    if (!drained) this.errors += inFlight();
    const sorted = Float64Array.from(this.latencies).sort();
    return {
      reqPerSec: this.requests / durationS,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      requests: this.requests,
      errors: this.errors,
      non2xx: this.non2xx,
      clientCpu: (cpu.user + cpu.system) / 1000 / elapsedMs,
    };
  }
}
