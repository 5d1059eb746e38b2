/**
 * `kes key`: create, import, inspect, list, delete keys; encrypt, decrypt, generate data keys;
 * rotate keys and rewrap ciphertexts (key-ring.ts).
 */
import type { Command } from '../command.js';
import { clientFlags, OUTPUT_FLAGS } from '../client-env.js';
import { cliErrorMessage } from '../errors.js';
import { formatDate, formatFields, formatList } from '../output.js';
import { base64Arg, ciphertextArgs, collect, expectArgs, nameArg, outputOf, patternToPrefix, printResult, withClient } from './common.js';
import { deleteVersion, hasVersions, rewrap, rotate, VERSION_FLAG, versionsJson, versionsTable } from './key-ring.js';

const create: Command = {
  name: 'create',
  summary: 'Create one or more keys',
  usage: 'kes key create [options] NAME...',
  flags: clientFlags(),
  examples: ['kes key create my-key', 'kes key create key-1 key-2'],
  async run(ctx) {
    expectArgs(ctx, 1, Infinity, 'kes key create NAME...').forEach((name) => nameArg(name, 'key'));
    await withClient(ctx, async (c) => {
      for (const name of ctx.args) {
        await c.createKey(name, { signal: ctx.io.signal }).catch((err: unknown) => {
          throw new Error(`failed to create key "${name}": ${cliErrorMessage(err)}`, { cause: err });
        });
      }
    });
  },
};

const importKey: Command = {
  name: 'import',
  summary: 'Import a key',
  usage: 'kes key import [options] NAME KEY',
  description: 'Imports KEY (32 bytes, base64) as an AES256 key named NAME.',
  flags: clientFlags(),
  examples: ['kes key import my-key "$(head -c 32 /dev/urandom | base64)"'],
  async run(ctx) {
    const [name, key] = expectArgs(ctx, 2, 2, 'kes key import NAME KEY');
    nameArg(name!, 'key');
    const material = base64Arg(key!, 'KEY');
    await withClient(ctx, (c) => c.importKey(name!, material, 'AES256', { signal: ctx.io.signal }));
  },
};

const info: Command = {
  name: 'info',
  summary: 'Show information about a key',
  usage: 'kes key info [options] NAME',
  description: [
    'Shows the key NAME. A rotated key also shows its latest version (Algorithm, Date and Owner are',
    "that version's) and a table of its versions; --json gives them as \"version\" and \"versions\".",
  ].join('\n'),
  flags: clientFlags(...OUTPUT_FLAGS),
  examples: ['kes key info my-key', 'kes key info my-key --json'],
  async run(ctx) {
    const [name] = expectArgs(ctx, 1, 1, 'kes key info NAME');
    nameArg(name!, 'key');
    const out = outputOf(ctx);
    const k = await withClient(ctx, (c) => c.describeKey(name!, { signal: ctx.io.signal }));
    if (out.json) {
      ctx.io.stdout.write(JSON.stringify({ name: k.name, algorithm: k.algorithm, created_at: k.createdAt.toISOString(), created_by: k.createdBy, ...versionsJson(k) }) + '\n');
      return;
    }
    const fields: [string, string][] = [['Name', k.name], ['Algorithm', k.algorithm], ['Date', formatDate(k.createdAt)], ['Owner', k.createdBy]];
    if (!hasVersions(k)) {
      ctx.io.stdout.write(formatFields(fields, out.color));
      return;
    }
    ctx.io.stdout.write(formatFields([...fields, ['Version', String(k.version)]], out.color) + '\n' + versionsTable(k, out.color));
  },
};

const ls: Command = {
  name: 'ls',
  summary: 'List keys',
  usage: 'kes key ls [options] [PATTERN]',
  description: 'Lists the keys matching PATTERN (a name prefix with an optional trailing *; default *).',
  flags: clientFlags(...OUTPUT_FLAGS),
  examples: ['kes key ls', "kes key ls 'minio-*'", 'kes key ls --json'],
  async run(ctx) {
    const [pattern] = expectArgs(ctx, 0, 1, 'kes key ls [PATTERN]');
    const names = await withClient(ctx, (c) => collect(c.listKeys(patternToPrefix(pattern), { signal: ctx.io.signal })));
    ctx.io.stdout.write(formatList('Key', names, outputOf(ctx)));
  },
};

