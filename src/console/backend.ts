/**
 * What the console talks to: the servers of KES_SERVER (or --server) with the operator's
 * credentials, which stay in this process. One client fails over across all servers (for keys
 * and access), one per server (for status and metrics), and a MinKMS client per enclave.
 */
import { KesClient, type ClientOptions } from '../client/client.js';
import { KmsClient } from '../client/kms-client.js';
import { AuditFeed } from './audit-feed.js';
import { MetricsFeed } from './metrics-feed.js';

export interface Server {
  endpoint: string;
  client: KesClient;
}

export class ConsoleBackend {
  /** All servers, with fail-over. */
  readonly kes: KesClient;
  readonly servers: Server[];
  readonly metrics: MetricsFeed;
  readonly audit: AuditFeed;
  private readonly enclaves = new Map<string, KmsClient>();

  constructor(
    private readonly options: ClientOptions,
    metricsIntervalMs?: number,
  ) {
    this.kes = new KesClient(options);
    const endpoints = typeof options.endpoints === 'string' ? options.endpoints.split(',') : options.endpoints;
    this.servers = endpoints.map((endpoint) => ({ endpoint, client: new KesClient({ ...options, endpoints: [endpoint] }) }));
    this.metrics = new MetricsFeed(this.servers, metricsIntervalMs);
    this.audit = new AuditFeed(this.servers);
  }

  get endpoints(): string[] {
    return this.servers.map((s) => s.endpoint);
  }

  /** The MinKMS client of an enclave ('' or 'default': the default enclave, the KES keys). */
  kms(enclave = ''): KmsClient {
    const name = enclave === 'default' ? '' : enclave;
    let client = this.enclaves.get(name);
    if (!client) {
      client = new KmsClient({ ...this.options, enclave: name });
      this.enclaves.set(name, client);
    }
    return client;
  }

  async close(): Promise<void> {
    await Promise.all([this.metrics.close(), this.audit.close()]);
    this.kes.close();
    for (const s of this.servers) s.client.close();
    for (const c of this.enclaves.values()) c.close();
  }
}
