import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as messages from './messages.js';
import {
  ClusterStatusResponse,
  COMMAND_MESSAGES,
  commandMessages,
  CreateIdentityRequest,
  CreatePolicyRequest,
  DecryptRequest,
  EditClusterRequest,
  GenerateKeyRequest,
  IdentityResponse,
  KeyStatusRequest,
  KeyStatusResponse,
  ListKeysResponse,
  LogRequest,
  MessageError,
  PolicyResponse,
  ServerStatusResponse,
  versionResponseJson,
  type AnyMessageCodec,
  type MessageCodec,
} from './messages.js';
import { COMMANDS } from './commands.js';
import { ProtoWriter } from '../crypto/protobuf.js';
import { Timestamp } from '../util/time.js';
import { instanceOf, outcome } from '../../test/helpers/property.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ID = 'h1:oFCDfYUHBYLM9zlLCYiEfMMSy4glm4lImfbyOc8XkaU';

/** Every codec the module exports. */
const CODECS = Object.values(messages).filter(
  (v): v is AnyMessageCodec => typeof v === 'object' && v !== null && 'decode' in v && 'encode' in v && 'fields' in v,
);

interface Sample {
  codec: AnyMessageCodec;
  value: object;
}
/** A sample message; typed against the codec, so a wrong field name or type does not compile. */
const sample = <T extends object>(codec: MessageCodec<T>, value: T): Sample => ({ codec: codec as unknown as AnyMessageCodec, value });

const status = (name: string, version: number): messages.KeyStatusResponse => ({
  name,
  version,
  type: 'AES256',
  createdAt: new Timestamp(1_700_000_000n, 123_456_789),
  createdBy: ID,
});
const server: messages.ServerStatusResponse = {
  version: '2024-01-01T00-00-00Z',
  apiVersion: 'v1',
  host: 'kms-1:7373',
  upTime: 90_061_000_000_001n,
  role: 'Leader',
  commit: 2n ** 64n - 1n,
  nodes: { 0: 'kms-0:7373', 1: 'kms-1:7373', 4294967295: 'kms-x:7373' },
  id: 1,
  leaderId: -(2n ** 63n),
  lastHeartbeat: -1_500_000_000n,
  heartbeatInterval: 250_000_000n,
  electionTimeout: 315_576_000_000n * 1_000_000_000n + 999_999_999n,
  os: 'linux',
  arch: 'amd64',
  cpus: 64,
  usableCpus: 4294967295,
  heapMemInUse: 1n << 40n,
  stackMemInUse: 1n,
  hsms: ['hsm-a', ''],
  configuredHsms: ['hsm-a', 'hsm-b'],
};

