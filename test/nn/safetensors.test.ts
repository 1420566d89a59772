// safetensors: exact byte layout, round trips, corrupt files, and a Python reader as the oracle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors, type SafeTensor } from '../../src/nn/safetensors.ts';
import { UserError } from '../../src/util/errors.ts';
import { Rng } from '../../src/util/rng.ts';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'flywheel-st-'));
}

function tiny(): Map<string, SafeTensor> {
  // inserted out of order on purpose: the file sorts by name
  return new Map<string, SafeTensor>([
    ['b', { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) }],
    ['a', { dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) }],
  ]);
}

test('tiny file matches the hand-computed byte layout', () => {
  const header = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}';
  assert.equal(header.length, 138); // padded with 6 spaces to 144 so the data starts at 152 = 19 * 8
  const expected = Buffer.concat([
    Buffer.from([144, 0, 0, 0, 0, 0, 0, 0]), // u64 LE header length
    Buffer.from(header + '      ', 'utf8'),
    Buffer.from([0x00, 0x00, 0x80, 0x3f]), // 1.0f LE
    Buffer.from([0x00, 0x00, 0x00, 0xc0]), // -2.0f LE
    Buffer.from([1, 2, 3]),
  ]);
  const got = serializeSafetensors(tiny(), { format: 'pt' });
  assert.equal(got.length, 163);
  assert.deepEqual(Buffer.from(got), expected);
});

