/**
 * What the reference servers answer, shared by the HTTP/1.1 (bench/reference-server.ts) and the
 * HTTP/2 one (bench/reference-server-h2.ts) so that both do the same work per request: only the
 * crypto of the KES requests (JSON and base64 in and out, HMAC key derivation, AES-256-GCM,
 * HMAC-SHA-256), with no routing table, policies, logging, metrics or key store.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const key = randomBytes(32);
const hmacKey = randomBytes(32);

function seal(plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(28);
  const c = createCipheriv('aes-256-gcm', createHmac('sha256', key).update(iv.subarray(0, 16)).digest(), iv.subarray(16));
  c.setAAD(aad);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag(), iv]);
}

function open(ciphertext: Buffer, aad: Buffer): Buffer {
  const n = ciphertext.length;
  const d = createDecipheriv('aes-256-gcm', createHmac('sha256', key).update(ciphertext.subarray(n - 28, n - 12)).digest(), ciphertext.subarray(n - 12));
  d.setAAD(aad);
  d.setAuthTag(ciphertext.subarray(n - 44, n - 28));
  return Buffer.concat([d.update(ciphertext.subarray(0, n - 44)), d.final()]);
}

const b64 = (s: unknown) => Buffer.from(typeof s === 'string' ? s : '', 'base64');

/** The status and JSON reply (with its newline, as KES) for a request to path with body. */
export function answer(path: string, body: Buffer): { status: number; json?: string } {
  let reply: unknown;
  try {
    const text = body.toString();
    const r = text ? JSON.parse(text) : {};
    if (path.startsWith('/v1/key/generate/')) {
      const dek = randomBytes(32);
      reply = { plaintext: dek.toString('base64'), ciphertext: seal(dek, b64(r.context)).toString('base64') };
    } else if (path.startsWith('/v1/key/encrypt/')) {
      reply = { ciphertext: seal(b64(r.plaintext), b64(r.context)).toString('base64') };
    } else if (path.startsWith('/v1/key/decrypt/')) {
      reply = { plaintext: open(b64(r.ciphertext), b64(r.context)).toString('base64') };
    } else if (path.startsWith('/v1/key/hmac/')) {
      reply = { hmac: createHmac('sha256', hmacKey).update(b64(r.message)).digest('base64') };
    } else if (path.startsWith('/v1/key/describe/')) {
      reply = { name: path.slice('/v1/key/describe/'.length), algorithm: 'AES256', created_at: '2026-01-01T00:00:00Z', created_by: 'x' };
    } else if (path === '/version') {
      reply = { version: 'reference', commit: '' };
    } else {
      return { status: 404 };
    }
  } catch {
    return { status: 400 };
  }
  return { status: 200, json: JSON.stringify(reply) + '\n' };
}

/**
 * The trivial servers' one reply to every request: no crypto, no parsing, the size of a
 * generate reply, and usable as one (decrypt's load asks for a ciphertext first).
 */
export const TRIVIAL_REPLY = Buffer.from(JSON.stringify({ plaintext: randomBytes(32).toString('base64'), ciphertext: randomBytes(92).toString('base64') }) + '\n');

/** `<port> <cert.pem> <key.pem> [--trivial]`, the command line of both reference servers. */
export function referenceArgs(argv: string[]): { port: number; certFile: string; keyFile: string; trivial: boolean } {
  const [port, certFile, keyFile] = argv.filter((a) => !a.startsWith('--'));
  if (!port || !certFile || !keyFile) throw new Error('usage: <port> <cert.pem> <key.pem> [--trivial]');
  return { port: Number(port), certFile, keyFile, trivial: argv.includes('--trivial') };
}
