/**
 * One-line error messages a person can act on (issue: wrong endpoint, refused connection,
 * untrusted server certificate, missing credentials, not allowed by policy).
 */
import { KesError } from '../api/errors.js';
import { ConnectionError } from '../client/errors.js';

const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;
// OpenSSL's codes of an alert the peer sent (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, ...).
const TLS_ALERT = /_ALERT_/;

/** The message the CLI prints for err (after `Error: `). */
export function cliErrorMessage(err: unknown): string {
  if (err instanceof ConnectionError) {
    const code = err.causeCode ?? '';
    const at = err.endpoint;
    if (code === 'ECONNREFUSED') return `cannot connect to ${at}: connection refused. Is the server running there? Set KES_SERVER to its address.`;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the host of ${at}. Check KES_SERVER.`;
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the certificate of ${at} is not valid for this host name: use the name or IP address it was issued for, or -k to skip verification (insecure).`;
    if (CERT_CODES.test(code)) {
      return `the certificate of ${at} is not trusted (${code}). Trust its CA with --ca FILE (or KES_CAPATH=FILE), or use -k to skip verification (insecure).`;
    }
    if (code === 'ECONNRESET' || code === 'EPROTO' || TLS_ALERT.test(code)) {
      return `${at} closed the connection during the TLS handshake: it does not accept this client certificate (with tls.auth: on it must be issued by a CA the server trusts).`;
    }
    if (err.timedOut) return `${at} did not answer in time. Check that KES_SERVER points at a KES server.`;
    return `${err.message}. Check KES_SERVER.`;
  }
  if (err instanceof KesError) {
    if (err.code === 'KES_ERR_NOT_ALLOWED') {
      return `${err.message}: this identity is not allowed to do that. The server admin must assign it to a policy that allows the request ("kes identity info" shows your identity and policy).`;
    }
    if (err.code === 'KES_ERR_HTTP' && err.status === 404) return `the server does not know this API (${err.message}): check that KES_SERVER points at a KES server.`;
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
