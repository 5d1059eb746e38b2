/**
 * TLS material from the config (protocol.md §1.1): server certificate chain and private key (PEM,
 * legacy encrypted keys with `tls.password`), extra CAs from a file or a directory, and the
 * client-certificate mode. Every error says what failed and where.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { TlsConfig } from '../config/types.js';
import { decodePem, PemError } from '../pki/pem.js';
import { readCaBundle, readTlsFile, withSystemRoots } from '../pki/tls-files.js';
import { TrustStore } from '../pki/trust.js';

/** The secure-context options and verification settings of a TLS config. */
export interface TlsMaterial {
  key: string;
  cert: string;
  /** The server's own certificate (the first of cert). */
  leaf: X509Certificate;
  /** System roots plus the configured CAs, when `tls.ca` is set. */
  ca?: string[];
  /**
   * The CAs client certificates are verified against (`tls.ca` and the system roots), where the
   * handshake does not verify: resumed sessions and certificates forwarded by a TLS proxy.
   */
  trust: TrustStore;
  /** Verify client certificates (tls.auth: on). */
  verifyClients: boolean;
}

export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
}

function pemBlocks(text: string, path: string) {
  try {
    return decodePem(text);
  } catch (err) {
    if (err instanceof PemError) throw new TlsConfigError(`tls: '${path}': ${err.message}`);
    throw err;
  }
}

/** Loads and checks the server certificate and key, and the CAs. */
export async function loadTlsMaterial(cfg: TlsConfig): Promise<TlsMaterial> {
  const certText = readTlsFile(cfg.certFile, 'certificate', 'tls');
  const certBlocks = pemBlocks(certText, cfg.certFile);
  if (certBlocks.length === 0) throw new TlsConfigError(`tls: no certificate found in '${cfg.certFile}'`);
  const other = certBlocks.find((b) => b.type !== 'CERTIFICATE');
  if (other) throw new TlsConfigError(`tls: '${cfg.certFile}' must contain only certificates, found '${other.type}'`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certBlocks[0]!.der);
  } catch {
    throw new TlsConfigError(`tls: '${cfg.certFile}' does not contain a valid X.509 certificate`);
  }
  if (!leaf.subjectAltName || !/(DNS|IP Address):/.test(leaf.subjectAltName)) {
    throw new TlsConfigError(`tls: the certificate in '${cfg.certFile}' has no DNS or IP subject alternative name`);
  }

  const keyText = readTlsFile(cfg.keyFile, 'private key', 'tls');
  const keyBlock = pemBlocks(keyText, cfg.keyFile).find((b) => b.type.endsWith('PRIVATE KEY'));
  if (!keyBlock) throw new TlsConfigError(`tls: no private key found in '${cfg.keyFile}'`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: keyBlock.text, format: 'pem', passphrase: cfg.password ?? '' });
  } catch {
    const encrypted = keyBlock.headers['Proc-Type']?.includes('ENCRYPTED') || keyBlock.type === 'ENCRYPTED PRIVATE KEY';
    throw new TlsConfigError(
      encrypted ? `tls: failed to decrypt the private key in '${cfg.keyFile}': wrong or missing tls.password` : `tls: '${cfg.keyFile}' does not contain a valid private key`,
    );
  }
  if (!leaf.checkPrivateKey(key)) throw new TlsConfigError(`tls: the private key in '${cfg.keyFile}' does not match the certificate in '${cfg.certFile}'`);

  const caCertificates = cfg.caPath ? loadCAs(cfg.caPath) : [];
  return {
    key: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: certBlocks.map((b) => b.text).join('\n') + '\n',
    leaf,
    ca: cfg.caPath ? withSystemRoots(caCertificates.map((c) => c.toString())) : undefined,
    trust: new TrustStore(caCertificates),
    verifyClients: cfg.auth === 'on',
  };
}

/** The CA certificates of `tls.ca` (a file or a directory: pki/tls-files.ts), parsed. */
function loadCAs(path: string): X509Certificate[] {
  return readCaBundle(path, 'tls').map((pem) => {
    try {
      return new X509Certificate(pem);
    } catch {
      throw new TlsConfigError(`tls: '${path}' contains an invalid CA certificate`);
    }
  });
}
