/**
 * `kes metric`: a live dashboard of the server's request rates, errors and latency, redrawn
 * every --rate on a terminal; one JSON object per tick when piped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from '../command.js';
import { UsageError } from '../flags.js';
import { clientFlags, OUTPUT_FLAGS } from '../client-env.js';
import { paint } from '../output.js';
import { parseDuration } from '../../config/duration.js';
import type { ServerMetrics } from '../../client/types.js';
import { expectArgs, outputOf, withClient } from './common.js';
import { formatBytes, formatUptime } from './status.js';

/** What happened between two scrapes. */
export interface MetricTick {
  ok: number;
  err: number;
  fail: number;
  active: number;
  /** Requests per second over the interval. */
  rate: number;
  /** Mean latency in ms over the interval (0 without requests). */
  avgLatencyMs: number;
  /** Latency upper bound (histogram bucket, ms) below which 50 % / 99 % of the interval's requests fell. */
  p50Ms: number;
  p99Ms: number;
  uptime: number;
  heap: number;
  stack: number;
  cpus: number;
  usableCpus: number;
  threads: number;
  /** Automatic key rotations made and failed (openkes servers only). */
  keyRotations?: number;
  keyRotationFailures?: number;
}

function quantile(prev: ServerMetrics | undefined, cur: ServerMetrics, count: number, q: number): number {
  if (count <= 0) return 0;
  for (const [le, n] of [...cur.latency.entries()].sort((a, b) => a[0] - b[0])) {
    if (n - (prev?.latency.get(le) ?? 0) >= q * count) return le * 1000;
  }
  return Infinity;
}

/** Differences between two scrapes, seconds apart. */
export function tick(prev: ServerMetrics | undefined, cur: ServerMetrics, seconds: number): MetricTick {
  const d = (k: 'requestOK' | 'requestErr' | 'requestFail' | 'latencyCount' | 'latencySum') => cur[k] - (prev?.[k] ?? 0);
  const count = d('latencyCount');
  return {
    ok: cur.requestOK,
    err: cur.requestErr,
    fail: cur.requestFail,
    active: cur.requestActive,
    rate: prev ? (d('requestOK') + d('requestErr') + d('requestFail')) / seconds : 0,
    avgLatencyMs: count > 0 ? (d('latencySum') / count) * 1000 : 0,
    p50Ms: quantile(prev, cur, count, 0.5),
    p99Ms: quantile(prev, cur, count, 0.99),
    uptime: cur.upTime,
    heap: cur.heapAlloc,
    stack: cur.stackAlloc,
    cpus: cur.cpus,
    usableCpus: cur.usableCpus,
    threads: cur.threads,
    ...(cur.keyRotations !== undefined && { keyRotations: cur.keyRotations, keyRotationFailures: cur.keyRotationFailures ?? 0 }),
  };
}

function pct(n: number, total: number): string {
  return total > 0 ? `${((100 * n) / total).toFixed(1)}%` : '0.0%';
}

function ms(v: number): string {
  if (v >= 1000) return `${+(v / 1000).toFixed(2)}s`;
  return `${v < 10 ? v.toFixed(2) : Math.round(v)}ms`;
}

/**
 * A percentile as the histogram knows it (bucketsMs: its upper bounds, ascending): `< 10ms` in
 * the first bucket (it has no lower bound), `≤ 50ms` in the others, `> 10s` beyond the last,
 * `-` without requests.
 */
export function latencyBound(v: number, bucketsMs: readonly number[]): string {
  if (v === 0) return '-';
  if (v === Infinity) return `> ${ms(bucketsMs.at(-1) ?? 0)}`;
  return `${v <= (bucketsMs[0] ?? 0) ? '<' : '≤'} ${ms(v)}`;
}

/** A dashboard line and when it is dropped on a short terminal (higher first; 0: never). */
type Line = readonly [text: string, drop: number];

