/** Status, readiness, metrics and the log streams (protocol.md §6.2–§6.4, §6.17, §11, §12). */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { LOG_INFO } from '../../src/config/types.js';
import { KmsClient } from '../../src/client/kms-client.js';
import { serverMetrics } from '../../src/client/parse.js';

/** Reads line by line from one iterator (a for-await loop would end the stream on return). */
function reader(lines: AsyncIterable<string>): () => Promise<string> {
  const it = lines[Symbol.asyncIterator]();
  return async () => {
    const { value, done } = await it.next();
    if (done) throw new Error('stream ended');
    return value;
  };
}

describe('observability', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer((config, _pki, dir) => {
      config.keystore = { type: 'fs', path: join(dir, 'keys') };
      config.log.audit = LOG_INFO;
    });
  });
  after(() => t.close());

  test('/v1/status reports the server and the key store latency in nanoseconds', async () => {
    const r = await t.client().request('GET', '/v1/status');
    const s = r.json();
    assert.deepEqual(Object.keys(s).sort(), ['arch', 'keystore_latency', 'mem_heap_used', 'mem_stack_used', 'num_cpu', 'num_cpu_used', 'os', 'uptime', 'version'].sort());
    assert.equal(s.os, process.platform);
    assert.ok(Number.isInteger(s.uptime) && s.uptime >= 0);
    assert.ok(Number.isInteger(s.keystore_latency) && s.keystore_latency >= 1);
    assert.equal(s.num_cpu_used, 1);
  });

  test('/v1/ready is 200 while the store works', async () => {
    const r = await t.client().request('GET', '/v1/ready');
    assert.deepEqual([r.status, r.body], [200, '']);
  });

  test('an audit subscriber receives one event per request, response time in ns', async () => {
    const c = t.client();
    const s = await t.client().stream('/v1/log/audit');
    assert.equal(s.status, 200);
    assert.equal(s.headers['content-type'], 'application/x-ndjson');
    const nextLine = reader(s.lines);
    await c.request('PUT', '/v1/key/create/audited');
    const event = JSON.parse(await nextLine());
    assert.deepEqual(Object.keys(event), ['time', 'request', 'response']);
    assert.deepEqual(event.request, { ip: '127.0.0.1', path: '/v1/key/create/audited', identity: t.admin.identity });
    assert.equal(event.response.code, 200);
    assert.ok(Number.isInteger(event.response.time) && event.response.time > 1000, 'nanoseconds');
    assert.ok(Math.abs(Date.parse(event.time) - Date.now()) < 60_000);
    await c.request('GET', '/v1/key/describe/missing');
    const second = JSON.parse(await nextLine());
    assert.deepEqual([second.request.path, second.response.code], ['/v1/key/describe/missing', 404]);
    s.close();
  });

  test('the stdout audit log writes KES\'s text lines when log.audit is on', async () => {
    await t.client().request('PUT', '/v1/key/create/text-audit');
    const line = t.stdout().split('\n').find((l) => l.includes("secret key 'text-audit' created"));
    assert.ok(line, t.stdout());
    assert.match(line!, /^time=\S+ level=INFO msg="secret key 'text-audit' created" req\.method=PUT req\.path=\/v1\/key\/create\/text-audit req\.ip=127\.0\.0\.1 req\.identity=[0-9a-f]{64} res\.code=200 res\.time=\S+$/);
  });

  test('MinKMS requests are audited with the command, its subject and the enclave', async () => {
    const kms = new KmsClient({ endpoints: `https://127.0.0.1:${t.port}`, ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem });
    try {
      await kms.createEnclave('audited');
      await kms.createKey('kms-audit', { enclave: 'audited' });
      await kms.keyStatus(['kms-audit', 'kms-audit'], { enclave: 'audited' });
      await kms.generateKey('no-such-key').catch(() => undefined);
    } finally {
      kms.close();
    }
    const lines = t.stdout().split('\n');
    const line = (msg: string) => lines.find((l) => l.includes(`msg="${msg}"`)) ?? assert.fail(`no audit line "${msg}" in:\n${t.stdout()}`);
    assert.match(line("enclave 'audited' created"), /req\.path=\/v1\/kms req\.ip=\S+ req\.identity=[0-9a-f]{64} res\.code=200 /);
    assert.match(line("secret key 'kms-audit' created in enclave 'audited'"), /req\.path=\/v1\/kms\/audited .* res\.code=200 /);
    assert.match(line("KEY:STATUS 'kms-audit' and 1 more in enclave 'audited'"), / res\.code=200 /);
    assert.match(line("KEY:GENERATE 'no-such-key'"), /req\.path=\/v1\/kms .* res\.code=404 /);
  });

  test('an error log subscriber receives error events', async () => {
    const s = await t.client().stream('/v1/log/error');
    assert.equal(s.status, 200);
    // A TLS handshake failure is logged (INFO).
    const sock = net.connect(t.port, '127.0.0.1', () => sock.end('this is not TLS\r\n\r\n'));
    sock.on('error', () => undefined);
    const event = JSON.parse(await reader(s.lines)());
    assert.deepEqual(Object.keys(event), ['message']);
    assert.match(event.message, /^time=\S+ level=INFO msg="http: TLS handshake error from 127\.0\.0\.1/);
    s.close();
  });

  test('/v1/metrics: KES names, codes as labels, histogram buckets, log event counters', async () => {
    const c = t.client();
    await c.request('PUT', '/v1/key/create/metered');
    await c.request('PUT', '/v1/key/create/metered'); // 400
    const r = await c.request('GET', '/v1/metrics');
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const m = r.body;
    assert.match(m, /^# TYPE kes_http_request_success counter$/m);
    assert.match(m, /^kes_http_request_success\{code="200"\} \d+$/m);
    assert.match(m, /^kes_http_request_error\{code="400"\} \d+$/m);
    assert.match(m, /^kes_http_request_active \d+$/m);
    for (const le of ['0.01', '0.05', '0.1', '0.25', '0.5', '1', '1.5', '3', '5', '10', '+Inf']) {
      assert.match(m, new RegExp(`^kes_http_response_time_bucket\\{le="${le.replace('+', '\\+')}"\\} \\d+$`, 'm'));
    }
    assert.match(m, /^kes_log_audit_events [1-9]\d*$/m, 'the audit subscription above counted events');
    for (const name of ['kes_system_up_time', 'kes_system_num_cpu', 'kes_system_num_cpu_used', 'kes_system_num_threads', 'kes_system_mem_heap_used', 'kes_system_mem_stack_used']) {
      assert.match(m, new RegExp(`^${name} [\\d.]+$`, 'm'));
    }
    // openkes's finer histogram (from 100 µs) counts the same requests as KES's, bucket by bucket
    // consistent with it: what is within 10 ms in one is within 10 ms in the other.
    const bucket = (name: string, le: string) => Number(new RegExp(`^${name}_bucket\\{le="${le.replace('+', '\\+')}"\\} (\\d+)$`, 'm').exec(m)?.[1] ?? NaN);
    assert.match(m, /^# TYPE openkes_http_request_duration_seconds histogram$/m);
    const fine = ['0.0001', '0.00025', '0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'].map((le) => bucket('openkes_http_request_duration_seconds', le));
    assert.ok(fine.every((n, i) => Number.isInteger(n) && (i === 0 || n >= fine[i - 1]!)), `cumulative: ${fine}`);
    for (const le of ['0.01', '0.05', '0.1', '0.5', '1', '5', '10', '+Inf']) {
      assert.equal(bucket('openkes_http_request_duration_seconds', le), bucket('kes_http_response_time', le), `le=${le}`);
    }
    assert.equal(Number(/^openkes_http_request_duration_seconds_count (\d+)$/m.exec(m)![1]), Number(/^kes_http_response_time_count (\d+)$/m.exec(m)![1]));
    assert.ok(fine.at(-1)! > 0);
    // The CLI's parser takes the finer one for its percentiles.
    assert.equal(Math.min(...serverMetrics(m).latency.keys()), 0.0001);
    // /v1/metrics itself is not counted; key routes are.
    const count = Number(/^kes_http_response_time_count (\d+)$/m.exec(m)![1]);
    const again = (await c.request('GET', '/v1/metrics')).body;
    assert.equal(Number(/^kes_http_response_time_count (\d+)$/m.exec(again)![1]), count);
  });

  test('when the store fails, /v1/ready is 502 and /v1/status says unavailable', async () => {
    rmSync(join(t.dir, 'keys'), { recursive: true });
    const c = t.client();
    let r = await c.request('GET', '/v1/ready');
    assert.deepEqual([r.status, r.body], [502, '{"message":"key store is unavailable"\n}']);
    r = await c.request('GET', '/v1/status');
    const s = r.json();
    assert.equal(s.keystore_unreachable, true);
    assert.equal(s.keystore_unavailable, true);
    assert.equal(s.keystore_latency, undefined);
    r = await c.request('PUT', '/v1/key/create/cannot');
    assert.deepEqual([r.status, r.body], [502, '{"message":"failed to create key"\n}']);
    r = await c.request('GET', '/v1/key/list/');
    assert.deepEqual([r.status, r.body], [502, '{"message":"failed to list keys"\n}']);
    assert.match(t.stderr(), /level=ERROR msg="failed to create key: .*ENOENT/);
  });
});
