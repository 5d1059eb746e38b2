/**
 * A small PKI for tests, made with the product's certificate builder (src/pki/x509.ts): an
 * ECDSA P-256 CA, a server certificate for localhost, and client certificates on demand.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { identityOfCertificate } from '../../src/auth/identity.js';
import { createCertificate } from '../../src/pki/x509.js';

export interface TestCert {
  certPem: string;
  /** PKCS #8 PEM. */
  keyPem: string;
  der: Buffer;
  identity: string;
}

export interface ClientCertOptions {
  /** Default ed25519; ec is ECDSA P-256. */
  keyType?: 'ed25519' | 'ec';
  /** Default `client`. */
  commonName?: string;
  /** Default ca; self = self-signed; foreign = signed by a second, unrelated CA. */
  issuer?: 'ca' | 'self' | 'foreign';
  /** Default now, or a day before notAfter when that is earlier. */
  notBefore?: Date;
  /** Default notBefore + 90 days. */
  notAfter?: Date;
  isCA?: boolean;
}

export interface TestPki {
  /** Self-signed ECDSA P-256 CA. */
  ca: TestCert;
  /** Signed by ca; serverAuth; SANs localhost, 127.0.0.1 and ::1. */
  server: TestCert;
  /** A clientAuth certificate, by default Ed25519 and signed by ca. */
  client(opts?: ClientCertOptions): TestCert;
  /** Writes the server certificate and key and the CA as PEM files (key files mode 0600). */
  writeFiles(dir: string): { caFile: string; certFile: string; keyFile: string };
}

const DAY_MS = 24 * 60 * 60 * 1000;

interface Issuer {
  cert: TestCert;
  key: KeyObject;
}

function keyPair(type: 'ed25519' | 'ec'): { publicKey: KeyObject; privateKey: KeyObject } {
  return type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
}

function testCert(der: Buffer, pem: string, key: KeyObject): TestCert {
  return { certPem: pem, keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(), der, identity: identityOfCertificate(der) };
}

function makeCA(commonName: string): Issuer {
  const { publicKey, privateKey } = keyPair('ec');
  const { der, pem } = createCertificate({ commonName, publicKey, signingKey: privateKey, isCA: true });
  return { cert: testCert(der, pem, privateKey), key: privateKey };
}

export function createTestPki(): TestPki {
  const ca = makeCA('openkes test CA');
  let foreign: Issuer | undefined;

  const serverKeys = keyPair('ec');
  const serverCert = createCertificate({
    commonName: 'localhost',
    publicKey: serverKeys.publicKey,
    signingKey: ca.key,
    issuer: { certificate: ca.cert.der },
    extKeyUsage: ['serverAuth'],
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
  });
  const server = testCert(serverCert.der, serverCert.pem, serverKeys.privateKey);

  return {
    ca: ca.cert,
    server,
    client(opts = {}) {
      const { publicKey, privateKey } = keyPair(opts.keyType ?? 'ed25519');
      // Only notAfter given (e.g. an expired certificate): start a day before it, or now if earlier.
      const notBefore = opts.notBefore ?? new Date(Math.min(Date.now(), (opts.notAfter?.getTime() ?? Infinity) - DAY_MS));
      let issuer: Issuer | undefined;
      if (opts.issuer === 'foreign') issuer = foreign ??= makeCA('openkes foreign test CA');
      else if (opts.issuer !== 'self') issuer = ca;
      const { der, pem } = createCertificate({
        commonName: opts.commonName ?? 'client',
        publicKey,
        signingKey: issuer?.key ?? privateKey,
        ...(issuer ? { issuer: { certificate: issuer.cert.der } } : {}),
        notBefore,
        ...(opts.notAfter ? { notAfter: opts.notAfter } : {}),
        isCA: opts.isCA ?? false,
        extKeyUsage: ['clientAuth'],
      });
      return testCert(der, pem, privateKey);
    },
    writeFiles(dir) {
      const caFile = join(dir, 'ca.crt');
      const certFile = join(dir, 'server.crt');
      const keyFile = join(dir, 'server.key');
      writeFileSync(caFile, ca.cert.certPem);
      writeFileSync(certFile, server.certPem);
      writeFileSync(keyFile, server.keyPem, { mode: 0o600 });
      chmodSync(keyFile, 0o600); // mode only applies when the file is created
      return { caFile, certFile, keyFile };
    },
  };
}

