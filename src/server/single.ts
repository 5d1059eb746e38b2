/** The server in one process: a {@link ServerRunner} around one KesServer (supervisor.ts). */
import type { ServerConfig } from '../config/types.js';
import { KesServer, type StartOptions } from './server.js';
import type { ServerRunner } from './supervisor.js';
import { preflight } from './preflight.js';

export function singleProcess(config: ServerConfig, options: StartOptions): ServerRunner {
  let server: KesServer | undefined;
  const running = () => {
    if (!server) throw new Error('the server is not running');
    return server;
  };
  return {
    async start() {
      for (const warning of await preflight(config, options.address)) options.stderr?.write(`Warning: ${warning}\n`);
      server = await KesServer.start(config, options);
      return server.address;
    },
    reload: (next) => running().reload(next),
    refreshTls: (next) => running().reloadTls(next),
    stop: () => running().close(),
  };
}
