/**
 * Route time-outs for many requests with one timer: each in-flight request registers its
 * deadline, and a coarse tick (100 ms) fires the ones that passed. Cheaper than a timer per
 * request on the hot path; a deadline fires at most one tick late. The pending requests form an
 * intrusive doubly linked list, so registering and removing one neither allocates nor hashes.
 */

export interface Expirable {
  /** In milliseconds on the performance.now() clock. */
  readonly deadline: number;
  expire(): void;
  /** List links, owned by {@link Deadlines}. */
  prev: Expirable | undefined;
  next: Expirable | undefined;
}

const TICK_MS = 100;

export class Deadlines {
  private head: Expirable | undefined;
  private timer: NodeJS.Timeout | undefined;

  add(e: Expirable): void {
    e.prev = undefined;
    e.next = this.head;
    if (this.head) this.head.prev = e;
    this.head = e;
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    }
  }

  /** Removes e; a no-op when it is not registered. */
  delete(e: Expirable): void {
    if (e.prev) e.prev.next = e.next;
    else if (this.head === e) this.head = e.next;
    else return;
    if (e.next) e.next.prev = e.prev;
    e.prev = e.next = undefined;
  }

  private tick(): void {
    if (!this.head) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = performance.now();
    for (let e: Expirable | undefined = this.head; e; ) {
      const next: Expirable | undefined = e.next;
      if (e.deadline <= now) {
        this.delete(e);
        e.expire();
      }
      e = next;
    }
  }
}

/** The process's deadlines. */
export const deadlines = new Deadlines();
