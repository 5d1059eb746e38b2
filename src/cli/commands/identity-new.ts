/**
 * `kes identity new`: a new API key and, with --key and --cert, the same key as a PKCS #8 file
 * plus a self-signed certificate usable both as a client and as a server certificate; with
 * --minkms also the key's `k1:` and the identity's `h1:` form (docs/minkms.md "Identities").
 */
import { isIP } from 'node:net';
import { lstat, open, rm } from 'node:fs/promises';
import type { Command, CommandContext } from '../command.js';
import { ApiKey } from '../../auth/api-key.js';
import { kmsApiKeyOf, kmsIdentityOf } from '../../auth/kms-credentials.js';
import { createCertificate } from '../../pki/x509.js';
import { parseDuration } from '../../config/duration.js';
import { UsageError } from '../flags.js';
import { formatFields, isTTY, useColor } from '../output.js';
import { readPassword } from '../prompt.js';

/** The default validity of a new certificate: one year. */
export const DEFAULT_EXPIRY = '8760h';

/** `kes identity new`: a new API key, optionally written as key and certificate files. */
export const identityNewCommand: Command = {
  name: 'new',
  summary: 'Create an API key, optionally with a private key and certificate file',
  usage: 'kes identity new [options] [SUBJECT]',
  description: [
    'Generates a new API key and prints it with its identity. The key is shown once: keep it secret.',
    '',
    'With --key and --cert, also writes the same Ed25519 key as a PKCS #8 PEM file (mode 0600) and a',
    'self-signed X.509 certificate for it (mode 0644). The certificate works as a client certificate',
    '(e.g. for MinIO) and as a server certificate (its subject alternative names come from --dns',
    'and --ip). Its common name is SUBJECT, or the identity when SUBJECT is not given. Existing',
    'files are never overwritten unless --force is given.',
    '',
    'With --encrypt the private key file is encrypted (PKCS #8, AES-256-CBC) with a password read',
    'from the terminal without echo (asked twice) or, when standard input is not a terminal, from',
    'the first line of standard input.',
    '',
    '--ip, --dns, --expiry, --encrypt, --force and SUBJECT need --key and --cert.',
    '',
    'With --minkms two more lines follow the identity: "MinKMS API key", the same key as a MinKMS',
    'k1: key (e.g. for MINIO_KMS_API_KEY), and "MinKMS identity", the identity in h1: form.',
  ].join('\n'),
  flags: [
    { name: 'key', type: 'string', value: 'FILE', description: 'Write the private key to FILE (PKCS #8 PEM, mode 0600)' },
    { name: 'cert', type: 'string', value: 'FILE', description: 'Write the certificate to FILE (PEM, mode 0644)' },
    { name: 'ip', type: 'list', value: 'IP', description: 'Add an IP address subject alternative name (repeatable)' },
    { name: 'dns', type: 'list', value: 'NAME', description: 'Add a DNS name subject alternative name (repeatable)' },
    { name: 'expiry', type: 'string', value: 'DURATION', description: `Validity of the certificate, in Go duration syntax (default ${DEFAULT_EXPIRY} = 1 year)` },
    { name: 'encrypt', type: 'boolean', description: 'Encrypt the private key file with a password' },
    { name: 'force', short: 'f', type: 'boolean', description: 'Overwrite existing key and certificate files' },
    { name: 'minkms', type: 'boolean', description: 'Also print the MinKMS k1: API key and h1: identity' },
  ],
  examples: [
    'kes identity new',
    'kes identity new --key client.key --cert client.crt MinIO',
    'kes identity new --key server.key --cert server.crt --dns kes.example.com --ip 10.0.0.7 --expiry 17520h',
    'echo "$PASSWORD" | kes identity new --key client.key --cert client.crt --encrypt',
    'kes identity new --minkms',
  ],
  run: runIdentityNew,
};

interface FileOptions {
  keyFile: string;
  certFile: string;
  subject?: string;
  ips: string[];
  dnsNames: string[];
  expiryMs: number;
  encrypt: boolean;
  force: boolean;
}

