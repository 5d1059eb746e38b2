/**
 * Optional transit wrapping (protocol.md §9.3): with `transit.key` set, every value is encrypted
 * by Vault's transit engine before it is stored, so the KV secret holds only the transit
 * ciphertext (`vault:v1:…`). Reading decrypts values that carry a transit prefix; values
 * stored before wrapping was enabled are read as they are.
 */
import { decodeBase64 } from '../../util/base64.js';
import { VaultResponseError, vaultErrors, type VaultHttpClient } from './http-client.js';
import { escapePath } from './kv.js';

/** Encrypts and decrypts values with one transit key. */
export class TransitWrapping {
  private readonly base: string;
  private readonly keyPath: string;

  /**
   * @param engine mount path of the transit engine (default `transit`)
   * @param key name of the transit key
   * @param namespace namespace of the engine ('' = root)
   */
  constructor(
    private readonly http: VaultHttpClient,
    engine: string,
    key: string,
    private readonly namespace: string,
  ) {
    this.base = `/v1/${escapePath(engine)}`;
    this.keyPath = escapePath(key);
  }

  /**
   * The transit ciphertext of value: `POST /v1/<engine>/encrypt/<key> {"plaintext": base64}`.
   * @throws VaultResponseError for an answer other than 200
   */
  async wrap(value: Uint8Array, token: string): Promise<string> {
    const res = await this.http.send({
      method: 'POST',
      path: `${this.base}/encrypt/${this.keyPath}`,
      body: { plaintext: Buffer.from(value).toString('base64') },
      token,
      namespace: this.namespace,
    });
    if (res.status !== 200) throw new VaultResponseError(res.status, ['transit encrypt failed', ...vaultErrors(res.body)]);
    const ciphertext = (res.body as { data?: { ciphertext?: unknown } } | undefined)?.data?.ciphertext;
    if (typeof ciphertext !== 'string') throw new Error('transit encrypt: the answer has no data.ciphertext');
    return ciphertext;
  }

  /**
   * The value of a transit ciphertext: `POST /v1/<engine>/decrypt/<key> {"ciphertext"}`.
   * @throws VaultResponseError for an answer other than 200
   */
  async unwrap(ciphertext: string, token: string): Promise<Uint8Array> {
    const res = await this.http.send({
      method: 'POST',
      path: `${this.base}/decrypt/${this.keyPath}`,
      body: { ciphertext },
      token,
      namespace: this.namespace,
    });
    if (res.status !== 200) throw new VaultResponseError(res.status, ['transit decrypt failed', ...vaultErrors(res.body)]);
    const plaintext = (res.body as { data?: { plaintext?: unknown } } | undefined)?.data?.plaintext;
    const value = typeof plaintext === 'string' ? decodeBase64(plaintext) : undefined;
    if (value === undefined) throw new Error('transit decrypt: the answer has no base64 data.plaintext');
    return value;
  }
}
