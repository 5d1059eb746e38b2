/**
 * Throughput and latency: openkes against the Node reference of the protocol (and a peer, with
 * --peer) under the same loads, in alternating rounds, next to the load generator's ceiling.
 */
import type { Fixtures } from './setup.js';
import { cpuMs } from './proc.js';
import { load, type Protocol, type Target } from './targets.js';
import type { H2Client, HttpResult, LoadSpec, Operation } from './load-spec.js';
import { median } from './stats.js';

/** A load shape: HTTP/1.1 with one request in flight per connection, or HTTP/2 sessions × streams. */
export type Shape = { protocol: 'h1'; connections: number } | { protocol: 'h2'; connections: number; streams: number };

export const shapeLabel = (s: Shape) => (s.protocol === 'h1' ? `h1 ${s.connections}` : `h2 ${s.connections}×${s.streams}`);

/** The shapes of `--protocols h1,h2 --connections 1,16,64 --h2 1x16,1x64,4x16`. */
export function parseShapes(protocols: string[], h1: string, h2: string): Shape[] {
  const shapes: Shape[] = [];
  for (const p of protocols) {
    if (p === 'h1') {
      for (const c of h1.split(',')) {
        if (!/^\d+$/.test(c) || Number(c) < 1) throw new Error(`--connections: '${c}' is not a connection count`);
        shapes.push({ protocol: 'h1', connections: Number(c) });
      }
    } else if (p === 'h2') {
      for (const s of h2.split(',')) {
        const m = /^(\d+)[x×](\d+)$/.exec(s);
        if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new Error(`--h2: '${s}' is not CONNECTIONSxSTREAMS (e.g. 1x16)`);
        shapes.push({ protocol: 'h2', connections: Number(m[1]), streams: Number(m[2]) });
      }
    } else throw new Error(`--protocols: '${p}' is neither h1 nor h2`);
  }
  return shapes;
}

export function loadSpec(shape: Shape, op: Operation, port: number, f: Fixtures, durationS: number, h2Client: H2Client): LoadSpec {
  const common = { port, op, durationS, cert: f.cert, key: f.key, keyName: 'bench-key' };
  return shape.protocol === 'h1'
    ? { mode: 'http', connections: shape.connections, ...common }
    : { mode: 'h2', client: h2Client, connections: shape.connections, streams: shape.streams, ...common };
}

/** A load result with the target's CPU time (user + system) per request. */
export interface Measured extends HttpResult {
  cpuUsPerRequest: number;
}

export interface Row {
  op: Operation;
  load: string;
  shape: Shape;
  server: Measured;
  reference: Measured;
  peer?: Measured;
  /** Medians over the rounds of server/reference (and server/peer), each round's runs back to back. */
  ratio: number;
  p99Ratio: number;
  peerRatio?: number;
  peerP99Ratio?: number;
  /** The same load against a trivial server: what the load generator can reach at most. */
  ceiling?: HttpResult;
}

export interface ThroughputOptions {
  ops: Operation[];
  shapes: Shape[];
  rounds: number;
  durationS: number;
  h2Client: H2Client;
}

/** The servers per protocol: openkes, the reference, maybe a peer; and the trivial server. */
export type Lineup = Record<Protocol, { targets: Target[]; trivial?: Target }>;

async function measure(t: Target, spec: LoadSpec): Promise<Measured> {
  const before = cpuMs(t.child.pid!);
  const r = await load<HttpResult>(spec);
  return { ...r, cpuUsPerRequest: (1000 * (cpuMs(t.child.pid!) - before)) / Math.max(1, r.requests) };
}

function pick(rs: Measured[]): Measured {
  return {
    reqPerSec: median(rs.map((x) => x.reqPerSec)),
    p50: median(rs.map((x) => x.p50)),
    p99: median(rs.map((x) => x.p99)),
    requests: median(rs.map((x) => x.requests)),
    errors: Math.max(...rs.map((x) => x.errors)),
    non2xx: Math.max(...rs.map((x) => x.non2xx)),
    clientCpu: median(rs.map((x) => x.clientCpu)),
    cpuUsPerRequest: median(rs.map((x) => x.cpuUsPerRequest)),
  };
}

/** A load generator this busy (share of its core) may be what limits a figure. */
const BUSY = 0.75;
/** A figure this close to a ceiling the load generator set may be the load generator's. */
const NEAR_CEILING = 0.8;

const fmt = (m: HttpResult) => `${Math.round(m.reqPerSec)} req/s p99 ${m.p99} ms${m.errors + m.non2xx > 0 ? ` (errors ${m.errors}, non-2xx ${m.non2xx})` : ''}`;
const busy = (m: HttpResult) => `${Math.round(m.clientCpu * 100)}%`;

