import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timestamp } from './time.js';

test('formats like Go RFC3339Nano (trailing zeros trimmed)', () => {
  assert.equal(new Timestamp(1705055960n, 886816000).toString(), '2024-01-12T10:39:20.886816Z');
  assert.equal(new Timestamp(1705055960n, 0).toString(), '2024-01-12T10:39:20Z');
  assert.equal(new Timestamp(1705055960n, 1).toString(), '2024-01-12T10:39:20.000000001Z');
  assert.equal(new Timestamp(0n, 0).toString(), '1970-01-01T00:00:00Z');
  assert.equal(Timestamp.ZERO.toString(), '0001-01-01T00:00:00Z');
  assert.equal(new Timestamp(1705055960n, 500000000, 7200).toString(), '2024-01-12T12:39:20.5+02:00');
  assert.equal(new Timestamp(1705055960n, 0, -5 * 3600 - 1800).toString(), '2024-01-12T05:09:20-05:30');
  assert.equal(new Timestamp(951782400n, 0).toString(), '2000-02-29T00:00:00Z');
});

test('parses RFC 3339 with offsets and up to nanoseconds', () => {
  const t = Timestamp.parse('2024-01-12T11:39:20.886816+01:00')!;
  assert.equal(t.seconds, 1705055960n);
  assert.equal(t.nanos, 886816000);
  assert.equal(t.toString(), '2024-01-12T11:39:20.886816+01:00');
  assert.equal(t.utc().toString(), '2024-01-12T10:39:20.886816Z');
  assert.ok(Timestamp.parse('0001-01-01T00:00:00Z')!.isZero());
  assert.equal(Timestamp.parse('2009-11-10T23:00:00Z')!.toString(), '2009-11-10T23:00:00Z');
  for (const bad of ['', '2024-01-12', '2024-13-01T00:00:00Z', '2023-02-29T00:00:00Z', '2024-01-12T24:00:00Z', '2024-01-12T10:00:00', '2024-01-12T10:00:00.Z', '2024-01-12T10:00:00.1234567890Z']) {
    assert.equal(Timestamp.parse(bad), undefined, bad);
  }
});

test('round trips through text for many instants', () => {
  for (let i = 0; i < 2000; i++) {
    const t = new Timestamp(BigInt(Math.floor((Math.random() - 0.3) * 1e11)), Math.floor(Math.random() * 1e9));
    const back = Timestamp.parse(t.toString())!;
    assert.ok(back.equals(t), t.toString());
  }
});

test('now() is close to Date.now() and carries sub-millisecond precision', () => {
  const t = Timestamp.now();
  assert.ok(Math.abs(t.toMillis() - Date.now()) < 1000);
  assert.equal(Timestamp.fromDate(new Date(0)).toString(), '1970-01-01T00:00:00Z');
  assert.equal(Timestamp.fromDate(new Date(-1)).toString(), '1969-12-31T23:59:59.999Z');
  assert.equal(Timestamp.fromSecondsNanos(1n, -1).toString(), '1970-01-01T00:00:00.999999999Z');
});
