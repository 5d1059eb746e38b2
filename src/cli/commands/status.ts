/** `kes status`: the state of each configured server and its key store. */
import type { Command } from '../command.js';
import { clientFlags, clientFromEnv, OUTPUT_FLAGS, serverEndpoints } from '../client-env.js';
import { formatFields, paint } from '../output.js';
import { cliErrorMessage } from '../errors.js';
import { expectArgs, outputOf } from './common.js';
import type { ApiInfo, ServerState } from '../../client/types.js';

/** `1d 2h 3m 4s`, leaving out leading zero units. */
export function formatUptime(seconds: number): string {
  const s = Math.floor(seconds);
  const parts: [number, string][] = [[Math.floor(s / 86400), 'd'], [Math.floor((s % 86400) / 3600), 'h'], [Math.floor((s % 3600) / 60), 'm'], [s % 60, 's']];
  const first = parts.findIndex(([n]) => n > 0);
  return parts.slice(first < 0 ? 3 : first).map(([n, u]) => `${n}${u}`).join(' ');
}

/** Bytes in binary units: `12.3 MiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)}ms` : `${Math.round(ms)}ms`;
}

export const statusCommand: Command = {
  name: 'status',
  usage: 'kes status [options]',
  description: 'Prints version, uptime, latency and resources of every server in --server or KES_SERVER, and the state of its key store.',
  flags: clientFlags(
    { name: 'short', short: 's', type: 'boolean', description: 'Print one line per server' },
    { name: 'api', type: 'boolean', description: 'List the server\'s APIs' },
    ...OUTPUT_FLAGS,
  ),
  examples: ['kes status', 'kes status --short', 'kes status --api', 'kes status --json'],
  async run(ctx) {
    expectArgs(ctx, 0, 0, 'kes status');
    const out = outputOf(ctx);
    let failed = false;
    for (const endpoint of serverEndpoints(ctx.io.env, ctx.flags.server as string | undefined)) {
      const client = await clientFromEnv(ctx.flags, ctx.io.env, { server: endpoint });
      const dot = (ok: boolean) => paint(out.color, '●', ok ? 'green' : 'red');
      const url = client.endpoints[0]!;
      try {
        const start = performance.now();
        const state = await client.status({ signal: ctx.io.signal });
        const latency = performance.now() - start;
        const apis = ctx.flags.api ? await client.apis({ signal: ctx.io.signal }) : undefined;
        if (out.json) ctx.io.stdout.write(JSON.stringify(apis ? apiJson(apis) : stateJson(url, state)) + '\n');
        else if (ctx.flags.short) ctx.io.stdout.write(`${dot(!state.keyStoreUnreachable)} ${url}\n`);
        else ctx.io.stdout.write(describe(url, state, latency, out.color, dot(!state.keyStoreUnreachable)) + (apis ? apiTable(apis, out.color) : ''));
      } catch (err) {
        if (ctx.io.signal?.aborted) throw err;
        failed = true;
        if (out.json) ctx.io.stdout.write(JSON.stringify({ endpoint: url, error: cliErrorMessage(err) }) + '\n');
        else ctx.io.stdout.write(`${dot(false)} ${url}\n  ${cliErrorMessage(err)}\n`);
      } finally {
        client.close();
      }
    }
    return failed ? 1 : 0;
  },
};

function stateJson(endpoint: string, s: ServerState): object {
  return {
    endpoint,
    version: s.version,
    os: s.os,
    arch: s.arch,
    uptime: s.uptime,
    num_cpu: s.cpus,
    num_cpu_used: s.usableCpus,
    mem_heap_used: s.heapAlloc,
    mem_stack_used: s.stackAlloc,
    ...(s.keyStoreUnreachable ? { keystore_unreachable: true, keystore_unavailable: true } : { keystore_latency: s.keyStoreLatencyNs }),
  };
}

function apiJson(apis: ApiInfo[]): object {
  return apis.map((a) => ({ method: a.method, path: a.path, max_body: a.maxBody, timeout: a.timeout }));
}

function describe(url: string, s: ServerState, latencyMs: number, color: boolean, dot: string): string {
  const store = s.keyStoreUnreachable ? paint(color, 'unreachable', 'red') : `reachable (${formatMs((s.keyStoreLatencyNs ?? 0) / 1e6)})`;
  const fields = formatFields(
    [
      ['Version', s.version],
      ['Uptime', formatUptime(s.uptime)],
      ['Latency', formatMs(latencyMs)],
      ['OS', `${s.os}/${s.arch}`],
      ['CPUs', `${s.usableCpus} used of ${s.cpus}`],
      ['Memory', `heap ${formatBytes(s.heapAlloc)}, stack ${formatBytes(s.stackAlloc)}`],
      ['Key store', store],
    ],
    color,
  );
  return `${dot} ${paint(color, url, 'bold')}\n${fields.replace(/^/gm, '  ')}`;
}

function apiTable(apis: ApiInfo[], color: boolean): string {
  const rows = apis.map((a) => [a.method, a.path, a.timeout === 0 ? 'Inf' : `${a.timeout}s`]);
  const w0 = Math.max(6, ...rows.map((r) => r[0]!.length)) + 2;
  const w1 = Math.max(3, ...rows.map((r) => r[1]!.length)) + 2;
  const header = paint(color, `${'Method'.padEnd(w0)}${'API'.padEnd(w1)}Timeout`, 'bold', 'underline');
  return `\n${header}\n${rows.map((r) => `${r[0]!.padEnd(w0)}${r[1]!.padEnd(w1)}${r[2]}`).join('\n')}\n`;
}
