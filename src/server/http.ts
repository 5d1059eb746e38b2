/** The request/response types of the HTTP/1.1 and HTTP/2 (compatibility API) servers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

export type HttpRequest = IncomingMessage | Http2ServerRequest;
export type HttpResponse = ServerResponse | Http2ServerResponse;

/**
 * The response API both servers implement alike (Http2ServerResponse also has flushHeaders and
 * writableLength, which its type declarations omit).
 */
export function responseOf(res: HttpResponse): ServerResponse {
  return res as ServerResponse;
}

export function isHttp2(req: HttpRequest): req is Http2ServerRequest {
  return req.httpVersionMajor >= 2;
}

/**
 * Reports whether the request carries a body: as Go's ContentLength != 0, a declared length
 * other than 0, or (HTTP/1.1) chunked encoding, or (HTTP/2) DATA frames without a length.
 */
export function hasBody(req: HttpRequest): boolean {
  const length = req.headers['content-length'];
  if (isHttp2(req)) return !req.stream.endAfterHeaders && length !== '0';
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Percent-decodes a URL path as Go's url.PathUnescape does (`+` stays `+`). Returns undefined
 * for a malformed escape. Invalid UTF-8 becomes U+FFFD (such names never validate anyway).
 */
export function decodePath(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return undefined;
  const src = Buffer.from(raw, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    if (src[i] === 0x25) {
      out[n++] = parseInt(src.toString('latin1', i + 1, i + 3), 16);
      i += 2;
    } else {
      out[n++] = src[i]!;
    }
  }
  return out.toString('utf8', 0, n);
}
