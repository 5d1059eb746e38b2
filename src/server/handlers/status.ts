/** Server endpoints: /version, /v1/ready, /v1/status, /v1/api, /v1/metrics (protocol.md §6.1–§6.5). */
import { arch, availableParallelism, platform } from 'node:os';
import { KesError } from '../../api/errors.js';
import { KeyStoreUnreachableError } from '../../keystore/keystore.js';
import { renderPrometheus } from '../../metrics/metrics.js';
import { binary, json, type Reply } from '../reply.js';
import { VersionResponse } from '../../kms/messages.js';
import type { RequestContext } from '../context.js';

/** Go's names for Node's platform and architecture. */
const GOARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

/**
 * `/version` for both protocols: KES's clients read version and commit, MinKMS's SDK a
 * VersionResponse — as protobuf-JSON, whose decoder refuses unknown keys, so the body has its
 * fields only, or as binary when asked for `application/octet-stream`. MinIO reports `host` as
 * the server it reached, so it is the request's host.
 */
export function version(ctx: RequestContext): Reply {
  const { version, commit } = ctx.state.runtime.build;
  const host = ctx.headers[':authority'] ?? ctx.headers.host ?? '';
  const answer = { version, commit, apiVersion: 'v1', host: typeof host === 'string' ? host : '', fips140: false };
  if (ctx.headers.accept === 'application/octet-stream') return binary(VersionResponse.encode(answer));
  return json({ version, commit, api_version: answer.apiVersion, host: answer.host });
}

/**
 * Why each server's key store was last found not ready ('' when ready): a load balancer probes
 * every few seconds, so the log says when readiness changes, not on every probe.
 */
const notReady = new WeakMap<object, string>();

export async function ready(ctx: RequestContext): Promise<undefined> {
  const { state } = ctx;
  try {
    await state.cache.status();
    if (notReady.get(state)) state.errorLog.info('key store is ready again');
    notReady.set(state, '');
  } catch (err) {
    const reason = (err as Error).message;
    if (notReady.get(state) !== reason) state.errorLog.warn(`key store is not ready: ${reason}`);
    notReady.set(state, reason);
    if (err instanceof KeyStoreUnreachableError) throw new KesError('KES_ERR_STORE_UNREACHABLE');
    throw new KesError('KES_ERR_STORE_FAILED');
  }
}

export async function status(ctx: RequestContext): Promise<Reply> {
  const { state } = ctx;
  const body: Record<string, unknown> = {
    version: state.runtime.build.version,
    os: platform(),
    arch: GOARCH[arch()] ?? arch(),
    uptime: Math.round((Date.now() - state.runtime.startTime.toMillis()) / 1000),
    num_cpu: availableParallelism(),
    num_cpu_used: state.runtime.workers,
    mem_heap_used: process.memoryUsage().heapUsed,
    mem_stack_used: 0,
  };
  try {
    const { latencyMs } = await state.cache.status();
    body.keystore_latency = Math.max(1, Math.round(latencyMs * 1e6)); // nanoseconds (protocol.md §20.3)
  } catch {
    body.keystore_unavailable = true;
    body.keystore_unreachable = true;
  }
  return json(body);
}

export function listApis(ctx: RequestContext): Reply {
  return json(
    ctx.state.routes
      .filter((r) => r.listed)
      .map((r) => ({ method: r.method, path: r.path, max_body: r.maxBody, timeout: Math.trunc(r.timeoutMs / 1000) })),
  );
}

export async function metrics(ctx: RequestContext): Promise<Reply> {
  const { runtime } = ctx.state;
  const mem = process.memoryUsage();
  const text = renderPrometheus(await runtime.metricsSnapshot(), {
    upTimeSeconds: Math.floor((Date.now() - runtime.startTime.toMillis()) / 10) / 100,
    numCpu: availableParallelism(),
    numCpuUsed: runtime.workers,
    numThreads: runtime.threads,
    heapUsed: mem.heapUsed,
    heapObjects: 0,
    stackUsed: 0,
  });
  return { kind: 'text', contentType: 'text/plain; version=0.0.4; charset=utf-8', body: text };
}
