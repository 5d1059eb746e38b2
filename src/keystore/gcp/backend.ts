/** `keystore.gcp.secretmanager`: GCP Secret Manager (secret-manager.ts). */
import { backend } from '../backend.js';
import { readGcpConfig, type GcpConfig } from './config.js';

export const gcpBackend = backend<GcpConfig>({
  type: 'gcp',
  section: { key: 'gcp', nested: 'secretmanager' },
  read: readGcpConfig,
  connect: async (config) => (await import('./secret-manager.js')).GcpSecretManagerKeyStore.connect(config),
  describe: (config) => `GCP Secret Manager: ${config.projectId}`,
});
