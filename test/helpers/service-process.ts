/**
 * A service process a test helper starts (etcd, moto): spawned with its output in a log file,
 * stopped (SIGTERM, SIGKILL after 10 s), paused (SIGSTOP, a hung service) and resumed. Every
 * process still running, and every folder still registered, is removed when the test process
 * exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';

const liveProcesses = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveProcesses) {
      try {
        child.kill('SIGKILL'); // also ends a stopped (SIGSTOP) process
      } catch {
        // already gone
      }
    }
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Removes dir when the test process exits, unless {@link forgetDir} came first. */
export function removeDirAtExit(dir: string): void {
  installExitHook();
  liveDirs.add(dir);
}

/** dir was removed: nothing to do at exit. */
export function forgetDir(dir: string): void {
  liveDirs.delete(dir);
}

function readProcStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
}

export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns bin with its stdout and stderr appended to logFile. */
  spawn(bin: string, args: readonly string[], logFile: string): void {
    installExitHook();
    const log = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(bin, args, { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    this.child = child;
    liveProcesses.add(child);
    this.exited = new Promise((resolve) => {
      const gone = () => {
        liveProcesses.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      };
      child.once('exit', gone);
      child.once('error', gone);
    });
  }

  /** Stops the process (a paused one too) and waits until it exited; SIGKILL after 10 s. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGCONT');
    child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(killer);
  }

  /** Freezes the process (SIGSTOP): it keeps its sockets but answers nothing. */
  pause(): void {
    const pid = this.child?.pid;
    this.child?.kill('SIGSTOP');
    // The signal is delivered asynchronously: wait until the process is stopped (state T), so
    // that nothing it was answering slips out after pause() returned.
    for (let i = 0; pid !== undefined && i < 200 && !/^\S+ \(.*\) [Tt] /.test(readProcStat(pid)); i++) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }
}
