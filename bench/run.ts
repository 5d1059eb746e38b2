/**
 * `npm run bench`: the server against minimal reference servers (bench/reference-server.ts over
 * HTTP/1.1, bench/reference-server-h2.ts over HTTP/2) under the same mTLS keep-alive loads, plus
 * handshakes, memory, workers and cost growth. The servers run pinned to CPU 0, the load
 * generator to CPU 1.
 *
 *   npm run bench [-- --quick] [--duration S] [--rounds N] [--ops generate,decrypt]
 *                 [--protocols h1,h2] [--connections 1,16,64] [--h2 1x16,1x64,4x16]
 *                 [--h2-client raw|node] [--peer 'COMMAND'] [--only throughput,handshake,memory,workers,growth]
 *
 * --connections are the HTTP/1.1 loads (connections, one request in flight each), --h2 the
 * HTTP/2 loads (connections × concurrent streams), sent by a raw-frame client
 * (bench/h2-raw-load.ts) or with --h2-client node by node:http2's (bench/h2-load.ts). Each load
 * also runs once against a trivial server, to show the ceiling of the set-up. --peer runs a
 * KES-compatible server (bench/peer.ts) through the same loads and handshakes; `{config}` and
 * `{port}` in COMMAND are replaced.
 *
 * Each figure is the median of N alternating rounds (server, reference[, peer], then the reverse),
 * and each ratio the median of the rounds' ratios (a round's runs are back to back): this
 * machine's speed drifts by ±10% and more, more than most differences measured. Latencies are
 * exact response times (not autocannon's whole milliseconds).
 *
 * Prints tables and writes bench/results/bench-<time>.json.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { KesClient } from '../src/client/client.js';
import { createFixtures, freePort, writeConfig, writeKeyFiles, type Fixtures } from './setup.js';
import { CPUS, cpuMs, rss, runNode, spawnNode, stop, stopChildrenOnExit, waitForOutput } from './proc.js';
import type { H2Client, HttpResult, LoadSpec, Operation } from './load-spec.js';
import { ROOT, TSX, load, startReference, startServer, type Target } from './targets.js';
import { startPeer } from './peer.js';
import { parseShapes, throughput, throughputTable, type Lineup, type Row } from './throughput.js';
import { median } from './stats.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const DURATION = Number(flag('duration') ?? (quick ? 3 : 4));
const ROUNDS = Number(flag('rounds') ?? (quick ? 1 : 5));
const ONLY = new Set((flag('only') ?? 'throughput,handshake,memory,workers,growth').split(','));
const OPS = (flag('ops') ?? 'generate,decrypt,encrypt,hmac,describe').split(',') as Operation[];
const PROTOCOLS = (flag('protocols') ?? 'h1,h2').split(',');
const SHAPES = parseShapes(PROTOCOLS, flag('connections') ?? (quick ? '16' : '1,16,64'), flag('h2') ?? (quick ? '1x16' : '1x16,1x64,4x16'));
const PEER = flag('peer');
const H2_CLIENT = (flag('h2-client') ?? 'raw') as H2Client;
if (H2_CLIENT !== 'raw' && H2_CLIENT !== 'node') throw new Error(`--h2-client: '${String(H2_CLIENT)}' is neither raw nor node`);

const log = (s: string) => process.stderr.write(s + '\n');
const mb = (b: number) => Math.round((b / 1e6) * 10) / 10;

async function adminClient(f: Fixtures, port: number): Promise<KesClient> {
  return new KesClient({ endpoints: `127.0.0.1:${port}`, cert: f.cert, key: f.key, insecureSkipVerify: true });
}

// ---- handshakes ---------------------------------------------------------------------------

/** Full handshakes per second of each target (server, reference, peer) and server/other ratios. */
async function handshakes(f: Fixtures, targets: Target[]) {
  const runs = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
      const res = await load<{ perSec: number; errors: number }>({ mode: 'handshake', port: t.port, connections: 16, durationS: DURATION, cert: f.cert, key: f.key });
      runs.get(t.name)!.push(res.perSec);
    }
  }
  const server = runs.get('server')!;
  const ratioTo = (name: string) => median(server.map((x, i) => x / runs.get(name)![i]!));
  const peer = runs.get('peer');
  const result = {
    server: median(server),
    reference: median(runs.get('reference')!),
    ratio: ratioTo('reference'),
    ...(peer && { peer: median(peer), peerRatio: ratioTo('peer') }),
  };
  log(
    `  handshakes/s server ${Math.round(result.server)} | reference ${Math.round(result.reference)} | ratio ${result.ratio.toFixed(2)}` +
      (result.peer !== undefined ? ` | peer ${Math.round(result.peer)} | server/peer ${result.peerRatio!.toFixed(2)}` : ''),
  );
  return result;
}