export interface HandshakeOptions {
  /** The server's certificate and key (PEM). */
  server: { certPem: string; keyPem: string };
  /** The CAs the server trusts for client certificates. */
  clientCAs: string[];
  /** The CAs the client trusts for the server certificate. */
  serverCAs: string[];
  /** The client's certificate and key; absent = no client certificate. */
  client?: { certPem: string; keyPem: string };
  version: 'TLSv1.2' | 'TLSv1.3';
  /** Default 127.0.0.1. */
  host?: string;
  /** SNI name, also the name the client checks the server certificate for; default none. */
  servername?: string;
}

export interface HandshakeResult {
  /** The server completed the handshake and accepted the client certificate. */
  accepted: boolean;
  /** The DER certificate the server received, when accepted. */
  peerCertificate?: Buffer;
  /** The negotiated protocol as the server saw it, when accepted. */
  protocol?: string | null;
  /** The client verified the server certificate (false when its handshake failed). */
  serverVerified: boolean;
  /** The error the client saw, if any. */
  clientError?: Error;
  /** The error the server reported, if any (tlsClientError). */
  serverError?: Error;
}

/**
 * One mutual-TLS handshake against a node:tls server with `requestCert: true` and
 * `rejectUnauthorized: true`, on an ephemeral port; both sides are closed before it returns.
 *
 * A server that rejects a client certificate destroys the connection after the handshake
 * without emitting an event, so rejection is seen as the connection closing without
 * `secureConnection`.
 */
export async function mtlsHandshake(o: HandshakeOptions): Promise<HandshakeResult> {
  const server = tls.createServer({
    cert: o.server.certPem,
    key: o.server.keyPem,
    ca: o.clientCAs,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: o.version,
    maxVersion: o.version,
  });
  const sockets = new Set<Socket>();
  let serverError: Error | undefined;
  const serverSide = new Promise<Pick<HandshakeResult, 'accepted' | 'peerCertificate' | 'protocol'>>((resolve) => {
    server.on('connection', (raw: Socket) => {
      sockets.add(raw);
      raw.on('close', () => resolve({ accepted: false }));
    });
    server.on('tlsClientError', (err) => {
      serverError = err;
      resolve({ accepted: false });
    });
    server.on('secureConnection', (s: tls.TLSSocket) => {
      resolve({ accepted: s.authorized, peerCertificate: s.getPeerCertificate().raw, protocol: s.getProtocol() });
      s.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  try {
    let clientError: Error | undefined;
    let serverVerified = false;
    const client = tls.connect({
      host: o.host ?? '127.0.0.1',
      port,
      ...(o.servername ? { servername: o.servername } : {}),
      ca: o.serverCAs,
      ...(o.client ? { cert: o.client.certPem, key: o.client.keyPem } : {}),
      minVersion: o.version,
      maxVersion: o.version,
    });
    client.on('secureConnect', () => {
      serverVerified = client.authorized;
    });
    client.on('error', (err) => {
      clientError = err;
    });
    const clientClosed = new Promise<void>((resolve) => client.on('close', () => resolve()));
    const timeout = setTimeout(() => client.destroy(new Error('handshake timed out')), 10_000);
    const result = await serverSide;
    client.end();
    await clientClosed;
    clearTimeout(timeout);
    return { ...result, serverVerified, ...(clientError ? { clientError } : {}), ...(serverError ? { serverError } : {}) };
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
