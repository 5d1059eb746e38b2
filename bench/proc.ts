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

/** Spawns node with args, pinned to the given CPUs when taskset exists and the machine has them. */
export function spawnNode(args: string[], cpus?: string, options: { stdin?: 'pipe' | 'ignore' } = {}): ChildProcess {
  const argv = [process.execPath, ...args];
  const pinned = cpus !== undefined && hasTaskset && CPUS > 1 ? ['taskset', '-c', cpus, ...argv] : argv;
  return spawn(pinned[0]!, pinned.slice(1), { stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
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
  return new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} failed (${code}): ${err}`)))));
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
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}
