import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerMetrics } from '../client/types.js';
import { latencyQuantile, sampleOf } from './metrics-feed.js';

/** Metrics with a cumulative histogram (upper bound s → count) and request counters. */
function metrics(latency: [number, number][], count: number, ok = 0, err = 0, fail = 0): ServerMetrics {
  return {
    requestOK: ok, requestErr: err, requestFail: fail, requestActive: 0, auditEvents: 0, errorEvents: 0,
    latency: new Map(latency), latencyCount: count, latencySum: 0,
    upTime: 0, cpus: 1, usableCpus: 1, threads: 1, heapAlloc: 0, heapObjects: 0, stackAlloc: 0,
  };
}

it('interpolates a percentile inside its bucket, over the requests between two scrapes', () => {
  const prev = metrics([[0.001, 100], [0.002, 100], [0.004, 100]], 100);
  // 100 new requests: 50 under 1 ms, 50 between 2 and 4 ms.
  const cur = metrics([[0.001, 150], [0.002, 150], [0.004, 200]], 200);
  assert.equal(latencyQuantile(prev, cur, 0.5), 1);
  assert.ok(Math.abs(latencyQuantile(prev, cur, 0.75)! - 3) < 1e-9);
  assert.ok(Math.abs(latencyQuantile(prev, cur, 0.99)! - 3.96) < 1e-9);
});

it('has no percentile without requests, and the last bound when they took longer', () => {
  const m = metrics([[0.001, 5]], 5);
  assert.equal(latencyQuantile(m, m, 0.5), null);
  const slow = metrics([[0.001, 5]], 10);
  assert.equal(latencyQuantile(m, slow, 0.99), 1);
});

it('rates are per second over the interval, never negative (a server restarted in between)', () => {
  const s = sampleOf(metrics([], 0, 10, 4, 0), metrics([], 0, 30, 6, 1), 5000, 2000);
  assert.deepEqual([s.success, s.error, s.failure, s.time], [10, 1, 0.5, 5000]);
  const restarted = sampleOf(metrics([], 0, 1000), metrics([], 0, 3), 1, 1000);
  assert.equal(restarted.success, 0);
});
