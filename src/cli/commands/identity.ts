/**
 * `kes identity [API-KEY|FILE]` and its local subcommands (`new`, `of`): API keys and identities
 * without a server (protocol.md §2.3, §15.3). The server-side subcommands (`info`, `ls`) are
 * appended to `subcommands` by commands/index.ts.
 */
import type { Command, CommandContext } from '../command.js';
import { ApiKey } from '../../auth/api-key.js';
import { formatFields, isTTY, paint, useColor } from '../output.js';
import { apiKeyOfPrivateKey, decryptPrivateKey, readIdentitySource } from '../identity-source.js';
import { readPassword } from '../prompt.js';
import { expectArgs } from './common.js';
import { identityNewCommand } from './identity-new.js';
import { identityOfCommand } from './identity-of.js';

/** `kes identity`: generates API keys or shows what a key or file is; parent of the identity subcommands. */
export const identityCommand: Command = {
  name: 'identity',
  usage: 'kes identity [API-KEY | FILE]\n  kes identity <command>',
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
  ].join('\n'),
  examples: [
    'kes identity',
    'export KES_API_KEY=$(kes identity)',
    'kes identity kes:v1:AD9E7FSYWrMD+VjhI6q545cYT9YOyFxZb7UnjEepYDRc',
    'kes identity client.crt',
    'kes identity client.key',
  ],
  run: runIdentity,
  subcommands: [identityNewCommand, identityOfCommand],
};

async function runIdentity(ctx: CommandContext): Promise<void> {
  const [arg] = expectArgs(ctx, 0, 1, 'kes identity [API-KEY | FILE]');
  const { io } = ctx;
  const tty = isTTY(io.stdout);
  const color = useColor(io.stdout, 'auto', io.env);
  if (arg === undefined) {
    io.stdout.write(tty ? newKeyText(ApiKey.generate(), color) : `${ApiKey.generate().toString()}\n`);
    return;
  }
  const source = await readIdentitySource(arg);
  switch (source.kind) {
    case 'api-key':
      io.stdout.write(identityText(source.key.identity, tty, color));
      return;
    case 'certificate':
    case 'public-key':
      io.stdout.write(identityText(source.identity, tty, color));
      return;
    case 'private-key':
      io.stdout.write(apiKeyText(apiKeyOfPrivateKey(source.file, source.key), tty, color));
      return;
    case 'encrypted-private-key': {
      const password = await readPassword(process.stdin, io.stderr, { prompt: `Password for '${source.file}': `, signal: io.signal });
      const key = decryptPrivateKey(source.file, source.pem, password);
      io.stdout.write(apiKeyText(apiKeyOfPrivateKey(source.file, key), tty, color));
      return;
    }
  }
}

/** `Identity: <hex>` on a terminal, the bare hex when piped. */
function identityText(identity: string, tty: boolean, color: boolean): string {
  return tty ? formatFields([['Identity:', identity]], color) : `${identity}\n`;
}

function apiKeyText(key: ApiKey, tty: boolean, color: boolean): string {
  return tty ? formatFields([['API key:', key.toString()], ['Identity:', key.identity]], color) : `${key.toString()}\n`;
}

/** A new key on a terminal: the key, its identity and how to use both. */
function newKeyText(key: ApiKey, color: boolean): string {
  const b = (s: string) => paint(color, s, 'bold');
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
