/** `kes identity of`: the identities of API keys, certificates and key files. */
import { createPublicKey } from 'node:crypto';
import type { Command, CommandContext } from '../command.js';
import { identityOfPublicKey, type Identity } from '../../auth/identity.js';
import { formatFields, isTTY, useColor } from '../output.js';
import { readIdentitySource } from '../identity-source.js';
import { UsageError } from '../flags.js';

/** `kes identity of`: prints the identity of each API key or file argument. */
export const identityOfCommand: Command = {
  name: 'of',
  summary: 'Print the identity of API keys or certificates',
  usage: 'kes identity of <API-KEY | FILE>...',
  description: [
    'Prints the identity of each API key or file: the hex SHA-256 of its public key, which is how',
    'the server identifies a client. A FILE is read up to its first PEM block: a CERTIFICATE, a',
    'PUBLIC KEY or an unencrypted PKCS #8 PRIVATE KEY.',
    '',
    'On a terminal each identity is labelled; when piped, one identity per line, in argument order.',
  ].join('\n'),
  examples: [
    'kes identity of kes:v1:AD9E7FSYWrMD+VjhI6q545cYT9YOyFxZb7UnjEepYDRc',
    'kes identity of client.crt',
    'kes identity of client.crt server.crt',
  ],
  run: runIdentityOf,
};

async function runIdentityOf({ args, io }: CommandContext): Promise<void> {
  if (args.length === 0) throw new UsageError('missing argument: kes identity of <API-KEY | FILE>...');
  // Every argument is read before anything is printed: the output is complete or empty.
  const rows: [label: string, identity: Identity][] = [];
  for (const [i, arg] of args.entries()) rows.push(await identityOf(arg, i + 1));
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
      return [`API key (argument ${position})`, source.key.identity];
    case 'certificate':
    case 'public-key':
      return [source.file, source.identity];
    case 'private-key':
      return [source.file, identityOfPublicKey(createPublicKey(source.key).export({ type: 'spki', format: 'der' }))];
    case 'encrypted-private-key':
      throw new Error(`the private key in '${source.file}' is encrypted: use its certificate instead`);
  }
}
