/**
 * Known-answer vectors from KES (docs/test-vectors.md), used by unit and server tests.
 * Values only; each group names its section.
 */

/** §2 keys: Z = 32 zero bytes, K2 as given. */
export const KEY_Z = Buffer.alloc(32);
export const KEY_K2 = Buffer.from('dDHbTWgo+Yh3u804SYB5OyVMy6RiLeJYBQth1f6KlEU=', 'base64');
export const PLAIN_P1 = Buffer.alloc(16);
export const PLAIN_P2 = Buffer.from('CLcJoykFCWZDkEIiUq9bJRqwCwW9ZDvdgu8EMA==', 'base64');
export const AAD_A = Buffer.alloc(16);

export interface DecryptVector {
  type: 'AES256' | 'ChaCha20';
  key: Buffer;
  /** The ciphertext bytes as the decrypt API receives them (after base64 decoding). */
  ciphertext: Buffer;
  aad?: Buffer;
  plaintext?: Buffer;
  format: 'json' | 'msgpack' | 'raw';
}

const json = (s: string) => Buffer.from(s, 'utf8');
const b64 = (s: string) => Buffer.from(s, 'base64');

/** §2.1: must decrypt. */
export const DECRYPT_VECTORS: DecryptVector[] = [
  { type: 'AES256', key: KEY_Z, format: 'json', plaintext: PLAIN_P1, ciphertext: json('{"aead":"AES-256-GCM-HMAC-SHA-256","iv":"xLxIN3tSCkg2xMafuvwUwg==","nonce":"gu0mGwUkwcvMEoi5","bytes":"WVgRjeIJm3w50C/l+y7y2i6mbNg5NCAqN1zvOYWZKmc="}') },
  { type: 'ChaCha20', key: KEY_Z, format: 'json', plaintext: PLAIN_P1, ciphertext: json('{"aead":"ChaCha20Poly1305","iv":"s3fSZ6vk5m+DfQA8yZWeUg==","nonce":"8/kHMnCMs3h9NZ2a","bytes":"cw22HjLq/4cx8507SW4hhSrYbDiMuRao4b5+GE+XfbE="}') },
  { type: 'ChaCha20', key: KEY_Z, format: 'json', plaintext: PLAIN_P1, ciphertext: json('{"aead":"ChaCha20Poly1305","id":"66687aadf862bd776c8fc18b8e9f8e20","iv":"EC0eZp7Pqt+LnkOae5xaAg==","nonce":"X1ejXKmH/ugFZPkk","bytes":"wIGBTDs6aOvsqJfekZ0PYRT/OHyFX2TXqeNwl1SLXOI="}') },
  { type: 'AES256', key: KEY_Z, format: 'msgpack', plaintext: PLAIN_P1, ciphertext: b64('lbFBRVMyNTYtR0NNX1NIQTI1NtkgNjY2ODdhYWRmODYyYmQ3NzZjOGZjMThiOGU5ZjhlMjDEEExv7LAd4oz0SaHZrX5LBufEDEKME1ow1CDfUFrqv8QgJuy7Sw+jVqz99TK1HV851LT3K4mwwDv46TB2ngWkAJQ=') },
  { type: 'ChaCha20', key: KEY_Z, format: 'msgpack', plaintext: PLAIN_P1, ciphertext: b64('lbJYQ0hBQ0hBMjAtUE9MWTEzMDXZIDY2Njg3YWFkZjg2MmJkNzc2YzhmYzE4YjhlOWY4ZTIwxBBAr+aptD4x2+qfOhiErbnkxAxYs8RmNC1JJXD1hiHEIJ2KqM0jjkME7ndx8nyVseesN83Np0rM5ejVUun+fNFu') },
  { type: 'AES256', key: KEY_Z, format: 'raw', plaintext: PLAIN_P1, ciphertext: b64('zwdDgHeRlIFRnJ7+DIhs/ka7GFK2CFSfDELqg1VCyTQzZ58o7MAdupMLk3ZjlMo2ZUDwldL2o41nAWDc') },
  { type: 'AES256', key: KEY_K2, format: 'raw', aad: AAD_A, plaintext: PLAIN_P2, ciphertext: b64('s2gmfQHeGdlyL8x1yEWSACUV3GrSoz3t160hugMgzKWgyqesXDVUJ5Dw5Mt076rR1PNiU9X4YjLH14D8a81t2r2xsz4gVZac') },
  { type: 'ChaCha20', key: KEY_K2, format: 'raw', aad: AAD_A, plaintext: PLAIN_P2, ciphertext: b64('gO4woRIswAJdjUjW7z2ApsSQxJlwB24yjLrmH4eI7sB0uh5nfEJfk9ybTPFft5FRFaZCVBmzhx7OJs9n0WWtxH3sySIxecIK') },
];

