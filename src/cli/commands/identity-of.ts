/** `kes identity of`: the identities of API keys, certificates and key files, in KES (hex) or MinKMS (`h1:`) form. */
import { createPublicKey } from 'node:crypto';
import type { Command, CommandContext } from '../command.js';
import { identityOfPublicKey, type Identity } from '../../auth/identity.js';
import { kmsIdentityOf } from '../../auth/kms-credentials.js';
import { formatFields, isTTY, useColor } from '../output.js';
import { readIdentitySource } from '../identity-source.js';
import { UsageError, type FlagSpec } from '../flags.js';

const MINKMS_FLAG: FlagSpec = { name: 'minkms', type: 'boolean', description: 'Print h1: (MinKMS) identities instead of hex' };

/** `kes identity of`: prints the identity of each API key or file argument. */
export const identityOfCommand: Command = {
  name: 'of',
  summary: 'Print the identity of API keys or certificates',
  usage: 'kes identity of [--minkms] <API-KEY | IDENTITY | FILE>...',
  description: [
    'Prints the identity of each API key or file: the hex SHA-256 of its public key, which is how',
    'the server identifies a client. A FILE is read up to its first PEM block: a CERTIFICATE, a',
    'PUBLIC KEY or an unencrypted PKCS #8 PRIVATE KEY.',
    '',
    'API keys may be KES (kes:v1:) or MinKMS (k1:, k2:) keys, and an IDENTITY may be given in hex',
    'or in the MinKMS h1: form. With --minkms the identities are printed in the h1: form.',
    '',
    'On a terminal each identity is labelled; when piped, one identity per line, in argument order.',
  ].join('\n'),
  flags: [MINKMS_FLAG],
  examples: [
    'kes identity of kes:v1:AD9E7FSYWrMD+VjhI6q545cYT9YOyFxZb7UnjEepYDRc',
    'kes identity of client.crt',
    'kes identity of client.crt server.crt',
    'kes identity of --minkms client.crt',
    'kes identity of h1:oFCDfYUHBYLM9zlLCYiEfMMSy4glm4lImfbyOc8XkaU',
  ],
  run: runIdentityOf,
};

async function runIdentityOf({ args, flags, io }: CommandContext): Promise<void> {
  if (args.length === 0) throw new UsageError('missing argument: kes identity of <API-KEY | FILE>...');
  // Every argument is read before anything is printed: the output is complete or empty.
  const rows: [label: string, identity: string][] = [];
  for (const [i, arg] of args.entries()) rows.push(await identityOf(arg, i + 1));
  if (flags.minkms === true) for (const row of rows) row[1] = kmsIdentityOf(row[1]);
  const tty = isTTY(io.stdout);
  if (!tty) {
    io.stdout.write(rows.map(([, identity]) => `${identity}\n`).join(''));
    return;
  }
  const color = useColor(io.stdout, 'auto', io.env);
  io.stdout.write(formatFields(rows.length === 1 ? [['Identity:', rows[0]![1]]] : rows.map(([label, identity]) => [`${label}:`, identity]), color));
}

async function identityOf(arg: string, position: number): Promise<[string, Identity]> {
  const source = await readIdentitySource(arg);
  switch (source.kind) {
    case 'api-key':
    case 'kms-api-key':
      return [`API key (argument ${position})`, source.key.identity];
    case 'identity':
      return [`Identity (argument ${position})`, source.identity];
    case 'certificate':
    case 'public-key':
      return [source.file, source.identity];
    case 'private-key':
      return [source.file, identityOfPublicKey(createPublicKey(source.key).export({ type: 'spki', format: 'der' }))];
    case 'encrypted-private-key':
      throw new Error(`the private key in '${source.file}' is encrypted: use its certificate instead`);
  }
}
