/** `keystore.postgres` (an openkes addition): postgres.ts. */
import { backend } from '../backend.js';
import { readPostgresConfig, type PostgresKeyStoreConfig } from './config.js';
import { describeTarget } from './pool-config.js';

export const postgresBackend = backend<PostgresKeyStoreConfig>({
  type: 'postgres',
  section: { key: 'postgres' },
  read: readPostgresConfig,
  connect: async (config) => (await import('./postgres.js')).PostgresKeyStore.connect(config),
  describe: (config) => `PostgreSQL: ${describeTarget(config)}, table ${config.table}`,
});