/** One message per codec with every field set to a value other than its default. */
const SAMPLES: Sample[] = [
  sample(messages.ListRequest, { prefix: 'my-', continueAt: 'my-key-7', limit: 1000 }),
  sample(messages.ErrResponse, { message: 'key does not exist' }),
  sample(messages.VersionResponse, { version: '2024-01-01T00-00-00Z', commit: 'abc', apiVersion: 'v1', host: 'h:7373', fips140: true }),
  sample(messages.AddClusterNodeRequest, { host: 'kms-2:7373' }),
  sample(messages.RemoveClusterNodeRequest, { host: 'kms-2:7373', deleteClusterOnHost: true }),
  sample(messages.EditClusterRequest, { host: 'kms-0:7373', removeIds: [0, 3, 4294967295] }),
  sample(messages.AddHSMRequest, { name: 'hsm-a', overwrite: true }),
  sample(messages.RemoveHSMRequest, { name: 'hsm-a' }),
  sample(messages.ServerStatusResponse, server),
  sample(messages.ClusterStatusResponse, {
    nodesUp: { 0: server, 7: { ...ServerStatusResponse.create(), host: 'kms-7' }, 8: ServerStatusResponse.create() },
    nodesDown: { 2: 'kms-2:7373', 3: '' },
  }),
  sample(messages.CreateEnclaveRequest, { name: 'tenant-1' }),
  sample(messages.DeleteEnclaveRequest, { name: 'tenant-1' }),
  sample(messages.EnclaveStatusRequest, { name: 'tenant-1' }),
  sample(messages.EnclaveStatusResponse, { name: 'tenant-1', createdAt: Timestamp.ZERO, createdBy: ID }),
  sample(messages.ListEnclavesResponse, {
    enclaves: [{ name: 'a', createdAt: new Timestamp(0n, 0), createdBy: '' }, messages.EnclaveStatusResponse.create()],
    continueAt: 'b',
  }),
  sample(messages.CreateKeyRequest, { name: 'my-key', type: 'ChaCha20', addVersion: true }),
  sample(messages.ImportKeyRequest, { name: 'my-key', type: 'AES256', key: Buffer.alloc(32, 0xab) }),
  sample(messages.DeleteKeyRequest, { name: 'my-key', version: 3, allVersions: true }),
  sample(messages.KeyStatusRequest, { name: 'my-key', version: 2 }),
  sample(messages.KeyStatusResponse, status('my-key', 2)),
  sample(messages.ListKeysResponse, { keys: [status('a', 1), status('b', 4294967295)], continueAt: 'c' }),
  sample(messages.EncryptRequest, { name: 'my-key', version: 1, plaintext: Buffer.from('hello'), associatedData: Buffer.from('ctx') }),
  sample(messages.EncryptResponse, { version: 1, ciphertext: hex('dead') }),
  sample(messages.DecryptRequest, { name: 'my-key', version: 1, ciphertext: hex('deadbeef'), associatedData: Buffer.from('{}') }),
  sample(messages.DecryptResponse, { plaintext: Buffer.from([0, 1, 2, 255]) }),
  sample(messages.GenerateKeyRequest, { name: 'my-key', version: 7, associatedData: Buffer.from('{"a":"b"}'), length: 1024 }),
  sample(messages.GenerateKeyResponse, { version: 7, plaintext: Buffer.alloc(32, 1), ciphertext: Buffer.alloc(60, 2) }),
  sample(messages.MACRequest, { name: 'my-key', version: 2, message: Buffer.from('msg') }),
  sample(messages.MACResponse, { version: 2, mac: Buffer.alloc(32, 9) }),
  sample(messages.RuleSet, { rules: ['a', 'b*'] }),
  sample(messages.CreatePolicyRequest, {
    name: 'minio',
    allow: { 'KEY:GENERATE': ['minio-*'], 'KEY:DECRYPT': ['minio-*', 'other'], 'KEY:STATUS': [] },
    deny: { 'KEY:DELETE': ['*'] },
  }),
  sample(messages.PolicyRequest, { name: 'minio' }),
  sample(messages.DeletePolicyRequest, { name: 'minio' }),
  sample(messages.AssignPolicyRequest, { identity: ID, policy: 'minio' }),
  sample(messages.PolicyStatusResponse, { name: 'minio', createdAt: new Timestamp(-1n, 999_999_999), createdBy: ID }),
  sample(messages.PolicyResponse, {
    name: 'minio',
    allow: { 'KEY:CREATE': ['a', 'b'] },
    deny: { 'KEY:CREATE': ['b'] },
    createdAt: new Timestamp(253402300799n, 1),
    createdBy: ID,
  }),
  sample(messages.ListPoliciesResponse, {
    policies: [{ name: 'p', createdAt: undefined, createdBy: '' }, { name: 'q', createdAt: Timestamp.ZERO, createdBy: ID }],
    continueAt: 'r',
  }),
  sample(messages.CreateIdentityRequest, { identity: ID, privilege: 'Admin', isServiceAccount: true, tags: { team: 'storage', '': '', 'ü': 'ß' } }),
  sample(messages.IdentityRequest, { identity: ID }),
  sample(messages.DeleteIdentityRequest, { identity: ID }),
  sample(messages.IdentityResponse, {
    identity: ID,
    privilege: 3,
    policy: 'minio',
    createdAt: new Timestamp(1n, 2),
    createdBy: ID,
    isServiceAccount: true,
    serviceAccounts: [ID, 'h1:other'],
    tags: { a: 'b' },
  }),
  sample(messages.ListIdentitiesResponse, { identities: [IdentityResponse.create({ identity: ID, privilege: 1 })], continueAt: 'x' }),
  sample(messages.ProfileStatusResponse, {
    started: new Timestamp(1_700_000_000n, 0),
    cpu: true,
    heap: true,
    goroutine: true,
    thread: true,
    blockRate: 10,
    mutexFraction: 4294967295,
  }),
  sample(messages.LogRequest, { level: -4, message: 'failed', since: new Timestamp(1n, 0), traceLevel: 2147483647 }),
  sample(messages.LogFilter, { level: 4, message: 'denied', since: new Timestamp(2n, 5) }),
  sample(messages.StackFrame, { function: 'main.main', file: '/src/main.go', line: 42 }),
  sample(messages.LogRecord, {
    level: -2147483648,
    time: new Timestamp(1_700_000_000n, 5),
    message: 'héllo',
    trace: [{ function: 'f', file: 'f.go', line: 1 }, messages.StackFrame.create()],
  }),
];
// Messages without fields: nothing to set.
const EMPTY = new Set(['ClusterStatusRequest', 'Rule']);

