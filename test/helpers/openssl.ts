/**
 * Certificates made with the `openssl` command line tool, an implementation independent of the
 * product, and the identities openssl computes for them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OpensslCert {
  /** DER bytes of the certificate. */
  der: Buffer;
  certPem: string;
  keyPem: string;
  /** hex SHA-256 of the SPKI, as `openssl x509 -pubkey | openssl pkey -pubin -outform der` gives. */
  identity: string;
}

function run(args: string[], cwd: string, input?: Buffer): Buffer {
  return execFileSync('openssl', args, { cwd, input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/**
 * Makes a self-signed certificate with openssl.
 * @param keyAlgorithm `ed25519`, `ec` (P-256), `rsa` (2048) or a PEM private key to use
 * @param version 3 (`req -x509` with extensions) or 1 (`x509 -req` without extensions)
 */
export function opensslCertificate(keyAlgorithm: 'ed25519' | 'ec' | 'rsa' | { pem: string }, version: 1 | 3 = 3, cn = 'test'): OpensslCert {
  const dir = mkdtempSync(join(tmpdir(), 'kes-openssl-'));
  try {
    if (typeof keyAlgorithm === 'object') writeFileSync(join(dir, 'key.pem'), keyAlgorithm.pem);
    else if (keyAlgorithm === 'ec') run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'key.pem'], dir);
    else if (keyAlgorithm === 'rsa') run(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'key.pem'], dir);
    else run(['genpkey', '-algorithm', 'ED25519', '-out', 'key.pem'], dir);
    if (version === 3) {
      run(['req', '-x509', '-key', 'key.pem', '-subj', `/CN=${cn}`, '-days', '2', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-out', 'cert.pem'], dir);
    } else {
      run(['req', '-new', '-key', 'key.pem', '-subj', `/CN=${cn}`, '-out', 'req.csr'], dir);
      run(['x509', '-req', '-in', 'req.csr', '-signkey', 'key.pem', '-days', '2', '-out', 'cert.pem'], dir);
    }
    const pubkey = run(['x509', '-in', 'cert.pem', '-noout', '-pubkey'], dir);
    const spki = run(['pkey', '-pubin', '-outform', 'DER'], dir, pubkey);
    const identity = run(['dgst', '-sha256', '-r'], dir, spki).toString().split(' ')[0]!;
    return {
      der: run(['x509', '-in', 'cert.pem', '-outform', 'DER'], dir),
      certPem: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'),
      identity,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
