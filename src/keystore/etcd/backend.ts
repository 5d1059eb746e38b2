/** `keystore.etcd` (an openkes addition): etcd.ts. */
import { backend } from '../backend.js';
import { readEtcdConfig, type EtcdConfig } from './config.js';

export const etcdBackend = backend<EtcdConfig>({
  type: 'etcd',
  section: { key: 'etcd' },
  read: readEtcdConfig,
  connect: async (config) => (await import('./etcd.js')).EtcdKeyStore.connect(config),
  describe: (config) => `etcd: ${config.endpoints.join(', ')}`,
});