/** The dashboard of a tick, one entry per line. */
export function dashboard(t: MetricTick, endpoint: string, bucketsMs: readonly number[], color: boolean): Line[] {
  const total = t.ok + t.err + t.fail;
  const b = (s: string) => paint(color, s, 'bold');
  const idle = t.p50Ms === 0;
  return [
    [`${b('KES')} ${endpoint}   up ${formatUptime(t.uptime)}`, 0],
    ['', 5],
    [`${b('Requests')}  ${total} total   ${t.rate.toFixed(1)} req/s   ${t.active} active`, 1],
    [`  ${paint(color, 'OK ', 'green')}   ${String(t.ok).padStart(10)}  ${pct(t.ok, total).padStart(6)}`, 2],
    [`  ${paint(color, '4xx', 'yellow')}   ${String(t.err).padStart(10)}  ${pct(t.err, total).padStart(6)}`, 2],
    [`  ${paint(color, '5xx', 'red')}   ${String(t.fail).padStart(10)}  ${pct(t.fail, total).padStart(6)}`, 2],
    ['', 5],
    [`${b('Latency')}   avg ${idle ? '-' : ms(t.avgLatencyMs)}   p50 ${latencyBound(t.p50Ms, bucketsMs)}   p99 ${latencyBound(t.p99Ms, bucketsMs)}`, 1],
    [`${b('System')}    heap ${formatBytes(t.heap)}   stack ${formatBytes(t.stack)}   CPUs ${t.usableCpus}/${t.cpus}   threads ${t.threads}`, 3],
    // Automatic rotation (openkes): shown once the server has rotated or failed to.
    ...(t.keyRotations || t.keyRotationFailures ? [[`${b('Rotation')}  ${t.keyRotations} automatic   ${t.keyRotationFailures} failed`, 3] as const] : []),
    ['', 5],
    [paint(color, 'Ctrl-C to quit', 'gray'), 4],
  ];
}

/**
 * The lines that fit a terminal of rows × columns (unknown: all), in order: lines are dropped,
 * the least important first, until the rest fits; the first line (the header) always stays.
 */
export function fitLines(lines: readonly Line[], rows = Infinity, columns = Infinity): string[] {
  const height = ([text]: Line) => Math.max(1, Math.ceil(text.replace(/\x1b\[[0-9;]*m/g, '').length / columns));
  const kept = [...lines];
  let used = kept.reduce((n, l) => n + height(l), 0);
  while (used > rows) {
    const worst = Math.max(...kept.map(([, drop]) => drop));
    if (worst === 0) break;
    const i = kept.findLastIndex(([, drop]) => drop === worst);
    used -= height(kept[i]!);
    kept.splice(i, 1);
  }
  return kept.map(([text]) => text);
}

export const metricCommand: Command = {
  name: 'metric',
  usage: 'kes metric [--rate DURATION] [options]',
  description: 'Shows request counts and rates, errors, latency and memory of the server, refreshed every --rate, until Ctrl-C. When stdout is not a terminal (or with --json), prints one JSON object per interval instead.',
  flags: clientFlags({ name: 'rate', type: 'string', value: 'DURATION', description: 'Refresh interval (default 5s)' }, ...OUTPUT_FLAGS),
  examples: ['kes metric', 'kes metric --rate 1s', 'kes metric | head -3'],
  async run(ctx) {
    expectArgs(ctx, 0, 0, 'kes metric');
    const rate = parseDuration((ctx.flags.rate as string | undefined) ?? '5s');
    if (rate === undefined || rate <= 0) throw new UsageError(`invalid --rate '${String(ctx.flags.rate)}': use a duration such as 1s or 500ms`);
    const out = outputOf(ctx);
    const live = out.tty && !out.json;
    const terminal = ctx.io.stdout as { rows?: number; columns?: number };
    const signal = ctx.io.signal;
    // The shell prompt after Ctrl-C starts below the dashboard (the CLI may exit at once).
    if (live) signal?.addEventListener('abort', () => ctx.io.stdout.write('\n'), { once: true });
    await withClient(ctx, async (c) => {
      let prev: ServerMetrics | undefined;
      let last = performance.now();
      for (;;) {
        const cur = await c.metrics({ signal });
        const now = performance.now();
        const t = tick(prev, cur, (now - last) / 1000);
        if (live) {
          // No newline after the last line: on a full terminal it would scroll the header away.
          const bucketsMs = [...cur.latency.keys()].sort((a, b) => a - b).map((le) => le * 1000);
          const lines = fitLines(dashboard(t, c.endpoints[0]!, bucketsMs, out.color), terminal.rows, terminal.columns);
          ctx.io.stdout.write(`\x1b[H\x1b[2J${lines.join('\n')}`);
        } else {
          ctx.io.stdout.write(JSON.stringify(t) + '\n');
        }
        prev = cur;
        last = now;
        try {
          await sleep(rate, undefined, { signal });
        } catch {
          return;
        }
      }
    });
    return 1; // ended by Ctrl-C, as KES
  },
};
