/** What the orchestrator asks of the load generator (bench/loadgen.ts) and what it gets back. */
import type { Operation } from './kes-requests.js';

export type { Operation };

export type H2Client = 'raw' | 'node';

interface Tls {
  port: number;
  cert: string;
  key: string;
}

export type LoadSpec =
  /** HTTP/1.1 keep-alive (autocannon): `connections` connections, one request in flight each. */
  | (Tls & { mode: 'http'; op: Operation; connections: number; durationS: number; keyName: string })
  /**
   * HTTP/2 as MinIO's client: `connections` connections × `streams` concurrent streams each,
   * sent by the raw-frame client (bench/h2-raw-load.ts) or node:http2's (bench/h2-load.ts).
   */
  | (Tls & { mode: 'h2'; client: H2Client; op: Operation; connections: number; streams: number; durationS: number; keyName: string })
  /** A new TLS connection with a client certificate per request, no session resumption. */
  | (Tls & { mode: 'handshake'; connections: number; durationS: number })
  /** Opens `connections` TLS connections and holds them until stdin closes. */
  | (Tls & { mode: 'idle'; connections: number });

export interface HttpResult {
  reqPerSec: number;
  /** Exact response-time percentiles in ms (2xx responses only). */
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  non2xx: number;
  /** The share of one core the load generator used during the run (1 = its core was busy). */
  clientCpu: number;
}