async function runIdentityNew(ctx: CommandContext): Promise<void> {
  const files = fileOptions(ctx);
  const { io } = ctx;
  const key = ApiKey.generate();
  const rows: [string, string][] = [];
  const keyRows: [string, string][] = [['API key:', key.toString()], ['Identity:', key.identity]];
  if (ctx.flags.minkms === true) keyRows.push(['MinKMS API key:', kmsApiKeyOf(key)], ['MinKMS identity:', kmsIdentityOf(key.identity)]);
  if (files !== undefined) {
    if (!files.force) for (const file of [files.keyFile, files.certFile]) await refuseExisting(file);
    const password = files.encrypt
      ? await readPassword(process.stdin, io.stderr, { prompt: 'Password for the private key: ', confirm: 'Confirm the password: ', signal: io.signal })
      : undefined;
    const notBefore = new Date();
    const notAfter = new Date(notBefore.getTime() + files.expiryMs);
    const cert = createCertificate({
      commonName: files.subject ?? key.identity,
      publicKey: key.publicKey,
      signingKey: key.privateKey,
      notBefore,
      notAfter,
      isCA: false,
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['serverAuth', 'clientAuth'],
      dnsNames: files.dnsNames,
      ipAddresses: files.ips,
    });
    const keyPem =
      password === undefined
        ? key.privateKey.export({ type: 'pkcs8', format: 'pem' })
        : key.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password });
    await writeNewFile(files.keyFile, keyPem, 0o600, files.force);
    try {
      await writeNewFile(files.certFile, cert.pem, 0o644, files.force);
    } catch (err) {
      await rm(files.keyFile, { force: true });
      throw err;
    }
    rows.push(['Private key:', files.keyFile + (password === undefined ? '' : ' (encrypted)')], ['Certificate:', files.certFile]);
    rows.push(...keyRows);
    rows.push(['Valid from:', utcDate(notBefore)], ['Valid until:', utcDate(notAfter)]);
  } else {
    rows.push(...keyRows);
  }
  io.stdout.write(formatFields(rows, isTTY(io.stdout) && useColor(io.stdout, 'auto', io.env)));
}

/** The file options, validated; undefined when no files are to be written. */
function fileOptions({ flags, args }: CommandContext): FileOptions | undefined {
  if (args.length > 1) throw new UsageError(`too many arguments: kes identity new [options] [SUBJECT]`);
  const keyFile = flags.key as string | undefined;
  const certFile = flags.cert as string | undefined;
  if (keyFile === undefined || certFile === undefined) {
    if (keyFile !== undefined || certFile !== undefined) throw new UsageError('--key and --cert must be used together');
    for (const name of ['ip', 'dns', 'expiry', 'encrypt', 'force']) {
      if (flags[name] !== undefined && flags[name] !== false) throw new UsageError(`--${name} requires --key and --cert`);
    }
    if (args.length > 0) throw new UsageError('SUBJECT requires --key and --cert');
    return undefined;
  }
  if (keyFile === '' || certFile === '') throw new UsageError('--key and --cert must name files');
  if (keyFile === certFile) throw new UsageError('--key and --cert must name different files');
  const subject = args[0];
  if (subject === '') throw new UsageError('SUBJECT must not be empty');
  const ips = (flags.ip as string[] | undefined) ?? [];
  for (const ip of ips) if (isIP(ip) === 0 || ip.includes('%')) throw new UsageError(`invalid --ip '${ip}': not an IPv4 or IPv6 address`);
  const dnsNames = (flags.dns as string[] | undefined) ?? [];
  for (const name of dnsNames) if (!/^[\x21-\x7e]+$/.test(name)) throw new UsageError(`invalid --dns '${name}': use an ASCII host name (IDNs in punycode)`);
  const expiry = (flags.expiry as string | undefined) ?? DEFAULT_EXPIRY;
  const expiryMs = parseDuration(expiry);
  if (expiryMs === undefined) throw new UsageError(`invalid --expiry '${expiry}': use a Go duration such as 720h or 8760h`);
  if (expiryMs < 1000) throw new UsageError(`invalid --expiry '${expiry}': must be at least one second`);
  return { keyFile, certFile, subject, ips, dnsNames, expiryMs, encrypt: flags.encrypt === true, force: flags.force === true };
}

async function refuseExisting(file: string): Promise<void> {
  const exists = await lstat(file).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw new Error(`cannot check '${file}': ${err.message}`);
    },
  );
  if (exists) throw new Error(`'${file}' already exists: use --force to overwrite it`);
}

/**
 * Creates file with exactly mode (not reduced by the umask). With force an existing file is
 * removed first, so its old mode and owner do not carry over; without force an existing file
 * is never overwritten.
 */
async function writeNewFile(file: string, data: string | Buffer, mode: number, force: boolean): Promise<void> {
  try {
    if (force) await rm(file, { force: true });
    const handle = await open(file, 'wx', mode);
    try {
      await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST') throw new Error(`'${file}' already exists: use --force to overwrite it`);
    throw new Error(`cannot write '${file}': ${e.message}`);
  }
}

/** `2025-06-01 12:00:00 UTC`. */
function utcDate(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