// ---- memory -------------------------------------------------------------------------------

async function memory(f: Fixtures, server: Target) {
  const seconds = quick ? 30 : 120;
  const samples: { t: number; rss: number }[] = [];
  const start = Date.now();
  const timer = setInterval(() => samples.push({ t: Math.round((Date.now() - start) / 1000), rss: rss(server.child.pid!) }), 5000);
  const result = await load<HttpResult>({ mode: 'http', port: server.port, op: 'generate', connections: 16, durationS: seconds, cert: f.cert, key: f.key, keyName: 'bench-key' });
  clearInterval(timer);
  const warm = samples.filter((s) => s.t >= 30);
  const after = warm.length > 1 ? warm : samples;
  const growth = after.length > 1 ? after[after.length - 1]!.rss - after[0]!.rss : 0;
  log(`  ${seconds} s of generate at 16 connections: ${Math.round(result.reqPerSec)} req/s, RSS ${samples.map((s) => mb(s.rss)).join(' → ')} MB`);

  const kes = await adminClient(f, server.port);
  for (let i = 0; i < 1000; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => kes.createKey(`cached-${i + j}`).catch(() => undefined)));
  }
  for (let i = 0; i < 1000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => kes.describeKey(`cached-${i + j}`)));
  const cachedRss = rss(server.child.pid!);
  kes.close();
  log(`  RSS with 1,000 cached keys: ${mb(cachedRss)} MB`);
  return { seconds, reqPerSec: result.reqPerSec, samples, growthAfterWarmup: growth, rssWith1000CachedKeys: cachedRss };
}

// ---- workers ------------------------------------------------------------------------------

async function workers(f: Fixtures) {
  const out: { workers: number; reqPerSec: number; p99: number; cpuMsPerRequest: number }[] = [];
  for (const n of [1, 2]) {
    const port = await freePort();
    const config = await writeConfig(f, `workers-${n}.yml`, port, join(f.dir, 'keys'));
    const server = await startServer(config, n, '0-1');
    const before = cpuMs(server.child.pid!);
    const r = await load<HttpResult>({ mode: 'http', port: server.port, op: 'generate', connections: 16, durationS: DURATION, cert: f.cert, key: f.key, keyName: 'bench-key' }, '0-1');
    const used = cpuMs(server.child.pid!) - before;
    await stop(server.child);
    out.push({ workers: n, reqPerSec: r.reqPerSec, p99: r.p99, cpuMsPerRequest: used / Math.max(1, r.requests) });
    log(`  workers=${n}: ${Math.round(r.reqPerSec)} req/s, p99 ${r.p99} ms, ${(used / Math.max(1, r.requests)).toFixed(3)} ms CPU per request (server and load generator share ${CPUS} cores)`);
  }
  return out;
}

// ---- cost growth --------------------------------------------------------------------------

async function listing(f: Fixtures) {
  const out: { keys: number; ms: number; peakRssGrowth: number; listed: number; retainedHeap: number }[] = [];
  for (const count of quick ? [10_000, 50_000] : [10_000, 100_000]) {
    const dir = join(f.dir, `list-${count}`);
    await writeKeyFiles(dir, 'key', count);
    const port = await freePort();
    const server = await startServer(await writeConfig(f, `list-${count}.yml`, port, dir), 1);
    const kes = await adminClient(f, server.port);
    await kes.version();
    const base = rss(server.child.pid!);
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, rss(server.child.pid!))), 20);
    const start = performance.now();
    let listed = 0;
    for await (const _ of kes.listKeys()) listed++;
    const ms = performance.now() - start;
    clearInterval(timer);
    kes.close();
    await stop(server.child);
    const { retainedMax } = JSON.parse(await runNode(['--expose-gc', ...TSX, join(ROOT, 'bench', 'list-retained.ts'), dir], '0')) as { retainedMax: number };
    await rm(dir, { recursive: true, force: true });
    out.push({ keys: count, ms, peakRssGrowth: peak - base, listed, retainedHeap: retainedMax });
    log(`  listing ${count} keys: ${Math.round(ms)} ms, server RSS +${mb(peak - base)} MB at peak (listed ${listed}); heap kept alive by the store's listing ${mb(retainedMax)} MB`);
  }
  return out;
}

