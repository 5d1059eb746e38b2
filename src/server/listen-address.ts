/**
 * The listen address: `host:port` split, why listening on it failed in one sentence, and a trial
 * bind, so that a cluster's primary refuses a taken port before it starts any worker.
 */
import { createServer } from 'node:net';

/** Splits `host:port` (host an IP literal, `[v6]` or empty). */
export function splitAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid listen address '${address}': expected host:port`);
  return { host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
}

const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use: another process listens there (stop it, or choose another port with --addr or the config\'s address)',
  EACCES: 'permission denied: ports below 1024 need privileges (choose another port with --addr or the config\'s address)',
  EADDRNOTAVAIL: 'the address is not one of this machine\'s (use one of its IP addresses, or 0.0.0.0 for all)',
};

/** The error for a failed listen on address, saying why and what to do. */
export function listenError(address: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = (code !== undefined && REASONS[code]) || code || (err as Error).message;
  return new Error(`failed to listen on ${address}: ${reason}`, { cause: err });
}

/**
 * Binds address and lets it go again.
 * @throws the {@link listenError} when it cannot be bound
 */
export async function checkListenAddress(address: string): Promise<void> {
  const { host, port } = splitAddress(address);
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: host || undefined, exclusive: true }, resolve);
    });
  } catch (err) {
    throw listenError(address, err);
  }
  await new Promise((resolve) => server.close(resolve));
}
