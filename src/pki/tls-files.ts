/**
 * TLS files, read one way everywhere: the server's certificate, key and CAs (`tls:`), the CLI's
 * `--ca`/`KES_CAPATH`, and the `tls:` sections of the key stores. A CA bundle is a PEM file, or
 * a directory whose regular files (not recursive, in name order) are PEM files; only its
 * CERTIFICATE blocks count. Errors name the component, what the file is and its path; a key's
 * content never appears in one.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { decodePem } from './pem.js';
import { systemErrorText } from '../util/system-error.js';

/** A TLS file that cannot be used; the message says which and why. */
export class TlsFileError extends Error {
  override readonly name = 'TlsFileError';
}

const prefix = (component: string | undefined) => (component ? `${component}: ` : '');

/**
 * The text of a file.
 * @param what what the file is, for the message (`client certificate`, `private key`, ...)
 * @param component who reads it, the message's prefix (`tls`, `etcd`, ...)
 * @throws TlsFileError `<component>: cannot read the <what> '<path>': <reason>`
 */
export function readTlsFile(path: string, what: string, component?: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new TlsFileError(`${prefix(component)}cannot read the ${what} '${path}': ${systemErrorText(err)}`, { cause: err });
  }
}

/**
 * The certificates of a CA bundle, as PEM blocks.
 * @throws TlsFileError when the path cannot be read, a file is not PEM, or there is no
 *   certificate
 */
export function readCaBundle(path: string, component?: string): string[] {
  let files = [path];
  try {
    if (statSync(path).isDirectory()) files = readdirSync(path).sort().map((f) => join(path, f));
  } catch (err) {
    throw new TlsFileError(`${prefix(component)}cannot read the CA certificates '${path}': ${systemErrorText(err)}`, { cause: err });
  }
  const pems: string[] = [];
  for (const file of files) {
    if (!statSync(file, { throwIfNoEntry: false })?.isFile()) continue;
    const text = readTlsFile(file, 'CA certificate', component);
    let blocks;
    try {
      blocks = decodePem(text);
    } catch (err) {
      throw new TlsFileError(`${prefix(component)}'${file}' is not valid PEM: ${(err as Error).message}`, { cause: err });
    }
    pems.push(...blocks.filter((b) => b.type === 'CERTIFICATE').map((b) => b.text));
  }
  if (pems.length === 0) throw new TlsFileError(`${prefix(component)}no CA certificate found in '${path}'`);
  return pems;
}

/** Node's bundled root CAs (PEM): what every TLS peer trusts besides a configured bundle. */
export function systemRoots(): readonly string[] {
  return rootCertificates;
}

/** The trust list of a TLS connection with a configured bundle: the system roots, then the bundle. */
export function withSystemRoots(bundle: readonly string[]): string[] {
  return [...rootCertificates, ...bundle];
}
