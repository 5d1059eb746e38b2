/**
 * Authentication and authorization of a request (protocol.md §2, §3): the identity comes from the
 * connection (or, for a configured TLS proxy, from the certificate it forwards); the admin may
 * do everything; any other identity only what its policy allows.
 */
import { X509Certificate } from 'node:crypto';
import { KesError, kesError } from '../api/errors.js';
import { identityOfCertificate } from '../auth/identity.js';
import { decodePem } from '../pki/pem.js';
import type { Policy } from '../policy/policy.js';
import type { ErrorLog } from '../log/error-log.js';
import type { ServerState, ProxySettings } from './state.js';
import type { Route } from './routes.js';
import { KES_ROUTE_OPERATIONS, OPS } from '../api/operations.js';
import { DEFAULT_ENCLAVE } from '../keystore/entry-names.js';
import { kmsIdentityOf } from '../auth/kms-credentials.js';
import { allows, rightsOf } from './access.js';

export interface Caller {
  identity: string;
  ip: string;
  /** Why the connection's certificate is refused (connection.ts); every request fails with it. */
  refusal?: string;
}

/**
 * Resolves the caller of a request and checks it may use the route: the policy must allow the
 * request's path and the canonical path of every operation the route performs.
 * @param resource the path after the route prefix (a key name for key routes)
 * @param rawHeaders the request's raw header list (name, value, name, value, ...)
 * An identity the config file does not know may have runtime rights (MinKMS identities of the
 * default enclave, server/access.ts): only then is the answer a promise.
 * @throws KesError 400 (no usable certificate, or one no longer trusted), 403 (not allowed)
 */
export function authenticate(state: ServerState, route: Route, path: string, resource: string, peer: Caller, rawHeaders: readonly string[]): Caller | Promise<Caller> {
  if (peer.refusal) throw kesError('KES_ERR_TLS', 'untrusted', { reason: peer.refusal });
  if (route.auth === 'none') return { identity: '', ip: peer.ip };
  let caller = peer;
  if (state.proxy && peer.identity !== '' && state.proxy.identities.has(peer.identity)) {
    caller = forwardedCaller(state.proxy, peer, rawHeaders, state.errorLog);
  }
  if (route.auth === 'identify') return caller;

  if (caller.identity === '') throw new KesError('KES_ERR_TLS');
  if (caller.identity === state.admin) return caller;
  const name = state.policies.policyNameOf(caller.identity);
  if (name === undefined) return runtimeCaller(state, route, path, resource, caller);
  const policy = state.policies.get(name);
  const refused = policy === undefined ? path : refusedPath(policy, route, path, resource);
  if (refused !== undefined) {
    const attrs = requestAttrs(path, caller);
    if (refused !== path) attrs.push(['req.operation', refused]);
    state.errorLog.debug(`access denied: rejected by policy '${name}'`, attrs);
    throw new KesError('KES_ERR_NOT_ALLOWED');
  }
  return caller;
}

/**
 * The first path the policy refuses: the request's own path, or the canonical path of an
 * operation the route performs (api/operations.ts); undefined when all are allowed.
 */
function refusedPath(policy: Policy, route: Route, path: string, resource: string): string | undefined {
  if (!policy.isAllowed(path)) return path;
  for (const operation of route.operations) {
    if (!policy.isAllowed(operation + resource)) return operation + resource;
  }
  return undefined;
}

/**
 * A caller without a config policy: allowed what its runtime rights in the default enclave allow
 * each operation of the route (api/operations.ts); a route that is no such operation (status,
 * metrics, logs) needs SysAdmin.
 */
async function runtimeCaller(state: ServerState, route: Route, path: string, resource: string, caller: Caller): Promise<Caller> {
  const rights = await rightsOf(state, caller.identity, DEFAULT_ENCLAVE);
  const subject = /^[0-9a-f]{64}$/.test(resource) ? kmsIdentityOf(resource) : resource;
  const refused = (KES_ROUTE_OPERATIONS.get(route.path) ?? [OPS.server]).find((op) => !allows(rights, op, subject));
  if (refused) {
    state.errorLog.debug(rights.kind === 'none' ? 'access denied: identity not found' : 'access denied: rejected by runtime rights', requestAttrs(path, caller));
    throw new KesError('KES_ERR_NOT_ALLOWED');
  }
  return caller;
}

function requestAttrs(path: string, c: Caller): [string, string][] {
  return [
    ['req.path', path],
    ['req.ip', c.ip],
    ['req.identity', c.identity],
  ];
}

function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === name) values.push(rawHeaders[i + 1]!);
  }
  return values;
}

/** The client behind a TLS proxy: identity of the forwarded certificate, IP from X-Forwarded-For. */
function forwardedCaller(proxy: ProxySettings, peer: Caller, rawHeaders: readonly string[], log: ErrorLog): Caller {
  const values = headerValues(rawHeaders, proxy.header);
  if (values.length === 0) throw kesError('KES_ERR_TLS', 'noForwardedCertificate');
  if (values.length > 1) throw kesError('KES_ERR_TLS', 'tooManyForwardedCertificates');
  let cert: X509Certificate;
  try {
    // The header holds a URL-query-escaped PEM certificate ('+' is a space).
    const pem = decodeURIComponent(values[0]!.replace(/\+/g, ' '));
    const block = decodePem(pem).find((b) => b.type === 'CERTIFICATE');
    if (!block) throw new Error('no certificate');
    cert = new X509Certificate(block.der);
  } catch {
    throw kesError('KES_ERR_TLS', 'invalidForwardedCertificate');
  }
  // A CA certificate is never an identity (as on a direct connection).
  if (cert.ca) throw kesError('KES_ERR_TLS', 'noForwardedCertificate');
  const distrust = proxy.verifyWith?.verify(cert);
  if (distrust) {
    log.info(`tls: refused a certificate forwarded by a TLS proxy: the client certificate ${distrust}`, [['req.ip', peer.ip]]);
    throw new KesError('KES_ERR_NOT_ALLOWED');
  }
  const forwardedFor = headerValues(rawHeaders, 'x-forwarded-for')[0];
  let ip = peer.ip;
  if (forwardedFor && forwardedFor !== 'unknown') {
    const first = forwardedFor.split(',')[0]!.trim();
    ip = first.replace(/^\[([^\]]+)\](?::\d+)?$/, '$1').replace(/^([^:]+):\d+$/, '$1');
  }
  return { identity: identityOfCertificate(cert.raw), ip };
}
