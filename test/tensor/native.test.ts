/**
 * The native backend against refKernels, beyond the shared kernel suite
 * (test/tensor/kernels.test.ts, which runs every backend on small shapes):
 * sizes big enough to take the threaded paths (run on 1, 2 and 3 threads),
 * GPT-sized attention with head sizes that are not multiples of 16, special
 * values (-inf logits, exp overflow, NaN), argument checking, and the
 * OpenBLAS core-type choice. Skipped, with the reason, when the addon is not
 * built (`npm run build:native`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { refKernels as R } from '../../src/tensor/kernels/ref.ts';

const R_ = R; // the oracle, where R is a row count
import { loadNativeKernels, setNativeThreads } from '../../src/tensor/kernels/native.ts';
import { BINARY_OPS, UNARY_OPS, type Kernels } from '../../src/tensor/kernels/types.ts';
import { Rng } from '../../src/util/rng.ts';

const { kernels, info } = loadNativeKernels();
const skip = kernels ? false : `native backend unavailable: ${info.reason}`;
const N = kernels as Kernels;
const THREADS = [1, 2, 3];
const CONFIGURED_THREADS = info.threads;

function randn(rng: Rng, n: number, lo?: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo === undefined ? rng.normal() : lo + Math.abs(rng.normal());
  return a;
}
function randInt(rng: Rng, n: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.int(hi);
  return a;
}

/** |got - want| <= 1e-4 * (|want| + rms(want)); equal infinities and NaN match. */
function close(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let ss = 0, count = 0;
  for (const w of want) if (Number.isFinite(w)) { ss += w * w; count++; }
  const rms = Math.sqrt(ss / Math.max(1, count)) || 1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (g === w || (Number.isNaN(g) && Number.isNaN(w))) continue;
    if (!(Math.abs(g - w) <= 1e-4 * (Math.abs(w) + rms))) assert.fail(`${what}: element ${i} is ${g}, want ${w} (rms ${rms.toExponential(2)})`);
  }
}

/** Asserts got and want hold the same bits (NaNs included). */
function sameBits(got: Float32Array, want: Float32Array, what: string): void {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length), w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  assert.equal(g.length, w.length, `${what}: length`);
  for (let i = 0; i < w.length; i++) if (g[i] !== w[i]) assert.fail(`${what}: element ${i} is ${got[i]}, want ${want[i]} bit for bit`);
}

/**
 * Runs call on ref and native, on each thread count, with private copies of
 * outs (random, so accumulation is checked): native is close to ref, and
 * the same bits on every thread count.
 */
function both(what: string, outs: Float32Array[], call: (k: Kernels, outs: Float32Array[]) => void): void {
  const want = outs.map((o) => o.slice());
  call(R, want);
  let first: Float32Array[] | null = null;
  for (const t of THREADS) {
    setNativeThreads(t);
    const got = outs.map((o) => o.slice());
    call(N, got);
    got.forEach((g, i) => close(g, want[i], `${what} threads=${t} [out ${i}]`));
    if (first) got.forEach((g, i) => sameBits(g, first![i], `${what} threads=${t} against threads=${THREADS[0]} [out ${i}]`));
    else first = got;
  }
}

