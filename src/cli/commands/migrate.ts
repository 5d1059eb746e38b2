/**
 * `kes migrate`: copies keys from the key store of one KES config file to the key store of
 * another, entry by entry and byte for byte (protocol.md §15.3).
 */
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Command, CommandContext } from '../command.js';
import type { KeyStoreConfig } from '../../config/types.js';
import type { KeyStore } from '../../keystore/keystore.js';
import { connectKeyStore } from '../../keystore/registry.js';
import { loadKeyStoreConfigFile } from '../../config/keystore-file.js';
import { UsageError } from '../flags.js';
import { isTTY, paint, useColor } from '../output.js';
import { formatCount, formatRate, ProgressLine } from '../progress.js';
import { MigrateError, migrateKeys, type MigrateCounts } from '../migrate-keys.js';

const MINKMS = 'migrating to MinKMS (-s/-e/-a) is not supported by this version: name the destination key store with --to CONFIG';

/** `kes migrate`: copies key store entries between the key stores of two config files. */
export const migrateCommand: Command = {
  name: 'migrate',
  usage: 'kes migrate --from CONFIG --to CONFIG [-f | --merge] [PATTERN]',
  description: [
    'Copies the keys whose names match PATTERN from the key store of the --from config file to',
    'the key store of the --to config file. Both are KES server config files; only their keystore',
    'section is read (with ${VAR} references replaced). The stored entries are copied byte for byte,',
    'so the keys keep their material, type, creation date and creator. No server needs to run, and',
    'the source is only read.',
    '',
    'PATTERN is a glob: * matches any run of characters, ? one character (default *, all keys).',
    'Quote it so that the shell does not expand it.',
    '',
    'A key that already exists in the destination stops the migration with an error, unless',
    '--merge keeps it (counted as skipped) or --force replaces it with the source key.',
    '',
    'On a terminal a progress line is updated every second; the last line counts the migrated and',
    'skipped keys. Ctrl-C stops after the key being copied and reports how many were migrated.',
  ].join('\n'),
  flags: [
    { name: 'from', type: 'string', value: 'CONFIG', description: 'Config file of the source key store' },
    { name: 'to', type: 'string', value: 'CONFIG', description: 'Config file of the destination key store' },
    { name: 'force', short: 'f', type: 'boolean', description: 'Replace keys that exist in the destination' },
    { name: 'merge', type: 'boolean', description: 'Keep keys that exist in the destination (skip them)' },
    // KES's variant that imports into MinKMS: recognised to explain that it is not supported.
    { name: 'server', short: 's', type: 'string', hidden: true, description: 'MinKMS server (not supported)' },
    { name: 'enclave', short: 'e', type: 'string', hidden: true, description: 'MinKMS enclave (not supported)' },
    { name: 'api-key', short: 'a', type: 'string', hidden: true, description: 'MinKMS API key (not supported)' },
    { name: 'insecure', short: 'k', type: 'boolean', hidden: true, description: 'MinKMS TLS verification (not supported)' },
  ],
  examples: [
    'kes migrate --from old.yml --to new.yml',
    "kes migrate --from old.yml --to new.yml 'minio-*'",
    'kes migrate --from old.yml --to new.yml --merge',
  ],
  run: runMigrate,
};

