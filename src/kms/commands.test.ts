import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CMD, commandByName, commandByNumber, COMMANDS } from './commands.js';

/** The command table of the MinKMS protocol: [number, name, W, C]. */
const TABLE: [number, string | undefined, boolean, boolean][] = [
  [1, 'CLUSTER:ADDNODE', true, true],
  [2, 'CLUSTER:REMOVENODE', true, true],
  [3, 'CLUSTER:STATUS', false, true],
  [4, 'CLUSTER:EDIT', true, true],
  [5, 'CLUSTER:ADDHSM', true, true],
  [6, 'CLUSTER:REMOVEHSM', true, true],
  [101, 'ENCLAVE:CREATE', true, true],
  [102, 'ENCLAVE:DELETE', true, true],
  [103, 'ENCLAVE:STATUS', false, true],
  [104, 'ENCLAVE:LIST', false, true],
  [201, 'KEY:CREATE', true, false],
  [202, 'KEY:DELETE', true, false],
  [203, undefined, true, false],
  [204, 'KEY:STATUS', false, false],
  [205, 'KEY:ENCRYPT', false, false],
  [206, 'KEY:DECRYPT', false, false],
  [207, 'KEY:GENERATE', false, false],
  [208, 'KEY:LIST', false, false],
  [209, 'KEY:LISTVERSIONS', false, false],
  [210, 'KEY:MAC', false, false],
  [301, 'POLICY:CREATE', true, false],
  [302, 'POLICY:DELETE', true, false],
  [303, 'POLICY:ASSIGN', true, false],
  [304, 'POLICY:GET', false, false],
  [305, 'POLICY:STATUS', false, false],
  [306, 'POLICY:LIST', false, false],
  [401, 'IDENTITY:CREATE', true, false],
  [402, 'IDENTITY:DELETE', true, false],
  [403, 'IDENTITY:STATUS', false, false],
  [404, 'IDENTITY:LIST', false, false],
];

describe('MinKMS command table', () => {
  test('numbers, names and the write and cluster flags are those of the protocol, in number order', () => {
    assert.deepEqual(
      COMMANDS.map((c) => [c.number, c.name, c.write, c.cluster]),
      TABLE,
    );
  });

  test('the write commands are exactly those the SDK classifies as write', () => {
    const writes = [1, 2, 4, 5, 6, 101, 102, 201, 202, 203, 301, 302, 303, 401, 402];
    assert.deepEqual(COMMANDS.filter((c) => c.write).map((c) => c.number), writes);
  });

  test('enclave management is 101-104 only, and is cluster-level', () => {
    assert.deepEqual(COMMANDS.filter((c) => c.enclaveManagement).map((c) => c.number), [101, 102, 103, 104]);
  });

  test('CMD names each command after its text name; 203 is KEY_IMPORT', () => {
    assert.equal(Object.keys(CMD).length, COMMANDS.length);
    for (const [key, number] of Object.entries(CMD)) {
      const c = commandByNumber(number);
      assert.ok(c, key);
      assert.equal(key, c.name === undefined ? 'KEY_IMPORT' : c.name.replace(':', '_'), key);
    }
    assert.equal(CMD.KEY_GENERATE, 207);
    assert.equal(CMD.KEY_IMPORT, 203);
  });

  test('commandByNumber finds every command and nothing else', () => {
    for (const c of COMMANDS) assert.equal(commandByNumber(c.number), c);
    for (const n of [0, 7, 100, 105, 200, 211, 300, 307, 400, 405, 65535, -1, 1.5, NaN]) assert.equal(commandByNumber(n), undefined, String(n));
  });

  test('commandByName is case-insensitive, as the SDK upper-cases names', () => {
    for (const name of ['KEY:GENERATE', 'key:generate', 'Key:Generate', 'kEY:gENERATE']) {
      assert.equal(commandByName(name)?.number, 207, name);
    }
    assert.equal(commandByName('identity:list')?.number, 404);
    assert.equal(commandByName('cluster:addhsm')?.number, 5);
  });

  test('commandByName knows no name for 203 and rejects unknown or altered names', () => {
    for (const name of ['', 'KEY:IMPORT', '!INVALID:203', 'KEY', 'KEY:*', ' KEY:CREATE', 'KEY:CREATE ', 'KEY_CREATE', '207', 'constructor', '__proto__']) {
      assert.equal(commandByName(name), undefined, name);
    }
  });

  test('descriptors are frozen', () => {
    assert.ok(COMMANDS.every((c) => Object.isFrozen(c)));
  });
});