describe('MinKMS messages', () => {
  test('every exported codec has a sample (or no fields), and its name is unique', () => {
    const names = CODECS.map((c) => c.name);
    assert.equal(new Set(names).size, names.length);
    const sampled = new Set(SAMPLES.map((s) => s.codec.name));
    assert.deepEqual(names.filter((n) => !sampled.has(n) && !EMPTY.has(n)), []);
    assert.deepEqual(CODECS.filter((c) => c.fields.length === 0).map((c) => c.name).sort(), [...EMPTY].sort());
  });

  test('samples set every field to a non-default value', () => {
    for (const { codec, value } of SAMPLES) {
      const defaults = codec.create() as Record<string, unknown>;
      for (const [, name] of codec.fields) {
        assert.notDeepEqual((value as Record<string, unknown>)[name], defaults[name], `${codec.name}.${name}`);
      }
    }
  });

  test('decode(encode(m)) gives every message back', () => {
    for (const { codec, value } of SAMPLES) {
      const bytes = codec.encode(value);
      assert.deepEqual(codec.decode(bytes), value, codec.name);
      assert.deepEqual(codec.decode(new Uint8Array(bytes)), value, `${codec.name} from a Uint8Array`);
    }
  });

  test('an all-default message encodes to zero bytes, and zero bytes decode to the defaults', () => {
    for (const codec of CODECS) {
      assert.equal(codec.encode(codec.create()).length, 0, codec.name);
      assert.equal(codec.encode({}).length, 0, codec.name);
      assert.deepEqual(codec.decode(Buffer.alloc(0)), codec.create(), codec.name);
    }
  });

  test('defaults: strings empty, numbers 0, bools false, bytes empty, timestamps undefined, lists and maps empty', () => {
    assert.deepEqual(KeyStatusResponse.create(), { name: '', version: 0, type: '', createdAt: undefined, createdBy: '' });
    assert.deepEqual(DecryptRequest.create(), { name: '', version: 0, ciphertext: Buffer.alloc(0), associatedData: Buffer.alloc(0) });
    assert.deepEqual(IdentityResponse.create().serviceAccounts, []);
    assert.deepEqual(IdentityResponse.create().tags, {});
    assert.deepEqual(PolicyResponse.create().allow, {});
    assert.equal(ServerStatusResponse.create().commit, 0n);
    assert.equal(ServerStatusResponse.create().upTime, 0n);
    assert.equal(LogRequest.create().level, 0);
    const a = IdentityResponse.create();
    a.serviceAccounts.push('x');
    assert.deepEqual(IdentityResponse.create().serviceAccounts, [], 'each message gets its own lists');
  });

  test('create fills in defaults for the fields not given', () => {
    assert.deepEqual(GenerateKeyRequest.create({ name: 'k', length: 32 }), { name: 'k', version: 0, associatedData: Buffer.alloc(0), length: 32 });
  });

  test('known encodings: fields in number order, zigzag, timestamps, durations, packed lists, map entries', () => {
    const cases: [Buffer, string][] = [
      [LogRequest.encode({ level: -4, traceLevel: 1 }), '0807 2002'],
      [KeyStatusResponse.encode({ createdAt: new Timestamp(1n, 2), version: 3 }), '1003 2204 0801 1002'],
      [KeyStatusResponse.encode({ createdAt: new Timestamp(0n, 0) }), '2200'],
      [ServerStatusResponse.encode({ upTime: 2_000_000_000n }), '2202 0802'],
      [ServerStatusResponse.encode({ leaderId: -1n, commit: 1n }), '3001 4801'],
      [EditClusterRequest.encode({ removeIds: [1, 300] }), '1203 01ac02'],
      [CreateIdentityRequest.encode({ tags: { a: '' } }), '2205 0a0161 1200'],
      [ClusterStatusResponse.encode({ nodesUp: { 0: ServerStatusResponse.create() } }), '0a04 0800 1200'],
      [
        CreatePolicyRequest.encode({ allow: { 'KEY:CREATE': ['k*', '', 'k*'] } }),
        '1216 0a0a 4b45593a435245415445 1208 0a06 0a026b2a 1200',
      ],
    ];
    for (const [i, [got, want]] of cases.entries()) assert.equal(got.toString('hex'), want.replace(/\s+/g, ''), `case ${i}`);
  });

  test('fields in any order; the last scalar wins; repeated fields and map entries accumulate', () => {
    // version 1, name "a", version 2, name "b"
    assert.deepEqual(KeyStatusRequest.decode(hex('1001 0a0161 1002 0a0162')), { name: 'b', version: 2 });
    assert.deepEqual(IdentityResponse.decode(hex('3a0161 0a0178 3a0162')).serviceAccounts, ['a', 'b']);
    assert.deepEqual(IdentityResponse.decode(hex('4206 0a016b 120176 4206 0a016b 120177 4206 0a016c 120178')).tags, { k: 'w', l: 'x' });
    // unpacked and packed uint32 lists are both accepted and concatenate
    assert.deepEqual(EditClusterRequest.decode(hex('1001 10ac02 1202 0203')).removeIds, [1, 300, 2, 3]);
  });

  test('several occurrences of an embedded message are merged, as proto3 does', () => {
    // createdAt {seconds 5} then createdAt {nanos 7}
    assert.deepEqual(KeyStatusResponse.decode(hex('2202 0805 2202 1007')).createdAt, new Timestamp(5n, 7));
  });

  test('map entries without key or value get the defaults; an absent message value is the empty message', () => {
    assert.deepEqual(IdentityResponse.decode(hex('4200')).tags, { '': '' });
    assert.deepEqual(ClusterStatusResponse.decode(hex('0a02 0807')).nodesUp, { 7: ServerStatusResponse.create() });
    assert.deepEqual(PolicyResponse.decode(hex('1205 0a03 4b3a41')).allow, { 'K:A': [] });
  });

  test('rule sets: patterns sorted, without duplicates or empty patterns', () => {
    const bytes = CreatePolicyRequest.encode({ allow: { 'KEY:CREATE': ['b', '', 'a', 'b'] } });
    assert.deepEqual(CreatePolicyRequest.decode(bytes).allow, { 'KEY:CREATE': ['a', 'b'] });
    // Written unsorted with an empty pattern and a duplicate, by hand:
    const entry = (p: string) => Buffer.concat([Buffer.of(0x0a, p.length + 4, 0x0a, p.length), Buffer.from(p), hex('1200')]);
    const ruleSet = Buffer.concat([entry('z'), entry(''), entry('a'), entry('z')]);
    const policy = Buffer.concat([Buffer.of(0x12, 2 + 3 + 2 + ruleSet.length, 0x0a, 3), Buffer.from('K:A'), Buffer.of(0x12, ruleSet.length), ruleSet]);
    assert.deepEqual(PolicyResponse.decode(policy).allow, { 'K:A': ['a', 'z'] });
  });

  test('map keys such as __proto__ are plain entries', () => {
    const value = { identity: '', privilege: '', isServiceAccount: false, tags: JSON.parse('{"__proto__":"x","constructor":"y"}') as Record<string, string> };
    const decoded = CreateIdentityRequest.decode(CreateIdentityRequest.encode(value));
    assert.deepEqual(Object.entries(decoded.tags), [['__proto__', 'x'], ['constructor', 'y']]);
    assert.equal(Object.getPrototypeOf(decoded.tags), Object.prototype);
    const policy = PolicyResponse.decode(PolicyResponse.encode({ allow: JSON.parse('{"__proto__":["a"]}') as Record<string, string[]> }));
    assert.deepEqual(Object.entries(policy.allow), [['__proto__', ['a']]]);
    assert.equal(Object.getPrototypeOf(policy.allow), Object.prototype);
  });

  test('unknown fields of every wire type are skipped', () => {
    const unknown = hex('f807 01' + 'f907 0102030405060708' + 'fa07 03 616263' + 'fd07 01020304');
    for (const { codec, value } of SAMPLES) {
      const bytes = codec.encode(value);
      assert.deepEqual(codec.decode(Buffer.concat([unknown, bytes, unknown])), value, codec.name);
    }
    // the pinned SDK's LogRequest fields 5-8 (strings and a sint32) are unknown here
    assert.deepEqual(LogRequest.decode(hex('0807 2a03474554 3a0161 4001')), { level: -4, message: '', since: undefined, traceLevel: 0 });
    // The pinned SDK's field 4 is a Method filter (a string), the current one's TraceLevel (sint32):
    // the server's filter reads fields 1–3 of either.
    const pinned = hex('0807 1204666f6f21 2203474554 4001');
    assert.throws(() => LogRequest.decode(pinned), MessageError);
    assert.deepEqual(messages.LogFilter.decode(pinned), { level: -4, message: 'foo!', since: undefined });
  });

  test('bytes fields are copies, not views of the input', () => {
    const input = DecryptRequest.encode({ ciphertext: hex('0102') });
    const msg = DecryptRequest.decode(input);
    input.fill(0);
    assert.deepEqual(msg.ciphertext, hex('0102'));
  });

  test('truncated input is rejected with MessageError', () => {
    for (const { codec, value } of SAMPLES) {
      const bytes = codec.encode(value);
      assert.throws(() => codec.decode(bytes.subarray(0, bytes.length - 1)), MessageError, codec.name);
    }
    assert.throws(() => KeyStatusRequest.decode(hex('0a05 6b')), /kms: invalid KeyStatusRequest: truncated field/);
    assert.throws(() => KeyStatusRequest.decode(hex('10ff')), /truncated varint/);
    assert.throws(() => ListKeysResponse.decode(hex('0a03 0a05 6b')), /kms: invalid ListKeysResponse: keys: truncated field/);
  });

  test('a known field with the wrong wire type is rejected with MessageError, for every field', () => {
    for (const codec of CODECS) {
      for (const [num, name, kind] of codec.fields) {
        const varintKind = ['uint32', 'uint64', 'sint32', 'sint64', 'bool', 'repeated uint32'].includes(kind as string);
        // a varint field gets a 4-byte value (accepted by no kind); every other field gets a varint
        const tag = varintTag(num, varintKind ? 5 : 0);
        const body = Buffer.concat([tag, varintKind ? hex('01000000') : hex('01')]);
        assert.throws(() => codec.decode(body), (err: unknown) => err instanceof MessageError && /wrong wire type/.test(err.message), `${codec.name}.${name}`);
      }
    }
    assert.throws(() => KeyStatusRequest.decode(hex('0a01 61 1201 00')), /kms: invalid KeyStatusRequest: version: wrong wire type/);
    assert.throws(() => KeyStatusResponse.decode(hex('2202 0a00')), /createdAt.seconds: wrong wire type/);
  });

  test('uint32 values of 2^32 or more are rejected; 2^32-1 is accepted', () => {
    assert.equal(KeyStatusRequest.decode(hex('10 ffffffff0f')).version, 4294967295);
    assert.throws(() => KeyStatusRequest.decode(hex('10 8080808010')), /version: value out of range for uint32/);
    // a negative int32 as Go writes it (ten bytes)
    assert.throws(() => KeyStatusRequest.decode(hex('10 ffffffffffffffffff01')), MessageError);
    assert.throws(() => EditClusterRequest.decode(hex('1205 8080808010')), /removeIds: value out of range/);
    assert.throws(() => EditClusterRequest.decode(hex('10 8080808010')), /removeIds: value out of range/);
    assert.throws(() => ServerStatusResponse.decode(hex('3a08 08 8080808010 1200')), /nodes.key: value out of range/);
    assert.throws(() => ListKeysResponse.decode(hex('0a06 10 8080808010')), /kms: invalid ListKeysResponse: keys.version: value out of range/);
    assert.throws(() => LogRequest.decode(hex('08 8080808010')), /level: value out of range for sint32/);
    assert.equal(LogRequest.decode(hex('08 ffffffff0f')).level, -2147483648);
  });

  test('strings that are not UTF-8 are rejected; a byte order mark is kept', () => {
    for (const bad of ['ff', 'c0af', 'eda080', 'e282', 'f4908080']) {
      assert.throws(() => KeyStatusRequest.decode(hex(`0a${(bad.length / 2).toString(16).padStart(2, '0')}${bad}`)), /name: string is not valid UTF-8/, bad);
    }
    assert.throws(() => IdentityResponse.decode(hex('4205 0a01ff 1200')), /tags.key: string is not valid UTF-8/);
    assert.throws(() => IdentityResponse.decode(hex('3a01ff')), /serviceAccounts: string is not valid UTF-8/);
    assert.throws(() => PolicyResponse.decode(hex('120a 0a0141 1205 0a03 0a01ff')), /allow.value.rules.key: string is not valid UTF-8/);
    assert.equal(KeyStatusRequest.decode(hex('0a04 efbbbf61')).name, '\ufeffa');
  });

  test('error messages name the message type and never contain payload bytes', () => {
    const secret = 'top-secret-plaintext';
    const body = Buffer.concat([hex('0a02 6b31 1a14'), Buffer.from(secret), hex('20 8080808010')]);
    assert.throws(
      () => GenerateKeyRequest.decode(body),
      (err: unknown) => {
        assert.ok(err instanceof MessageError);
        assert.equal(err.messageType, 'GenerateKeyRequest');
        assert.equal(err.message, 'kms: invalid GenerateKeyRequest: length: value out of range for uint32');
        assert.ok(!err.message.includes(secret) && !err.message.includes('k1'));
        return true;
      },
    );
  });

  test('encoding rejects values that do not fit their field', () => {
    const cases: [() => Buffer, RegExp][] = [
      [() => KeyStatusRequest.encode({ version: 2 ** 32 }), /kms: cannot encode KeyStatusRequest: version: value out of range for uint32/],
      [() => KeyStatusRequest.encode({ version: -1 }), /uint32/],
      [() => KeyStatusRequest.encode({ version: 1.5 }), /uint32/],
      [() => KeyStatusRequest.encode({ name: 'a\ud800' }), /name: string is not valid UTF-16/],
      [() => LogRequest.encode({ level: 2 ** 31 }), /sint32/],
      [() => ServerStatusResponse.encode({ commit: -1n }), /uint64/],
      [() => ServerStatusResponse.encode({ leaderId: 2n ** 63n }), /sint64/],
      [() => ServerStatusResponse.encode({ upTime: 315_576_000_001n * 1_000_000_000n }), /upTime: duration out of range/],
      [() => KeyStatusResponse.encode({ createdAt: new Timestamp(2n ** 63n, 0) }), /createdAt: timestamp out of range/],
      [() => ServerStatusResponse.encode({ nodes: { [-1]: 'x' } }), /nodes: map key is not a uint32/],
      [() => EditClusterRequest.encode({ removeIds: [2 ** 32] }), /removeIds: value out of range/],
      [() => ListKeysResponse.encode({ keys: [{ ...KeyStatusResponse.create(), version: -1 }] }), /ListKeysResponse: keys.version/],
      [() => CreatePolicyRequest.encode({ allow: { 'KEY:CREATE': ['\udc00'] } }), /allow/],
    ];
    for (const [i, [encode, re]] of cases.entries()) assert.throws(encode, (err: unknown) => err instanceof MessageError && re.test(err.message), `case ${i}`);
  });

  test('timestamps whose seconds do not fit an int64 are rejected', () => {
    const max = new ProtoWriter().varint(1, 2n ** 63n - 1n).varint(2, 999_999_999).finish();
    assert.equal(KeyStatusResponse.decode(new ProtoWriter().bytes(4, max).finish()).createdAt?.seconds, 2n ** 63n - 1n);
    const over = new ProtoWriter().varint(1, 2n ** 63n - 1n).varint(2, 1_000_000_000).finish();
    assert.throws(() => KeyStatusResponse.decode(new ProtoWriter().bytes(4, over).finish()), /createdAt: timestamp out of range/);
  });

  test('negative durations and timestamps before 1970 round-trip', () => {
    const msg = ServerStatusResponse.create({ upTime: -1n, lastHeartbeat: -999_999_999n, electionTimeout: -2_000_000_001n });
    assert.deepEqual(ServerStatusResponse.decode(ServerStatusResponse.encode(msg)), msg);
    const t = Timestamp.ZERO;
    assert.deepEqual(KeyStatusResponse.decode(KeyStatusResponse.encode({ createdAt: t })).createdAt, t);
  });

  test('arbitrary or corrupted bytes either decode or throw MessageError; a decoded message re-encodes stably (property)', () => {
    const random = fc.record({ codec: fc.constantFrom(...CODECS), bytes: fc.uint8Array({ maxLength: 48 }) });
    // a sample's encoding with a few bytes overwritten: reaches the nested and map decoders
    const corrupted = fc
      .record({ s: fc.constantFrom(...SAMPLES), edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }) })
      .map(({ s, edits }) => {
        const bytes = s.codec.encode(s.value);
        for (const [pos, b] of edits) if (bytes.length > 0) bytes[pos % bytes.length] = b;
        return { codec: s.codec, bytes: new Uint8Array(bytes) };
      });
    fc.assert(
      fc.property(fc.oneof(random, corrupted), ({ codec, bytes }) => {
        const result = outcome(() => codec.decode(bytes), instanceOf(MessageError));
        if (!result.ok) return;
        const again = codec.decode(codec.encode(result.value));
        assert.deepEqual(again, result.value);
      }),
      { numRuns: 2000 },
    );
  });

  test('the fields of encoded samples decode the same in any order (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SAMPLES), fc.integer(), ({ codec, value }, seed) => {
        const fields = splitFields(codec.encode(value));
        // a deterministic shuffle; map entries and list items of one field keep their order
        const order = [...new Set(fields.map((f) => f.num))].sort((a, b) => ((a * 2654435761 + seed) >>> 0) - ((b * 2654435761 + seed) >>> 0));
        const shuffled = Buffer.concat(order.flatMap((n) => fields.filter((f) => f.num === n).map((f) => f.bytes)));
        assert.deepEqual(codec.decode(shuffled), value);
      }),
    );
  });
});

