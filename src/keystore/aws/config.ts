/** The `keystore.aws.secretsmanager` section (protocol.md §13.2). */
import { compact, type ConfigNode } from '../../config/config-node.js';

export interface AwsSecretsManagerConfig {
  type: 'aws';
  endpoint: string;
  region: string;
  kmsKey?: string;
  credentials?: { accessKey?: string; secretKey?: string; sessionToken?: string };
}

/** `aws.secretsmanager`: endpoint and region required; credentials only when some are set. */
export function readAwsConfig(sm: ConfigNode): AwsSecretsManagerConfig {
  const creds = sm.section('credentials');
  const credentials = compact({ accessKey: creds.optional('accesskey'), secretKey: creds.optional('secretkey'), sessionToken: creds.optional('token') });
  return compact({
    type: 'aws' as const,
    endpoint: sm.required('endpoint'),
    region: sm.required('region'),
    kmsKey: sm.optional('kmskey'),
    credentials: Object.keys(credentials).length > 0 ? credentials : undefined,
  });
}
