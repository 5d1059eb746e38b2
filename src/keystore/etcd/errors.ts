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
 * text). gRPC's empty trailing "Resolution note:" is dropped, and its messages for a refused
 * connection and an unknown host name are said in words.
 */
export function errorMessage(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*Resolution note:\s*$/, '');
  const refused = /connect ECONNREFUSED (\S+?)\.?$/m.exec(message);
  if (refused) return `connection refused by ${refused[1]} (is etcd running there?)`;
  const unresolved = /Name resolution failed for target dns:(\S+)/.exec(message);
  if (unresolved) return `cannot resolve the host name of ${unresolved[1]}`;
  return message;
}
