/** `kes metric` on a terminal: the dashboard fits a short terminal, and latency percentiles are honest. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ApiKey } from '../../src/auth/api-key.js';
import { runMain } from '../../src/cli/main.js';
import { dashboard, fitLines, latencyBound, type MetricTick } from '../../src/cli/commands/metric.js';
import { serverMetrics } from '../../src/client/parse.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { kes, MemoryStream } from '../helpers/cli-io.js';

/** A terminal of rows × columns. */
class Terminal extends MemoryStream {
  constructor(readonly rows: number, readonly columns: number) {
    super(true);
  }
}

const BUCKETS_MS = [10, 50, 100, 250, 500, 1000, 1500, 3000, 5000, 10000];

describe('kes metric dashboard', () => {
  let t: TestServer;
  let env: Record<string, string>;
  const admin = ApiKey.generate();
  before(async () => {
    t = await startTestServer((config) => {
      config.admin = admin.identity;
    });
    env = { NO_COLOR: '1', KES_SERVER: `127.0.0.1:${t.port}`, KES_API_KEY: admin.toString(), KES_CAPATH: join(t.dir, 'ca.crt') };
  });
  after(() => t.close());

  test('on a terminal of 8 rows every frame keeps its header and fits', async () => {
    for (let i = 0; i < 5; i++) await kes(['key', 'ls'], env);
    const stdout = new Terminal(8, 80);
    const controller = new AbortController();
    const done = runMain(['metric', '--rate', '50ms'], { stdout, stderr: new MemoryStream(), env, signal: controller.signal });
    for (let i = 0; i < 100 && stdout.text.split('\x1b[2J').length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await done;
    const frames = stdout.text.split('\x1b[H\x1b[2J').slice(1);
    assert.ok(frames.length >= 3, stdout.text);
    for (const frame of frames) {
      const lines = frame.replace(/\n$/, '').split('\n');
      assert.ok(lines.length <= 8, frame);
      assert.match(lines[0]!, new RegExp(`^KES https://127\\.0\\.0\\.1:${t.port}   up \\d+s$`));
      assert.match(frame, /\nLatency\s+avg /);
      // openkes's histogram starts at 100 µs (KES's at 10 ms): its first bucket has no lower bound.
      assert.doesNotMatch(frame, /≤ 0\.10ms/, 'the first bucket has no lower bound');
    }
    assert.match(frames[0]!, /p50 (< [\d.]+ms|≤ [\d.]+ms)/, 'the first frame counts the requests since the start');
  });

  test('percentiles: "< 10ms" in the first bucket, "≤" in the others, "-" without requests', () => {
    assert.equal(latencyBound(10, BUCKETS_MS), '< 10ms');
    assert.equal(latencyBound(50, BUCKETS_MS), '≤ 50ms');
    assert.equal(latencyBound(1500, BUCKETS_MS), '≤ 1.5s');
    assert.equal(latencyBound(Infinity, BUCKETS_MS), '> 10s');
    assert.equal(latencyBound(0, BUCKETS_MS), '-');
  });

  test('the lines dropped first on a short terminal are blank lines and hints; a long line counts its wrapped rows', () => {
    const tick: MetricTick = { ok: 9, err: 1, fail: 0, active: 1, rate: 2, avgLatencyMs: 1.47, p50Ms: 10, p99Ms: 50, uptime: 61, heap: 1 << 20, stack: 1 << 16, cpus: 4, usableCpus: 4, threads: 4 };
    const lines = dashboard(tick, 'https://kes:7373', BUCKETS_MS, false);
    const all = fitLines(lines);
    assert.equal(all.length, 11);
    assert.equal(all[7], 'Latency   avg 1.47ms   p50 < 10ms   p99 ≤ 50ms');
    const [header, , requests, ok, err4, err5, , latency, system, , hint] = all;
    assert.deepEqual(fitLines(lines, 8, 200), [header, requests, ok, err4, err5, latency, system, hint], 'blank lines first');
    assert.deepEqual(fitLines(lines, 6, 200), [header, requests, ok, err4, err5, latency], 'then the hint and System');
    assert.deepEqual(fitLines(lines, 2, 200), [header, requests]);
    assert.deepEqual(fitLines(lines, 1, 10), [header], 'the header stays, even when it wraps');
    // At 20 columns the header takes 2 rows, Requests and Latency 3 each.
    assert.deepEqual(fitLines(lines, 6, 20), [header, requests]);
  });
});

describe('kes metric: automatic rotations (openkes)', () => {
  const base: MetricTick = { ok: 1, err: 0, fail: 0, active: 0, rate: 0, avgLatencyMs: 0, p50Ms: 0, p99Ms: 0, uptime: 1, heap: 1, stack: 0, cpus: 2, usableCpus: 2, threads: 6 };
  const text = (t: MetricTick) => dashboard(t, 'https://127.0.0.1:7373', BUCKETS_MS, false).map(([line]) => line).join('\n');

  test('the dashboard shows rotations once the server has made or failed one; KES servers show nothing new', () => {
    assert.doesNotMatch(text(base), /Rotation/);
    assert.doesNotMatch(text({ ...base, keyRotations: 0, keyRotationFailures: 0 }), /Rotation/);
    assert.match(text({ ...base, keyRotations: 3, keyRotationFailures: 1 }), /^Rotation {2}3 automatic {3}1 failed$/m);
  });

  test('the metrics parser reads openkes\'s rotation counters, and leaves them out for KES', () => {
    const kesText = '# TYPE kes_http_request_active gauge\nkes_http_request_active 0\n';
    assert.equal(serverMetrics(kesText).keyRotations, undefined);
    const m = serverMetrics(kesText + 'openkes_key_rotations_total 4\nopenkes_key_rotation_failures_total 2\n');
    assert.deepEqual([m.keyRotations, m.keyRotationFailures], [4, 2]);
  });
});
