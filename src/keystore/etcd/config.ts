/** `keystore.etcd` (an openkes addition): where the cluster is and how to reach it. */
import { compact, type ConfigNode } from '../../config/config-node.js';
import { readClientTls, type ClientTlsConfig } from '../../config/client-tls-config.js';

/** Prefix of the etcd keys holding KES keys when `prefix` is not set. */
export const DEFAULT_ETCD_PREFIX = 'kes/keys/';

export interface EtcdConfig {
  type: 'etcd';
  endpoints: string[];
  prefix: string;
  username?: string;
  password?: string;
  tls?: ClientTlsConfig;
  /** `timeout`: the bound of every store call; the store's default (10 s) when absent. */
  timeoutMs?: number;
}

/**
 * `etcd`: `endpoints` is required, as a list or as one comma-separated string (so that a
 * single `${NAME}` can hold them all); `prefix` defaults to DEFAULT_ETCD_PREFIX. `timeout`
 * bounds every store call (0 or absent: the store's default).
 */
export function readEtcdConfig(etcd: ConfigNode): EtcdConfig {
  const node = etcd.at('endpoints');
  const list = node.isSeq ? etcd.strings('endpoints') : node.isNull ? [] : node.text().split(',');
  const endpoints = list.map((endpoint) => endpoint.trim()).filter((endpoint) => endpoint !== '');
  if (endpoints.length === 0) node.fail('required: at least one etcd endpoint');
  return compact({
    type: 'etcd' as const,
    endpoints,
    prefix: etcd.string('prefix') ?? DEFAULT_ETCD_PREFIX,
    username: etcd.optional('username'),
    password: etcd.optional('password'),
    tls: readClientTls(etcd),
    timeoutMs: etcd.duration('timeout') || undefined,
  });
}
