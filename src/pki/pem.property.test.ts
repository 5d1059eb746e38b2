import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePem, encodePem, PemError } from './pem.js';
import { instanceOf, outcome } from '../../test/helpers/property.js';

const label = fc.stringMatching(/^[A-Z0-9]{1,8}( [A-Z0-9]{1,8}){0,2}$/);
const der = fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b));
/** Text between blocks: anything without a dash, so it cannot start or end a block. */
const junk = fc.string({ unit: fc.constantFrom('a', ' ', '\n', '\r\n', 'Z', '=', ':', '#', 'é'), maxLength: 20 });

describe('PEM (properties)', () => {
  test('decodePem(encodePem(type, der)) gives the block back, also among other blocks and text', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(label, der, junk), { minLength: 1, maxLength: 4 }), junk, (blocks, head) => {
        const pems = blocks.map(([type, bytes]) => encodePem(type, bytes));
        const text = head + blocks.map(([, , after], i) => pems[i] + after).join('');
        const decoded = decodePem(text);
        assert.equal(decoded.length, blocks.length);
        decoded.forEach((b, i) => {
          assert.equal(b.type, blocks[i]![0]);
          assert.deepEqual(b.der, blocks[i]![1]);
          assert.deepEqual(b.headers, {});
          assert.equal(b.text + '\n', pems[i]);
        });
      }),
      { numRuns: 2000 },
    );
  });

  test('line width, CRLF line ends and RFC 1423 headers do not change the DER', () => {
    fc.assert(
      fc.property(label, der, fc.integer({ min: 4, max: 76 }), fc.boolean(), fc.boolean(), (type, bytes, width, crlf, headers) => {
        const nl = crlf ? '\r\n' : '\n';
        const b64 = bytes.toString('base64');
        const lines = b64.match(new RegExp(`.{1,${width}}`, 'g')) ?? [];
        const head = headers ? `Proc-Type: 4,ENCRYPTED${nl}DEK-Info: AES-256-CBC,00${nl}${nl}` : '';
        const text = `-----BEGIN ${type}-----${nl}${head}${lines.map((l) => l + nl).join('')}-----END ${type}-----${nl}`;
        const [block, ...rest] = decodePem(text);
        assert.equal(rest.length, 0);
        assert.deepEqual(block?.der, bytes);
        assert.deepEqual(block?.headers, headers ? { 'Proc-Type': '4,ENCRYPTED', 'DEK-Info': 'AES-256-CBC,00' } : {});
      }),
      { numRuns: 2000 },
    );
  });

  test('arbitrary text and broken blocks: blocks or PemError, which never repeats the content', () => {
    const piece = fc.oneof(
      fc.constantFrom('-----BEGIN CERTIFICATE-----\n', '-----END CERTIFICATE-----', '-----BEGIN A-----\n', '-----END B-----', '-----', 'MIIB', '====', '\n', 'X: y\n', '*'),
      fc.base64String({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 10 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }).map((p) => p.join('')), (text) => {
        const o = outcome(() => decodePem(text), instanceOf(PemError));
        if (o.ok) {
          for (const b of o.value) assert.ok(text.includes(b.text));
        } else {
          assert.doesNotMatch(o.error.message, /MIIB|[A-Za-z0-9+/]{20}/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
