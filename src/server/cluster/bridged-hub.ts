/**
 * A log event hub that spans the workers of a cluster: events published in one worker reach
 * the subscribers of every worker, through the primary. Events cross processes only while some
 * other worker has a subscriber, or the primary records them (`log.audit_file`), so an idle
 * log stream costs nothing.
 */
import { EventHub, type Subscriber } from '../../log/event-hub.js';

export class BridgedHub<T> extends EventHub<T> {
  /** Set by the primary: whether other workers have subscribers. */
  othersSubscribed = false;

  /** Set from the config: the primary records every event (the audit file), so all are forwarded. */
  forwardAll = false;

  constructor(
    private readonly forward: (event: T) => void,
    private readonly countChanged: (count: number) => void,
  ) {
    super();
  }

  override subscribe(fn: Subscriber<T>): () => void {
    const unsubscribe = super.subscribe(fn);
    this.countChanged(this.size);
    return () => {
      unsubscribe();
      this.countChanged(this.size);
    };
  }

  override get active(): boolean {
    return this.size > 0 || this.othersSubscribed || this.forwardAll;
  }

  /** Publishes a local event: to local subscribers, and to the primary when it or other workers listen. */
  override publish(event: T): number {
    if (this.othersSubscribed || this.forwardAll) this.forward(event);
    return super.publish(event);
  }

  /** Delivers an event that another worker published. */
  deliver(event: T): void {
    super.publish(event);
  }
}
