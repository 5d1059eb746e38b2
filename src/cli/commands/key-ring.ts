/**
 * Key versions in `kes key` (an openkes extension, docs/key-rings.md): `kes key rotate`, `kes key
 * rewrap`, retiring one version (`kes key rm NAME --version N`), and the versions `kes key info`
 * shows.
 */
import type { Command, CommandContext } from '../command.js';
import { KesError } from '../../api/errors.js';
import type { KeyAlgorithm, KeyInfo } from '../../client/types.js';
import { MAX_VERSION } from '../../crypto/versioned-ciphertext.js';
import { clientFlags } from '../client-env.js';
import { cliErrorMessage } from '../errors.js';
import { UsageError, type FlagSpec } from '../flags.js';
import { formatDate, paint } from '../output.js';
import { base64Arg, ciphertextArgs, expectArgs, nameArg, printResult, withClient } from './common.js';

/** Key versions are numbered 1 to 2^32−1. */
const CIPHERS = new Map<string, KeyAlgorithm>([['aes256', 'AES256'], ['chacha20', 'ChaCha20']]);

/**
 * A key ring call. A KES server has none of these APIs and answers `404 page not found`, which
 * the CLI would otherwise blame on KES_SERVER: say what is missing instead.
 */
async function ringCall<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof KesError && err.code === 'KES_ERR_HTTP' && err.status === 404) {
      throw new Error(`the server does not know this API (${err.message}): key versions (rotate, rm --version, rewrap) are an openkes extension that KES servers do not have`, { cause: err });
    }
    throw err;
  }
}

/** `--cipher`, which names the algorithm of the `--key` bytes only. @throws UsageError */
function cipherFlag(value: unknown, withKey: boolean): KeyAlgorithm | undefined {
  if (value === undefined) return undefined;
  if (!withKey) throw new UsageError('--cipher names the algorithm of the --key bytes: give --key too (without --key the server picks the bytes, with its default algorithm)');
  const cipher = CIPHERS.get(String(value).toLowerCase());
  if (!cipher) throw new UsageError(`invalid --cipher '${String(value)}': use AES256 or ChaCha20`);
  return cipher;
}

export const rotate: Command = {
  name: 'rotate',
  summary: 'Rotate a key: add a new version',
  usage: 'kes key rotate [options] NAME',
  description: [
    'Adds a version to the key NAME. New data keys and ciphertexts are sealed with it; data sealed',
    'with the earlier versions still decrypts (until a version is deleted with "kes key rm NAME',
    '--version N"). The new version is 32 random bytes made by the server, or the bytes of --key.',
    '',
    'Prints the new version number; when piped, a line of JSON: {"version":N}.',
    'Key versions are an openkes extension: KES servers do not have them.',
  ].join('\n'),
  flags: clientFlags(
    { name: 'key', type: 'string', value: 'B64', description: "The new version's 32 bytes, base64 (default: random bytes from the server)" },
    { name: 'cipher', type: 'string', value: 'AES256|ChaCha20', description: 'The algorithm of the --key bytes (default AES256)' },
  ),
  examples: ['kes key rotate my-key', 'kes key rotate my-key --key "$(head -c 32 /dev/urandom | base64)" --cipher ChaCha20'],
  async run(ctx) {
    const [name] = expectArgs(ctx, 1, 1, 'kes key rotate NAME');
    nameArg(name!, 'key');
    const key = ctx.flags.key === undefined ? undefined : base64Arg(String(ctx.flags.key), '--key');
    if (key !== undefined && key.length !== 32) throw new UsageError(`--key is ${key.length} bytes: a key version is 32 bytes (44 characters of base64)`);
    const cipher = cipherFlag(ctx.flags.cipher, key !== undefined);
    const version = await withClient(ctx, (c) => ringCall(c.rotateKey(name!, { key, cipher, signal: ctx.io.signal })));
    ctx.io.stdout.write(ctx.io.stdout.isTTY ? `Rotated key "${name}" to version ${version}\n` : JSON.stringify({ version }) + '\n');
  },
};

