// Checkpoint directories: exact round trips, atomic replacement, crash recovery, and clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint, saveCheckpoint, validateAgainst, type Checkpoint } from '../../src/nn/checkpoint.ts';
import { serializeSafetensors, type SafeTensor } from '../../src/nn/safetensors.ts';
import { UserError } from '../../src/util/errors.ts';
import { Rng } from '../../src/util/rng.ts';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'flywheel-ck-'));
}

/** Random floats (no NaN) with the awkward values planted at the front. */
function floats(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    do bits[i] = rng.u32();
    while (Number.isNaN(out[i]));
  }
  out.set([-0, 1e-45, -1.1754942e-38, Infinity, -Infinity].slice(0, n));
  return out;
}

function makeCheckpoint(seed: number, withOptimizer = true): Checkpoint {
  const rng = new Rng(seed);
  const shapes: [string, number[]][] = [['wte.weight', [7, 4]], ['blocks.0.attn.c_attn.weight', [12, 4]], ['ln_f.bias', [4]]];
  const params = new Map(shapes.map(([name, shape]) => [name, { shape, data: floats(rng, shape.reduce((a, b) => a * b, 1)) }]));
  const moments = () => new Map(shapes.map(([name]) => [name, floats(rng, params.get(name)!.data.length)]));
  return {
    params,
    optimizer: withOptimizer ? { m: moments(), v: moments() } : null,
    config: { model: { nLayer: 1, nEmbd: 4 }, train: { lr: 3e-4 } },
    tokenizer: { kind: 'char', chars: ['a', 'b'] },
    rng: { data: rng.getState(), init: { s: [1, 2, 3, 4], spare: -0.5 } },
    state: { step: 12, tokensSeen: 4096, cursor: 77, adamStep: 12 },
  };
}

/** Bit-level equality of every tensor, deep equality of the JSON parts. */
function assertSameCheckpoint(a: Checkpoint, b: Checkpoint): void {
  const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
  assert.deepEqual([...a.params.keys()].sort(), [...b.params.keys()].sort());
  for (const [name, p] of a.params) {
    assert.deepEqual(b.params.get(name)!.shape, p.shape, name);
    assert.deepEqual(bits(b.params.get(name)!.data), bits(p.data), name);
    if (a.optimizer) {
      assert.deepEqual(bits(b.optimizer!.m.get(name)!), bits(a.optimizer.m.get(name)!), `m.${name}`);
      assert.deepEqual(bits(b.optimizer!.v.get(name)!), bits(a.optimizer.v.get(name)!), `v.${name}`);
    }
  }
  assert.equal(b.optimizer === null, a.optimizer === null);
  for (const key of ['config', 'tokenizer', 'rng', 'state'] as const) assert.deepEqual(b[key], a[key], key);
}

const isUserError = (re: RegExp) => (err: unknown) => err instanceof UserError && re.test(err.message);

