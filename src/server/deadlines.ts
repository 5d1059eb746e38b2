/**
 * Route time-outs for many requests with one timer: each in-flight request registers its
 * deadline, and a coarse tick (100 ms) fires the ones that passed. Cheaper than a timer per
 * request on the hot path; a deadline fires at most one tick late.
 */

export interface Expirable {
  /** In milliseconds on the performance.now() clock. */
  readonly deadline: number;
  expire(): void;
}

const TICK_MS = 100;

export class Deadlines {
  private readonly pending = new Set<Expirable>();
  private timer: NodeJS.Timeout | undefined;

  add(e: Expirable): void {
    this.pending.add(e);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    }
  }

  delete(e: Expirable): void {
    this.pending.delete(e);
  }

  private tick(): void {
    if (this.pending.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = performance.now();
    for (const e of this.pending) {
      if (e.deadline <= now) {
        this.pending.delete(e);
        e.expire();
      }
    }
  }
}

/** The process's deadlines. */
export const deadlines = new Deadlines();
