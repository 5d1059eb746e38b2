/**
 * The life of a server process, in one place (docs/architecture.md, "Process model"): start,
 * the banner, SIGHUP reloads, the periodic TLS certificate refresh and the graceful stop. How
 * the server runs is a {@link ServerRunner}: one process (single.ts), or a primary process
 * with workers (cluster/primary.ts). Workers take no signals; their primary tells them.
 */
import type { Writable } from 'node:stream';
import type { ServerConfig } from '../config/types.js';
import { TLS_REFRESH_MS } from '../config/defaults.js';
import { describeFailure } from './error-response.js';

/** A way of running the server. */
export interface ServerRunner {
  /**
   * Starts serving; resolves with the address once every process listens.
   * @throws what keeps the config from serving (the server does not start)
   */
  start(): Promise<{ host: string; port: number }>;
  /** Applies a new config everywhere; rejects with the first failure (the old config stays). */
  reload(config: ServerConfig): Promise<void>;
  /** Re-reads the TLS certificates (and CAs) of config: certificate rotation. */
  refreshTls(config: ServerConfig): Promise<void>;
  /** Stops serving: in-flight requests may finish, then connections are closed. */
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  runner: ServerRunner;
  /** The config file re-read on SIGHUP and for TLS refreshes (none in dev mode), for messages. */
  configFile?: string;
  /**
   * Reads the config file again; report: print its warnings (on SIGHUP, not on the quiet
   * periodic TLS refresh). @throws ConfigError
   */
  readConfig?: (report: boolean) => Promise<ServerConfig>;
  stdout: Writable;
  stderr: Writable;
  /** The start banner for the address the server listens on. */
  banner: (host: string, port: number) => string;
}

/**
 * Starts the server and runs it until SIGINT or SIGTERM. Returns the exit code: 0 after a
 * graceful stop, 1 when stopping failed.
 * @throws what start throws
 */
export async function supervise(o: SuperviseOptions): Promise<number> {
  const { runner, configFile, readConfig } = o;
  const { host, port } = await runner.start();

  return new Promise<number>((resolve) => {
    const reload = () => {
      if (!readConfig) return;
      readConfig(true)
        .then((config) => runner.reload(config))
        .then(
          () => o.stderr.write(`=> Reloaded config file '${configFile}'\n`),
          (err) => o.stderr.write(`Error: failed to reload config file '${configFile}': ${describeFailure(err)}\n`),
        );
    };
    const refreshTls = setInterval(() => {
      if (!readConfig) return;
      readConfig(false)
        .then((config) => runner.refreshTls(config))
        .catch((err) => o.stderr.write(`Error: failed to reload TLS certificates: ${describeFailure(err)}\n`));
    }, TLS_REFRESH_MS);
    refreshTls.unref();

    const stop = () => {
      process.off('SIGHUP', reload);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      clearInterval(refreshTls);
      o.stdout.write('\n=> Stopping server... Goodbye.\n');
      runner.stop().then(
        () => resolve(0),
        (err) => {
          o.stderr.write(`Error: ${describeFailure(err)}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGHUP', reload);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // After the handlers: whoever waits for the banner may send a signal at once.
    o.stdout.write(o.banner(host, port));
  });
}