/** §2.2: decomposition of DECRYPT_VECTORS (iv, nonce, per-message key, sealed), hex. */
export const DECOMPOSITIONS: { iv: string; nonce: string; messageKey: string; sealed: string }[] = [
  { iv: 'c4bc48377b520a4836c4c69fbafc14c2', nonce: '82ed261b0524c1cbcc1288b9', messageKey: '488d8bec90916337c3d44f68ff24dd3abd21e36c52905e8a5d6a54d14949def8', sealed: '5958118de2099b7c39d02fe5fb2ef2da2ea66cd83934202a375cef3985992a67' },
  { iv: 'b377d267abe4e66f837d003cc9959e52', nonce: 'f3f90732708cb3787d359d9a', messageKey: 'e25c22e98dd69b98b2dced7aa861f5625958730e0411adcc7f38b24dcdfd8fed', sealed: '730db61e32eaff8731f39d3b496e21852ad86c388cb916a8e1be7e184f977db1' },
  { iv: '102d1e669ecfaadf8b9e439a7b9c5a02', nonce: '5f57a35ca987fee80564f924', messageKey: '520097427582db3010f03343b1cef292acfc0ee5df024e23bcfaebc0107e7e19', sealed: 'c081814c3b3a68ebeca897de919d0f6114ff387c855f64d7a9e37097548b5ce2' },
  { iv: '4c6fecb01de28cf449a1d9ad7e4b06e7', nonce: '428c135a30d420df505aeabf', messageKey: 'f5b12e3f51facf64641c8f7327f7d386665a47f9c18688e252af06d559e49d88', sealed: '26ecbb4b0fa356acfdf532b51d5f39d4b4f72b89b0c03bf8e930769e05a40094' },
  { iv: '40afe6a9b43e31dbea9f3a1884adb9e4', nonce: '58b3c466342d492570f58621', messageKey: '480e36d5e4f59de35d1e8ecbf64b3ae0c27b7e4b45be058770c48d7f5d547b10', sealed: '9d8aa8cd238e4304ee7771f27c95b1e7ac37cdcda74acce5e8d552e9fe7cd16e' },
  { iv: '33679f28ecc01dba930b93766394ca36', nonce: '6540f095d2f6a38d670160dc', messageKey: '80ebfc99a687d9377850d80a16b2b1d185beb953349212d44638bba321661f6a', sealed: 'cf07438077919481519c9efe0c886cfe46bb1852b608549f0c42ea835542c934' },
  { iv: '74efaad1d4f36253d5f86232c7d780fc', nonce: '6bcd6ddabdb1b33e2055969c', messageKey: 'b02a332a8bca69686dba3a983c0334944f380951281ea3a222373996a5a0a97f', sealed: 'b368267d01de19d9722fcc75c84592002515dc6ad2a33dedd7ad21ba0320cca5a0caa7ac5c35542790f0e4cb' },
  { iv: '5fb7915115a6425419b3871ece26cf67', nonce: 'd165adc47decc9223179c20a', messageKey: '33c9d554900c9205af5c734019603b89206079233ff7c8acef7b5ea7a0e9e461', sealed: '80ee30a1122cc0025d8d48d6ef3d80a6c490c49970076e328cbae61f8788eec074ba1e677c425f93dc9b4cf1' },
];