async function policies(f: Fixtures) {
  const { ApiKey } = await import('../src/auth/api-key.js');
  const { createSelfSignedFromApiKey } = await import('../src/pki/api-key-certificate.js');
  const app = ApiKey.generate();
  const appCert = createSelfSignedFromApiKey(app).pem;
  const appKey = app.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const out: { policies: number; patterns: number; reqPerSec: number }[] = [];
  for (const [count, patterns] of [[1, 1], [1000, 100]] as const) {
    let yaml = 'policy:\n';
    for (let p = 0; p < count; p++) {
      const last = p === count - 1;
      yaml += `  p${p}:\n    allow:\n`;
      for (let i = 0; i < patterns - 1; i++) yaml += `      - /v1/key/describe/p${p}-pattern-${i}-*\n`;
      yaml += `      - /v1/key/describe/bench-*\n`;
      if (last) yaml += `    identities:\n      - ${app.identity}\n`;
    }
    const port = await freePort();
    const server = await startServer(await writeConfig(f, `policies-${count}.yml`, port, join(f.dir, 'keys'), yaml), 1);
    const r = await load<HttpResult>({ mode: 'http', port: server.port, op: 'describe', connections: 16, durationS: DURATION, cert: appCert, key: appKey, keyName: 'bench-key' });
    await stop(server.child);
    out.push({ policies: count, patterns, reqPerSec: r.reqPerSec });
    log(`  ${count} policies × ${patterns} patterns: describe ${Math.round(r.reqPerSec)} req/s as a policy identity (non2xx ${r.non2xx})`);
  }
  return out;
}

async function idleConnections(f: Fixtures) {
  const count = quick ? 1000 : 5000;
  const port = await freePort();
  const server = await startServer(await writeConfig(f, 'idle.yml', port, join(f.dir, 'keys')), 1);
  const base = rss(server.child.pid!);
  const gen = spawnNode([...TSX, join(ROOT, 'bench', 'loadgen.ts'), JSON.stringify({ mode: 'idle', port: server.port, connections: count, cert: f.cert, key: f.key } satisfies LoadSpec)], '1', { stdin: 'pipe' });
  const [line] = await waitForOutput(gen, /\{"open":\d+,"failed":\d+\}/, 120_000);
  const { open } = JSON.parse(line) as { open: number };
  await new Promise((r) => setTimeout(r, 2000));
  const after = rss(server.child.pid!);
  gen.stdin!.end();
  await stop(gen);
  await stop(server.child);
  const perConnection = (after - base) / Math.max(1, open);
  log(`  ${open} idle TLS connections: server RSS ${mb(base)} → ${mb(after)} MB (${Math.round(perConnection / 1024)} KiB per connection)`);
  return { connections: open, rssBefore: base, rssAfter: after, perConnection };
}

// ---- report -------------------------------------------------------------------------------

interface Results {
  throughput?: Row[];
  handshakes?: Awaited<ReturnType<typeof handshakes>>;
  memory?: Awaited<ReturnType<typeof memory>>;
  workers?: Awaited<ReturnType<typeof workers>>;
  listing?: Awaited<ReturnType<typeof listing>>;
  policies?: Awaited<ReturnType<typeof policies>>;
  idleConnections?: Awaited<ReturnType<typeof idleConnections>>;
}

