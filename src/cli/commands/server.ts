/**
 * `kes server`: starts the server from a config file, or in development mode. SIGHUP reloads
 * the config (the old one stays on error), SIGINT/SIGTERM stop gracefully, and the TLS
 * certificates are re-read every 15 minutes.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { UsageError } from '../flags.js';
import type { Command, CommandContext } from '../command.js';
import { useColor } from '../output.js';
import { banner } from './server-banner.js';
import { loadConfigFile } from '../../config/parse-config.js';
import { MAX_CONNECTIONS_RANGE } from '../../config/api-config.js';
import { createDevSetup, DEV_ADDRESS, removeDevSetup } from '../../server/dev.js';
import { clusterRunner } from '../../server/cluster/primary.js';
import { runWorker } from '../../server/cluster/worker.js';
import { singleProcess } from '../../server/single.js';
import { supervise } from '../../server/supervisor.js';
import { buildInfo } from '../../util/build-info.js';
import { excludeMemoryFromCoreDumps } from '../../server/core-dumps.js';
import type { ServerConfig } from '../../config/types.js';
import type { ConfigWarning } from '../../config/config-warning.js';

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
    { name: 'strict-config', type: 'boolean', description: 'Refuse a config file with warnings (unknown fields, an admin.identity that is not an identity) instead of ignoring them, as KES does' },
    { name: 'max-connections', type: 'string', value: 'N', description: 'Open connections per worker beyond which new ones are closed (default: api.max_connections, or 10000)' },
    { name: 'key', type: 'string', hidden: true, description: 'deprecated' },
    { name: 'cert', type: 'string', hidden: true, description: 'deprecated' },
    { name: 'auth', type: 'string', hidden: true, description: 'deprecated' },
  ],
  examples: ['kes server --config config.yml', 'kes server --config config.yml --strict-config', 'kes server --config config.yml --addr 127.0.0.1:7000', 'kes server --dev'],
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
  if (cluster.isWorker) return runWorker({ workers, address: addr, maxConnections, stdout: io.stdout, stderr: io.stderr });

  const dev = flags.dev ? await createDevSetup(addr ?? DEV_ADDRESS) : undefined;
  if (dev) {
    // The credential folder goes with the process on every way out: a failed start, a stop, an
    // uncaught error. (A SIGKILL leaves it to the next --dev start: removeAbandonedDevFolders.)
    process.once('exit', () => removeDevSetup(dev));
  }
  try {
    const strict = flags['strict-config'] === true;
    const readConfig = async (report: boolean): Promise<ServerConfig> => {
      const warnings: ConfigWarning[] = [];
      const config = await loadConfigFile(configFile!, io.env, { warnings, strict });
      if (report) for (const w of warnings) io.stderr.write(`Warning: ${w.message}\n`);
      return config;
    };
    const config: ServerConfig = dev ? dev.config : await readConfig(true);
    if (config.keystore.type === 'mem' && workers > 1) {
      // The in-memory store lives in one process: more workers would not share keys.
      if (flags.workers !== undefined) io.stderr.write('Warning: the in-memory key store needs a single worker: using --workers 1.\n');
      workers = 1;
    }
    const runner =
      workers > 1
        ? clusterRunner({ workers, config, address: addr, stderr: io.stderr })
        : singleProcess(config, { address: addr, maxConnections, stdout: io.stdout, stderr: io.stderr });
    const build = buildInfo();
    const color = useColor(io.stdout);
    return await supervise({
      runner,
      configFile,
      ...(!dev && { readConfig }),
      stdout: io.stdout,
      stderr: io.stderr,
      banner: (host, port) => banner({ config, build, host, port, color, dev, workers }),
    });
  } finally {
    if (dev) removeDevSetup(dev);
  }
}
