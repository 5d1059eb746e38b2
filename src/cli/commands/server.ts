/**
 * `kes server`: starts the server from a config file, or in development mode. SIGHUP reloads
 * the config (the old one stays on error), SIGINT/SIGTERM stop gracefully, and the TLS
 * certificates are re-read every 15 minutes.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { UsageError } from '../flags.js';
import type { CliIo, Command, CommandContext } from '../command.js';
import { useColor } from '../output.js';
import { banner } from './server-banner.js';
import { loadConfigFile } from '../../config/parse-config.js';
import { MAX_CONNECTIONS_RANGE } from '../../config/api-config.js';
import { KesServer } from '../../server/server.js';
import { createDevSetup, DEV_ADDRESS, removeDevSetup, type DevSetup } from '../../server/dev.js';
import { runPrimary } from '../../server/cluster/primary.js';
import { runWorker } from '../../server/cluster/worker.js';
import { buildInfo } from '../../util/build-info.js';
import { describeFailure } from '../../server/error-response.js';
import { excludeMemoryFromCoreDumps } from '../../server/core-dumps.js';
import type { ServerConfig } from '../../config/types.js';

const TLS_REFRESH_MS = 15 * 60_000;

export const serverCommand: Command = {
  name: 'server',
  usage: 'kes server --config FILE [--addr HOST:PORT]\n  kes server --dev [--addr HOST:PORT]',
  description: [
    'Starts a KES server that serves the KES API over HTTPS with mutual TLS.',
    '',
    'With --config, the server reads a KES config file (see docs/config.md). With --dev, it starts',
    'an ephemeral development server on 127.0.0.1:7373 with an in-memory key store and prints a',
    'throw-away admin credential. Send SIGHUP to reload the config file.',
  ].join('\n'),
  flags: [
    { name: 'config', type: 'string', value: 'FILE', description: 'Path to the server config file' },
    { name: 'addr', type: 'string', value: 'HOST:PORT', description: 'Listen address (default: the config\'s address, or 0.0.0.0:7373)' },
    { name: 'dev', type: 'boolean', description: 'Start a development server with an in-memory key store' },
    { name: 'workers', type: 'string', value: 'N', description: 'Server processes sharing the port (default: the number of CPUs; 1 for --dev)' },
    { name: 'max-connections', type: 'string', value: 'N', description: 'Open connections per worker beyond which new ones are closed (default: api.max_connections, or 10000)' },
    { name: 'key', type: 'string', hidden: true, description: 'deprecated' },
    { name: 'cert', type: 'string', hidden: true, description: 'deprecated' },
    { name: 'auth', type: 'string', hidden: true, description: 'deprecated' },
  ],
  examples: ['kes server --config config.yml', 'kes server --config config.yml --addr 127.0.0.1:7000', 'kes server --dev'],
  run: runServer,
};

async function runServer({ flags, args, io }: CommandContext): Promise<number> {
  if (args.length > 0) throw new UsageError(`unexpected argument '${args[0]}'`);
  for (const old of ['key', 'cert', 'auth'] as const) {
    if (flags[old] !== undefined && !cluster.isWorker) io.stderr.write(`Warning: --${old} is deprecated and ignored; set it in the config file.\n`);
  }
  const configFile = flags.config as string | undefined;
  const addr = flags.addr as string | undefined;
  if (flags.dev && configFile) throw new UsageError('--dev and --config cannot be used together');
  if (!flags.dev && !configFile) throw new UsageError('no config file: use --config FILE, or --dev for a development server');
  let workers = flags.workers === undefined ? availableParallelism() : Number(flags.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 1024) throw new UsageError(`invalid --workers '${String(flags.workers)}': a number from 1 to 1024`);
  const maxConnectionsFlag = flags['max-connections'] as string | undefined;
  const maxConnections = maxConnectionsFlag === undefined ? undefined : /^\d{1,7}$/.test(maxConnectionsFlag) ? Number(maxConnectionsFlag) : NaN;
  const { min, max } = MAX_CONNECTIONS_RANGE;
  if (maxConnections !== undefined && !(maxConnections >= min && maxConnections <= max)) {
    throw new UsageError(`invalid --max-connections '${maxConnectionsFlag}': a number from ${min} to ${max}`);
  }

  // Before any key or certificate is read: a crash must not write them to a core file.
  if (!excludeMemoryFromCoreDumps() && process.platform === 'linux' && !cluster.isWorker) {
    io.stderr.write('Warning: cannot exclude memory from core dumps (/proc/self/coredump_filter): turn core dumps off (ulimit -c 0).\n');
  }
  if (cluster.isWorker) {
    const config = await loadConfigFile(configFile!, io.env);
    return runWorker({ config, configFile, address: addr, workers, maxConnections, env: io.env, stdout: io.stdout, stderr: io.stderr });
  }

  const dev = flags.dev ? await createDevSetup(addr ?? DEV_ADDRESS) : undefined;
  if (dev) {
    // The credential folder goes with the process on every way out: a failed start, a stop, an
    // uncaught error. (A SIGKILL leaves it to the next --dev start: removeAbandonedDevFolders.)
    process.once('exit', () => removeDevSetup(dev));
  }
  const config: ServerConfig = dev ? dev.config : await loadConfigFile(configFile!, io.env);
  if (config.keystore.type === 'mem' && workers > 1) {
    // The in-memory store lives in one process: more workers would not share keys.
    if (flags.workers !== undefined) io.stderr.write('Warning: the in-memory key store needs a single worker: using --workers 1.\n');
    workers = 1;
  }
  const color = useColor(io.stdout);
  if (workers > 1) {
    const build = buildInfo();
    return runPrimary({
      workers,
      config,
      configFile,
      env: io.env,
      stdout: io.stdout,
      stderr: io.stderr,
      banner: (host, port) => banner({ config, build, host, port, color, workers }),
    });
  }
  const running = runSingle(config, { configFile, addr, maxConnections, dev, io, color });
  return dev ? running.finally(() => removeDevSetup(dev)) : running;
}

/** One server process: the whole server in this process. */
async function runSingle(config: ServerConfig, o: { configFile?: string; addr?: string; maxConnections?: number; dev?: DevSetup; io: CliIo; color: boolean }): Promise<number> {
  const { configFile, dev, io } = o;
  const server = await KesServer.start(config, { address: o.addr, maxConnections: o.maxConnections, stdout: io.stdout, stderr: io.stderr });
  const { host, port } = server.address;
  io.stdout.write(banner({ config, build: server.runtime.build, host, port, color: o.color, dev, workers: 1 }));

  return new Promise<number>((resolve) => {
    const reload = async () => {
      if (!configFile) return;
      try {
        await server.reload(await loadConfigFile(configFile, io.env));
        io.stderr.write(`=> Reloaded config file '${configFile}'\n`);
      } catch (err) {
        io.stderr.write(`Error: failed to reload config file '${configFile}': ${describeFailure(err)}\n`);
      }
    };
    const refreshTls = setInterval(() => {
      if (!configFile) return;
      loadConfigFile(configFile, io.env)
        .then((c) => server.reloadTls(c))
        .catch((err) => io.stderr.write(`Error: failed to reload TLS certificates: ${describeFailure(err)}\n`));
    }, TLS_REFRESH_MS);
    refreshTls.unref();

    const onHup = () => void reload();
    const stop = () => {
      process.off('SIGHUP', onHup);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      clearInterval(refreshTls);
      io.stdout.write('\n=> Stopping server... Goodbye.\n');
      server.close().then(
        () => resolve(0),
        (err) => {
          io.stderr.write(`Error: ${describeFailure(err)}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGHUP', onHup);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
