/**
 * One-line error messages a person can act on: what went wrong, then what to do (wrong
 * endpoint, refused connection, certificate problems on either side, missing credentials, not
 * allowed by policy).
 */
import { KesError } from '../api/errors.js';
import { ConnectionError } from '../client/errors.js';
import type { TlsProblem } from '../client/tls-problems.js';

const CREDENTIALS = 'set KES_API_KEY (or --api-key), or KES_CLIENT_CERT and KES_CLIENT_KEY';
const CLIENT_UNTRUSTED =
  'the server verifies client certificates (tls.auth: on) and accepts only those issued by a CA in its tls.ca; the certificate of an API key is self-signed and is never accepted there';

/** What to do about each certificate problem. */
const TLS_FIXES: Record<TlsProblem, (at: string) => string> = {
  'client-certificate-required': (at) => `${at} requires a client certificate and got none: ${CREDENTIALS}.`,
  'client-certificate-expired': (at) => `${at} refused the client certificate: it has expired. Use a renewed certificate (KES_CLIENT_CERT) or an API key.`,
  'client-certificate-not-yet-valid': (at) => `${at} refused the client certificate: it is not valid yet. Check the clocks of this machine and the server.`,
  'client-certificate-untrusted': (at) => `${at} refused the client certificate: ${CLIENT_UNTRUSTED}.`,
  'server-certificate-expired': (at) => `the certificate of ${at} has expired: the server's admin must renew it (-k skips verification, insecure).`,
  'server-certificate-not-yet-valid': (at) => `the certificate of ${at} is not valid yet: check the clocks of this machine and the server.`,
  'server-certificate-untrusted': (at) => `the certificate of ${at} is not issued by a CA this client trusts. Trust its CA with --ca FILE (or KES_CAPATH=FILE), or use -k to skip verification (insecure).`,
  'server-name-mismatch': (at) => `the certificate of ${at} is not valid for this host name: use the name or IP address it was issued for, or -k to skip verification (insecure).`,
};

/** The server's `tls: client certificate <reason>` answers, with what to do. */
const TLS_ANSWERS: Array<[RegExp, string]> = [
  [/ is required$/, `the server requires a client certificate: ${CREDENTIALS}.`],
  [/ has expired$/, 'use a renewed certificate (KES_CLIENT_CERT) or an API key.'],
  [/ is not valid yet$/, 'check the clocks of this machine and the server.'],
  [/ is not issued by a trusted CA$/, `${CLIENT_UNTRUSTED}.`],
];

/** The message the CLI prints for err (after `Error: `). */
export function cliErrorMessage(err: unknown): string {
  if (err instanceof ConnectionError) {
    const code = err.causeCode ?? '';
    const at = err.endpoint;
    if (err.tlsProblem) return TLS_FIXES[err.tlsProblem](at);
    if (code === 'ECONNREFUSED') return `cannot connect to ${at}: connection refused. Is the server running there? Set KES_SERVER (or --server) to its address.`;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the host of ${at}. Check KES_SERVER (or --server).`;
    if (code === 'ECONNRESET' || code === 'EPROTO' || /_ALERT_/.test(code)) {
      return `${at} closed the connection during the TLS handshake (${code}): check that KES_SERVER points at a KES server's HTTPS port.`;
    }
    if (err.timedOut) return `${at} did not answer in time. Check that KES_SERVER points at a KES server.`;
    return `${err.message}. Check KES_SERVER.`;
  }
  if (err instanceof KesError) {
    if (err.code === 'KES_ERR_NOT_ALLOWED') {
      return `${err.message}: this identity is not allowed to do that. The server admin must assign it to a policy that allows the request ("kes identity info" shows your identity and policy).`;
    }
    if (err.code === 'KMS_ERR_PERMISSION') {
      return `${err.message}: this identity may not do that in this enclave. Enclaves, backups and SysAdmins need a SysAdmin (the config's admin); runtime policies and identities an Admin of the enclave (docs/minkms.md "Access").`;
    }
    if (err.code === 'KMS_ERR_ENCLAVE_NOT_FOUND') return `${err.message}: "kes enclave ls" lists the enclaves; --enclave (or KES_ENCLAVE) names one.`;
    if (err.code === 'KES_ERR_TLS') {
      const fix = TLS_ANSWERS.find(([pattern]) => pattern.test(err.message))?.[1];
      if (fix) return `${err.message}: ${fix}`;
    }
    if (err.code === 'KES_ERR_HTTP' && err.status === 404) return `the server does not know this API (${err.message}): check that KES_SERVER points at a KES server.`;
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
