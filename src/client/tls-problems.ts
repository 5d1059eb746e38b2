/**
 * What went wrong in a TLS handshake, told apart for a message a person can act on: from the
 * error code Node reports and, for the client's own certificate, its validity period (a server
 * that refuses a certificate does not always say why).
 */
import { X509Certificate } from 'node:crypto';

export type TlsProblem =
  /** The server requires a client certificate and none was sent. */
  | 'client-certificate-required'
  | 'client-certificate-expired'
  | 'client-certificate-not-yet-valid'
  /** The server does not accept the client certificate (not issued by a CA it trusts). */
  | 'client-certificate-untrusted'
  | 'server-certificate-expired'
  | 'server-certificate-not-yet-valid'
  /** Not issued by a CA the client trusts (self-signed, or a private CA not given with `ca`). */
  | 'server-certificate-untrusted'
  /** Valid, but not for the host name or IP address the client connected to. */
  | 'server-name-mismatch';

const SERVER_UNTRUSTED = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE|CERT_REJECTED|INVALID_CA)$/;
// An alert the server sent about the client's certificate (OpenSSL names alerts by the TLS
// version that defined them: ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, ..._SSLV3_ALERT_...).
const ALERT = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(\w+)$/;

/**
 * The problem behind a failed connection, or undefined when it was not a certificate problem.
 * @param code the error's code (Node's or OpenSSL's)
 * @param clientCert the client's certificate (PEM), if it sent one
 */
export function tlsProblemOf(code: string, clientCert?: string, now = Date.now()): TlsProblem | undefined {
  if (code === 'CERT_HAS_EXPIRED') return 'server-certificate-expired';
  if (code === 'CERT_NOT_YET_VALID') return 'server-certificate-not-yet-valid';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'server-name-mismatch';
  if (SERVER_UNTRUSTED.test(code)) return 'server-certificate-untrusted';
  const alert = ALERT.exec(code)?.[1];
  if (alert === undefined) return undefined;
  if (alert === 'CERTIFICATE_REQUIRED' || (clientCert === undefined && alert === 'HANDSHAKE_FAILURE')) return 'client-certificate-required';
  if (!/^(CERTIFICATE_EXPIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE)$/.test(alert)) return undefined;
  if (clientCert === undefined) return 'client-certificate-required';
  // The alert may be generic (bad_certificate): the certificate's own dates tell more.
  const validity = validityOf(clientCert, now);
  if (validity) return validity;
  return alert === 'CERTIFICATE_EXPIRED' ? 'client-certificate-expired' : 'client-certificate-untrusted';
}

function validityOf(pem: string, now: number): TlsProblem | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return undefined;
  }
  if (now > Date.parse(cert.validTo)) return 'client-certificate-expired';
  if (now < Date.parse(cert.validFrom)) return 'client-certificate-not-yet-valid';
  return undefined;
}

const WORDS: Record<TlsProblem, string> = {
  'client-certificate-required': 'the server requires a client certificate',
  'client-certificate-expired': 'the server refused the client certificate: it has expired',
  'client-certificate-not-yet-valid': 'the server refused the client certificate: it is not valid yet',
  'client-certificate-untrusted': 'the server does not accept the client certificate',
  'server-certificate-expired': 'the server certificate has expired',
  'server-certificate-not-yet-valid': 'the server certificate is not valid yet',
  'server-certificate-untrusted': 'the server certificate is not issued by a trusted CA',
  'server-name-mismatch': 'the server certificate is not valid for this host name',
};

/** The problem in words (`the server certificate has expired`). */
export function describeTlsProblem(problem: TlsProblem): string {
  return WORDS[problem];
}
