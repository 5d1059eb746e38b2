/** The Status page's API: each server's state, key store, cache and the console's round trip. */
import type { ServerStatus, StatusOverview } from '../api-types.js';
import type { Server } from '../backend.js';
import { errorAnswer } from '../errors.js';
import type { ApiContext } from '../router.js';

/** How long the console waits for a server's status before it calls it offline. */
const STATUS_TIMEOUT_MS = 5000;

async function serverStatus({ endpoint, client }: Server): Promise<ServerStatus> {
  try {
    const start = performance.now();
    const state = await client.status({ signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
    const rttMs = performance.now() - start;
    // The cache's figures are openkes metrics; a server without them (KES) just has none.
    const metrics = await client.metrics({ signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) }).catch(() => undefined);
    return {
      endpoint,
      online: true,
      version: state.version,
      uptime: state.uptime,
      os: state.os,
      arch: state.arch,
      cpus: state.cpus,
      usableCpus: state.usableCpus,
      heapBytes: state.heapAlloc,
      keyStore: state.keyStoreUnreachable
        ? { state: 'unreachable' }
        : { state: 'online', ...(state.keyStoreLatencyNs !== undefined && { latencyMs: state.keyStoreLatencyNs / 1e6 }) },
      ...(metrics?.cacheEntries !== undefined && { cache: { entries: metrics.cacheEntries, hits: metrics.cacheHits ?? 0, misses: metrics.cacheMisses ?? 0 } }),
      rttMs,
    };
  } catch (err) {
    return { endpoint, online: false, error: errorAnswer(err).message };
  }
}

export async function status(ctx: ApiContext): Promise<StatusOverview> {
  return { servers: await Promise.all(ctx.backend.servers.map(serverStatus)) };
}
