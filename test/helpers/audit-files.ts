/** Helpers for the audit file tests: signing keys of every kind, and reading and rewriting files. */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificate } from '../../src/pki/x509.js';
import { chainLine, checkpointMessage, checkpointSigner, lineHash, type Checkpoint, type CheckpointSigner } from '../../src/log/audit-chain.js';

export type KeyKind = 'ed25519' | 'ecdsa' | 'rsa';

export interface TestSigner {
  signer: CheckpointSigner;
  keyPem: string;
  certPem: string;
}

/** A fresh key of the given kind with a self-signed certificate, as a server's TLS material. */
export function testSigner(kind: KeyKind = 'ed25519'): TestSigner {
  const { publicKey, privateKey } =
    kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : kind === 'ecdsa' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  const { pem } = createCertificate({ commonName: 'localhost', publicKey, signingKey: privateKey, dnsNames: ['localhost'] });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { signer: checkpointSigner(keyPem, pem), keyPem, certPem: pem };
}

/** The lines of a file, without the final newline. */
export function readLines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

/** The file and its rotated files, oldest first (as `ls path.* path` sorts them). */
export function chainFiles(path: string): string[] {
  const dir = join(path, '..');
  const base = path.slice(dir.length + 1);
  const rotated = readdirSync(dir)
    .filter((f) => f.startsWith(base + '.'))
    .sort()
    .map((f) => join(dir, f));
  return [...rotated, path];
}

/** Joins lines into file bytes. */
export function fileOf(lines: readonly string[]): Buffer {
  return Buffer.from(lines.map((l) => l + '\n').join(''));
}

/**
 * Recomputes seq and prev of every line from index `from` on, as an attacker who can write the
 * file would after changing it; checkpoints are re-signed by `signer`, or keep their (now
 * invalid) signature when it is absent.
 */
export function rechain(lines: readonly string[], from: number, signer?: CheckpointSigner): string[] {
  const out = lines.slice(0, from);
  let prev = lineHash(out[from - 1]!);
  let seq = (JSON.parse(out[from - 1]!) as { seq: number }).seq + 1;
  for (const line of lines.slice(from)) {
    const { seq: _s, prev: _p, ...body } = JSON.parse(line) as { seq: number; prev: string; checkpoint?: Checkpoint };
    if (body.checkpoint && signer) {
      const { key: _k, sig: _g, ...c } = body.checkpoint;
      const fields = { ...c, signer: signer.identity };
      body.checkpoint = { ...fields, key: signer.publicKey, sig: signer.sign(checkpointMessage(seq, prev, fields)).toString('base64') };
    }
    const next = chainLine(seq, prev, body);
    out.push(next);
    prev = lineHash(next);
    seq++;
  }
  return out;
}
