/**
 * `kes identity [API-KEY|FILE]` and its local subcommands (`new`, `of`): API keys and identities
 * without a server (protocol.md §2.3, §15.3), and with --minkms their MinKMS forms, `k1:`/`k2:`
 * keys and `h1:` identities (docs/minkms.md "Identities"). The server-side subcommands (`info`, `ls`) are
 * appended to `subcommands` by commands/index.ts.
 */
import type { KeyObject } from 'node:crypto';
import type { Command, CommandContext } from '../command.js';
import { ApiKey } from '../../auth/api-key.js';
import { kmsApiKeyOf, kmsIdentityOf, type KmsApiKey } from '../../auth/kms-credentials.js';
import type { FlagSpec } from '../flags.js';
import { formatFields, isTTY, paint, useColor } from '../output.js';
import { apiKeyOfPrivateKey, decryptPrivateKey, kmsApiKeyOfPrivateKey, readIdentitySource } from '../identity-source.js';
import { readPassword } from '../prompt.js';
import { expectArgs } from './common.js';
import { identityNewCommand } from './identity-new.js';
import { identityOfCommand } from './identity-of.js';

const MINKMS_FLAG: FlagSpec = { name: 'minkms', type: 'boolean', description: 'Print MinKMS forms: k1:/k2: API keys and h1: identities' };

/** `kes identity`: generates API keys or shows what a key or file is; parent of the identity subcommands. */
export const identityCommand: Command = {
  name: 'identity',
  usage: 'kes identity [API-KEY | FILE] [--minkms]\n  kes identity <command>',
  description: [
    'Without an argument, generates a new API key. When output is piped, only the key is printed,',
    'e.g. for "export KES_API_KEY=$(kes identity)"; on a terminal the key is shown with its identity.',
    '',
    'With an API key, prints its identity. With a FILE, reads its first PEM block: for a CERTIFICATE',
    'or PUBLIC KEY prints the identity, for an Ed25519 PKCS #8 PRIVATE KEY prints the API key of that',
    'key. For an ENCRYPTED PRIVATE KEY the password is read from the terminal (without echo) or,',
    'when standard input is not a terminal, from its first line.',
    '',
    'An identity is the SHA-256 of a public key. It is not a secret: the server config names',
    'identities in admin.identity and in the identities of a policy.',
    '',
    'MinKMS writes the same key and identity differently: an API key as k1: (Ed25519; k2: for',
    'ECDSA keys), an identity as h1: (base64url instead of hex). Arguments may use either form;',
    'an IDENTITY (hex or h1:) is printed as hex, or as h1: with --minkms, to convert between them.',
    'With --minkms a new key is printed as its k1: key when piped (see the examples) and, on a',
    'terminal, in both forms with both forms of its identity. For a key, identity or certificate',
    '--minkms prints the h1: identity (on a terminal after the hex one); for a private key file,',
    'its k1: or k2: key.',
  ].join('\n'),
  flags: [MINKMS_FLAG],
  examples: [
    'kes identity',
    'export KES_API_KEY=$(kes identity)',
    'export MINIO_KMS_API_KEY=$(kes identity --minkms)',
    'kes identity kes:v1:AD9E7FSYWrMD+VjhI6q545cYT9YOyFxZb7UnjEepYDRc',
    'kes identity --minkms k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8',
    'kes identity h1:oFCDfYUHBYLM9zlLCYiEfMMSy4glm4lImfbyOc8XkaU',
    'kes identity client.crt',
    'kes identity client.key',
  ],
  run: runIdentity,
  subcommands: [identityNewCommand, identityOfCommand],
};

interface Output {
  tty: boolean;
  color: boolean;
  minkms: boolean;
}

