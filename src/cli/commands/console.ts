/**
 * `kes console`: the web console (docs/console.md). It serves the page on a loopback address
 * and talks to the servers of KES_SERVER with the operator's credentials, which never reach the
 * browser. It prints the URL with the one-time access token, and the token alone below it.
 */
import { once } from 'node:events';
import { isIP } from 'node:net';
import type { Command } from '../command.js';
import { UsageError } from '../flags.js';
import { clientFlags, clientOptionsFromEnv } from '../client-env.js';
import { cliErrorMessage } from '../errors.js';
import { expectArgs } from './common.js';
import { listenError, splitAddress } from '../../server/listen-address.js';

export const DEFAULT_CONSOLE_ADDRESS = '127.0.0.1:7380';

/** The console serves plain HTTP: only a loopback address keeps its cookie and token on the machine. */
function loopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export const consoleCommand: Command = {
  name: 'console',
  usage: 'kes console [options]',
  description: [
    'Serves the web console on a local address: keys, policies and identities, status, live metrics and the audit log of the',
    'servers in --server or KES_SERVER. The console signs in to them with your credentials (KES_API_KEY, or KES_CLIENT_CERT and',
    'KES_CLIENT_KEY; KES_CAPATH), which stay in this process. Open the URL it prints: it carries a one-time access token, valid',
    'for 5 minutes until it is used; the token alone is on the line after it. The page is plain HTTP on a loopback address:',
    'reach a remote console through an SSH tunnel (ssh -L 7380:127.0.0.1:7380 host).',
  ].join('\n'),
  flags: clientFlags({ name: 'addr', type: 'string', value: 'HOST:PORT', description: `Address to serve the console on, a loopback one (default ${DEFAULT_CONSOLE_ADDRESS})` }),
  examples: ['kes console', 'kes console --addr 127.0.0.1:8080', 'KES_SERVER=kes-1:7373,kes-2:7373 kes console'],
  async run(ctx) {
    expectArgs(ctx, 0, 0, 'kes console');
    const address = (ctx.flags.addr as string | undefined) ?? DEFAULT_CONSOLE_ADDRESS;
    let host: string;
    let port: number;
    try {
      ({ host, port } = splitAddress(address));
    } catch (err) {
      throw new UsageError((err as Error).message.replace('listen address', '--addr'));
    }
    if (!loopbackHost(host)) throw new UsageError(`--addr ${address}: the console serves plain HTTP, so it listens on a loopback address only (127.0.0.1, ::1 or localhost); reach it from elsewhere through an SSH tunnel`);

    const options = await clientOptionsFromEnv(ctx.flags, ctx.io.env);
    // Loaded when used: no other command needs the console's code.
    const [{ ConsoleBackend }, { LoginGate }, { StaticFiles }, { createConsoleServer }, { CONSOLE_ROUTES }] = await Promise.all([
      import('../../console/backend.js'),
      import('../../console/session.js'),
      import('../../console/static.js'),
      import('../../console/http.js'),
      import('../../console/routes.js'),
    ]);
    const files = new StaticFiles();
    const backend = new ConsoleBackend(options);
    const gate = new LoginGate();
    const server = createConsoleServer({ gate, backend, files, routes: CONSOLE_ROUTES });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(listenError(address, err)));
        server.listen({ host, port, exclusive: true }, resolve);
      });
    } catch (err) {
      await backend.close();
      throw err;
    }
    const bound = server.address() as { port: number };
    const urlHost = host.includes(':') ? `[${host}]` : host;
    ctx.io.stdout.write(`http://${urlHost}:${bound.port}/?token=${gate.token}\n${gate.token}\n`);
    ctx.io.stderr.write(
      `kes console: serving ${backend.endpoints.join(', ')} on http://${urlHost}:${bound.port}\n` +
        'Open the URL above to sign in; its access token works once, within 5 minutes. Press Ctrl-C to stop.\n',
    );
    // A first look at the servers, so that a wrong address or credential shows here too.
    try {
      await backend.kes.describeSelf({ signal: AbortSignal.timeout(5000) });
    } catch (err) {
      ctx.io.stderr.write(`warning: ${cliErrorMessage(err)}\n`);
    }

    if (ctx.io.signal && !ctx.io.signal.aborted) await once(ctx.io.signal, 'abort');
    server.closeAllConnections();
    server.close();
    await backend.close();
    return 0;
  },
};
