/**
 * Classification of the errors the etcd3 client rejects with. The client turns gRPC statuses
 * into typed errors (GRPCUnavailableError, GRPCDeadlineExceededError, ...); etcd reports a lost
 * quorum, a missing leader and its own request time-outs as gRPC UNAVAILABLE.
 */
import { GRPCCancelledError, GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';

/**
 * Reports whether err means that the cluster could not be reached: a connection that failed
 * or was lost, no answer before the deadline, a cluster without quorum or leader, or every
 * endpoint's circuit breaker open after repeated failures.
 */
export function isUnreachable(err: unknown): boolean {
  return (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    err instanceof GRPCCancelledError ||
    isBrokenCircuit(err)
  );
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
