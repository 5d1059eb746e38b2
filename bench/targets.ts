/**
 * The servers a benchmark drives (openkes, the reference servers, a peer) and the load generator
 * that drives them. Servers run pinned to CPU 0, the load generator to CPU 1.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { freePort, type Fixtures } from './setup.js';
import { runNode, spawnNode, waitForOutput } from './proc.js';
import type { LoadSpec } from './load-spec.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'dist', 'cli', 'bin.js');
export const TSX = ['--import', 'tsx'];

/** Who answers: openkes, the minimal Node reference, a KES-compatible peer, or a trivial server. */
export type TargetName = 'server' | 'reference' | 'peer' | 'trivial';

export interface Target {
  name: TargetName;
  port: number;
  child: ChildProcess;
}

export type Protocol = 'h1' | 'h2';

export async function startServer(config: string, workers: number, cpus = '0'): Promise<Target> {
  const child = spawnNode([BIN, 'server', '--config', config, '--workers', String(workers)], cpus);
  const [, port] = await waitForOutput(child, /https:\/\/127\.0\.0\.1:(\d+)[\s\S]*Server is up and running/);
  return { name: 'server', port: Number(port), child };
}

/**
 * The reference server of a protocol (bench/reference-server.ts for HTTP/1.1,
 * bench/reference-server-h2.ts for HTTP/2), or with trivial its fixed-reply variant.
 */
export async function startReference(f: Fixtures, protocol: Protocol, trivial = false): Promise<Target> {
  const port = await freePort();
  const script = join(ROOT, 'bench', protocol === 'h1' ? 'reference-server.ts' : 'reference-server-h2.ts');
  const child = spawnNode([...TSX, script, String(port), f.serverCert, f.serverKey, ...(trivial ? ['--trivial'] : [])], '0');
  await waitForOutput(child, /ready/);
  return { name: trivial ? 'trivial' : 'reference', port, child };
}

/** Runs the load generator (bench/loadgen.ts) and returns its JSON result. */
export function load<T>(spec: LoadSpec, cpus = '1'): Promise<T> {
  return runNode([...TSX, join(ROOT, 'bench', 'loadgen.ts'), JSON.stringify(spec)], cpus).then((out) => JSON.parse(out) as T);
}
