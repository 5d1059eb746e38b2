/** What handlers return; the pipeline turns it into a response (handlers never write errors). */

/** Writes chunks of a streamed response; `write` returns false when the client is slow. */
export interface StreamWriter {
  write(chunk: string | Buffer): boolean;
  /** Resolves when the client has taken the buffered data (or went away). */
  drained(): Promise<void>;
  /** Bytes buffered for the client and not yet sent. */
  readonly buffered: number;
  /** Aborted when the client goes away, the route times out or the server shuts down. */
  readonly signal: AbortSignal;
}

/** A streamed 200 response (listings, log subscriptions). */
export interface StreamReply {
  kind: 'stream';
  contentType: string;
  /**
   * Called before the status line is written: errors thrown here still become error
   * responses. Returns the function that streams the body.
   */
  open(): Promise<(w: StreamWriter) => Promise<void>>;
}

export type Reply = { kind: 'json'; body: unknown } | { kind: 'text'; contentType: string; body: string | Buffer } | StreamReply;

/** A 200 response with a binary body (MinKMS frames and messages). */
export function binary(body: Buffer, contentType = 'application/octet-stream'): Reply {
  return { kind: 'text', contentType, body };
}

/** A 200 response with a JSON body. */
export function json(body: unknown): Reply {
  return { kind: 'json', body };
}

/**
 * A 200 JSON object of base64 strings, built without JSON.stringify: base64 and the fixed field
 * names never need escaping (the hot path of generate, encrypt, decrypt and hmac).
 */
export function base64Json(fields: Record<string, string>): Reply {
  let body = '{';
  for (const key in fields) body += `${body.length > 1 ? ',' : ''}"${key}":"${fields[key]}"`;
  return { kind: 'text', contentType: 'application/json', body: body + '}\n' };
}

/** Thrown by a stream to cut the response on purpose (e.g. a client that does not read). */
export class StreamAbort extends Error {
  override readonly name = 'StreamAbort';
}