test('message types follow the schemas (checked by tsc)', () => {
  const request: messages.GenerateKeyRequest = { name: 'k', version: 0, associatedData: Buffer.alloc(0), length: 32 };
  const version: number = request.version;
  const commit: bigint = ServerStatusResponse.create().commit;
  const created: Timestamp | undefined = KeyStatusResponse.create().createdAt;
  const allow: Record<string, string[]> = PolicyResponse.create().allow;
  const nodes: Record<number, messages.ServerStatusResponse> = ClusterStatusResponse.create().nodesUp;
  // Compiled, never run:
  void (() => {
    // @ts-expect-error unknown field
    GenerateKeyRequest.encode({ nam: 'k' });
    // @ts-expect-error wrong type
    GenerateKeyRequest.encode({ length: 32n });
    // @ts-expect-error a write command has no answer message
    COMMAND_MESSAGES[201].response.decode(Buffer.alloc(0));
  });
  const answer: messages.GenerateKeyResponse = COMMAND_MESSAGES[207].response.decode(Buffer.alloc(0));
  assert.ok([request, version, commit, created, allow, nodes, answer]);
});

describe('commands and their messages', () => {
  test('every command but KEY:LISTVERSIONS has codecs; write commands have no answer message, the others have one', () => {
    for (const c of COMMANDS) {
      const codecs = commandMessages(c.number);
      if (c.number === 209) {
        assert.equal(codecs, undefined);
        continue;
      }
      assert.ok(codecs, String(c.number));
      assert.equal(codecs.response === undefined, c.write, String(c.number));
    }
    assert.equal(commandMessages(0), undefined);
    assert.equal(commandMessages(999), undefined);
    assert.equal(Object.keys(COMMAND_MESSAGES).length, COMMANDS.length - 1);
  });

  test('the table pairs commands with their messages', () => {
    assert.equal(COMMAND_MESSAGES[207].request, GenerateKeyRequest);
    assert.equal(COMMAND_MESSAGES[207].response.name, 'GenerateKeyResponse');
    assert.equal(COMMAND_MESSAGES[208].response.name, 'ListKeysResponse');
    assert.equal(COMMAND_MESSAGES[304].response.name, 'PolicyResponse');
    assert.equal(COMMAND_MESSAGES[305].response.name, 'PolicyStatusResponse');
    assert.equal(COMMAND_MESSAGES[104].request.name, 'ListRequest');
    assert.equal(COMMAND_MESSAGES[3].request.name, 'ClusterStatusRequest');
    assert.equal(COMMAND_MESSAGES[203].request.name, 'ImportKeyRequest');
    const names = Object.values(COMMAND_MESSAGES).flatMap((m) => [m.request.name, m.response?.name ?? '']);
    for (const n of names.filter(Boolean)) assert.ok(CODECS.some((c) => c.name === n), n);
  });
});

