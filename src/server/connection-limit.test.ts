import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionLimitReporter } from './connection-limit.js';

test('reports the first dropped connection, then at most once a minute with the count since', () => {
  const lines: string[] = [];
  const reporter = new ConnectionLimitReporter((m) => lines.push(m));
  reporter.onDrop(10, 1000);
  reporter.onDrop(10, 2000);
  reporter.onDrop(10, 60_999);
  assert.deepEqual(lines, ['http: connection limit of 10 reached: new connections are closed']);
  reporter.onDrop(10, 61_000);
  assert.deepEqual(lines.slice(1), ['http: connection limit of 10 reached: new connections are closed (3 connections closed since the last report)']);
  reporter.onDrop(10, 200_000);
  assert.equal(lines.length, 3);
  assert.equal(lines[2], 'http: connection limit of 10 reached: new connections are closed');
});
