/**
 * Every top-level `kes` command, in the order `kes --help` lists them. Each is loaded when it is
 * used, so that a command does not load the code of the others.
 */
import type { LazyCommand } from '../command.js';

export const COMMANDS: LazyCommand[] = [
  { name: 'server', summary: 'Start a KES server', load: async () => (await import('./server.js')).serverCommand },
  { name: 'ls', summary: 'List keys, identities or policies', load: async () => (await import('./ls.js')).lsCommand },
  { name: 'key', summary: 'Manage cryptographic keys', load: async () => (await import('./key.js')).keyCommand },
  { name: 'policy', summary: 'Inspect policies; manage runtime (MinKMS) policies', load: async () => (await import('./policy.js')).policyCommand },
  { name: 'enclave', summary: 'Manage MinKMS enclaves', load: async () => (await import('./runtime.js')).enclaveCommand },
  {
    name: 'identity',
    summary: 'Create API keys, compute identities; manage runtime (MinKMS) identities',
    // The server-side identity commands join the local ones of identity.ts.
    load: async () => {
      const [local, remote, runtime] = await Promise.all([import('./identity.js'), import('./identity-server.js'), import('./runtime.js')]);
      const command = local.identityCommand;
      const subcommands = [remote.identityInfoCommand, remote.identityLsCommand, runtime.identityCreateCommand, runtime.identityRmCommand];
      return { ...command, subcommands: [...(command.subcommands ?? []), ...subcommands] };
    },
  },
  { name: 'status', summary: 'Show the status of the server(s)', load: async () => (await import('./status.js')).statusCommand },
  { name: 'log', summary: 'Follow the audit or error log', load: async () => (await import('./log.js')).logCommand },
  { name: 'console', summary: 'Serve the web console', load: async () => (await import('./console.js')).consoleCommand },
  { name: 'metric', summary: 'Watch the server\'s metrics', load: async () => (await import('./metric.js')).metricCommand },
  { name: 'migrate', summary: 'Migrate keys from one key store to another', load: async () => (await import('./migrate.js')).migrateCommand },
  { name: 'backup', summary: 'Save an encrypted snapshot of the whole key store', load: async () => (await import('./backup.js')).backupCommand },
  { name: 'restore', summary: 'Restore a snapshot into an empty key store', load: async () => (await import('./backup.js')).restoreCommand },
];
