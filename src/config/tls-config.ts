/** The `tls:` section (protocol.md §1.1, §2.5, §13.2). */
import { isValidName } from '../policy/names.js';
import { compact, type ConfigNode } from './config-node.js';
import type { TlsConfig } from './types.js';

/** The header carrying a proxied client certificate when `tls.proxy.header.cert` is not set. */
export const DEFAULT_PROXY_CERT_HEADER = 'X-Tls-Client-Cert';

/** The longest TLS session ticket lifetime (RFC 8446 §4.6.1). */
const MAX_TICKET_LIFETIME_MS = 7 * 24 * 3600_000;

/**
 * Reads the `tls:` section. `key` and `cert` are required; `auth` is `""`, `on` or `off`
 * (case-insensitive, default off). Proxy identities must be valid names other than the admin.
 * `ticket_lifetime` (openkes) is a duration up to 7 days; 0 turns session resumption off.
 */
export function readTlsConfig(tls: ConfigNode, admin: string): TlsConfig {
  const keyFile = tls.required('key');
  const certFile = tls.required('cert');
  const auth = (tls.string('auth') ?? '').toLowerCase();
  if (auth !== '' && auth !== 'on' && auth !== 'off') {
    tls.at('auth').fail(`must be "on" or "off", got ${JSON.stringify(tls.string('auth'))}`);
  }
  const ticketLifetimeMs = tls.duration('ticket_lifetime');
  if (ticketLifetimeMs !== undefined && ticketLifetimeMs > MAX_TICKET_LIFETIME_MS) {
    tls.at('ticket_lifetime').fail('must be at most 168h (7 days, the TLS 1.3 limit)');
  }
  const config: TlsConfig = compact({
    keyFile,
    certFile,
    password: tls.optional('password'),
    auth: auth === 'on' ? 'on' : 'off',
    caPath: tls.optional('ca'),
    ticketLifetimeMs,
  });
  const proxy = tls.section('proxy');
  const identities = proxyIdentities(proxy, admin);
  // Read (and checked) also without proxies, as KES does; it only matters with them.
  const certHeader = proxy.section('header').optional('cert') ?? DEFAULT_PROXY_CERT_HEADER;
  if (identities.length > 0) config.proxy = { identities, certHeader };
  return config;
}

function proxyIdentities(proxy: ConfigNode, admin: string): string[] {
  const identities: string[] = [];
  for (const item of proxy.get('identities')?.items() ?? []) {
    const identity = item.text();
    if (!isValidName(identity)) item.fail(`invalid identity ${JSON.stringify(identity)}`);
    if (identity === admin) item.fail('the admin identity cannot be a TLS proxy');
    if (!identities.includes(identity)) identities.push(identity);
  }
  return identities;
}
