/** readPassword: hidden terminal input (raw mode, no echo, line editing) and the first line of a pipe. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { PasswordError, readPassword } from '../../src/cli/prompt.js';
import { MemoryStream } from '../helpers/cli-io.js';

/** A terminal as tty.ReadStream presents it: isTTY and setRawMode. */
class FakeTerminal extends PassThrough {
  readonly isTTY = true;
  readonly rawModes: boolean[] = [];
  setRawMode(raw: boolean): this {
    this.rawModes.push(raw);
    return this;
  }
}

/** Types the chunks one by one, each after the reader has had a chance to run. */
async function type(input: PassThrough, ...chunks: string[]): Promise<void> {
  for (const chunk of chunks) {
    await tick();
    input.write(chunk);
  }
}

test('a terminal: prompt, raw mode while typing, nothing echoed', async () => {
  const input = new FakeTerminal();
  const output = new MemoryStream(true);
  const password = readPassword(input, output, { prompt: 'Password: ' });
  await type(input, 's3cret pässwörd\r');
  assert.equal(await password, 's3cret pässwörd');
  assert.equal(output.text, 'Password: \n');
  assert.deepEqual(input.rawModes, [true, false]);
});

test('a terminal: Backspace and Ctrl-U edit, escape sequences are ignored', async () => {
  const cases: [chunks: string[], expected: string][] = [
    [['abx\x7fc\r'], 'abc'],
    [['abx\bc\n'], 'abc'],
    [['wrong\x15right\r'], 'right'],
    [['ab', '\x1b[D', 'c\r'], 'abc'],
    [['\x7f\x7fok\r'], 'ok'],
  ];
  for (const [chunks, expected] of cases) {
    const input = new FakeTerminal();
    const password = readPassword(input, new MemoryStream(true), { prompt: '> ' });
    await type(input, ...chunks);
    assert.equal(await password, expected, JSON.stringify(chunks));
  }
});

test('a terminal: the confirmation must match', async () => {
  let input = new FakeTerminal();
  let output = new MemoryStream(true);
  let password = readPassword(input, output, { prompt: 'Password: ', confirm: 'Again: ' });
  await type(input, 'same\r', 'same\r');
  assert.equal(await password, 'same');
  assert.equal(output.text, 'Password: \nAgain: \n');

  input = new FakeTerminal();
  output = new MemoryStream(true);
  password = readPassword(input, output, { prompt: 'Password: ', confirm: 'Again: ' });
  await type(input, 'one\r', 'two\r');
  await assert.rejects(password, new PasswordError('the passwords do not match'));
  assert.deepEqual(input.rawModes, [true, false, true, false]);
});

test('a terminal: Ctrl-C, Ctrl-D and an empty answer fail, and raw mode is restored', async () => {
  const cases: [string, string][] = [
    ['abc\x03', 'cancelled'],
    ['\x04', 'cancelled'],
    ['\r', 'the password must not be empty'],
  ];
  for (const [typed, message] of cases) {
    const input = new FakeTerminal();
    const password = readPassword(input, new MemoryStream(true), { prompt: '> ' });
    await type(input, typed);
    await assert.rejects(password, new PasswordError(message), JSON.stringify(typed));
    assert.deepEqual(input.rawModes, [true, false]);
  }
});

test('not a terminal: the first line, without \\r\\n; all of the input when it has no line break', async () => {
  const cases: [chunks: string[], expected: string][] = [
    [['pass word\nsecond line\n'], 'pass word'],
    [['windows\r\n'], 'windows'],
    [['split ', 'across chunks\n'], 'split across chunks'],
    [['no newline'], 'no newline'],
  ];
  for (const [chunks, expected] of cases) {
    const input = new PassThrough();
    const output = new MemoryStream();
    const password = readPassword(input, output, { prompt: 'Password: ', confirm: 'Again: ' });
    await type(input, ...chunks);
    input.end();
    assert.equal(await password, expected, JSON.stringify(chunks));
    assert.equal(output.text, '', 'no prompt when not on a terminal');
  }
});

test('not a terminal: an empty first line, an over-long line and an abort fail', async () => {
  let input = new PassThrough();
  let password = readPassword(input, new MemoryStream(), { prompt: '' });
  input.end('\nsecond\n');
  await assert.rejects(password, /^PasswordError: no password: standard input is not a terminal and its first line is empty/);

  input = new PassThrough();
  password = readPassword(input, new MemoryStream(), { prompt: '' });
  input.write('x'.repeat(5000));
  await assert.rejects(password, /longer than 4096 characters/);

  input = new PassThrough();
  const controller = new AbortController();
  password = readPassword(input, new MemoryStream(), { prompt: '', signal: controller.signal });
  controller.abort();
  await assert.rejects(password, new PasswordError('cancelled'));
});
