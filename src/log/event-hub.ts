/**
 * Fan-out of log events to the subscribers of `/v1/log/error` and `/v1/log/audit`.
 * Publishing never blocks: each subscriber decides what to do with a slow reader.
 */
export type Subscriber<T> = (event: T) => void;

export class EventHub<T> {
  private readonly subscribers = new Set<Subscriber<T>>();

  /** Adds a subscriber; returns the function that removes it. */
  subscribe(fn: Subscriber<T>): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Delivers event to every subscriber; returns how many received it. */
  publish(event: T): number {
    for (const fn of this.subscribers) fn(event);
    return this.subscribers.size;
  }

  /** Number of local subscribers. */
  get size(): number {
    return this.subscribers.size;
  }

  /** Reports whether a published event would reach anyone (worth building it). */
  get active(): boolean {
    return this.subscribers.size > 0;
  }
}