export async function throughput(f: Fixtures, lineup: Lineup, o: ThroughputOptions, log: (s: string) => void): Promise<Row[]> {
  const protocols = [...new Set(o.shapes.map((s) => s.protocol))];
  // Warm-up (discarded): let the JITs compile the hot paths before anything is measured.
  for (const protocol of protocols) {
    const shape: Shape = protocol === 'h1' ? { protocol, connections: 16 } : { protocol, connections: 1, streams: 16 };
    const { targets, trivial } = lineup[protocol];
    for (const op of o.ops) for (const t of [...targets, ...(trivial ? [trivial] : [])]) await load<HttpResult>(loadSpec(shape, op, t.port, f, 2, o.h2Client));
  }

  const rows: Row[] = [];
  for (const shape of o.shapes) {
    const { targets, trivial } = lineup[shape.protocol];
    for (const op of o.ops) {
      const ceiling = trivial ? await load<HttpResult>(loadSpec(shape, op, trivial.port, f, o.durationS, o.h2Client)) : undefined;
      const runs = new Map<string, Measured[]>(targets.map((t) => [t.name, []]));
      for (let r = 0; r < o.rounds; r++) {
        for (const t of r % 2 === 0 ? targets : [...targets].reverse()) runs.get(t.name)!.push(await measure(t, loadSpec(shape, op, t.port, f, o.durationS, o.h2Client)));
      }
      const server = runs.get('server')!;
      // The machine's speed drifts between rounds: a ratio of two runs made back to back is
      // steadier than the ratio of two medians.
      const paired = (other: Measured[], get: (m: Measured) => number) => median(server.map((m, i) => get(m) / get(other[i]!)));
      const reference = runs.get('reference')!;
      const peer = runs.get('peer');
      const row: Row = {
        op,
        load: shapeLabel(shape),
        shape,
        server: pick(server),
        reference: pick(reference),
        ratio: paired(reference, (m) => m.reqPerSec),
        p99Ratio: paired(reference, (m) => m.p99),
        ...(peer && { peer: pick(peer), peerRatio: paired(peer, (m) => m.reqPerSec), peerP99Ratio: paired(peer, (m) => m.p99) }),
        ...(ceiling && { ceiling }),
      };
      rows.push(row);
      log(
        `  ${op.padEnd(9)} ${row.load.padEnd(8)} server ${fmt(row.server)} | reference ${fmt(row.reference)}` +
          (row.peer ? ` | peer ${fmt(row.peer)}` : '') +
          (ceiling ? ` | ceiling ${fmt(ceiling)}, load generator ${busy(ceiling)} busy` : ''),
      );
    }
  }
  return rows;
}

/** The throughput table as the README shows it, and the line that says how to read it. */
export function throughputTable(rows: Row[]): string {
  const withPeer = rows.some((r) => r.peer);
  const withCeiling = rows.some((r) => r.ceiling);
  const header = withPeer
    ? ['operation', 'load', 'server req/s', 'reference req/s', 'peer req/s', 'ratio', 'server/peer', 'server p50 / p99 ms', 'reference p50 / p99 ms', 'peer p50 / p99 ms', 'p99 ratio', 'p99 server/peer', 'CPU µs/req server / reference / peer']
    : ['operation', 'load', 'server req/s', 'reference req/s', 'ratio', 'server p50 / p99 ms', 'reference p50 / p99 ms', 'p99 ratio', 'CPU µs/req server / reference'];
  if (withCeiling) header.push('ceiling req/s (load generator busy)');
  const lines = [`| ${header.join(' | ')} |`, `|${' --- |'.repeat(header.length)}`];
  const lat = (m: Measured) => `${m.p50} / ${m.p99}`;
  const cpu = (m: Measured) => String(Math.round(m.cpuUsPerRequest));
  for (const r of rows) {
    const cells = withPeer
      ? [r.op, r.load, Math.round(r.server.reqPerSec), Math.round(r.reference.reqPerSec), r.peer ? Math.round(r.peer.reqPerSec) : '–', r.ratio.toFixed(2), r.peerRatio?.toFixed(2) ?? '–', lat(r.server), lat(r.reference), r.peer ? lat(r.peer) : '–', r.p99Ratio.toFixed(2), r.peerP99Ratio?.toFixed(2) ?? '–', [r.server, r.reference, ...(r.peer ? [r.peer] : [])].map(cpu).join(' / ')]
      : [r.op, r.load, Math.round(r.server.reqPerSec), Math.round(r.reference.reqPerSec), r.ratio.toFixed(2), lat(r.server), lat(r.reference), r.p99Ratio.toFixed(2), `${cpu(r.server)} / ${cpu(r.reference)}`];
    if (withCeiling) cells.push(r.ceiling ? `${Math.round(r.ceiling.reqPerSec)} (${busy(r.ceiling)})` : '–');
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const notes = [
    'load: h1 N = HTTP/1.1, N keep-alive connections with one request in flight each; h2 C×S = HTTP/2, C connections × S concurrent streams each (as MinIO multiplexes).',
    'ratio = server/reference req/s' + (withPeer ? ', server/peer = openkes/peer req/s' : '') + ': medians of the per-round ratios.',
  ];
  if (withCeiling) {
    notes.push(
      "ceiling: the same load against a trivial Node server (fixed reply, no crypto, on CPU 0), with the share of its core the load generator used. " +
        "Where the load generator was busy there, that rate is the load generator's ceiling, and server figures are meaningful only where they stay clearly below it; " +
        'where it was far from busy, the trivial server set the rate and a faster server can pass it.',
    );
  }
  // The direct test: the load generator's own CPU share while it drove the target.
  const bound = rows.flatMap((r) => {
    const names = (['server', 'reference', 'peer'] as const).filter((n) => {
      const m = r[n];
      return m !== undefined && (m.clientCpu >= BUSY || (r.ceiling !== undefined && r.ceiling.clientCpu >= BUSY && m.reqPerSec >= NEAR_CEILING * r.ceiling.reqPerSec));
    });
    return names.length ? [`${r.op} ${r.load} (${names.join(', ')})`] : [];
  });
  if (bound.length) {
    notes.push(`possibly limited by the load generator (it was ≥ ${BUSY * 100}% busy, or the figure is ≥ ${NEAR_CEILING * 100}% of a ceiling it was ≥ ${BUSY * 100}% busy for): ${bound.join('; ')}`);
  }
  const errors = rows.filter((r) => [r.server, r.reference, r.peer, r.ceiling].some((m) => m && m.errors + m.non2xx > 0));
  if (errors.length) notes.push(`errors or non-2xx replies in: ${errors.map((r) => `${r.op} ${r.load}`).join(', ')} (see the log above and the JSON)`);
  return [...lines, '', ...notes].join('\n');
}
