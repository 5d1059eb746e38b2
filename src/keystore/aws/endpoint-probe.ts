/**
 * The reachability check of HTTP key stores (protocol.md §9.3: "status = plain GET to the endpoint
 * URL, any HTTP answer = reachable"). Nothing is sent but the GET: no credentials, no body.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { KeyStoreUnreachableError } from '../keystore.js';

/**
 * Sends `GET url` on a fresh connection and resolves with the round-trip time in milliseconds
 * once response headers arrive, whatever the status.
 * @param label the store name that prefixes error messages (e.g. `aws`)
 * @throws KeyStoreUnreachableError when no HTTP answer arrives within timeoutMs
 */
export function probeEndpoint(url: URL, timeoutMs: number, label: string): Promise<number> {
  const start = performance.now();
  const get = url.protocol === 'https:' ? https.get : http.get;
  return new Promise<number>((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      clearTimeout(timer);
      res.resume();
      res.on('error', () => undefined);
      req.destroy();
      resolve(performance.now() - start);
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new KeyStoreUnreachableError(`${label}: endpoint '${url.origin}' did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(new KeyStoreUnreachableError(`${label}: endpoint '${url.origin}' is not reachable: ${err.message}`));
    });
  });
}
