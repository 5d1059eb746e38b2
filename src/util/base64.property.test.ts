import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeBase64, encodeBase64 } from './base64.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * An independent decoder written from RFC 4648 §4 and Go's StdEncoding: groups of four
 * characters, `=` padding only in the last group, CR and LF ignored, the unused low bits of the
 * last character ignored (StdEncoding is not Strict).
 */
function oracleDecode(text: string): number[] | undefined {
  const s = [...text].filter((c) => c !== '\r' && c !== '\n');
  if (s.length % 4 !== 0) return undefined;
  const out: number[] = [];
  for (let i = 0; i < s.length; i += 4) {
    const group = s.slice(i, i + 4);
    const last = i + 4 === s.length;
    const pad = last && group[3] === '=' ? (group[2] === '=' ? 2 : 1) : 0;
    let bits = 0;
    for (let j = 0; j < 4; j++) {
      const v = j < 4 - pad ? ALPHABET.indexOf(group[j]!) : 0;
      if (v < 0) return undefined;
      bits = bits * 64 + v;
    }
    const bytes = [(bits >> 16) & 0xff, (bits >> 8) & 0xff, bits & 0xff];
    out.push(...bytes.slice(0, 3 - pad));
  }
  return out;
}

/** Strings that are mostly base64 but often slightly wrong. */
const base64ish = fc.string({
  unit: fc.constantFrom(...ALPHABET.slice(0, 8), 'z', '9', '+', '/', '=', '\n', '\r', '-', '_', ' ', 'Ä', '\u0000'),
  maxLength: 24,
});

describe('base64 (properties)', () => {
  test('decode(encode(bytes)) is bytes, also with line breaks anywhere', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 4 }), (bytes, breaks) => {
        const text = encodeBase64(bytes);
        assert.match(text, /^[A-Za-z0-9+/]*={0,2}$/);
        assert.equal(text.length, Math.ceil(bytes.length / 3) * 4);
        assert.deepEqual(decodeBase64(text), Buffer.from(bytes));
        let broken = text;
        for (const b of breaks) {
          const at = b % (broken.length + 1);
          broken = broken.slice(0, at) + (b % 2 ? '\r\n' : '\n') + broken.slice(at);
        }
        assert.deepEqual(decodeBase64(broken), Buffer.from(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  test('encode works on views into larger buffers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = a % (bytes.length + 1);
        const end = start + (b % (bytes.length - start + 1));
        const view = bytes.subarray(start, end);
        assert.equal(encodeBase64(view), Buffer.from(view).toString('base64'));
      }),
      { numRuns: 1000 },
    );
  });

  test('decode accepts exactly what the RFC 4648 oracle accepts, with the same bytes', () => {
    fc.assert(
      fc.property(fc.oneof(base64ish, fc.string({ unit: 'binary', maxLength: 16 })), (text) => {
        const expected = oracleDecode(text);
        const got = decodeBase64(text);
        assert.deepEqual(got === undefined ? undefined : [...got], expected, JSON.stringify(text));
      }),
      { numRuns: 5000 },
    );
  });

  test('every decodable text re-encodes to text of the same length that decodes the same', () => {
    fc.assert(
      fc.property(base64ish, (text) => {
        const bytes = decodeBase64(text);
        if (bytes === undefined) return;
        const again = encodeBase64(bytes);
        assert.equal(again.length, text.replace(/[\r\n]/g, '').length);
        assert.deepEqual(decodeBase64(again), bytes);
      }),
      { numRuns: 3000 },
    );
  });
});
