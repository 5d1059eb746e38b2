/**
 * Streamed listings (protocol.md §20.5): every match in one answer, written in sorted order as
 * the store pages through them, so memory stays bounded by a page and not by the key count.
 * The first name is fetched before the status line, so a failing store still gets an error
 * response; a failure later cuts the response (JSON) or ends it with `{"error"}` (NDJSON).
 */
import { goJsonValue } from '../../util/go-json.js';
import type { Reply, StreamWriter } from '../reply.js';

const CHUNK = 16 * 1024;

/** Buffers small writes into chunks and waits for the client when it is slow. */
class ChunkedWriter {
  private buf = '';
  constructor(private readonly w: StreamWriter) {}

  async add(text: string): Promise<void> {
    this.buf += text;
    if (this.buf.length >= CHUNK) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buf === '') return;
    const full = !this.w.write(this.buf);
    this.buf = '';
    if (full) await this.w.drained();
  }
}

async function firstOf<T>(source: () => AsyncIterable<T>, onError: (err: unknown) => Error) {
  const it = source()[Symbol.asyncIterator]();
  try {
    return { it, first: await it.next() };
  } catch (err) {
    throw onError(err);
  }
}

/** `{"<field>":[...]}` streamed from an async source of strings. */
export function streamJsonList(field: string, source: () => AsyncIterable<string>, onError: (err: unknown) => Error): Reply {
  return {
    kind: 'stream',
    contentType: 'application/json',
    async open() {
      const { it, first } = await firstOf(source, onError);
      return async (w) => {
        const out = new ChunkedWriter(w);
        await out.add(`{${goJsonValue(field)}:[`);
        let next = first;
        for (let i = 0; !next.done; i++) {
          if (w.signal.aborted) return;
          await out.add((i > 0 ? ',' : '') + goJsonValue(next.value));
          next = await it.next();
        }
        await out.add(']}\n');
        await out.flush();
      };
    },
  };
}

/** Legacy NDJSON listing: one JSON object per line, a failure as a final `{"error"}` line. */
export function streamNdjson<T>(source: () => AsyncIterable<T>, toObject: (item: T) => object, onError: (err: unknown) => Error): Reply {
  return {
    kind: 'stream',
    contentType: 'application/x-ndjson',
    async open() {
      const { it, first } = await firstOf(source, onError);
      return async (w) => {
        const out = new ChunkedWriter(w);
        try {
          for (let next = first; !next.done; next = await it.next()) {
            if (w.signal.aborted) return;
            await out.add(goJsonValue(toObject(next.value)) + '\n');
          }
        } catch (err) {
          await out.add(goJsonValue({ error: onError(err).message }) + '\n');
        }
        await out.flush();
      };
    },
  };
}

/** An async source over an in-memory array (policies, identities). */
export function fromArray<T>(items: readonly T[]): () => AsyncIterable<T> {
  return async function* () {
    yield* items;
  };
}

/** Passes an error through unchanged (for listings of in-memory data). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