describe('native backend', { skip }, () => {
  it('reports what it loaded', () => {
    assert.equal(info.available, true);
    assert.match(info.library ?? '', /openblas/i);
    assert.ok(info.threads >= 1);
    assert.ok(info.coreTypeReason.length > 0);
  });

  it('matmul: big products split over threads, every transpose, batch strides 0', () => {
    const rng = new Rng('native/matmul');
    // [batch, M, N, K]: M >= N and M < N (row and column panels), odd sizes, many small items
    for (const [batch, M, Nn, K] of [[1, 300, 77, 129], [1, 45, 513, 70], [2, 128, 128, 64], [37, 17, 9, 33], [64, 64, 64, 32], [1, 1, 1000, 300], [1, 1000, 1, 300], [3, 50, 60, 0]]) {
      for (const tA of [false, true]) for (const tB of [false, true]) {
        for (const [sA, sB] of [[M * K, K * Nn], [0, K * Nn], [M * K, 0]]) {
          const A = randn(rng, Math.max(1, batch * sA, M * K)), B = randn(rng, Math.max(1, batch * sB, K * Nn));
          for (const acc of [false, true]) {
            both(`matmul ${batch}x${M}x${Nn}x${K} tA=${tA} tB=${tB} s=${sA},${sB} acc=${acc}`, [randn(rng, batch * M * Nn)],
              (k, [C]) => k.matmul(A, B, C, batch, M, Nn, K, tA, tB, acc, sA, sB));
          }
          if (batch === 1) break;
        }
      }
    }
  });

  it('attention and its backward: GPT sizes, T not a multiple of 16, head sizes 1..64', () => {
    const rng = new Rng('native/attention');
    // [B, T, C, H]
    for (const [B, T, C, H] of [[1, 1, 16, 1], [2, 64, 256, 8], [3, 70, 72, 3], [2, 33, 64, 4], [1, 16, 128, 2], [2, 17, 40, 5], [1, 100, 64, 1], [4, 5, 3, 3]]) {
      const qkv = randn(rng, B * T * 3 * C);
      qkv[0] = 30; // a large score: the row max must be subtracted
      both(`attention B${B} T${T} C${C} H${H}`, [new Float32Array(B * T * C), randn(rng, B * H * T * T)],
        (k, [out, att]) => k.attention(qkv, out, att, B, T, C, H));
      const out = new Float32Array(B * T * C), att = new Float32Array(B * H * T * T), dout = randn(rng, B * T * C);
      R.attention(qkv, out, att, B, T, C, H);
      both(`attentionBackward B${B} T${T} C${C} H${H}`, [randn(rng, B * T * 3 * C)],
        (k, [dqkv]) => k.attentionBackward(qkv, att, dout, dqkv, B, T, C, H));
    }
  });

  it('attention over packed rows (shared prefixes): the GRPO batch, prefixes across 16-blocks, whole shared sequences', () => {
    const rng = new Rng('native/attentionRows');
    // [groups, members, T, C, H, prefix]: members of a group share its first `prefix` positions
    for (const [G, M, T, C, H, P] of [[16, 8, 31, 128, 4, 16], [3, 4, 40, 48, 3, 21], [2, 3, 17, 32, 2, 17], [5, 1, 9, 16, 1, 0], [2, 5, 64, 64, 2, 1]]) {
      const B = G * M, rows = new Int32Array(B * T), q0 = new Int32Array(B);
      let R = 0;
      for (let s = 0; s < B; s++) {
        q0[s] = s % M === 0 ? 0 : P;
        for (let t = 0; t < T; t++) rows[s * T + t] = t < q0[s] ? rows[(s - 1) * T + t] : R++;
      }
      const qkv = randn(rng, R * 3 * C), att = new Float32Array(B * H * T * T), dout = randn(rng, R * C);
      both(`attentionRows G${G} M${M} T${T} C${C} H${H} P${P}`, [randn(rng, R * C), randn(rng, B * H * T * T)],
        (k, [out, a]) => k.attentionRows!(qkv, out, a, rows, q0, B, T, C, H));
      R_.attentionRows!(qkv, new Float32Array(R * C), att, rows, q0, B, T, C, H);
      for (const acc of [true, false]) {
        both(`attentionRowsBackward G${G} M${M} T${T} C${C} H${H} P${P} acc=${acc}`, [randn(rng, R * 3 * C)],
          (k, [dqkv]) => k.attentionRowsBackward!(qkv, att, dout, dqkv, rows, q0, B, T, C, H, acc));
      }
    }
  });

  it('unary ops and their gradients, big arrays, extreme values', () => {
    const rng = new Rng('native/unary');
    for (const op of UNARY_OPS) {
      for (const n of [1, 17, 100_003]) {
        const x = op === 'log' || op === 'sqrt' ? randn(rng, n, 0.01) : randn(rng, n).map((v) => 3 * v);
        if (n > 100 && op !== 'log' && op !== 'sqrt') x.set([0, -0, 6.5, -6.5, 30, -30, 1e-8, -1e-8, 87, -87, 89, -89, 100, -100, Infinity, -Infinity, NaN]);
        if (op === 'exp' || op === 'square') x.subarray(0, 20).forEach((v, i, a) => { a[i] = Math.max(-80, Math.min(80, v)); });
        both(`unary ${op} n${n}`, [new Float32Array(n)], (k, [y]) => k.unary(op, x, y));
        const y = new Float32Array(n), dy = randn(rng, n);
        R.unary(op, x, y);
        both(`unaryBackward ${op} n${n}`, [randn(rng, n)], (k, [dx]) => k.unaryBackward(op, x, y, dy, dx));
      }
    }
  });

  it('binary ops and reduceBroadcast: same shape, repeated rows (either side), scalars, and the general fallback', () => {
    const rng = new Rng('native/binary');
    const shapes: [number[], number[], number[]][] = [
      [[300, 257], [300, 257], [300, 257]], [[300, 257], [257], [300, 257]], [[257], [300, 257], [300, 257]],
      [[4, 300, 64], [1, 300, 64], [4, 300, 64]], [[50_000], [1], [50_000]], [[1], [50_000], [50_000]],
      [[300, 1], [300, 64], [300, 64]], [[0, 3], [3], [0, 3]],
    ];
    for (const [as, bs, os] of shapes) for (const op of BINARY_OPS) {
      const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const a = randn(rng, size(as)), b = op === 'div' ? randn(rng, size(bs), 0.5) : randn(rng, size(bs));
      both(`binary ${op} ${JSON.stringify([as, bs])}`, [new Float32Array(size(os))], (k, [out]) => k.binary(op, a, as, b, bs, out, os));
    }
    for (const [as, bs, os] of shapes) for (const dst of [as, bs]) {
      const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
      const src = randn(rng, size(os));
      both(`reduceBroadcast ${JSON.stringify([os, dst])}`, [randn(rng, size(dst))], (k, [d]) => k.reduceBroadcast(src, os, d, dst));
    }
  });

  it('rows: layernorm, softmax (with -inf), bias, cross-entropy, embeddings, adamw', () => {
    const rng = new Rng('native/rows');
    for (const [rows, n] of [[1, 1], [1, 3000], [2048, 64], [777, 129], [3, 16]]) {
      const x = randn(rng, rows * n), w = randn(rng, n), b = randn(rng, n), dy = randn(rng, rows * n);
      both(`layernorm ${rows}x${n}`, [new Float32Array(rows * n), new Float32Array(rows), new Float32Array(rows)],
        (k, [y, mean, rstd]) => k.layernorm(x, w, b, y, mean, rstd, rows, n, 1e-5));
      const y = new Float32Array(rows * n), mean = new Float32Array(rows), rstd = new Float32Array(rows);
      R.layernorm(x, w, b, y, mean, rstd, rows, n, 1e-5);
      both(`layernormBackward ${rows}x${n}`, [randn(rng, rows * n), randn(rng, n), randn(rng, n)],
        (k, [dx, dw, db]) => k.layernormBackward(x, w, mean, rstd, dy, dx, dw, db, rows, n));
      both(`addBias ${rows}x${n}`, [randn(rng, rows * n)], (k, [yy]) => k.addBias(yy, b, rows, n));
      both(`biasBackward ${rows}x${n}`, [randn(rng, n)], (k, [db]) => k.biasBackward(dy, db, rows, n));
      const masked = x.map((v, i) => (i % n > (i / n) % n ? -Infinity : v)); // causal-style -inf mask
      for (const log of [false, true]) {
        both(`softmax ${rows}x${n} log=${log}`, [new Float32Array(rows * n)], (k, [yy]) => k.softmax(masked, yy, rows, n, log));
        const p = new Float32Array(rows * n);
        R.softmax(x, p, rows, n, log);
        both(`softmaxBackward ${rows}x${n} log=${log}`, [randn(rng, rows * n)], (k, [dx]) => k.softmaxBackward(p, dy, dx, rows, n, log));
      }
      const targets = randInt(rng, rows, n);
      if (rows > 2) targets[1] = -1;
      const gs = randn(rng, rows);
      both(`crossEntropy ${rows}x${n}`, [randn(rng, rows), randn(rng, rows * n)], (k, [l, d]) => k.crossEntropy(x, targets, l, rows, n, d, gs, null));
      both(`crossEntropy ${rows}x${n} no grad`, [randn(rng, rows)], (k, [l]) => k.crossEntropy(x, targets, l, rows, n, null, null, null));
      both(`crossEntropy ${rows}x${n} entropy`, [randn(rng, rows), randn(rng, rows)], (k, [l, h]) => k.crossEntropy(x, targets, l, rows, n, null, null, h));
      const vocab = 1 + (rows % 50), ids = randInt(rng, rows, vocab), table = randn(rng, vocab * n);
      both(`embedding ${rows}x${n}`, [new Float32Array(rows * n)], (k, [out]) => k.embedding(table, ids, out, rows, n));
      both(`embeddingBackward ${rows}x${n}`, [randn(rng, vocab * n)], (k, [dt]) => k.embeddingBackward(dy, ids, dt, rows, n));
    }
    for (const n of [1, 100_000]) {
      const g = randn(rng, n), v = randn(rng, n, 0);
      both(`adamw n${n}`, [randn(rng, n), g.map((x) => 0.1 * x), v], (k, [p, m, vv]) => k.adamw(p, g, m, vv, 1e-3, 0.9, 0.95, 1e-8, 0.1, 7));
      both(`scale n${n}`, [randn(rng, n)], (k, [y]) => k.scale(g, -1.5, y));
      both(`axpy n${n}`, [randn(rng, n)], (k, [dx]) => k.axpy(g, 0.25, dx));
    }
  });

  it('rejects bad arguments with an error instead of touching memory', () => {
    const f = (n: number) => new Float32Array(n);
    assert.throws(() => N.matmul(f(5), f(6), f(4), 1, 2, 2, 3, false, false, false, 0, 0), /RangeError|argument 0 has 5 elements, needs 6/);
    assert.throws(() => N.matmul(f(12), f(6), f(8), 2, 2, 2, 3, false, false, false, 6, 6), /argument 1/);
    assert.throws(() => N.matmul(f(6), f(6), f(4), 1, 2.5, 2, 3, false, false, false, 0, 0), /integer/);
    assert.throws(() => N.attention(f(3 * 8 * 2), f(8 * 2), f(4 * 4), 1, 2, 8, 3), /not a multiple/);
    assert.throws(() => N.embedding(f(12), new Int32Array([0, 3]), f(8), 2, 4), /out of range/);
    assert.throws(() => N.crossEntropy(f(6), new Int32Array([1, 3]), f(2), 2, 3, null, null, null), /out of range/);
    assert.throws(() => N.layernorm(f(8), f(4), f(4), f(8), f(2), f(1), 2, 4, 1e-5), /argument 5/);
    assert.throws(() => N.scale(new Float64Array(4) as unknown as Float32Array, 2, f(4)), /Float32Array/);
    // packed rows (2 sequences of 2 positions, C = 2, one head): a row out of range, a shared position in another row, a row owned twice
    const i32 = (...xs: number[]) => Int32Array.from(xs);
    assert.throws(() => N.attentionRows!(f(4 * 6), f(4 * 2), f(8), i32(0, 1, 2, 4), i32(0, 0), 2, 2, 2, 1), /outside \[0, 4\)/);
    assert.throws(() => N.attentionRows!(f(3 * 6), f(3 * 2), f(8), i32(0, 1, 2, 1), i32(0, 1), 2, 2, 2, 1), /shares position 0/);
    assert.throws(() => N.attentionRows!(f(3 * 6), f(3 * 2), f(8), i32(0, 1, 1, 2), i32(0, 0), 2, 2, 2, 1), /owned by two/);
    assert.throws(() => N.attentionRowsBackward!(f(4 * 6), f(8), f(4 * 2), f(4 * 6), i32(0, 1, 2, 3), i32(1, 0), 2, 2, 2, 1, false), /q0\[0\]/);
  });

  it('picks the OpenBLAS core type before the library loads, and restores the environment', () => {
    const script = `
      const { loadNativeKernels } = await import(${JSON.stringify(fileURLToPath(new URL('../../src/tensor/kernels/native.ts', import.meta.url)))});
      const { info } = loadNativeKernels();
      console.log(JSON.stringify({ info, env: process.env.OPENBLAS_CORETYPE ?? null }));`;
    const run = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, FLYWHEEL_BLAS_CORETYPE: '', OPENBLAS_CORETYPE: '', ...env }, encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { info: typeof info; env: string | null };
    };
    const ambient = run({ OPENBLAS_CORETYPE: 'Haswell' });
    assert.equal(ambient.info.ambientCoreType, 'Haswell');
    assert.equal(ambient.env, 'Haswell');
    if (/SKYLAKEX/.test(info.coreType ?? '')) {
      assert.equal(ambient.info.coreType, 'SKYLAKEX');
      assert.equal(ambient.info.blasCore, 'SkylakeX');
    }
    const forced = run({ FLYWHEEL_BLAS_CORETYPE: 'Haswell' });
    assert.equal(forced.info.coreType, 'Haswell');
    assert.equal(forced.info.coreTypeReason, 'forced by FLYWHEEL_BLAS_CORETYPE');
    assert.equal(forced.info.blasCore, 'Haswell');
  });

  it('is safe to call from a worker thread while the main thread uses the pool', async () => {
    setNativeThreads(2);
    // the worker calls the addon directly (no TypeScript loader in an eval worker)
    const code = `
      const { parentPort } = require('node:worker_threads');
      const addon = require(${JSON.stringify(info.addon)});
      const [B, T, C, H] = [4, 64, 64, 4];
      const qkv = new Float32Array(B * T * 3 * C).map((_, i) => Math.sin(i));
      const out = new Float32Array(B * T * C), att = new Float32Array(B * H * T * T);
      const sums = [];
      for (let r = 0; r < 200; r++) { addon.attention(qkv, out, att, B, T, C, H); sums.push(out.reduce((a, b) => a + b, 0)); }
      parentPort.postMessage(sums);`;
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker(code, { eval: true });
    const done = new Promise<number[]>((res, rej) => { worker.once('message', res); worker.once('error', rej); });
    const rng = new Rng('native/worker');
    const x = randn(rng, 2048 * 300), w = randn(rng, 300), b = randn(rng, 300);
    const want = [new Float32Array(x.length), new Float32Array(2048), new Float32Array(2048)];
    R.layernorm(x, w, b, want[0], want[1], want[2], 2048, 300, 1e-5);
    for (let r = 0; r < 200; r++) {
      const got = [new Float32Array(x.length), new Float32Array(2048), new Float32Array(2048)];
      N.layernorm(x, w, b, got[0], got[1], got[2], 2048, 300, 1e-5);
      got.forEach((g, i) => close(g, want[i], `layernorm beside a worker, round ${r}`));
    }
    const sums = await done;
    await worker.terminate();
    assert.equal(sums.length, 200);
    assert.ok(sums.every((s) => s === sums[0]), 'the worker got the same result every round');
  });

  it('runs on the configured threads again', () => setNativeThreads(CONFIGURED_THREADS));
});
