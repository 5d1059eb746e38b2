import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { createCertificate } from './x509.js';
import { TrustStore } from './trust.js';

const DAY = 86_400_000;

interface Made {
  cert: X509Certificate;
  key: KeyObject;
}

function make(name: string, o: { issuer?: Made; isCA?: boolean; notBefore?: Date; notAfter?: Date } = {}): Made {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { der } = createCertificate({
    commonName: name,
    publicKey,
    signingKey: o.issuer?.key ?? privateKey,
    ...(o.issuer && { issuer: { certificate: o.issuer.cert.raw } }),
    isCA: o.isCA ?? false,
    notBefore: o.notBefore ?? new Date(Date.now() - DAY),
    ...(o.notAfter && { notAfter: o.notAfter }),
  });
  return { cert: new X509Certificate(der), key: privateKey };
}

const root = make('root', { isCA: true });
const intermediate = make('intermediate', { issuer: root, isCA: true });
const other = make('other root', { isCA: true });
const store = new TrustStore([root.cert], false);

test('a certificate issued by a configured CA is trusted; the reverse check is not', () => {
  const leaf = make('leaf', { issuer: root });
  assert.equal(store.verify(leaf.cert), undefined);
  // The CA certificate is not issued by the leaf: no chain from it leads to itself through the leaf.
  assert.equal(new TrustStore([leaf.cert], false).verify(root.cert), 'is not issued by a trusted CA');
});

test('validity periods of the certificate and of its issuers', () => {
  const now = Date.now();
  assert.equal(store.verify(make('old', { issuer: root, notBefore: new Date(now - 3 * DAY), notAfter: new Date(now - DAY) }).cert), 'has expired');
  assert.equal(store.verify(make('early', { issuer: root, notBefore: new Date(now + DAY) }).cert), 'is not valid yet');
  const leaf = make('leaf', { issuer: root });
  assert.equal(store.verify(leaf.cert, [], now + 365 * DAY), 'has expired');
  const expiredCA = make('expired CA', { isCA: true, notBefore: new Date(now - 3 * DAY), notAfter: new Date(now - DAY) });
  assert.equal(new TrustStore([expiredCA.cert], false).verify(make('leaf', { issuer: expiredCA }).cert), 'is not issued by a trusted CA');
});

test('chains through intermediates the client sent or the store holds', () => {
  const leaf = make('leaf', { issuer: intermediate });
  assert.equal(store.verify(leaf.cert), 'is not issued by a trusted CA');
  assert.equal(store.verify(leaf.cert, [intermediate.cert]), undefined);
  assert.equal(new TrustStore([root.cert, intermediate.cert], false).verify(leaf.cert), undefined);
  // An intermediate alone in the store is not an anchor: the chain must end at a self-signed root.
  assert.equal(new TrustStore([intermediate.cert], false).verify(leaf.cert), 'is not issued by a trusted CA');
  // A non-CA certificate never issues.
  const fake = make('not a CA', { issuer: root });
  assert.equal(store.verify(make('leaf', { issuer: fake }).cert, [fake.cert]), 'is not issued by a trusted CA');
});

test('foreign CAs and self-signed certificates', () => {
  assert.equal(store.verify(make('foreign', { issuer: other }).cert), 'is not issued by a trusted CA');
  const self = make('self');
  assert.equal(store.verify(self.cert), 'is not issued by a trusted CA');
  assert.equal(new TrustStore([self.cert], false).verify(self.cert), undefined);
});

test('the system roots are trust anchors unless left out', () => {
  // No test certificate chains to a public root: only that the store still refuses foreign ones.
  assert.equal(new TrustStore([], true).verify(make('leaf', { issuer: root }).cert), 'is not issued by a trusted CA');
});
