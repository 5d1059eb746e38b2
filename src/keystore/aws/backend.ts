/** `keystore.aws.secretsmanager`: AWS Secrets Manager (secrets-manager.ts). */
import { backend } from '../backend.js';
import { readAwsConfig, type AwsSecretsManagerConfig } from './config.js';

export const awsBackend = backend<AwsSecretsManagerConfig>({
  type: 'aws',
  section: { key: 'aws', nested: 'secretsmanager' },
  read: readAwsConfig,
  connect: async (config) => (await import('./secrets-manager.js')).AwsSecretsManagerKeyStore.connect(config),
  describe: (config) => `AWS SecretsManager: ${config.endpoint}`,
});
