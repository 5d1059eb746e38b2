/**
 * The floor for "Node.js doing this job" over HTTP/2: node:http2 with mutual TLS, answering
 * through the core stream API (`stream.respond` + `stream.end`, not the slower compatibility
 * request/response objects), doing the same crypto per request as the HTTP/1.1 reference
 * (bench/reference-answers.ts). With --trivial it answers every request with one fixed body, so
 * the load generator's own ceiling can be measured. HTTP/2 only: the HTTP/1.1 loads use
 * bench/reference-server.ts.
 *
 *   node --import tsx bench/reference-server-h2.ts <port> <cert.pem> <key.pem> [--trivial]
 */
import { createSecureServer, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { readFileSync } from 'node:fs';
import { TRIVIAL_REPLY, answer, referenceArgs } from './reference-answers.js';

const { port, certFile, keyFile, trivial } = referenceArgs(process.argv.slice(2));

const trivialHeaders = { ':status': 200, 'content-type': 'application/json', 'content-length': TRIVIAL_REPLY.length };

function onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders) {
  const path = headers[':path'] ?? '';
  const chunks: Buffer[] = [];
  // A client that resets its stream must not take the process down.
  stream.on('error', () => undefined);
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    if (stream.destroyed) return;
    if (trivial) {
      stream.respond(trivialHeaders);
      stream.end(TRIVIAL_REPLY);
      return;
    }
    const { status, json } = answer(path, Buffer.concat(chunks));
    if (json === undefined) {
      stream.respond({ ':status': status }, { endStream: true });
      return;
    }
    stream.respond({ ':status': status, 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    stream.end(json);
  });
}

const server = createSecureServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' });
server.on('stream', onStream);
server.on('sessionError', () => undefined);
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
