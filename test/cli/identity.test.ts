/**
 * `kes identity`, `kes identity new` and `kes identity of`: output on a terminal and in a pipe,
 * identities checked against the KES vectors and openssl, files checked with openssl and with
 * real node:tls handshakes.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ApiKey } from '../../src/auth/api-key.js';
import { kes } from '../helpers/cli-io.js';
import { mtlsHandshake } from '../helpers/certs.js';
import { opensslCertificate } from '../helpers/openssl.js';
import { API_KEY_VECTORS } from '../helpers/vectors.js';
import { ROOT } from './run-cli.js';

const API_KEY = /^kes:v1:[A-Za-z0-9+/]{44}$/;
const [VECTOR_KEY, VECTOR_IDENTITY] = API_KEY_VECTORS[0]!;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kes-identity-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, content?: string): string => {
  const path = join(dir, name);
  if (content !== undefined) writeFileSync(path, content);
  return path;
};

/** The identity openssl computes for a certificate file: SHA-256 of its DER public key. */
function opensslIdentity(certFile: string): string {
  const pubkey = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-pubkey']);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pubkey });
  return createHash('sha256').update(der).digest('hex');
}

/** Parses `Label:  value` lines. */
function fields(text: string): Record<string, string> {
  return Object.fromEntries(text.trimEnd().split('\n').map((line) => {
    const m = /^([^:]+):\s+(.*)$/.exec(line);
    assert.ok(m, `not a field line: ${JSON.stringify(line)}`);
    return [m[1]!, m[2]!];
  }));
}

