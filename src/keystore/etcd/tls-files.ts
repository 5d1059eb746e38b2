/** The files of the etcd `tls` section, read into the credentials the etcd3 client takes. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { decodePem } from '../../pki/pem.js';

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

async function readTlsFile(what: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new Error(`etcd: cannot read the TLS ${what} '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/**
 * The CA certificates (PEM blocks) in a file, or in the regular files of a directory.
 * @throws Error when the path cannot be read or holds no certificate
 */
export async function readCaCertificates(path: string): Promise<string[]> {
  let files = [path];
  try {
    if ((await stat(path)).isDirectory()) files = (await readdir(path)).sort().map((f) => join(path, f));
  } catch (err) {
    throw new Error(`etcd: cannot read the TLS CA certificates '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  const pems: string[] = [];
  for (const file of files) {
    if (!(await stat(file)).isFile()) continue;
    const text = (await readTlsFile('CA certificate', file)).toString('utf8');
    pems.push(...decodePem(text).filter((b) => b.type === 'CERTIFICATE').map((b) => b.text));
  }
  if (pems.length === 0) throw new Error(`etcd: no CA certificate found in '${path}'`);
  return pems;
}

/**
 * Reads the TLS files. Without `caPath` the system's CA certificates are trusted; with it,
 * those and its own. The key's content never appears in an error.
 * @throws Error naming the file that cannot be read
 */
export async function readEtcdTls(files: EtcdTlsFiles): Promise<EtcdTlsCredentials> {
  const extra = files.caPath ? await readCaCertificates(files.caPath) : [];
  return {
    rootCertificate: Buffer.from([...rootCertificates, ...extra].join('\n')),
    ...(files.certFile ? { certChain: await readTlsFile('client certificate', files.certFile) } : {}),
    ...(files.keyFile ? { privateKey: await readTlsFile('client key', files.keyFile) } : {}),
  };
}
