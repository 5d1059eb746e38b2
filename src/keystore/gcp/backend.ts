/** `keystore.gcp.secretmanager`: GCP Secret Manager. Recognised and checked; this version cannot connect to it. */
import { backend } from '../backend.js';
import { readGcpConfig, type GcpConfig } from './config.js';

export const gcpBackend = backend<GcpConfig>({
  type: 'gcp',
  section: { key: 'gcp', nested: 'secretmanager' },
  read: readGcpConfig,
  describe: (config) => `GCP Secret Manager: ${config.projectId}`,
});