async function runIdentity(ctx: CommandContext): Promise<void> {
  const [arg] = expectArgs(ctx, 0, 1, 'kes identity [API-KEY | FILE]');
  const { io } = ctx;
  const out: Output = { tty: isTTY(io.stdout), color: useColor(io.stdout, 'auto', io.env), minkms: ctx.flags.minkms === true };
  if (arg === undefined) {
    const key = ApiKey.generate();
    if (out.minkms) io.stdout.write(out.tty ? newKeyText(key, out.color, kmsApiKeyOf(key)) : `${kmsApiKeyOf(key)}\n`);
    else io.stdout.write(out.tty ? newKeyText(key, out.color) : `${key.toString()}\n`);
    return;
  }
  const source = await readIdentitySource(arg);
  switch (source.kind) {
    case 'api-key':
    case 'kms-api-key':
      io.stdout.write(identityText(source.key.identity, out));
      return;
    case 'identity':
    case 'certificate':
    case 'public-key':
      io.stdout.write(identityText(source.identity, out));
      return;
    case 'private-key':
      io.stdout.write(privateKeyText(source.file, source.key, out));
      return;
    case 'encrypted-private-key': {
      const password = await readPassword(process.stdin, io.stderr, { prompt: `Password for '${source.file}': `, signal: io.signal });
      const key = decryptPrivateKey(source.file, source.pem, password);
      io.stdout.write(privateKeyText(source.file, key, out));
      return;
    }
  }
}

/**
 * `Identity: <hex>` on a terminal, the bare hex when piped; with --minkms the `h1:` form (on a
 * terminal after the hex one).
 */
function identityText(identity: string, { tty, color, minkms }: Output): string {
  if (!minkms) return tty ? formatFields([['Identity:', identity]], color) : `${identity}\n`;
  const h1 = kmsIdentityOf(identity);
  return tty ? formatFields([['Identity:', identity], ['MinKMS identity:', h1]], color) : `${h1}\n`;
}

/** The API key of a private key file: `kes:v1:` (Ed25519 only), or with --minkms `k1:`/`k2:`. */
function privateKeyText(file: string, key: KeyObject, out: Output): string {
  return out.minkms ? kmsApiKeyText(kmsApiKeyOfPrivateKey(file, key), out) : apiKeyText(apiKeyOfPrivateKey(file, key), out.tty, out.color);
}

/** On a terminal both key forms (`kes:v1:` only for k1) and both identity forms; piped only the MinKMS key. */
function kmsApiKeyText(key: KmsApiKey, { tty, color }: Output): string {
  if (!tty) return `${key.toString()}\n`;
  const rows: [string, string][] = key.type === 'k1' ? [['API key:', key.toApiKey().toString()]] : [];
  rows.push(['MinKMS API key:', key.toString()], ['Identity:', key.identity], ['MinKMS identity:', key.kmsIdentity]);
  return formatFields(rows, color);
}

function apiKeyText(key: ApiKey, tty: boolean, color: boolean): string {
  return tty ? formatFields([['API key:', key.toString()], ['Identity:', key.identity]], color) : `${key.toString()}\n`;
}

/**
 * A new key on a terminal: the key, its identity and how to use both; with kmsKey (--minkms)
 * also the key's `k1:` form and the identity's `h1:` form.
 */
function newKeyText(key: ApiKey, color: boolean, kmsKey?: string): string {
  const b = (s: string) => paint(color, s, 'bold');
  if (kmsKey !== undefined) {
    return [
      b('Your API key (KES and MinKMS forms of the same key):'),
      '',
      `   ${paint(color, key.toString(), 'yellow')}`,
      `   ${paint(color, kmsKey, 'yellow')}`,
      '',
      'This is the only time it is shown. Keep it secret and safe.',
      '',
      b('Your identity (KES and MinKMS forms):'),
      '',
      `   ${paint(color, key.identity, 'cyan')}`,
      `   ${paint(color, kmsIdentityOf(key.identity), 'cyan')}`,
      '',
      'The identity is not a secret. Give it access on the server: set it as admin.identity, or add',
      "it to a policy's identities in the server config. Then use the key with the kes CLI, or as",
      'the MinKMS API key of MinIO:',
      '',
      `   export KES_API_KEY=${key.toString()}`,
      `   export MINIO_KMS_API_KEY=${kmsKey}`,
      '',
    ].join('\n');
  }
  return [
    b('Your API key:'),
    '',
    `   ${paint(color, key.toString(), 'yellow')}`,
    '',
    'This is the only time it is shown. Keep it secret and safe.',
    '',
    b('Your identity:'),
    '',
    `   ${paint(color, key.identity, 'cyan')}`,
    '',
    'The identity is not a secret. Give it access on the server: set it as admin.identity, or add',
    "it to a policy's identities in the server config. Then use the key with the kes CLI:",
    '',
    `   export KES_API_KEY=${key.toString()}`,
    '',
  ].join('\n');
}
