/**
 * The floor for "Node.js doing this job": plain node:https with mutual TLS that does only the
 * crypto of the KES requests it answers (JSON and base64 in and out, HMAC key derivation,
 * AES-256-GCM, HMAC-SHA-256), with no routing table, policies, logging, metrics or key store.
 *
 *   node --import tsx bench/reference-server.ts <port> <cert.pem> <key.pem>
 */
import { createServer } from 'node:https';
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [port, certFile, keyFile] = process.argv.slice(2);
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

const server = createServer({ cert: readFileSync(certFile!), key: readFileSync(keyFile!), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const url = req.url ?? '';
    let body: unknown;
    try {
      const text = Buffer.concat(chunks).toString();
      const r = text ? JSON.parse(text) : {};
      if (url.startsWith('/v1/key/generate/')) {
        const dek = randomBytes(32);
        body = { plaintext: dek.toString('base64'), ciphertext: seal(dek, b64(r.context)).toString('base64') };
      } else if (url.startsWith('/v1/key/encrypt/')) {
        body = { ciphertext: seal(b64(r.plaintext), b64(r.context)).toString('base64') };
      } else if (url.startsWith('/v1/key/decrypt/')) {
        body = { plaintext: open(b64(r.ciphertext), b64(r.context)).toString('base64') };
      } else if (url.startsWith('/v1/key/hmac/')) {
        body = { hmac: createHmac('sha256', hmacKey).update(b64(r.message)).digest('base64') };
      } else if (url.startsWith('/v1/key/describe/')) {
        body = { name: url.slice('/v1/key/describe/'.length), algorithm: 'AES256', created_at: '2026-01-01T00:00:00Z', created_by: 'x' };
      } else if (url === '/version') {
        body = { version: 'reference', commit: '' };
      } else {
        res.writeHead(404).end();
        return;
      }
    } catch {
      res.writeHead(400).end();
      return;
    }
    const json = JSON.stringify(body) + '\n';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  });
});
server.keepAliveTimeout = 90_000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