describe('versionResponseJson', () => {
  test('writes the protobuf-JSON keys of VersionResponse', () => {
    assert.equal(
      versionResponseJson({ version: '2024-01-01T00-00-00Z', commit: 'abc', apiVersion: 'v1', host: 'h:7373', fips140: true }),
      '{"version":"2024-01-01T00-00-00Z","commit":"abc","api_version":"v1","host":"h:7373","fips140":true}',
    );
  });

  test('omits default values', () => {
    assert.equal(versionResponseJson({}), '{}');
    assert.equal(versionResponseJson({ version: 'v', fips140: false, host: '' }), '{"version":"v"}');
  });
});

function varintTag(num: number, wire: number): Buffer {
  const out: number[] = [];
  let v = num * 8 + wire;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** Splits an encoding into its top-level fields (varint or length-delimited only). */
function splitFields(buf: Buffer): { num: number; bytes: Buffer }[] {
  const fields: { num: number; bytes: Buffer }[] = [];
  let pos = 0;
  const varint = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = buf[pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
    }
  };
  while (pos < buf.length) {
    const start = pos;
    const tag = varint();
    const value = varint();
    if (tag % 8 === 2) pos += value;
    fields.push({ num: Math.floor(tag / 8), bytes: buf.subarray(start, pos) });
  }
  return fields;
}
