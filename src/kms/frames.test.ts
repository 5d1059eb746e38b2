import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeFrames, encodeFrames, FrameError } from './frames.js';
import { CMD } from './commands.js';
import { EncryptResponse, ErrResponse, GenerateKeyRequest, KeyStatusRequest, ListRequest } from './messages.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('worked frames of the MinKMS protocol, byte for byte', () => {
  test('KEY:GENERATE {Name my-key, AssociatedData {}, Length 32}', () => {
    const bytes = hex('00cf 0000000e 0a066d792d6b6579 1a027b7d 2020');
    const msg = { name: 'my-key', associatedData: Buffer.from('{}'), length: 32 };
    assert.deepEqual(encodeFrames([{ command: CMD.KEY_GENERATE, payload: GenerateKeyRequest.encode(msg) }]), bytes);
    const frames = decodeFrames(bytes);
    assert.deepEqual(frames.map((f) => f.command), [207]);
    assert.deepEqual(GenerateKeyRequest.decode(frames[0]!.payload), { ...msg, version: 0 });
  });

  test('KEY:STATUS twice {Name k1} {Name k2, Version 2}', () => {
    const bytes = hex('00cc 00000004 0a026b31 00cc 00000006 0a026b32 1002');
    const msgs = [
      { name: 'k1', version: 0 },
      { name: 'k2', version: 2 },
    ];
    assert.deepEqual(encodeFrames(msgs.map((m) => ({ command: CMD.KEY_STATUS, payload: KeyStatusRequest.encode(m) }))), bytes);
    const frames = decodeFrames(bytes);
    assert.deepEqual(frames.map((f) => f.command), [204, 204]);
    assert.deepEqual(frames.map((f) => KeyStatusRequest.decode(f.payload)), msgs);
  });

  test('KEY:LIST {Prefix a, Limit 0}', () => {
    const bytes = hex('00d0 00000003 0a0161');
    assert.deepEqual(encodeFrames([{ command: CMD.KEY_LIST, payload: ListRequest.encode({ prefix: 'a', limit: 0 }) }]), bytes);
    const [frame, ...rest] = decodeFrames(bytes);
    assert.equal(rest.length, 0);
    assert.equal(frame!.command, 208);
    assert.deepEqual(ListRequest.decode(frame!.payload), { prefix: 'a', continueAt: '', limit: 0 });
  });

  test('answer KEY:ENCRYPT {Version 1, Ciphertext dead}', () => {
    const bytes = hex('00cd 00000006 0801 1202dead');
    const msg = { version: 1, ciphertext: hex('dead') };
    assert.deepEqual(encodeFrames([{ command: CMD.KEY_ENCRYPT, payload: EncryptResponse.encode(msg) }]), bytes);
    const frames = decodeFrames(bytes);
    assert.deepEqual(frames.map((f) => f.command), [205]);
    assert.deepEqual(EncryptResponse.decode(frames[0]!.payload), msg);
  });

  test('binary error body (a bare ErrResponse, no frame) "key does not exist"', () => {
    const bytes = hex('0a12 6b657920646f6573206e6f74206578697374');
    assert.deepEqual(ErrResponse.encode({ message: 'key does not exist' }), bytes);
    assert.deepEqual(ErrResponse.decode(bytes), { message: 'key does not exist' });
  });
});

describe('encodeFrames / decodeFrames', () => {
  test('no frames is an empty body, and an empty body has no frames', () => {
    assert.deepEqual(encodeFrames([]), Buffer.alloc(0));
    assert.deepEqual(decodeFrames(Buffer.alloc(0)), []);
    assert.deepEqual(decodeFrames(new Uint8Array(0)), []);
  });

  test('an empty payload is a bare header; command numbers use the full 16 bits', () => {
    const bytes = encodeFrames([
      { command: 201, payload: new Uint8Array(0) },
      { command: 0xffff, payload: Uint8Array.of(1) },
      { command: 0, payload: new Uint8Array(0) },
    ]);
    assert.deepEqual(bytes, hex('00c9 00000000 ffff 00000001 01 0000 00000000'));
    assert.deepEqual(decodeFrames(bytes), [
      { command: 201, payload: Buffer.alloc(0) },
      { command: 0xffff, payload: Buffer.of(1) },
      { command: 0, payload: Buffer.alloc(0) },
    ]);
  });

  test('decodeFrames accepts a plain Uint8Array, also one at an offset in a larger buffer', () => {
    const inner = hex('ff 00cc 00000002 0a00 ff');
    const view = new Uint8Array(inner.buffer, inner.byteOffset + 1, inner.length - 2);
    assert.deepEqual(decodeFrames(view), [{ command: 204, payload: hex('0a00') }]);
  });

  test('a body that ends inside a header is rejected with FrameError', () => {
    const whole = hex('00cc 00000002 0a00');
    for (let cut = 1; cut < 6; cut++) {
      assert.throws(() => decodeFrames(whole.subarray(0, cut)), FrameError, `cut ${cut}`);
      assert.throws(() => decodeFrames(Buffer.concat([whole, whole.subarray(0, cut)])), /frame 2 has a truncated header/, `cut ${cut}`);
    }
  });

  test('a payload shorter than declared is rejected with FrameError, without the payload bytes in the message', () => {
    const body = hex('00cc 00000010 0a0e 73656372657420706c61696e');
    assert.throws(
      () => decodeFrames(body),
      (err: unknown) => {
        assert.ok(err instanceof FrameError);
        assert.equal(err.message, 'kms: frame 1 declares 16 payload bytes but 14 remain');
        assert.ok(!err.message.includes('secret'));
        return true;
      },
    );
    assert.throws(() => decodeFrames(hex('00cc ffffffff')), FrameError);
  });

  test('more frames than the limit are rejected (default 1000)', () => {
    const frame = { command: CMD.KEY_STATUS, payload: new Uint8Array(0) };
    assert.equal(decodeFrames(encodeFrames(Array(1000).fill(frame))).length, 1000);
    assert.throws(() => decodeFrames(encodeFrames(Array(1001).fill(frame))), /more than 1000 frames/);
    assert.equal(decodeFrames(encodeFrames([frame, frame]), 2).length, 2);
    assert.throws(() => decodeFrames(encodeFrames([frame, frame, frame]), 2), FrameError);
    assert.deepEqual(decodeFrames(Buffer.alloc(0), 0), []);
  });

  test('encodeFrames rejects command numbers that do not fit 16 bits', () => {
    for (const command of [-1, 65536, 1.5, NaN]) {
      assert.throws(() => encodeFrames([{ command, payload: new Uint8Array(0) }]), FrameError, String(command));
    }
  });

  test('decodeFrames(encodeFrames(frames)) gives the frames back (property)', () => {
    const frame = fc.record({ command: fc.integer({ min: 0, max: 0xffff }), payload: fc.uint8Array({ maxLength: 64 }) });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 10 }), (frames) => {
        const decoded = decodeFrames(encodeFrames(frames));
        assert.deepEqual(
          decoded.map((f) => ({ command: f.command, payload: new Uint8Array(f.payload) })),
          frames.map((f) => ({ command: f.command, payload: new Uint8Array(f.payload) })),
        );
      }),
    );
  });

  test('arbitrary bytes either split into frames or throw FrameError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        try {
          const frames = decodeFrames(bytes);
          assert.deepEqual(encodeFrames(frames), Buffer.from(bytes));
        } catch (err) {
          assert.ok(err instanceof FrameError, String(err));
        }
      }),
    );
  });
});