const rm: Command = {
  name: 'rm',
  summary: 'Delete one or more keys',
  usage: 'kes key rm [options] NAME...\n  kes key rm [options] NAME --version N',
  description: [
    'Deletes keys, with all their versions. Everything encrypted with a deleted key can no longer be',
    'decrypted. With --version, deletes only that version of one key ("kes key info NAME" lists',
    'them): what was sealed with it can no longer be decrypted, the other versions stay.',
  ].join('\n'),
  flags: clientFlags(VERSION_FLAG),
  examples: ['kes key rm my-key', 'kes key rm my-key --version 1'],
  async run(ctx) {
    if (ctx.flags.version !== undefined) return deleteVersion(ctx);
    expectArgs(ctx, 1, Infinity, 'kes key rm NAME...').forEach((name) => nameArg(name, 'key'));
    await withClient(ctx, async (c) => {
      for (const name of ctx.args) {
        await c.deleteKey(name, { signal: ctx.io.signal }).catch((err: unknown) => {
          throw new Error(`failed to delete key "${name}": ${cliErrorMessage(err)}`, { cause: err });
        });
      }
    });
  },
};

const encrypt: Command = {
  name: 'encrypt',
  summary: 'Encrypt a message with a key',
  usage: 'kes key encrypt [options] NAME MESSAGE',
  description: 'Encrypts MESSAGE (text) with the key NAME. Prints the ciphertext (base64).',
  flags: clientFlags(),
  examples: ['kes key encrypt my-key "my secret message"'],
  async run(ctx) {
    const [name, message] = expectArgs(ctx, 2, 2, 'kes key encrypt NAME MESSAGE');
    nameArg(name!, 'key');
    const ciphertext = await withClient(ctx, (c) => c.encrypt(name!, Buffer.from(message!, 'utf8'), undefined, { signal: ctx.io.signal }));
    printResult(ctx, { ciphertext: ciphertext.toString('base64') });
  },
};

const decrypt: Command = {
  name: 'decrypt',
  summary: 'Decrypt a ciphertext with a key',
  usage: 'kes key decrypt [options] NAME CIPHERTEXT [CONTEXT]',
  description: 'Decrypts CIPHERTEXT (base64) with the key NAME and the associated CONTEXT (base64). Prints the plaintext (base64).',
  flags: clientFlags(),
  examples: ['kes key decrypt my-key "$CIPHERTEXT"', 'kes key decrypt my-key "$CIPHERTEXT" "$(echo -n bucket/object | base64)"'],
  async run(ctx) {
    const { name, ciphertext, context } = ciphertextArgs(ctx, 'kes key decrypt NAME CIPHERTEXT [CONTEXT]');
    const plaintext = await withClient(ctx, (c) => c.decrypt(name, ciphertext, context, { signal: ctx.io.signal }));
    printResult(ctx, { plaintext: plaintext.toString('base64') });
  },
};

const dek: Command = {
  name: 'dek',
  summary: 'Generate a data encryption key',
  usage: 'kes key dek [options] NAME [CONTEXT]',
  description: [
    'Generates a new data encryption key (DEK) with the key NAME, bound to CONTEXT (base64).',
    'Encrypt your data with the plaintext DEK, keep only the ciphertext DEK, and get the plaintext',
    'back with "kes key decrypt NAME CIPHERTEXT [CONTEXT]" when you need it.',
  ].join('\n'),
  flags: clientFlags(),
  examples: ['kes key dek my-key', 'kes key dek my-key "$(echo -n bucket/object | base64)"'],
  async run(ctx) {
    const [name, context] = expectArgs(ctx, 1, 2, 'kes key dek NAME [CONTEXT]');
    nameArg(name!, 'key');
    const ctxBytes = context === undefined ? undefined : base64Arg(context, 'CONTEXT');
    const k = await withClient(ctx, (c) => c.generateKey(name!, ctxBytes, { signal: ctx.io.signal }));
    printResult(ctx, { plaintext: k.plaintext.toString('base64'), ciphertext: k.ciphertext.toString('base64') });
  },
};

export const keyCommand: Command = {
  name: 'key',
  usage: 'kes key <command>',
  description: [
    'The key commands talk to the server in KES_SERVER (or --server; default 127.0.0.1:7373) and',
    'authenticate with the API key in KES_API_KEY (or --api-key), or with the client certificate',
    'and private key files in KES_CLIENT_CERT and KES_CLIENT_KEY.',
  ].join('\n'),
  subcommands: [create, importKey, info, ls, rm, rotate, encrypt, decrypt, dek, rewrap],
};
