/** The `tls:` subsection of key store backends (vault, etcd, postgres). */
import { compact, type ConfigNode } from './config-node.js';

/** Client TLS files for a key store connection. */
export interface ClientTlsConfig {
  keyFile?: string;
  certFile?: string;
  caPath?: string;
}

/**
 * Reads `tls: { key, cert, ca }` under node. The key and the certificate go together or not
 * at all. Undefined when nothing is set.
 */
export function readClientTls(node: ConfigNode): ClientTlsConfig | undefined {
  const tls = node.section('tls');
  const config = compact({ keyFile: tls.optional('key'), certFile: tls.optional('cert'), caPath: tls.optional('ca') });
  if ((config.keyFile === undefined) !== (config.certFile === undefined)) {
    tls.fail('key and cert must be specified together (a client certificate needs its private key)');
  }
  return Object.keys(config).length === 0 ? undefined : config;
}
