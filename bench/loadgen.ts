/**
 * The load generator, run in its own process (pinned to its own core by the orchestrator):
 *
 *   node --import tsx bench/loadgen.ts '<json LoadSpec>'   → prints a JSON result on stdout
 *
 * Modes: `http` (autocannon, keep-alive, one KES operation), `handshake` (a new TLS connection
 * with a client certificate per request, no session resumption), `idle` (open N TLS connections
 * and hold them until stdin closes).
 */
import autocannon from 'autocannon';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';

export type Operation = 'generate' | 'decrypt' | 'encrypt' | 'hmac' | 'describe';

export type LoadSpec =
  | { mode: 'http'; port: number; op: Operation; connections: number; durationS: number; cert: string; key: string; keyName: string }
  | { mode: 'handshake'; port: number; connections: number; durationS: number; cert: string; key: string }
  | { mode: 'idle'; port: number; connections: number; cert: string; key: string };

export interface HttpResult {
  reqPerSec: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  non2xx: number;
}

const b64 = (b: Buffer) => b.toString('base64');

function call(spec: { port: number; cert: string; key: string }, method: string, path: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: spec.port, method, path, cert: spec.cert, key: spec.key, rejectUnauthorized: false, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${path}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function request(spec: Extract<LoadSpec, { mode: 'http' }>): Promise<{ method: string; path: string; body?: string }> {
  const context = b64(Buffer.from('{"bucket":"bench","object":"object-name"}'));
  const k = spec.keyName;
  switch (spec.op) {
    case 'generate':
      return { method: 'POST', path: `/v1/key/generate/${k}`, body: JSON.stringify({ context }) };
    case 'encrypt':
      return { method: 'POST', path: `/v1/key/encrypt/${k}`, body: JSON.stringify({ plaintext: b64(randomBytes(32)), context }) };
    case 'hmac':
      return { method: 'PUT', path: `/v1/key/hmac/${k}`, body: JSON.stringify({ message: b64(randomBytes(32)) }) };
    case 'describe':
      return { method: 'GET', path: `/v1/key/describe/${k}` };
    case 'decrypt': {
      const { ciphertext } = JSON.parse(await call(spec, 'POST', `/v1/key/generate/${k}`, JSON.stringify({ context })));
      return { method: 'POST', path: `/v1/key/decrypt/${k}`, body: JSON.stringify({ ciphertext, context }) };
    }
  }
}

async function http(spec: Extract<LoadSpec, { mode: 'http' }>): Promise<HttpResult> {
  const r = await request(spec);
  // autocannon's own histogram keeps whole milliseconds, too coarse for latencies of a few
  // ms: the exact response times (2xx only, as autocannon's) give the percentiles instead.
  const times: number[] = [];
  const run = autocannon({
    url: `https://127.0.0.1:${spec.port}${r.path}`,
    method: r.method as 'POST',
    body: r.body,
    headers: r.body ? { 'content-type': 'application/json' } : {},
    connections: spec.connections,
    duration: spec.durationS,
    tlsOptions: { cert: spec.cert, key: spec.key },
  });
  run.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) times.push(ms);
  });
  const result = await run;
  times.sort((a, b) => a - b);
  return {
    reqPerSec: result.requests.average,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    requests: result.requests.total,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/** The q-quantile of sorted values in ms, rounded to 0.01 ms (0 when there are none). */
function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 100) / 100;
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
else if (spec.mode === 'handshake') process.stdout.write(JSON.stringify(await handshakes(spec)) + '\n');
else await idle(spec);