/** The figures of a run as the README's tables show them. */
function summary(r: Results): string {
  const out: string[] = [];
  if (r.throughput) out.push(throughputTable(r.throughput));
  const h = r.handshakes;
  if (h) {
    const peer = h.peer !== undefined ? `, peer ${Math.round(h.peer)}, server/peer ${h.peerRatio!.toFixed(2)}` : '';
    out.push(`full handshakes/s: server ${Math.round(h.server)}, reference ${Math.round(h.reference)}, ratio ${h.ratio.toFixed(2)}${peer}`);
  }
  const m = r.memory;
  if (m) {
    out.push(
      `memory: ${m.seconds} s of generate at ${Math.round(m.reqPerSec)} req/s, RSS ${m.samples.map((s) => mb(s.rss)).join(' → ')} MB, ` +
        `growth after warm-up ${mb(m.growthAfterWarmup)} MB; RSS with 1,000 cached keys ${mb(m.rssWith1000CachedKeys)} MB`,
    );
  }
  for (const w of r.workers ?? []) out.push(`workers=${w.workers}: ${Math.round(w.reqPerSec)} req/s, p99 ${w.p99} ms, ${Math.round(w.cpuMsPerRequest * 1000)} µs server CPU per request`);
  for (const l of r.listing ?? []) out.push(`listing ${l.keys} keys: ${Math.round(l.ms)} ms, server RSS +${mb(l.peakRssGrowth)} MB at peak, heap kept alive ${mb(l.retainedHeap)} MB`);
  for (const p of r.policies ?? []) out.push(`${p.policies} policies × ${p.patterns} patterns: describe ${Math.round(p.reqPerSec)} req/s`);
  const i = r.idleConnections;
  if (i) out.push(`${i.connections} idle TLS connections: server RSS ${mb(i.rssBefore)} → ${mb(i.rssAfter)} MB, ${Math.round(i.perConnection / 1024)} KiB per connection`);
  return out.map((s) => `\n${s}\n`).join('');
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'kes-bench-'));
  // However the run ends (Ctrl-C, an error), no server outlives it and no key stays on disk.
  stopChildrenOnExit(() => rmSync(dir, { recursive: true, force: true }));
  const f = await createFixtures(dir);
  const results: Results & Record<string, unknown> = {
    machine: { cpus: CPUS, model: cpus()[0]?.model, node: process.version, platform: `${process.platform}/${process.arch}` },
    command: `npm run bench -- ${args.map((a) => (/[\s'"]/.test(a) ? `'${a}'` : a)).join(' ')}`.trim(),
    durationS: DURATION,
    h2Client: H2_CLIENT,
    ...(PEER && { peer: PEER }),
  };
  try {
    const serverPort = await freePort();
    const server = await startServer(await writeConfig(f, 'bench.yml', serverPort, join(dir, 'keys')), 1);
    const kes = await adminClient(f, server.port);
    await kes.createKey('bench-key');
    kes.close();

    if (ONLY.has('throughput') || ONLY.has('handshake')) {
      const reference = { h1: await startReference(f, 'h1'), h2: PROTOCOLS.includes('h2') ? await startReference(f, 'h2') : undefined };
      const peer = PEER ? await startPeer(PEER, f, 'bench-key') : undefined;
      const others = peer ? [peer] : [];
      if (ONLY.has('throughput')) {
        const trivial = { h1: PROTOCOLS.includes('h1') ? await startReference(f, 'h1', true) : undefined, h2: reference.h2 ? await startReference(f, 'h2', true) : undefined };
        const lineup: Lineup = {
          h1: { targets: [server, reference.h1, ...others], trivial: trivial.h1 },
          h2: { targets: [server, ...(reference.h2 ? [reference.h2] : []), ...others], trivial: trivial.h2 },
        };
        log(`throughput (server, reference${peer ? ', peer' : ''} and trivial server on CPU 0, load generator on CPU 1):`);
        results.throughput = await throughput(f, lineup, { ops: OPS, shapes: SHAPES, rounds: ROUNDS, durationS: DURATION, h2Client: H2_CLIENT }, log);
        for (const t of [trivial.h1, trivial.h2]) if (t) await stop(t.child);
      }
      if (ONLY.has('handshake')) {
        log('full TLS handshakes (16 concurrent, client certificate, no resumption):');
        results.handshakes = await handshakes(f, [server, reference.h1, ...others]);
      }
      for (const t of [reference.h1, reference.h2, peer]) if (t) await stop(t.child);
    }
    if (ONLY.has('memory')) {
      log('memory:');
      results.memory = await memory(f, server);
    }
    await stop(server.child);
    if (ONLY.has('workers')) {
      log('workers (unpinned):');
      results.workers = await workers(f);
    }
    if (ONLY.has('growth')) {
      log('cost growth:');
      results.listing = await listing(f);
      results.policies = await policies(f);
      results.idleConnections = await idleConnections(f);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  process.stdout.write(summary(results as Results));
  const outDir = join(ROOT, 'bench', 'results');
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(`\nresults: ${file}\n`);
}

await main();