test('round trip is bit for bit, with and without optimizer state', () => {
  const root = tmp();
  try {
    const ck = makeCheckpoint(1);
    assert.ok(Object.is(ck.params.get('wte.weight')!.data[0], -0));
    saveCheckpoint(join(root, 'ck'), ck);
    assert.deepEqual(readdirSync(root), ['ck']);
    assert.deepEqual(readdirSync(join(root, 'ck')).sort(), [
      'checkpoint.json', 'config.json', 'model.safetensors', 'optimizer.safetensors', 'rng.json', 'state.json', 'tokenizer.json',
    ]);
    assertSameCheckpoint(ck, loadCheckpoint(join(root, 'ck')));

    const bare = makeCheckpoint(2, false);
    saveCheckpoint(join(root, 'nested', 'bare'), bare);
    assert.ok(!existsSync(join(root, 'nested', 'bare', 'optimizer.safetensors')));
    assertSameCheckpoint(bare, loadCheckpoint(join(root, 'nested', 'bare')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('saving over a checkpoint replaces it and leaves nothing behind', () => {
  const root = tmp();
  try {
    const dir = join(root, 'ck');
    saveCheckpoint(dir, makeCheckpoint(1));
    const second = makeCheckpoint(2, false);
    saveCheckpoint(dir + '/', second); // a trailing slash changes nothing
    assert.deepEqual(readdirSync(root), ['ck']);
    assertSameCheckpoint(second, loadCheckpoint(dir));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a save that fails midway leaves the previous checkpoint intact and no temp dir', () => {
  const root = tmp();
  try {
    const dir = join(root, 'ck');
    const first = makeCheckpoint(1);
    saveCheckpoint(dir, first);
    // JSON.stringify throws on a BigInt, after model.safetensors has been written
    const broken = { ...makeCheckpoint(2), config: { lr: 1n } };
    assert.throws(() => saveCheckpoint(dir, broken), /BigInt/);
    assert.deepEqual(readdirSync(root), ['ck']);
    assertSameCheckpoint(first, loadCheckpoint(dir));

    assert.throws(() => saveCheckpoint(join(root, 'fresh'), broken), /BigInt/);
    assert.deepEqual(readdirSync(root), ['ck']);

    // a failing file system write (the parent "directory" is a file) is a UserError
    writeFileSync(join(root, 'afile'), 'x');
    assert.throws(() => saveCheckpoint(join(root, 'afile', 'ck'), first), isUserError(/afile.ck: cannot write checkpoint/));
    assert.deepEqual(readdirSync(root).sort(), ['afile', 'ck']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('programmer errors in the checkpoint throw before anything is written', () => {
  const root = tmp();
  try {
    const ck = makeCheckpoint(1);
    ck.optimizer!.v.set('ln_f.bias', new Float32Array(3));
    assert.throws(() => saveCheckpoint(join(root, 'ck'), ck), /optimizer v for "ln_f.bias" has 3 elements, param has 4/);
    const bad = makeCheckpoint(1);
    bad.params.set('x', { shape: [2, 2], data: new Float32Array(3) });
    assert.throws(() => saveCheckpoint(join(root, 'ck'), bad), /param "x" has shape \[2, 2\] but 3 elements/);
    assert.deepEqual(readdirSync(root), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('loading recovers from a crash between the two renames of a save', () => {
  const root = tmp();
  try {
    const dir = join(root, 'ck');
    const older = makeCheckpoint(1);
    const newer = makeCheckpoint(2);
    saveCheckpoint(join(root, 'a'), older);
    saveCheckpoint(join(root, 'b'), newer);
    renameSync(join(root, 'a'), `${dir}.old-999-0`); // old moved aside ...
    renameSync(join(root, 'b'), `${dir}.tmp-999-1`); // ... complete new one not yet renamed
    cpSync(`${dir}.tmp-999-1`, `${dir}.tmp-999-2`, { recursive: true });
    rmSync(join(`${dir}.tmp-999-2`, 'checkpoint.json')); // an incomplete build is ignored
    assertSameCheckpoint(newer, loadCheckpoint(dir));
    rmSync(`${dir}.tmp-999-1`, { recursive: true });
    assertSameCheckpoint(older, loadCheckpoint(dir));

    const third = makeCheckpoint(3);
    saveCheckpoint(dir, third); // and the next save clears the leftovers
    assert.deepEqual(readdirSync(root), ['ck']);
    assertSameCheckpoint(third, loadCheckpoint(dir));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('missing, truncated and corrupt files are UserErrors naming the file', () => {
  const root = tmp();
  try {
    assert.throws(() => loadCheckpoint(join(root, 'nope')), isUserError(/nope: checkpoint directory does not exist/));
    const dir = join(root, 'ck');
    const fresh = () => {
      rmSync(dir, { recursive: true, force: true });
      saveCheckpoint(dir, makeCheckpoint(1));
    };
    const expectLoadError = (re: RegExp) => assert.throws(() => loadCheckpoint(dir), isUserError(re), String(re));

    fresh();
    rmSync(join(dir, 'config.json'));
    expectLoadError(/ck.config\.json: missing from the checkpoint/);

    fresh();
    rmSync(join(dir, 'checkpoint.json'));
    expectLoadError(/ck.checkpoint\.json: missing; .* is not a complete flywheel checkpoint/);

    fresh();
    const model = join(dir, 'model.safetensors');
    const size = readFileSync(model).length;
    truncateSync(model, size - 3);
    expectLoadError(new RegExp(`ck.model\\.safetensors: size mismatch: ${size - 3} bytes, but checkpoint.json records ${size} \\(changed or truncated`));

    fresh(); // a hand edit of config.json that changes its size says which file and how to make it load
    const config = join(dir, 'config.json');
    writeFileSync(config, readFileSync(config, 'utf8').replace('{', '{ "note": "edited",'));
    expectLoadError(/ck.config\.json: size mismatch: .* if you edited it on purpose, set its size in checkpoint.json to \d+\)/);

    fresh();
    const state = join(dir, 'state.json');
    writeFileSync(state, '#'.repeat(readFileSync(state).length)); // same size, garbage
    expectLoadError(/ck.state\.json: not valid JSON/);

    fresh();
    const bytes = readFileSync(model);
    bytes[8] = 0x78; // 'x' in place of the header's opening '{'
    writeFileSync(model, bytes);
    expectLoadError(/ck.model\.safetensors: header is not valid UTF-8 JSON/);

    // an optimizer moment whose size does not match its parameter
    fresh();
    const ck = makeCheckpoint(1);
    const moments = new Map<string, SafeTensor>();
    for (const [name, p] of ck.params) {
      moments.set(`m.${name}`, { dtype: 'F32', shape: p.shape, data: ck.optimizer!.m.get(name)! });
      moments.set(`v.${name}`, { dtype: 'F32', shape: name === 'ln_f.bias' ? [5] : p.shape, data: new Float32Array(name === 'ln_f.bias' ? 5 : p.data.length) });
    }
    replaceFile(dir, 'optimizer.safetensors', serializeSafetensors(moments));
    expectLoadError(/ck.optimizer\.safetensors: tensor "v.ln_f.bias" has shape \[5\] but parameter "ln_f.bias" has \[4\]/);

    moments.set('v.ln_f.bias', { dtype: 'F32', shape: [4], data: new Float32Array(4) });
    moments.set('m.extra', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    replaceFile(dir, 'optimizer.safetensors', serializeSafetensors(moments));
    expectLoadError(/ck.optimizer\.safetensors: unexpected tensor "m.extra"/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Rewrites a file inside a checkpoint and its size in the manifest, as a careless tool would. */
function replaceFile(dir: string, file: string, bytes: Uint8Array): void {
  writeFileSync(join(dir, file), bytes);
  const manifest = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
  manifest.files[file] = bytes.length;
  writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify(manifest));
}

test('validateAgainst names missing, unexpected and wrong-shaped tensors', () => {
  const ck = makeCheckpoint(1);
  const expected = new Map<string, number[]>([
    ['wte.weight', [7, 4]],
    ['blocks.0.attn.c_attn.weight', [4, 12]],
    ['lm_head.weight', [7, 4]],
  ]);
  assert.throws(
    () => validateAgainst(ck, expected, 'runs/x/ck'),
    isUserError(/^runs\/x\/ck: does not match the model \(3 problems\): "blocks.0.attn.c_attn.weight" has shape \[12, 4\], the model expects \[4, 12\]; missing "lm_head.weight" \[7, 4\]; unexpected "ln_f.bias"$/),
  );
  expected.set('blocks.0.attn.c_attn.weight', [12, 4]).set('ln_f.bias', [4]).delete('lm_head.weight');
  validateAgainst(ck, expected);
});

test('an inference checkpoint needs only weights and config; extra tensors round-trip', () => {
  const dir = join(tmp(), 'inference');
  const full = makeCheckpoint(5, false);
  saveCheckpoint(dir, { params: full.params, optimizer: null, config: full.config, tokenizer: full.tokenizer });
  assert.deepEqual(readdirSync(dir).sort(), ['checkpoint.json', 'config.json', 'model.safetensors', 'tokenizer.json']);
  const back = loadCheckpoint(dir);
  assert.equal(back.rng, undefined);
  assert.equal(back.state, undefined);
  assert.deepEqual(back.tokenizer, full.tokenizer);

  const withExtra = join(tmp(), 'extra');
  const extra = new Map<string, SafeTensor>([
    ['buffer.x', { dtype: 'F32', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, -0) }],
    ['buffer.n', { dtype: 'I32', shape: [2], data: Int32Array.of(7, -9) }],
  ]);
  saveCheckpoint(withExtra, { ...full, extra });
  const got = loadCheckpoint(withExtra).extra!;
  assert.deepEqual([...got.keys()].sort(), ['buffer.n', 'buffer.x']);
  assert.deepEqual([...got.get('buffer.n')!.data], [7, -9]);
  assert.ok(Object.is(got.get('buffer.x')!.data[5], -0));
});
