/**
 * Reading a password: on a terminal with a prompt and without echo; otherwise the first line of
 * the input (so scripts can pipe it in). The password is never written anywhere.
 */
import type { Writable } from 'node:stream';

/** Where the password comes from: process.stdin, or any readable stream. */
export interface PasswordInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  /** Present on terminals (tty.ReadStream). */
  setRawMode?: (raw: boolean) => unknown;
}

/** Options of readPassword. */
export interface ReadPasswordOptions {
  /** The prompt shown on a terminal, e.g. `Password: `. */
  prompt: string;
  /** On a terminal, ask a second time with this prompt and require the same answer. */
  confirm?: string;
  /** Stops waiting for input. */
  signal?: AbortSignal;
}

/** Reading the password failed or was cancelled; the message never contains the input. */
export class PasswordError extends Error {
  override readonly name = 'PasswordError';
}

/** Longest password line accepted from a non-terminal input. */
const MAX_LINE = 4096;

/**
 * Reads a password from input: on a terminal, prompts on output and reads a line without echo
 * (Backspace and Ctrl-U edit, Ctrl-C cancels); otherwise reads the first line of input (without
 * the line break).
 * @throws PasswordError when the password is empty, the confirmation differs, or input ends
 */
export async function readPassword(input: PasswordInput, output: Writable, options: ReadPasswordOptions): Promise<string> {
  let password: string;
  if (input.isTTY === true && typeof input.setRawMode === 'function') {
    password = await readHidden(input, output, options.prompt, options.signal);
    if (password !== '' && options.confirm !== undefined) {
      const again = await readHidden(input, output, options.confirm, options.signal);
      if (again !== password) throw new PasswordError('the passwords do not match');
    }
  } else {
    password = await readLine(input, options.signal);
    if (password === '') throw new PasswordError('no password: standard input is not a terminal and its first line is empty (pipe the password in, or run on a terminal to be asked)');
  }
  if (password === '') throw new PasswordError('the password must not be empty');
  return password;
}

/** Reads one line on a terminal in raw mode, so nothing is echoed. */
function readHidden(input: PasswordInput, output: Writable, prompt: string, signal?: AbortSignal): Promise<string> {
  return listen(input, signal, (finish) => {
    input.setRawMode!(true);
    output.write(prompt);
    let value: string[] = [];
    return {
      data(chunk) {
        for (const c of chunk) {
          if (c === '\r' || c === '\n') return finish(value.join(''));
          if (c === '\x03') return finish(new PasswordError('cancelled'));
          if (c === '\x04' && value.length === 0) return finish(new PasswordError('cancelled'));
          if (c === '\x1b') break; // an escape sequence (arrow keys, ...): ignore the rest of it
          if (c === '\x7f' || c === '\b') value = value.slice(0, -1);
          else if (c === '\x15') value = [];
          else if (c >= ' ') value.push(c);
        }
        return undefined;
      },
      end: () => finish(new PasswordError('cancelled')),
      cleanup() {
        input.setRawMode!(false);
        output.write('\n');
      },
    };
  });
}

/** Reads the first line of a non-terminal input (all of it when it has no line break). */
function readLine(input: PasswordInput, signal?: AbortSignal): Promise<string> {
  return listen(input, signal, (finish) => {
    let text = '';
    return {
      data(chunk) {
        text += chunk;
        const nl = text.indexOf('\n');
        if (nl >= 0) return finish(text.slice(0, nl).replace(/\r$/, ''));
        if (text.length > MAX_LINE) return finish(new PasswordError(`the password on standard input is longer than ${MAX_LINE} characters`));
        return undefined;
      },
      end: () => finish(text.replace(/\r$/, '')),
    };
  });
}

interface Handlers {
  data(chunk: string): void;
  end(): void;
  cleanup?(): void;
}

/** Reads input as UTF-8 through handlers until they call finish; then stops reading. */
function listen(input: PasswordInput, signal: AbortSignal | undefined, start: (finish: (result: string | Error) => void) => Handlers): Promise<string> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (result: string | Error): void => {
      if (done) return;
      done = true;
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      handlers.cleanup?.();
      input.pause();
      if (typeof result === 'string') resolve(result);
      else reject(result);
    };
    const onData = (chunk: string | Buffer): void => handlers.data(chunk.toString());
    const onEnd = (): void => handlers.end();
    const onError = (err: Error): void => finish(new PasswordError(`cannot read the password: ${err.message}`));
    const onAbort = (): void => finish(new PasswordError('cancelled'));
    if (signal?.aborted) return reject(new PasswordError('cancelled'));
    const handlers = start(finish);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    input.resume();
  });
}
