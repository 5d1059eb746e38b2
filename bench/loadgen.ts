/**
 * The load generator, run in its own process (pinned to its own core by the orchestrator):
 *
 *   node --import tsx bench/loadgen.ts '<json LoadSpec>'   → prints a JSON result on stdout
 *
 * Modes (bench/load-spec.ts): `http` (autocannon, HTTP/1.1 keep-alive, one KES operation), `h2`
 * (HTTP/2 connections × concurrent streams, the same requests; bench/h2-raw-load.ts, or with
 * `client: 'node'` node:http2's client, bench/h2-load.ts), `handshake` (a new
 * TLS connection with a client certificate per request, no session resumption), `idle` (open N
 * TLS connections and hold them until stdin closes).
 */
import autocannon from 'autocannon';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { kesRequest, type Call } from './kes-requests.js';
import { h2Load } from './h2-load.js';
import { h2RawLoad } from './h2-raw-load.js';
import type { HttpResult, LoadSpec } from './load-spec.js';
import { percentile } from './stats.js';

/** One HTTP/1.1 request on a connection of its own, for preparing the load. */
function httpsCall(spec: { port: number; cert: string; key: string }): Call {
  return (method, path, body) =>
    new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: spec.port, method, path, cert: spec.cert, key: spec.key, rejectUnauthorized: false, agent: false }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${path}: ${res.statusCode} ${text}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
}

async function http(spec: Extract<LoadSpec, { mode: 'http' }>): Promise<HttpResult> {
  const r = await kesRequest(spec.op, spec.keyName, httpsCall(spec));
  // autocannon's own histogram keeps whole milliseconds, too coarse for latencies of a few
  // ms: the exact response times (2xx only, as autocannon's) give the percentiles instead.
  const times: number[] = [];
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const run = autocannon({
    url: `https://127.0.0.1:${spec.port}${r.path}`,
    method: r.method,
    body: r.body?.toString(),
    headers: r.body ? { 'content-type': 'application/json' } : {},
    connections: spec.connections,
    duration: spec.durationS,
    tlsOptions: { cert: spec.cert, key: spec.key },
  });
  run.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) times.push(ms);
  });
  const result = await run;
  const cpu = process.cpuUsage(cpuBefore);
  times.sort((a, b) => a - b);
  return {
    reqPerSec: result.requests.average,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    requests: result.requests.total,
    errors: result.errors,
    non2xx: result.non2xx,
    clientCpu: (cpu.user + cpu.system) / 1000 / (performance.now() - start),
  };
}

async function handshakes(spec: Extract<LoadSpec, { mode: 'handshake' }>): Promise<{ perSec: number; errors: number }> {
  const end = Date.now() + spec.durationS * 1000;
  let done = 0;
  let errors = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: spec.port, cert: spec.cert, key: spec.key, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
        s.end('GET /version HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n');
      });
      s.on('data', () => undefined);
      s.on('close', (hadError) => {
        if (hadError) errors++;
        else done++;
        resolve();
      });
      s.on('error', () => undefined);
    });
  const start = Date.now();
  await Promise.all(Array.from({ length: spec.connections }, async () => {
    while (Date.now() < end) await one();
  }));
  return { perSec: done / ((Date.now() - start) / 1000), errors };
}

async function idle(spec: Extract<LoadSpec, { mode: 'idle' }>): Promise<void> {
  const sockets: tls.TLSSocket[] = [];
  let failed = 0;
  for (let i = 0; i < spec.connections; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, spec.connections - i) }, () =>
        new Promise<void>((resolve) => {
          const s = tls.connect({ host: '127.0.0.1', port: spec.port, cert: spec.cert, key: spec.key, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => resolve());
          s.on('error', () => (failed++, resolve()));
          sockets.push(s);
        }),
      ),
    );
  }
  process.stdout.write(JSON.stringify({ open: sockets.length - failed, failed }) + '\n');
  process.stdin.resume();
  await new Promise((r) => process.stdin.once('end', r));
  for (const s of sockets) s.destroy();
}

const spec = JSON.parse(process.argv[2]!) as LoadSpec;
if (spec.mode === 'http') process.stdout.write(JSON.stringify(await http(spec)) + '\n');
else if (spec.mode === 'h2') process.stdout.write(JSON.stringify(await (spec.client === 'node' ? h2Load(spec) : h2RawLoad(spec))) + '\n');
else if (spec.mode === 'handshake') process.stdout.write(JSON.stringify(await handshakes(spec)) + '\n');
else await idle(spec);
