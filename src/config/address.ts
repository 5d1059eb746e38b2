/** The listen address (protocol.md §1.1, §14): `host:port` with an IP literal or empty host. */
import { isIPv4, isIPv6 } from 'node:net';

/**
 * Checks a listen address: `<ipv4>:<port>`, `[<ipv6>]:<port>` or `:<port>`, port 0…65535.
 * @returns why the address is invalid, or undefined when it is valid.
 */
export function checkAddress(address: string): string | undefined {
  const colon = address.lastIndexOf(':');
  if (colon < 0) return 'missing port (use host:port, e.g. 0.0.0.0:7373)';
  const host = address.slice(0, colon);
  const port = address.slice(colon + 1);
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return `invalid port ${JSON.stringify(port)} (must be 0 to 65535)`;
  if (host === '' || isIPv4(host)) return undefined;
  if (host.startsWith('[') && host.endsWith(']') && isIPv6(host.slice(1, -1))) return undefined;
  return `host ${JSON.stringify(host)} must be an IP address (IPv6 in brackets) or empty`;
}
