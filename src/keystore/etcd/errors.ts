/**
 * Classification of the errors the etcd3 client rejects with. The client turns gRPC statuses
 * into typed errors (GRPCUnavailableError, GRPCDeadlineExceededError, ...); etcd reports a lost
 * quorum, a missing leader and its own request time-outs as gRPC UNAVAILABLE.
 */

/** The etcd3 error classes that mean "not reached" (by class name: etcd3 is loaded lazily). */
const UNREACHABLE = new Set(['GRPCUnavailableError', 'GRPCDeadlineExceededError', 'GRPCCancelledError']);

/**
 * Reports whether err means that the cluster could not be reached: a connection that failed
 * or was lost, no answer before the deadline, a cluster without quorum or leader, or every
 * endpoint's circuit breaker open after repeated failures.
 */
export function isUnreachable(err: unknown): boolean {
  return classNames(err).some((name) => UNREACHABLE.has(name)) || isBrokenCircuit(err);
}

/** The names of the classes an error is an instance of, from its own up to Error. */
function classNames(err: unknown): string[] {
  const names: string[] = [];
  if (!(err instanceof Error)) return names;
  for (let proto = Object.getPrototypeOf(err) as object | null; proto && proto !== Error.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    names.push((proto as { constructor: { name: string } }).constructor.name);
  }
  return names;
}

// The etcd3 client guards each endpoint with a circuit breaker (cockatiel), whose errors carry
// this marker.
function isBrokenCircuit(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { isBrokenCircuitError?: unknown }).isBrokenCircuitError === true;
}

/**
 * The message of an error the client rejected with, for a log line (anything not an Error as
 * text). gRPC's empty trailing "Resolution note:" is dropped.
 */
export function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*Resolution note:\s*$/, '');
}
