/** Child processes for the benchmark: CPU pinning, readiness, RSS and CPU time from /proc. */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';

export const CPUS = Number(execFileSync('nproc').toString().trim());
const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

/** Every child still running, stopped when the benchmark ends in any way (see stopChildrenOnExit). */
const running = new Set<ChildProcess>();
/** Set on Ctrl-C or SIGTERM, while the children are being stopped. */
let stopping = false;
/** Children started in a process group of their own: stopping one stops its group. */
const groups = new WeakSet<ChildProcess>();

function track(child: ChildProcess, group = false): ChildProcess {
  running.add(child);
  if (group) groups.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

const pin = (argv: string[], cpus?: string) => (cpus !== undefined && hasTaskset && CPUS > 1 ? ['taskset', '-c', cpus, ...argv] : argv);

/** Spawns node with args, pinned to the given CPUs when taskset exists and the machine has them. */
export function spawnNode(args: string[], cpus?: string, options: { stdin?: 'pipe' | 'ignore' } = {}): ChildProcess {
  const argv = pin([process.execPath, ...args], cpus);
  return track(spawn(argv[0]!, argv.slice(1), { stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } }));
}

/**
 * Runs a shell command line (a peer server), pinned like spawnNode. It gets a process group of
 * its own, so that stopping it also stops what the command started (`a && b`, a wrapper script).
 */
export function spawnShell(command: string, cpus?: string): ChildProcess {
  const argv = pin(['/bin/sh', '-c', command], cpus);
  return track(spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, NO_COLOR: '1' } }), true);
}

function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (groups.has(child)) process.kill(-child.pid!, sig);
    else child.kill(sig);
  } catch {
    // already gone
  }
}

/**
 * Stops every child when the benchmark stops: on Ctrl-C or SIGTERM gracefully (SIGTERM, then
 * SIGKILL after 5 s), on any other way out (an error) at once with SIGKILL. cleanup runs last
 * (synchronously).
 */
export function stopChildrenOnExit(cleanup: () => void): void {
  process.once('exit', () => {
    for (const child of running) signal(child, 'SIGKILL');
    cleanup();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      stopping = true;
      process.stderr.write(`\n${sig}: stopping the servers\n`);
      void Promise.all([...running].map(stop)).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    });
  }
}

/** Resolves with the first match of pattern in the process's output. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${text}`)), timeoutMs);
    const check = (d: Buffer) => {
      text += d;
      const m = text.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${text}`)));
  });
}

/** Runs a node script and returns its stdout. */
export function runNode(args: string[], cpus?: string): Promise<string> {
  const child = spawnNode(args, cpus);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      // Stopped by Ctrl-C: the run ends in stopChildrenOnExit, not with this child's error.
      if (stopping) return;
      if (code === 0) resolve(out);
      else reject(new Error(`${args.join(' ')} failed (${code}): ${err}`));
    }),
  );
}

/** The process and all its descendants. */
export function processTree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    const path = `/proc/${pids[i]}/task/${pids[i]}/children`;
    if (!existsSync(path)) continue;
    for (const c of readFileSync(path, 'utf8').trim().split(/\s+/)) if (c) pids.push(Number(c));
  }
  return pids;
}

/** Resident memory of a process tree in bytes. */
export function rss(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      total += Number(m?.[1] ?? 0) * 1024;
    } catch {
      // the process ended
    }
  }
  return total;
}

/** CPU time (user + system) of a process tree in milliseconds. */
export function cpuMs(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended
    }
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    signal(child, 'SIGTERM');
    setTimeout(() => signal(child, 'SIGKILL'), 5000).unref();
  });
}
