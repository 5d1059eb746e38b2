/**
 * Endpoint handling of the KES SDK (protocol.md §7.3): normalization, localhost preference, random
 * rotation of the others, and a 30 s time-out for an endpoint that failed.
 */

/** How long an endpoint that failed is skipped before it is tried again. */
export const ENDPOINT_TIMEOUT_MS = 30_000;

/**
 * Normalizes an endpoint as the KES CLI and SDK do: trimmed, `http://` replaced by `https://`
 * (KES is HTTPS only), `https://` added when missing, trailing slashes removed.
 */
export function normalizeEndpoint(endpoint: string): string {
  let e = endpoint.trim();
  if (e.startsWith('http://')) e = e.slice('http://'.length);
  if (!e.startsWith('https://')) e = `https://${e}`;
  return e.replace(/\/+$/, '');
}

function isLocalhost(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' || host.startsWith('127.');
  } catch {
    return false;
  }
}

/** The endpoints a client talks to, with their failure time-outs. */
export class EndpointSet {
  readonly endpoints: readonly string[];
  private readonly failedUntil = new Map<string, number>();

  constructor(endpoints: readonly string[], private readonly now: () => number = Date.now) {
    if (endpoints.length === 0) throw new TypeError('at least one endpoint is required');
    this.endpoints = endpoints.map(normalizeEndpoint);
  }

  /**
   * The order to try the endpoints in: available ones first (localhost before the others, the
   * others rotated randomly), then those in their failure time-out as a last resort.
   */
  order(): string[] {
    const now = this.now();
    const available = this.endpoints.filter((e) => (this.failedUntil.get(e) ?? 0) <= now);
    const resting = this.endpoints.filter((e) => !available.includes(e));
    const local = available.filter(isLocalhost);
    const remote = available.filter((e) => !isLocalhost(e));
    const start = remote.length > 0 ? Math.floor(Math.random() * remote.length) : 0;
    return [...local, ...remote.slice(start), ...remote.slice(0, start), ...resting];
  }

  /** Marks an endpoint as failed: it is skipped for {@link ENDPOINT_TIMEOUT_MS}. */
  failed(endpoint: string): void {
    this.failedUntil.set(endpoint, this.now() + ENDPOINT_TIMEOUT_MS);
  }

  /** Marks an endpoint as working again. */
  succeeded(endpoint: string): void {
    this.failedUntil.delete(endpoint);
  }
}
