/** The files of the etcd `tls` section, read into the credentials the etcd3 client takes. */
import { readCaBundle, readTlsFile, withSystemRoots } from '../../pki/tls-files.js';

/** Paths of the `tls` section: extra CA certificates, and a client certificate with its key. */
export interface EtcdTlsFiles {
  caPath?: string;
  certFile?: string;
  keyFile?: string;
}

/** PEM contents for gRPC's TLS credentials. */
export interface EtcdTlsCredentials {
  /** The system's CA certificates followed by those of `caPath`. */
  rootCertificate: Buffer;
  certChain?: Buffer;
  privateKey?: Buffer;
}

/**
 * Reads the TLS files. Without `caPath` the system's CA certificates are trusted; with it,
 * those and its own. The key's content never appears in an error.
 * @throws Error naming the file that cannot be read
 */
export async function readEtcdTls(files: EtcdTlsFiles): Promise<EtcdTlsCredentials> {
  const extra = files.caPath ? readCaBundle(files.caPath, 'etcd') : [];
  return {
    rootCertificate: Buffer.from(withSystemRoots(extra).join('\n')),
    ...(files.certFile ? { certChain: Buffer.from(readTlsFile(files.certFile, 'client certificate', 'etcd')) } : {}),
    ...(files.keyFile ? { privateKey: Buffer.from(readTlsFile(files.keyFile, 'client key', 'etcd')) } : {}),
  };
}
