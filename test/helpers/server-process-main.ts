/**
 * The child process of {@link startServerProcess}: starts a KesServer with the config given as a
 * JSON file (any store, the in-memory one included), prints `listening <port>`, and stops on
 * SIGTERM. A native abort of the server ends this process, which the parent observes.
 */
import { readFileSync } from 'node:fs';
import { KesServer } from '../../src/server/server.js';
import type { ServerConfig } from '../../src/config/types.js';

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ServerConfig;
const server = await KesServer.start(config, { stdout: process.stdout, stderr: process.stderr });
process.stdout.write(`listening ${server.address.port}\n`);
process.once('SIGTERM', () => void server.close(100).then(() => process.exit(0)));