test('round trip of every dtype, scalars, empty tensors and metadata', () => {
  const rng = new Rng(1);
  const f = new Float32Array(6 * 5).map(() => rng.normal());
  const tensors = new Map<string, SafeTensor>([
    ['w', { dtype: 'F32', shape: [6, 5], data: f }],
    ['ids', { dtype: 'I32', shape: [4], data: new Int32Array([0, -1, 2147483647, -2147483648]) }],
    ['big', { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 62n + 7n]) }],
    ['mask', { dtype: 'U8', shape: [1, 3], data: new Uint8Array([0, 255, 7]) }],
    ['scalar', { dtype: 'F32', shape: [], data: new Float32Array([3.5]) }],
    ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
  ]);
  const dir = tmp();
  try {
    const path = join(dir, 'x.safetensors');
    writeSafetensors(path, tensors, { note: 'hello ✓' });
    assert.deepEqual(readdirSync(dir), ['x.safetensors']); // no temp file left behind
    const back = readSafetensors(path);
    assert.deepEqual(back.metadata, { note: 'hello ✓' });
    assert.deepEqual([...back.tensors.keys()], ['big', 'empty', 'ids', 'mask', 'scalar', 'w']);
    for (const [name, t] of tensors) assert.deepEqual(back.tensors.get(name), t, name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('float bits survive exactly: -0, denormals, infinities, NaN payloads', () => {
  const bits = new Uint32Array([0x80000000, 0x00000001, 0x807fffff, 0x7f800000, 0xff800000, 0x7fc00001, 0x7f800abc, 0x3f800000]);
  const data = new Float32Array(bits.buffer.slice(0));
  const back = parseSafetensors(serializeSafetensors(new Map([['x', { dtype: 'F32', shape: [8], data }]])), 'mem');
  assert.deepEqual(new Uint32Array(back.tensors.get('x')!.data.buffer), bits);
});

test('writing rejects programmer errors with the offending values', () => {
  const bad = (t: SafeTensor) => () => serializeSafetensors(new Map([['t', t]]));
  assert.throws(bad({ dtype: 'F32', shape: [2, 2], data: new Float32Array(3) }), /"t" has shape \[2, 2\] \(4 elements\) but 3/);
  assert.throws(bad({ dtype: 'I32', shape: [2], data: new Float32Array(2) }), /dtype I32 but data is Float32Array/);
  assert.throws(bad({ dtype: 'F32', shape: [-1], data: new Float32Array(0) }), /invalid shape \[-1\]/);
});

test('corrupt and truncated files are UserErrors naming the file, tensor and problem', () => {
  const good = serializeSafetensors(tiny());
  const headerLen = Number(new DataView(good.buffer).getBigUint64(0, true));
  const withHeader = (json: string, dataBytes = 16): Uint8Array => {
    const h = Buffer.from(json);
    const out = Buffer.alloc(8 + h.length + dataBytes);
    out.writeBigUInt64LE(BigInt(h.length), 0);
    h.copy(out, 8);
    return out;
  };
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, 5), /f\.st: file too short .*5 bytes/],
    [good.subarray(0, 8 + headerLen - 1), new RegExp(`f\\.st: header length ${headerLen} runs past the end of the file`)],
    [good.subarray(0, good.length - 1), /f\.st: tensor "b": data_offsets \[8, 11\] run past the end of the data \(10 bytes\)/],
    [withHeader('{"a": '), /f\.st: header is not valid UTF-8 JSON/],
    [withHeader('[1, 2]'), /f\.st: header is not a JSON object/],
    [withHeader('{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}'), /tensor "a": unsupported dtype "F16"/],
    [withHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}'), /tensor "a": data_offsets \[0, 4\] hold 4 bytes but F32 \[2\] needs 8/],
    [withHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,0]}}'), /tensor "a": data_offsets \[4,0\] is not \[begin, end\]/],
    [withHeader('{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}'), /tensor "a": shape \[2.5\] is not a list/],
    [withHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[6,10]}}'), /tensor "b" data \[6, 10\] overlaps tensor "a" \[0, 8\]/],
    [withHeader('{"__metadata__":{"n":1}}'), /"__metadata__" value "n" is not a string/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(() => parseSafetensors(bytes, 'f.st'), (err: unknown) => err instanceof UserError && re.test(err.message), String(re));
  }
  const dir = tmp();
  try {
    const missing = join(dir, 'nope.safetensors');
    assert.throws(() => readSafetensors(missing), (err: unknown) => err instanceof UserError && err.message.includes(missing) && /ENOENT/.test(err.message));
    const truncated = join(dir, 'trunc.safetensors');
    writeFileSync(truncated, good.subarray(0, 20));
    assert.throws(() => readSafetensors(truncated), (err: unknown) => err instanceof UserError && err.message.startsWith(`${truncated}: header length`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Python reads our file with numpy (independent reader)', (t) => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip('python3 with numpy not available; skipping the Python interop check');
    return;
  }
  const rng = new Rng(7);
  const w = new Float32Array(3 * 4).map(() => rng.normal());
  const dir = tmp();
  try {
    const path = join(dir, 'model.safetensors');
    writeSafetensors(path, new Map<string, SafeTensor>([
      ['w', { dtype: 'F32', shape: [3, 4], data: w }],
      ['ids', { dtype: 'I64', shape: [2], data: new BigInt64Array([5n, -9n]) }],
      ['m', { dtype: 'U8', shape: [3], data: new Uint8Array([9, 8, 7]) }],
    ]), { format: 'pt' });
    // The format from its spec, in a few lines of numpy: no flywheel code involved.
    const script = `
import json, struct, sys, numpy as np
raw = open(sys.argv[1], 'rb').read()
n, = struct.unpack('<Q', raw[:8])
assert (8 + n) % 8 == 0
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
types = {'F32': '<f4', 'I32': '<i4', 'I64': '<i8', 'U8': 'u1'}
out = {'__metadata__': header.pop('__metadata__')}
for name, t in header.items():
    b, e = t['data_offsets']
    a = np.frombuffer(data[b:e], dtype=types[t['dtype']]).reshape(t['shape'])
    out[name] = {'shape': list(a.shape), 'hex': a.tobytes().hex(), 'values': a.ravel().tolist()}
print(json.dumps(out))
`;
    const res = spawnSync('/usr/bin/python3', ['-c', script, path], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    assert.deepEqual(out.__metadata__, { format: 'pt' });
    assert.deepEqual(out.w.shape, [3, 4]);
    assert.equal(out.w.hex, Buffer.from(w.buffer).toString('hex'));
    assert.deepEqual(out.w.values, [...w]);
    assert.deepEqual(out.ids.values, [5, -9]);
    assert.deepEqual(out.m.values, [9, 8, 7]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