async function runMigrate({ flags, args, io }: CommandContext): Promise<number> {
  if (['server', 'enclave', 'api-key', 'insecure'].some((f) => flags[f] !== undefined)) throw new UsageError(MINKMS);
  if (args.length > 1) throw new UsageError(`too many arguments: give one PATTERN (quote it: '${args[0]}')`);
  const fromFile = flags.from as string | undefined;
  const toFile = flags.to as string | undefined;
  if (fromFile === undefined) throw new UsageError('missing --from CONFIG: the config file of the source key store');
  if (toFile === undefined) throw new UsageError(`missing --to CONFIG: the config file of the destination key store (${MINKMS.split(':')[0]})`);
  if (flags.force === true && flags.merge === true) throw new UsageError('--force and --merge are mutually exclusive');
  const pattern = args[0] ?? '*';

  const fromConfig = await loadKeyStoreConfigFile(fromFile, io.env);
  const toConfig = await loadKeyStoreConfigFile(toFile, io.env);
  for (const [file, config] of [[fromFile, fromConfig], [toFile, toConfig]] as const) {
    if (config.type === 'mem') throw new Error(`the key store of '${file}' is in memory: it does not outlive a process, so there is nothing to migrate from or to`);
  }
  if (sameStore(fromConfig, toConfig)) throw new UsageError(`'${fromFile}' and '${toFile}' name the same key store`);

  const stores: KeyStore[] = [];
  // Ctrl-C: the CLI aborts io.signal; while this listener exists it does not exit at once, so
  // the migration stops after the current key. A second Ctrl-C ends the process.
  const onSigint = (): void => void process.off('SIGINT', onSigint);
  process.on('SIGINT', onSigint);
  try {
    const from = await openStore(fromFile, fromConfig, 'source', stores);
    const to = await openStore(toFile, toConfig, 'destination', stores);
    return await copy(from, to, { pattern, existing: flags.force === true ? 'replace' : flags.merge === true ? 'skip' : 'fail', io });
  } finally {
    process.off('SIGINT', onSigint);
    await Promise.allSettled(stores.map((s) => s.close()));
  }
}

/** Reports whether two configs certainly name the same store (fs paths compared resolved). */
function sameStore(a: KeyStoreConfig, b: KeyStoreConfig): boolean {
  if (a.type === 'fs' && b.type === 'fs') return resolve(a.path) === resolve(b.path);
  return isDeepStrictEqual(a, b);
}

/** Connects to a store and checks that it answers. */
async function openStore(file: string, config: KeyStoreConfig, role: string, opened: KeyStore[]): Promise<KeyStore> {
  let store: KeyStore;
  try {
    store = await connectKeyStore(config);
  } catch (err) {
    throw new Error(`cannot open the ${role} key store of '${file}': ${(err as Error).message}`, { cause: err });
  }
  opened.push(store);
  try {
    await store.status();
  } catch (err) {
    throw new Error(`the ${role} key store of '${file}' is not available: ${(err as Error).message}`, { cause: err });
  }
  return store;
}

async function copy(from: KeyStore, to: KeyStore, o: { pattern: string; existing: 'fail' | 'replace' | 'skip'; io: CommandContext['io'] }): Promise<number> {
  const { io } = o;
  const color = useColor(io.stdout, 'auto', io.env);
  const started = performance.now();
  let counts: Readonly<MigrateCounts> = { migrated: 0, skipped: 0 };
  const progress = isTTY(io.stdout) ? new ProgressLine(io.stdout, () => progressText(counts, performance.now() - started)) : undefined;
  progress?.start();
  try {
    const result = await migrateKeys(from, to, { pattern: o.pattern, existing: o.existing, signal: io.signal, onProgress: (c) => (counts = c) });
    progress?.stop();
    if (result.interrupted) {
      io.stderr.write(`${paint(useColor(io.stderr, 'auto', io.env), 'Interrupted:', 'yellow', 'bold')} ${summary(result)} before the migration was stopped.\n`);
      return 1;
    }
    io.stdout.write(`${paint(color, 'Done:', 'green', 'bold')} ${summary(result)}.\n`);
    return 0;
  } catch (err) {
    progress?.stop();
    if (err instanceof MigrateError) throw new Error(`${err.message} (${summary(err.counts)} before the error)`, { cause: err });
    throw err;
  }
}

function progressText(c: MigrateCounts, elapsedMs: number): string {
  return `Migrating: ${formatCount(c.migrated)} migrated, ${formatCount(c.skipped)} skipped (${formatRate(c.migrated + c.skipped, elapsedMs)})`;
}

function summary(c: MigrateCounts): string {
  return `${formatCount(c.migrated)} ${c.migrated === 1 ? 'key' : 'keys'} migrated, ${formatCount(c.skipped)} skipped`;
}
