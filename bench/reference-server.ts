/**
 * The floor for "Node.js doing this job" over HTTP/1.1: plain node:https with mutual TLS that
 * does only the crypto of the KES requests it answers (bench/reference-answers.ts). With
 * --trivial it answers every request with one fixed body instead, so the load generator's own
 * ceiling can be measured.
 *
 *   node --import tsx bench/reference-server.ts <port> <cert.pem> <key.pem> [--trivial]
 */
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { TRIVIAL_REPLY, answer, referenceArgs } from './reference-answers.js';

const { port, certFile, keyFile, trivial } = referenceArgs(process.argv.slice(2));

const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (trivial) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': TRIVIAL_REPLY.length });
      res.end(TRIVIAL_REPLY);
      return;
    }
    const { status, json } = answer(req.url ?? '', Buffer.concat(chunks));
    if (json === undefined) {
      res.writeHead(status).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  });
});
server.keepAliveTimeout = 90_000;
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