/** §2.3: must fail with the decryption error. */
export const DECRYPT_FAILURES: { type: 'AES256' | 'ChaCha20'; key: Buffer; ciphertext: Buffer; reason: string }[] = [
  { type: 'AES256', key: KEY_Z, reason: 'insecure AES-256-GCM algorithm', ciphertext: json('{"aead":"AES-256-GCM","iv":"xLxIN3tSCkg2xMafuvwUwg==","nonce":"gu0mGwUkwcvMEoi5","bytes":"WVgRjeIJm3w50C/l+y7y2i6mbNg5NCAqN1zvOYWZKmc="}') },
  { type: 'AES256', key: KEY_Z, reason: 'iv of 20 bytes', ciphertext: json('{"aead":"AES-256-GCM-HMAC-SHA-256","iv":"EjOY4JKqjIrPmQ5z1KSR8zlhggY=","nonce":"gu0mGwUkwcvMEoi5","bytes":"WVgRjeIJm3w50C/l+y7y2i6mbNg5NCAqN1zvOYWZKmc="}') },
  { type: 'ChaCha20', key: KEY_Z, reason: 'nonce of 8 bytes', ciphertext: json('{"aead":"ChaCha20Poly1305","iv":"s3fSZ6vk5m+DfQA8yZWeUg==","nonce":"SXAbms731/c=","bytes":"cw22HjLq/4cx8507SW4hhSrYbDiMuRao4b5+GE+XfbE="}') },
  { type: 'AES256', key: KEY_Z, reason: 'nonce of 8 bytes', ciphertext: json('{"aead":"AES-256-GCM-HMAC-SHA-256","iv":"xLxIN3tSCkg2xMafuvwUwg==","nonce":"efY+4kYF9n8=","bytes":"WVgRjeIJm3w50C/l+y7y2i6mbNg5NCAqN1zvOYWZKmc="}') },
  { type: 'AES256', key: KEY_Z, reason: 'not authentic', ciphertext: json('{"aead":"AES-256-GCM-HMAC-SHA-256","iv":"xLxIN3tSCkg2xMafuvwUwg==","nonce":"gu0mGwUkwcvMEoi5","bytes":"QTza1g5oX3f9cGJMbY1xJwWPj1F7R2VnNl6XpFKYQy0="}') },
  { type: 'ChaCha20', key: KEY_Z, reason: 'not authentic', ciphertext: json('{"aead":"ChaCha20Poly1305","iv":"s3fSZ6vk5m+DfQA8yZWeUg==","nonce":"8/kHMnCMs3h9NZ2a","bytes":"TTi8pkO+Jh1JWAHvPxZeUk/iVoBPUCE4ZSVGBy3fW2s="}') },
  { type: 'AES256', key: KEY_Z, reason: 'invalid JSON', ciphertext: json('{"aead":"AES-256-GCM-HMAC-SHA-256" "iv":"xLxIN3tSCkg2xMafuvwUwg==","nonce":"gu0mGwUkwcvMEoi5","bytes":"WVgRjeIJm3w50C/l+y7y2i6mbNg5NCAqN1zvOYWZKmc="}') },
];

/** §3: the HEAD-format (base64 protobuf) key store entry and its parsed fields. */
export const PROTOBUF_ENTRY =
  'CiQKIMiHG7XrN94FuwblJJor4f7f6rbqAl7DwsLaiIoyz0D2EAESJAognLXl4yqa4cjZTcSbsU6sNnN8kP9ARWkXwa20YQZa9HgQARoMCNithK0GEID67qYDIkAzZWNmY2RmMzhmY2JlMTQxYWUyNmExMDMwZjgxZTk2Yjc1MzM2NWE0Njc2MGFlNmI1Nzg2OThhOTdjNTlmZDIy';
export const PROTOBUF_ENTRY_FIELDS = {
  key: 'yIcbtes33gW7BuUkmivh/t/qtuoCXsPCwtqIijLPQPY=',
  hmacKey: 'nLXl4yqa4cjZTcSbsU6sNnN8kP9ARWkXwa20YQZa9Hg=',
  createdAt: '2024-01-12T10:39:20.886816Z',
  createdBy: '3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22',
};

/** §1.1: API keys and their identities. */
export const API_KEY_VECTORS: [apiKey: string, identity: string][] = [
  ['kes:v1:AD9E7FSYWrMD+VjhI6q545cYT9YOyFxZb7UnjEepYDRc', '3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22'],
  ['kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs', 'ea9826089311fe44d7590408ede9150f7c637b6cab0a91ee6fe1aa5d9fb366f6'],
  ['kes:v1:ACQpoGqx3rHHjT938Hfu5hVVQJHZWSqVI2Xp1KlYxFVw', '0426fa9a04bc2756b92fbe8a97e1a1e07b53ecf04ed33da22c33e5c9faeb8cbb'],
  ['kes:v1:AMxvd2uV1l5dDSRwuKZxSjuM5BDemlr+685+JAHA1TuJ', 'ab785e3b95d80d72cc9c27cb9fde886a0bf9068a69d40e3bd08a54e68c3f2bf7'],
  ['kes:v1:AM0F5TP43FYEShMzA42f2drFYGnBOiNx7UH4DK0nm08E', 'dd4f4ea7208c5bbd56ce43f9b0717100b079d835fd09db329c9d15f8e36ad544'],
];
