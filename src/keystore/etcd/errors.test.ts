import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EtcdAuthenticationFailedError,
  EtcdError,
  EtcdPermissionDeniedError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCInvalidArgumentError,
  GRPCResourceExhastedError,
  GRPCUnavailableError,
} from 'etcd3';
import { errorMessage, isUnreachable } from './errors.js';

const cases: Array<{ title: string; err: unknown; unreachable: boolean }> = [
  { title: 'connection refused', err: new GRPCUnavailableError('14 UNAVAILABLE: No connection established'), unreachable: true },
  { title: 'no leader / request timed out', err: new GRPCUnavailableError('14 UNAVAILABLE: etcdserver: request timed out'), unreachable: true },
  { title: 'deadline exceeded', err: new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded'), unreachable: true },
  { title: 'call cancelled (channel closed)', err: new GRPCCancelledError('1 CANCELLED: Call cancelled'), unreachable: true },
  { title: 'circuit breaker open', err: Object.assign(new Error('Execution prevented because the circuit breaker is open'), { isBrokenCircuitError: true }), unreachable: true },
  { title: 'authentication failed', err: new EtcdAuthenticationFailedError('etcdserver: authentication failed, invalid user ID or password'), unreachable: false },
  { title: 'permission denied', err: new EtcdPermissionDeniedError('etcdserver: permission denied'), unreachable: false },
  { title: 'request too large', err: new GRPCInvalidArgumentError('3 INVALID_ARGUMENT: etcdserver: request is too large'), unreachable: false },
  { title: 'too many requests', err: new GRPCResourceExhastedError('8 RESOURCE_EXHAUSTED: etcdserver: too many requests'), unreachable: false },
  { title: 'other etcd error', err: new EtcdError('etcdserver: mvcc: database space exceeded'), unreachable: false },
  { title: 'plain error', err: new Error('boom'), unreachable: false },
  { title: 'not an error', err: 'boom', unreachable: false },
];

test('isUnreachable: network, deadline, quorum and breaker failures only', () => {
  for (const c of cases) assert.equal(isUnreachable(c.err), c.unreachable, c.title);
});

test('errorMessage gives the message of errors and the text of anything else', () => {
  assert.equal(errorMessage(new GRPCUnavailableError('14 UNAVAILABLE: x')), '14 UNAVAILABLE: x');
  assert.equal(errorMessage('text'), 'text');
  const refused = '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ';
  assert.equal(errorMessage(new GRPCUnavailableError(refused)), 'connection refused by 127.0.0.1:1 (is etcd running there?)');
  const unresolved = '14 UNAVAILABLE: Name resolution failed for target dns:nope.invalid:2379';
  assert.equal(errorMessage(new GRPCUnavailableError(unresolved)), 'cannot resolve the host name of nope.invalid:2379');
  assert.equal(errorMessage(new Error('x. Resolution note: dns failed')), 'x. Resolution note: dns failed', 'a note with content is kept');
});