/** Runs the CLI from source as a process, with input on its stdin. */
function spawnKes(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('kes identity (no subcommand)', () => {
  test('generates a new API key: only the key when piped', async () => {
    const a = await kes(['identity'], {});
    const b = await kes(['identity'], {});
    assert.deepEqual([a.code, a.stderr], [0, '']);
    assert.match(a.stdout, /^kes:v1:[A-Za-z0-9+/]{44}\n$/);
    assert.notEqual(a.stdout, b.stdout, 'every call makes a new key');
    ApiKey.parse(a.stdout.trim());
  });

  test('on a terminal: the key, its identity and how to use them', async () => {
    const r = await kes(['identity'], {}, { tty: true });
    assert.equal(r.code, 0);
    const key = /kes:v1:\S+/.exec(r.stdout)![0];
    assert.match(key, API_KEY);
    assert.ok(r.stdout.includes(ApiKey.parse(key).identity), r.stdout);
    assert.ok(r.stdout.includes(`export KES_API_KEY=${key}\n`), r.stdout);
    assert.match(r.stdout, /admin\.identity/);
    assert.match(r.stdout, /policy's identities/);
    assert.ok(!r.stdout.includes('\x1b['), 'no colours with NO_COLOR');
  });

  test('prints the identity of an API key (KES vectors)', async () => {
    for (const [key, identity] of API_KEY_VECTORS) {
      assert.deepEqual(await kes(['identity', key], {}), { code: 0, stdout: `${identity}\n`, stderr: '' }, key);
      assert.equal((await kes(['identity', key], {}, { tty: true })).stdout, `Identity:  ${identity}\n`);
    }
    // The kes:v1: prefix may be left out, as in the KES SDK.
    assert.equal((await kes(['identity', VECTOR_KEY.slice('kes:v1:'.length)], {})).stdout, `${VECTOR_IDENTITY}\n`);
  });

  test('prints the identity of a certificate file, as openssl computes it', async () => {
    for (const algorithm of ['ed25519', 'ec', 'rsa'] as const) {
      const cert = opensslCertificate(algorithm);
      const path = file(`openssl-${algorithm}.crt`, cert.certPem);
      assert.equal((await kes(['identity', path], {})).stdout, `${cert.identity}\n`, algorithm);
    }
  });

  test('turns a PKCS #8 Ed25519 private key file into its API key', async () => {
    // The PKCS #8 form of the first vector key (KES's root.key): the API key comes back exactly.
    const keyPem = ApiKey.parse(VECTOR_KEY).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const path = file('root.key', keyPem);
    assert.deepEqual(await kes(['identity', path], {}), { code: 0, stdout: `${VECTOR_KEY}\n`, stderr: '' });
    const tty = fields((await kes(['identity', path], {}, { tty: true })).stdout);
    assert.deepEqual(tty, { 'API key': VECTOR_KEY, Identity: VECTOR_IDENTITY });
    // A certificate openssl makes for that key has the vector identity (test-vectors.md §1.2 root.cert).
    const cert = opensslCertificate({ pem: keyPem }, 3, 'root@play.min.io');
    assert.equal(cert.identity, VECTOR_IDENTITY);
    assert.equal((await kes(['identity', 'of', file('root.cert', cert.certPem)], {})).stdout, `${VECTOR_IDENTITY}\n`);

    // An Ed25519 key made by openssl: its API key has the identity of the key's certificate.
    const other = opensslCertificate('ed25519');
    const apiKey = (await kes(['identity', file('openssl-ed25519.key', other.keyPem)], {})).stdout.trim();
    assert.match(apiKey, API_KEY);
    assert.equal(ApiKey.parse(apiKey).identity, other.identity);
  });

  test('a public key file gives its identity', async () => {
    const cert = opensslCertificate('ec');
    const pub = execFileSync('openssl', ['x509', '-noout', '-pubkey'], { input: cert.certPem }).toString();
    assert.equal((await kes(['identity', file('ec.pub', pub)], {})).stdout, `${cert.identity}\n`);
  });

  test('files that hold nothing usable fail with a clear error', async () => {
    const ec = opensslCertificate('ec');
    const rsaLegacy = execFileSync('openssl', ['genrsa', '-traditional', '1024'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const cases: [name: string, content: string, error: RegExp][] = [
      ['ec.key', ec.keyPem, /^Error: the private key in '.*ec\.key' is an EC key: only Ed25519 keys can be API keys\n$/],
      ['rsa-legacy.key', rsaLegacy, /^Error: '.*rsa-legacy\.key' holds a legacy RSA PRIVATE KEY: convert it to PKCS #8 with 'openssl pkey -in .*' and use that file\n$/],
      ['empty.pem', '', /^Error: '.*empty\.pem' contains no PEM data: expected a PEM certificate or private key\n$/],
      ['csr.pem', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', /type 'CERTIFICATE REQUEST': expected a CERTIFICATE or a PKCS #8 PRIVATE KEY\n$/],
      ['broken.crt', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /^Error: '.*broken\.crt' does not hold a valid certificate: /],
    ];
    for (const [name, content, error] of cases) {
      const r = await kes(['identity', file(name, content)], {});
      assert.equal(r.code, 1, name);
      assert.equal(r.stdout, '', name);
      assert.match(r.stderr, error, name);
    }
  });

  test('an argument that is neither a file nor an API key: exit 1, and a key-like one is not echoed', async () => {
    let r = await kes(['identity', join(dir, 'missing.crt')], {});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: '.*missing\.crt' is neither an API key \(kes:v1:\.\.\.\) nor an existing file\n$/);
    const mistyped = VECTOR_KEY.slice('kes:v1:'.length, -1); // one character short
    r = await kes(['identity', mistyped], {});
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error: the argument is neither an API key (kes:v1:...) nor an existing file\n');
  });

  test('an invalid kes:v1: key is a usage error that does not repeat the key', async () => {
    for (const bad of ['kes:v1:sbDvZFqUPFFwxRS4EkuoEb2nyyInkdKSUEYHXFHeTouW', 'kes:v1:AD9E7FSYWrMD', 'kes:AM0F5TP43FYEShMzA42f2drFYGnBOiNx7UH4DK0nm08E']) {
      const r = await kes(['identity', bad], {});
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /^Error: invalid API key: /);
      assert.ok(!r.stderr.includes(bad.slice(7, 20)), 'the key is not echoed');
    }
    assert.equal((await kes(['identity', VECTOR_KEY, VECTOR_KEY], {})).code, 2);
  });

  test('--help describes the command and its subcommands', async () => {
    const r = await kes(['identity', '--help'], {});
    assert.equal(r.code, 0);
    for (const text of ['kes identity [API-KEY | FILE]', 'new', 'of', 'info', 'ls', 'Examples:', 'export KES_API_KEY=$(kes identity)']) assert.ok(r.stdout.includes(text), text);
  });
});

describe('kes identity of', () => {
  test('agrees with the KES vectors: one raw identity per line when piped', async () => {
    const r = await kes(['identity', 'of', ...API_KEY_VECTORS.map(([key]) => key)], {});
    assert.deepEqual(r, { code: 0, stdout: API_KEY_VECTORS.map(([, id]) => `${id}\n`).join(''), stderr: '' });
  });

  test('agrees with openssl x509 -pubkey | openssl pkey -pubin -outform DER | sha256sum', async () => {
    const certs = (['ed25519', 'ec', 'rsa'] as const).map((a) => ({ path: file(`of-${a}.crt`, opensslCertificate(a).certPem) }));
    const r = await kes(['identity', 'of', ...certs.map((c) => c.path)], {});
    assert.equal(r.code, 0);
    assert.deepEqual(r.stdout.trimEnd().split('\n'), certs.map((c) => opensslIdentity(c.path)));
  });

  test('on a terminal: `Identity:` for one argument, labelled rows for several', async () => {
    let r = await kes(['identity', 'of', VECTOR_KEY], {}, { tty: true });
    assert.equal(r.stdout, `Identity:  ${VECTOR_IDENTITY}\n`);
    const cert = opensslCertificate('ed25519');
    const path = file('tty.crt', cert.certPem);
    r = await kes(['identity', 'of', VECTOR_KEY, path], {}, { tty: true });
    assert.deepEqual(fields(r.stdout), { 'API key (argument 1)': VECTOR_IDENTITY, [path]: cert.identity });
    assert.ok(!r.stdout.includes(VECTOR_KEY), 'the API key is not printed');
  });

  test('private key files give the identity of their public key', async () => {
    const cert = opensslCertificate('ec');
    assert.equal((await kes(['identity', 'of', file('of-ec.key', cert.keyPem)], {})).stdout, `${cert.identity}\n`);
  });

  test('prints nothing when one argument fails; no argument is a usage error', async () => {
    const r = await kes(['identity', 'of', VECTOR_KEY, join(dir, 'nope.crt')], {});
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /nope\.crt' is neither an API key/);
    assert.equal((await kes(['identity', 'of'], {})).code, 2);
  });
});

describe('kes identity new', () => {
  test('without files: a new API key and its identity', async () => {
    for (const tty of [false, true]) {
      const r = await kes(['identity', 'new'], {}, { tty });
      assert.equal(r.code, 0);
      const f = fields(r.stdout);
      assert.deepEqual(Object.keys(f), ['API key', 'Identity']);
      assert.match(f['API key']!, API_KEY);
      assert.equal(ApiKey.parse(f['API key']!).identity, f.Identity);
    }
  });

  test('writes a private key (0600) and a client+server certificate (0644) that openssl reads', async () => {
    const key = file('new.key');
    const cert = file('new.crt');
    const r = await kes(['identity', 'new', '--key', key, '--cert', cert, '--dns', 'localhost', '--dns', 'kes.example.com', '--ip', '127.0.0.1', '--ip', '::1', 'my-kes'], {});
    assert.deepEqual([r.code, r.stderr], [0, '']);
    const f = fields(r.stdout);
    assert.deepEqual(Object.keys(f), ['Private key', 'Certificate', 'API key', 'Identity', 'Valid from', 'Valid until']);
    assert.deepEqual([f['Private key'], f.Certificate], [key, cert]);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.equal(statSync(cert).mode & 0o777, 0o644);

    // The files, the API key and the printed identity all belong to one key pair.
    assert.equal(ApiKey.parse(f['API key']!).identity, f.Identity);
    assert.equal(opensslIdentity(cert), f.Identity);
    assert.equal((await kes(['identity', key], {})).stdout, `${f['API key']}\n`);
    const pkey = execFileSync('openssl', ['pkey', '-in', key, '-noout', '-text']).toString();
    assert.match(pkey, /^ED25519 Private-Key:/);
    assert.match(readFileSync(key, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);

    const text = execFileSync('openssl', ['x509', '-in', cert, '-noout', '-text']).toString();
    assert.match(text, /Signature Algorithm: ED25519/);
    assert.match(text, /Subject: CN ?= ?my-kes/);
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /Extended Key Usage: *\n\s+TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(text, /DNS:localhost, DNS:kes\.example\.com, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);

    // Validity: the printed dates, one year (8760h) apart by default.
    const x509 = new X509Certificate(readFileSync(cert));
    const from = new Date(x509.validFrom);
    const until = new Date(x509.validTo);
    assert.equal(until.getTime() - from.getTime(), 8760 * 3600_000);
    assert.equal(f['Valid from'], `${from.toISOString().slice(0, 19).replace('T', ' ')} UTC`);
    assert.equal(f['Valid until'], `${until.toISOString().slice(0, 19).replace('T', ' ')} UTC`);
  });

  test('the certificate works as server and as client certificate in real TLS handshakes', async () => {
    const made: Record<string, { certPem: string; keyPem: string; identity: string }> = {};
    for (const name of ['server', 'client']) {
      const r = await kes(['identity', 'new', '--key', file(`tls-${name}.key`), '--cert', file(`tls-${name}.crt`), '--dns', 'localhost', '--ip', '127.0.0.1'], {});
      assert.equal(r.code, 0, r.stderr);
      made[name] = { certPem: readFileSync(file(`tls-${name}.crt`), 'utf8'), keyPem: readFileSync(file(`tls-${name}.key`), 'utf8'), identity: fields(r.stdout).Identity! };
    }
    const { server, client } = made as Record<'server' | 'client', { certPem: string; keyPem: string; identity: string }>;
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      // Verified by IP address (no SNI) and by DNS name.
      for (const servername of [undefined, 'localhost']) {
        const result = await mtlsHandshake({ server, client, clientCAs: [client.certPem], serverCAs: [server.certPem], version, ...(servername ? { servername } : {}) });
        assert.equal(result.accepted, true, `${version} ${servername}: ${result.clientError?.message ?? ''} ${result.serverError?.message ?? ''}`);
        assert.equal(result.serverVerified, true);
        assert.equal(createHash('sha256').update(new X509Certificate(result.peerCertificate!).publicKey.export({ type: 'spki', format: 'der' })).digest('hex'), client.identity);
      }
    }
    // A name the certificate was not issued for is rejected by the client.
    const wrong = await mtlsHandshake({ server, client, clientCAs: [client.certPem], serverCAs: [server.certPem], version: 'TLSv1.3', servername: 'other.example.com' });
    assert.equal(wrong.serverVerified, false);
    assert.match(wrong.clientError?.message ?? '', /does not match certificate's altnames|Hostname\/IP does not match/);
  });

  test('the common name defaults to the identity; --expiry sets the validity', async () => {
    const cert = file('expiry.crt');
    const r = await kes(['identity', 'new', '--key', file('expiry.key'), '--cert', cert, '--expiry', '720h'], {});
    assert.equal(r.code, 0);
    const x509 = new X509Certificate(readFileSync(cert));
    assert.equal(x509.subject, `CN=${fields(r.stdout).Identity}`);
    assert.equal(new Date(x509.validTo).getTime() - new Date(x509.validFrom).getTime(), 30 * 24 * 3600_000);
  });

  test('never overwrites existing files unless --force; --force resets the key file mode', async () => {
    const key = file('exists.key');
    const cert = file('exists.crt');
    assert.equal((await kes(['identity', 'new', '--key', key, '--cert', cert], {})).code, 0);
    const before = [readFileSync(key, 'utf8'), readFileSync(cert, 'utf8')];
    let r = await kes(['identity', 'new', '--key', key, '--cert', cert], {});
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Error: '${key}' already exists: use --force to overwrite it\n`);
    assert.deepEqual([readFileSync(key, 'utf8'), readFileSync(cert, 'utf8')], before);

    // Only the certificate exists: nothing is written either.
    const fresh = file('fresh.key');
    r = await kes(['identity', 'new', '--key', fresh, '--cert', cert], {});
    assert.equal(r.code, 1);
    assert.throws(() => statSync(fresh), { code: 'ENOENT' });

    chmodSync(key, 0o644);
    r = await kes(['identity', 'new', '-f', '--key', key, '--cert', cert], {});
    assert.equal(r.code, 0);
    assert.notEqual(readFileSync(key, 'utf8'), before[0]);
    assert.notEqual(readFileSync(cert, 'utf8'), before[1]);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.equal(opensslIdentity(cert), fields(r.stdout).Identity);
  });

  test('usage errors exit 2', async () => {
    const k = ['--key', file('u.key'), '--cert', file('u.crt')];
    const cases: [string[], RegExp][] = [
      [['--ip', '127.0.0.1'], /--ip requires --key and --cert/],
      [['--dns', 'localhost'], /--dns requires --key and --cert/],
      [['--expiry', '1h'], /--expiry requires --key and --cert/],
      [['--encrypt'], /--encrypt requires --key and --cert/],
      [['--force'], /--force requires --key and --cert/],
      [['subject'], /SUBJECT requires --key and --cert/],
      [['--key', file('u.key')], /--key and --cert must be used together/],
      [['--key', file('same'), '--cert', file('same')], /different files/],
      [[...k, '--ip', '300.1.1.1'], /invalid --ip '300\.1\.1\.1'/],
      [[...k, '--dns', 'bad name'], /invalid --dns 'bad name'/],
      [[...k, '--expiry', '1y'], /invalid --expiry '1y': use a Go duration/],
      [[...k, '--expiry', '-1h'], /invalid --expiry '-1h'/],
      [[...k, 'a', 'b'], /too many arguments/],
    ];
    for (const [args, error] of cases) {
      const r = await kes(['identity', 'new', ...args], {});
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, error, args.join(' '));
    }
    assert.throws(() => statSync(file('u.key')), { code: 'ENOENT' });
  });

  test('--help names the default validity and where the --encrypt password comes from', async () => {
    const r = await kes(['identity', 'new', '--help'], {});
    assert.equal(r.code, 0);
    assert.match(r.stdout, /default 8760h = 1 year/);
    assert.match(r.stdout, /from the terminal without echo .* or, when standard input is not a terminal, from\s+the first line of standard input/s);
    assert.match(r.stdout, /Examples:/);
  });
});

describe('kes identity new --encrypt (as a process)', () => {
  test('encrypts the key with the first line of stdin; openssl, node:tls and kes identity read it', async () => {
    const key = file('enc.key');
    const cert = file('enc.crt');
    const r = await spawnKes(['identity', 'new', '--encrypt', '--key', key, '--cert', cert], 'pass word\nnot this line\n');
    assert.equal(r.code, 0, r.stderr);
    const f = fields(r.stdout);
    assert.equal(f['Private key'], `${key} (encrypted)`);
    assert.ok(!r.stdout.includes('pass word') && !r.stderr.includes('pass word'), 'the password is never printed');
    assert.equal(statSync(key).mode & 0o777, 0o600);

    const pem = readFileSync(key, 'utf8');
    assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    const asn1 = execFileSync('openssl', ['asn1parse', '-in', key]).toString();
    assert.match(asn1, /:PBES2/);
    assert.match(asn1, /:aes-256-cbc/);
    assert.match(execFileSync('openssl', ['pkey', '-in', key, '-passin', 'pass:pass word', '-noout', '-text']).toString(), /^ED25519 Private-Key:/);
    assert.equal(spawnSync('openssl', ['pkey', '-in', key, '-passin', 'pass:wrong', '-noout']).status, 1);
    createSecureContext({ cert: readFileSync(cert), key: pem, passphrase: 'pass word' });
    assert.equal(ApiKey.fromPrivateKey(createPrivateKey({ key: pem, passphrase: 'pass word' })).toString(), f['API key']);

    // kes identity <encrypted key> asks for the password the same way.
    let back = await spawnKes(['identity', key], 'pass word\n');
    assert.deepEqual([back.code, back.stdout], [0, `${f['API key']}\n`]);
    back = await spawnKes(['identity', key], 'wrong\n');
    assert.equal(back.code, 1);
    assert.match(back.stderr, /cannot decrypt the private key in '.*enc\.key': wrong password/);
  });

  test('an empty stdin is an error and writes no files', async () => {
    const key = file('enc-empty.key');
    const r = await spawnKes(['identity', 'new', '--encrypt', '--key', key, '--cert', file('enc-empty.crt')], '');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: no password: standard input is not a terminal and its first line is empty/);
    assert.throws(() => statSync(key), { code: 'ENOENT' });
  });

  test('on a terminal: prompts twice without echo (through a pseudo-terminal)', async (t) => {
    if (spawnSync('script', ['--version']).error) {
      if (process.env.CI) assert.fail('the script command (util-linux) is required under CI');
      t.skip('needs the script command (util-linux) to run in a pseudo-terminal; install util-linux to enable');
      return;
    }
    const key = file('pty.key');
    const cert = file('pty.crt');
    const command = [process.execPath, '--import', 'tsx', 'src/cli/bin.ts', 'identity', 'new', '--encrypt', '--key', key, '--cert', cert].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    let notify = () => {};
    child.stdout.on('data', (d) => ((out += d), notify()));
    const closed = new Promise<number | null>((resolve) => child.once('close', (code) => (notify(), resolve(code))));
    const waitFor = (text: string) =>
      new Promise<void>((resolve, reject) => {
        notify = () => {
          if (out.includes(text)) resolve();
          else if (child.exitCode !== null) reject(new Error(`exited before '${text}':\n${out}`));
        };
        notify();
      });
    await waitFor('Password for the private key: ');
    child.stdin.write('s3cr\x7fet!\r'); // Backspace removes the r
    await waitFor('Confirm the password: ');
    child.stdin.write('s3cet!\r');
    const code = await closed;
    assert.equal(code, 0, out);
    assert.ok(!out.includes('s3c'), `the password is not echoed:\n${out}`);
    execFileSync('openssl', ['pkey', '-in', key, '-passin', 'pass:s3cet!', '-noout']);
  });
});
