/**
 * The HTTP client of the Vault key store: one JSON request to Vault's HTTP API per call, over
 * node:http or node:https, with a hard deadline per call.
 *
 * Keep-alive is off (as in KES): every request opens a new connection, so requests follow a
 * load balancer or DNS change in front of a Vault cluster at once.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { readCaBundle, readTlsFile, withSystemRoots } from '../../pki/tls-files.js';
import { KeyStoreUnreachableError } from '../keystore.js';

/** HTTP methods of Vault's API; `LIST` is sent as `GET ?list=true`. */
export type VaultMethod = 'GET' | 'PUT' | 'POST' | 'DELETE' | 'LIST';

/** One call to Vault's HTTP API. */
export interface VaultRequest {
  method: VaultMethod;
  /** The path after the endpoint, starting with `/v1/`; segments already escaped. */
  path: string;
  query?: Record<string, string>;
  /** A JSON body; none when undefined. */
  body?: unknown;
  /** Sent as `X-Vault-Token` when set. */
  token?: string;
  /** Sent as `X-Vault-Namespace` when set and not empty. */
  namespace?: string;
}

/** Vault's answer: the status and the parsed JSON body (undefined when there is none). */
export interface VaultResponse {
  status: number;
  body: unknown;
}

/** Client TLS settings for `https:` endpoints. */
export interface VaultTlsFiles {
  /** PEM private key of the client certificate. */
  keyFile?: string;
  /** PEM client certificate (chain). */
  certFile?: string;
  /** A PEM file or a directory of PEM files with CA certificates, trusted besides the system roots. */
  caPath?: string;
}

/** Options of {@link VaultHttpClient}. */
export interface VaultHttpOptions {
  /** Deadline of one call (connect, send, receive), in milliseconds. */
  timeoutMs: number;
  tls?: VaultTlsFiles;
  /** The largest response body accepted (default 64 MiB: LIST answers of unpaginated servers are big). */
  maxResponseBytes?: number;
}

/**
 * Vault answered with an unexpected status. The message carries the status and Vault's own
 * error texts (which name paths and reasons, never request data).
 */
export class VaultResponseError extends Error {
  override readonly name = 'VaultResponseError';

  constructor(
    readonly status: number,
    readonly errors: string[],
  ) {
    super(errors.length > 0 ? `${status} ${errors.join('; ')}` : `unexpected status ${status}`);
  }
}

/** The `errors` list of a Vault error body (empty when there is none). */
export function vaultErrors(body: unknown): string[] {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : [];
}

/** Sends requests to one Vault endpoint. */
export class VaultHttpClient {
  private readonly base: URL;
  private readonly basePath: string;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;

  /**
   * @param endpoint `http(s)://host:port`, optionally with a base path
   * @throws Error for an endpoint that is not an http(s) URL, or unreadable TLS files
   */
  constructor(endpoint: string, options: VaultHttpOptions) {
    let base: URL;
    try {
      base = new URL(endpoint);
    } catch {
      throw new Error(`vault: endpoint '${endpoint}' is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`vault: endpoint '${endpoint}' must be an http:// or https:// URL`);
    this.base = base;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs;
    this.maxResponseBytes = options.maxResponseBytes ?? 64 << 20;
    if (base.protocol === 'https:') {
      this.agent = new https.Agent({ keepAlive: false, ...loadTls(options.tls) });
      this.request = https.request;
    } else {
      this.agent = new http.Agent({ keepAlive: false });
      this.request = http.request;
    }
  }

  /** The endpoint, for messages. */
  get endpoint(): string {
    return this.base.origin + this.basePath;
  }

  /**
   * Sends one request and resolves with any HTTP answer.
   * @throws KeyStoreUnreachableError on network failures, the deadline, or a body that is not JSON
   *   (a proxy's error page rather than Vault)
   */
  send(req: VaultRequest): Promise<VaultResponse> {
    const query = new URLSearchParams(req.query);
    if (req.method === 'LIST') query.set('list', 'true');
    const search = query.size > 0 ? `?${query}` : '';
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
    if (req.token) headers['x-vault-token'] = req.token;
    if (req.namespace) headers['x-vault-namespace'] = req.namespace;
    const what = `${req.method} ${req.path}`;

    return new Promise<VaultResponse>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, res?: VaultResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(res!);
      };
      const r = this.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname.replace(/^\[|\]$/g, ''),
          port: this.base.port || undefined,
          method: req.method === 'LIST' ? 'GET' : req.method,
          path: this.basePath + req.path + search,
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.maxResponseBytes) {
              r.destroy();
              finish(new Error(`${what}: response larger than ${this.maxResponseBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (err) => finish(unreachable(what, err)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            if (text.trim() === '') return finish(undefined, { status, body: undefined });
            try {
              finish(undefined, { status, body: JSON.parse(text) });
            } catch {
              // Not Vault: an HTML error page of a proxy or load balancer in front of it.
              const err = new Error(`${what}: status ${status} with a body that is not JSON`);
              finish(status >= 500 ? new KeyStoreUnreachableError(err.message) : err);
            }
          });
        },
      );
      const timer = setTimeout(() => {
        finish(new KeyStoreUnreachableError(`${what}: no answer within ${this.timeoutMs} ms`));
        r.destroy();
      }, this.timeoutMs);
      r.on('error', (err) => finish(unreachable(what, err)));
      r.end(payload);
    });
  }

  /** Closes idle sockets (there are none without keep-alive; kept for symmetry). */
  close(): void {
    this.agent.destroy();
  }
}

function unreachable(what: string, err: Error): KeyStoreUnreachableError {
  const code = (err as NodeJS.ErrnoException).code;
  return new KeyStoreUnreachableError(`${what}: ${code && !err.message.includes(code) ? `${code} ` : ''}${err.message}`, { cause: err });
}

/** TLS options from the files; CA certificates extend the system roots. */
function loadTls(files: VaultTlsFiles | undefined): https.AgentOptions {
  if (!files) return {};
  const options: https.AgentOptions = {};
  if (files.certFile) options.cert = readTlsFile(files.certFile, 'client certificate', 'vault');
  if (files.keyFile) options.key = readTlsFile(files.keyFile, 'client private key', 'vault');
  if (files.caPath) options.ca = withSystemRoots(readCaBundle(files.caPath, 'vault'));
  return options;
}
