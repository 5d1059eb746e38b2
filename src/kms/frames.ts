/**
 * MinKMS command frames: the bodies of `POST /v1/kms[/<enclave>]` requests and of their answers
 * are frames back to back, each a 2-byte big-endian command number, a 4-byte big-endian payload
 * length n and n bytes of protobuf payload (messages.ts).
 */

/** Bytes before each payload: command number (2) and payload length (4). */
export const FRAME_HEADER_SIZE = 6;

/** Default limit on the number of frames decodeFrames accepts in one body. */
export const DEFAULT_MAX_FRAMES = 1000;

const MAX_COMMAND = 0xffff;
const MAX_PAYLOAD = 0xffff_ffff;

/** One frame to send: a command number (0–65535) and its encoded message. */
export interface Frame {
  command: number;
  payload: Uint8Array;
}

/** A frame read from a body; payload is a view into that body, not a copy. */
export interface DecodedFrame {
  command: number;
  payload: Buffer;
}

/** Thrown for a body that is not a sequence of whole frames. The message never contains payload bytes. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/**
 * Writes frames back to back. No frames give an empty body.
 * @throws FrameError for a command number outside 0–65535 or a payload of 2^32 bytes or more.
 */
export function encodeFrames(frames: readonly Frame[]): Buffer {
  let size = 0;
  for (const f of frames) {
    if (!Number.isInteger(f.command) || f.command < 0 || f.command > MAX_COMMAND) {
      throw new FrameError('kms: frame command number out of range');
    }
    if (f.payload.length > MAX_PAYLOAD) throw new FrameError('kms: frame payload too large');
    size += FRAME_HEADER_SIZE + f.payload.length;
  }
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const f of frames) {
    out.writeUInt16BE(f.command, pos);
    out.writeUInt32BE(f.payload.length, pos + 2);
    out.set(f.payload, pos + FRAME_HEADER_SIZE);
    pos += FRAME_HEADER_SIZE + f.payload.length;
  }
  return out;
}

/**
 * Splits a body into its frames, in order. An empty body has no frames.
 * @param maxFrames the most frames accepted (default DEFAULT_MAX_FRAMES)
 * @throws FrameError when the body ends inside a frame header or inside a payload, or holds more
 *   than maxFrames frames.
 */
export function decodeFrames(body: Uint8Array, maxFrames = DEFAULT_MAX_FRAMES): DecodedFrame[] {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const frames: DecodedFrame[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (frames.length >= maxFrames) throw new FrameError(`kms: more than ${maxFrames} frames`);
    if (buf.length - pos < FRAME_HEADER_SIZE) throw new FrameError(`kms: frame ${frames.length + 1} has a truncated header`);
    const command = buf.readUInt16BE(pos);
    const length = buf.readUInt32BE(pos + 2);
    const start = pos + FRAME_HEADER_SIZE;
    if (buf.length - start < length) {
      throw new FrameError(`kms: frame ${frames.length + 1} declares ${length} payload bytes but ${buf.length - start} remain`);
    }
    frames.push({ command, payload: buf.subarray(start, start + length) });
    pos = start + length;
  }
  return frames;
}
