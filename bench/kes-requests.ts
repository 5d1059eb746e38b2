/**
 * The KES requests of the throughput loads, the same for every protocol: one operation on one
 * key, with a body encoded once and sent unchanged on every request.
 */
import { randomBytes } from 'node:crypto';

export type Operation = 'generate' | 'decrypt' | 'encrypt' | 'hmac' | 'describe';

export interface KesRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  /** The JSON body, or undefined for a request without one. */
  body: Buffer | undefined;
}

/** Sends one request to the target under test and resolves with its 200 reply's body. */
export type Call = (method: string, path: string, body: Buffer) => Promise<string>;

const b64 = (b: Buffer) => b.toString('base64');
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/**
 * The request for op on keyName. decrypt needs a ciphertext of the target's own key, so it asks
 * the target for one first through call (over the protocol of the load).
 */
export async function kesRequest(op: Operation, keyName: string, call: Call): Promise<KesRequest> {
  const context = b64(Buffer.from('{"bucket":"bench","object":"object-name"}'));
  switch (op) {
    case 'generate':
      return { method: 'POST', path: `/v1/key/generate/${keyName}`, body: json({ context }) };
    case 'encrypt':
      return { method: 'POST', path: `/v1/key/encrypt/${keyName}`, body: json({ plaintext: b64(randomBytes(32)), context }) };
    case 'hmac':
      return { method: 'PUT', path: `/v1/key/hmac/${keyName}`, body: json({ message: b64(randomBytes(32)) }) };
    case 'describe':
      return { method: 'GET', path: `/v1/key/describe/${keyName}`, body: undefined };
    case 'decrypt': {
      const { ciphertext } = JSON.parse(await call('POST', `/v1/key/generate/${keyName}`, json({ context }))) as { ciphertext: string };
      return { method: 'POST', path: `/v1/key/decrypt/${keyName}`, body: json({ ciphertext, context }) };
    }
  }
}
