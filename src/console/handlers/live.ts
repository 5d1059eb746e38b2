/** The live pages' API: metrics samples (polled) and the audit stream (Server-Sent Events). */
import type { MetricsFeed } from '../api-types.js';
import type { ApiContext } from '../router.js';
import { intParam } from './input.js';

export async function metrics(ctx: ApiContext): Promise<MetricsFeed> {
  const since = intParam(ctx.query.get('since'), 'since', 0, Number.MAX_SAFE_INTEGER, 0);
  ctx.backend.metrics.touch();
  return ctx.backend.metrics.since(since);
}

/** How often an idle event stream sends a comment, so that proxies and browsers keep it open. */
const HEARTBEAT_MS = 15_000;

/** Audit events as `event: audit` Server-Sent Events (and `event: problem`), until the page goes away. */
export async function audit(ctx: ApiContext): Promise<undefined> {
  const { res, req } = ctx;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  res.write(': audit stream\n\n');
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const unsubscribe = ctx.backend.audit.subscribe(
    (entry) => send('audit', entry),
    (problem) => send('problem', problem),
  );
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    req.once('close', done);
    res.once('close', done);
  });
  clearInterval(heartbeat);
  unsubscribe();
  return undefined;
}
