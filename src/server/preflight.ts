/**
 * What a server checks before it starts serving, in the order a user fixes things: the TLS
 * files, then the listen address. The key store comes after (it may take a while to answer).
 * A cluster's primary runs this before it starts any worker, so a problem is reported once.
 */
import type { X509Certificate } from 'node:crypto';
import type { ServerConfig } from '../config/types.js';
import { TLS_REFRESH_MS } from '../config/defaults.js';
import { checkListenAddress } from './listen-address.js';
import { loadTlsMaterial } from './tls.js';

/** A server certificate that expires within this time is worth a warning at start. */
export const EXPIRY_WARNING_MS = 30 * 24 * 3600_000;

/**
 * @returns warnings: what works now but will not for long (a server certificate about to expire)
 * @throws the first problem, as one sentence naming the file or address
 */
export async function preflight(config: ServerConfig, address = config.address): Promise<string[]> {
  const tls = await loadTlsMaterial(config.tls);
  await checkListenAddress(address);
  const expiry = certificateWarning(config.tls.certFile, tls.leaf);
  return expiry === undefined ? [] : [expiry];
}

/** Why clients refuse, or will soon refuse, the server certificate; undefined when it is fine for a while. */
export function certificateWarning(file: string, cert: X509Certificate, now = Date.now()): string | undefined {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const reread = `the server re-reads it on SIGHUP and every ${TLS_REFRESH_MS / 60_000} minutes`;
  if (now > to) return `the server certificate '${file}' expired on ${day(to)}: clients refuse it. Renew it (${reread}).`;
  if (now < from) return `the server certificate '${file}' is valid only from ${day(from)}: clients refuse it until then. Check this machine's clock.`;
  if (to - now < EXPIRY_WARNING_MS) {
    const days = Math.floor((to - now) / (24 * 3600_000));
    return `the server certificate '${file}' expires ${days === 0 ? 'within a day' : `in ${days} day${days === 1 ? '' : 's'}`}, on ${day(to)}: renew it (${reread}).`;
  }
  return undefined;
}