export const rewrap: Command = {
  name: 'rewrap',
  summary: "Re-encrypt a ciphertext with a key's latest version",
  usage: 'kes key rewrap [options] NAME CIPHERTEXT [CONTEXT]',
  description: [
    'Decrypts CIPHERTEXT (base64; sealed with any version of the key NAME, bound to the associated',
    'CONTEXT, base64) and encrypts the plaintext again with the latest version, bound to the same',
    'CONTEXT. It all happens on the server: the plaintext never leaves it. Prints the new ciphertext',
    '(base64). Rewrap what was sealed with a version before you delete that version.',
    '',
    'Needs both /v1/key/rewrap/NAME and /v1/key/decrypt/NAME allowed. Key versions are an openkes',
    'extension: KES servers do not have them.',
  ].join('\n'),
  flags: clientFlags(),
  examples: ['kes key rewrap my-key "$CIPHERTEXT"', 'kes key rewrap my-key "$CIPHERTEXT" "$(echo -n bucket/object | base64)"'],
  async run(ctx) {
    const { name, ciphertext, context } = ciphertextArgs(ctx, 'kes key rewrap NAME CIPHERTEXT [CONTEXT]');
    const rewrapped = await withClient(ctx, (c) => ringCall(c.rewrap(name, ciphertext, context, { signal: ctx.io.signal })));
    printResult(ctx, { ciphertext: rewrapped.toString('base64') });
  },
};

/** The flag of `kes key rm` that retires one version instead of deleting the key. */
export const VERSION_FLAG: FlagSpec = {
  name: 'version',
  type: 'string',
  value: 'N',
  description: 'Delete only version N of the key (never its only version): data sealed with it no longer decrypts',
};

/** `kes key rm NAME --version N`. @throws UsageError for several names or a bad N */
export async function deleteVersion(ctx: CommandContext): Promise<void> {
  const [name] = expectArgs(ctx, 1, 1, 'kes key rm NAME --version N (one key at a time)');
  nameArg(name!, 'key');
  const text = String(ctx.flags.version);
  const version = /^[1-9]\d{0,9}$/.test(text) ? Number(text) : NaN;
  if (!(version <= MAX_VERSION)) throw new UsageError(`invalid --version '${text}': give a version number from 1 to ${MAX_VERSION} ("kes key info ${name}" lists them)`);
  await withClient(ctx, (c) =>
    ringCall(c.deleteKey(name!, { version, signal: ctx.io.signal })).catch((err: unknown) => {
      const hint = err instanceof KesError && err.code === 'KES_ERR_ONLY_VERSION' ? ` ("kes key rm ${name}" deletes the key)` : '';
      throw new Error(`failed to delete version ${version} of key "${name}": ${cliErrorMessage(err)}${hint}`, { cause: err });
    }),
  );
}

/**
 * Whether `kes key info` lists the key's versions: not for a key that is only version 1, as every
 * KES key is, so that its output stays what it always was.
 */
export function hasVersions(k: KeyInfo): boolean {
  return k.version !== 1 || k.versions.length !== 1;
}

/** The versions as a table (underlined header), lowest first. */
export function versionsTable(k: KeyInfo, color: boolean): string {
  const header = ['Version', 'Algorithm', 'Date', 'Owner'];
  const rows = k.versions.map((v) => [String(v.version), v.algorithm, formatDate(v.createdAt), v.createdBy ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)) + 2);
  const line = (cells: string[]) => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i]!) : c)).join('').trimEnd();
  return `${paint(color, line(header), 'bold', 'underline')}\n${rows.map((r) => line(r) + '\n').join('')}`;
}

/** `version` and `versions` as the server's describe answer has them (created_by only when known). */
export function versionsJson(k: KeyInfo): { version: number; versions: object[] } {
  return {
    version: k.version,
    versions: k.versions.map((v) => ({ version: v.version, algorithm: v.algorithm, created_at: v.createdAt.toISOString(), ...(v.createdBy && { created_by: v.createdBy }) })),
  };
}
