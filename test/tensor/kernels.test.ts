/**
 * The shared kernel suite: every backend's every kernel against refKernels
 * (the oracle) on seeded random inputs, over shapes chosen to hit edges:
 * odd sizes, size-1 dims, all transA/transB combinations, batch stride 0,
 * T = 1, accumulate on and off, ignored rows (target < 0).
 *
 * Backends that cannot load here (wasm not built, native addon missing) are
 * skipped with their reason. A kernel added to the interface without a case
 * below is a compile error (the `satisfies` on `cases`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { refKernels as R } from '../../src/tensor/kernels/ref.ts';
import { jsKernels } from '../../src/tensor/kernels/js.ts';
import { BINARY_OPS, UNARY_OPS, type Kernels } from '../../src/tensor/kernels/types.ts';
import { blockFloats, composedGptStep, type GptStepArgs } from '../../src/tensor/kernels/gpt_step.ts';
import { Rng } from '../../src/util/rng.ts';

// ---------------------------------------------------------------- backends under test

type Backend = { name: string; kernels: Kernels | null; reason?: string };

async function loadBackends(): Promise<Backend[]> {
  const out: Backend[] = [{ name: 'js', kernels: jsKernels }];
  try {
    const m = await import('../../src/tensor/kernels/wasm.ts');
    const r = m.loadWasmKernels();
    // wait for the workers, so the multi-threaded matmul path is what gets tested
    const threads = await m.wasmThreadsReady();
    out.push({ name: threads > 1 ? `wasm (${threads} threads)` : 'wasm', kernels: r.kernels, reason: r.reason });
  } catch (e) {
    out.push({ name: 'wasm', kernels: null, reason: `wasm.ts failed to load: ${(e as Error).message}` });
  }
  try {
    const m = await import('../../src/tensor/kernels/native.ts');
    const r = m.loadNativeKernels();
    out.push({ name: 'native', kernels: r.kernels, reason: r.kernels ? undefined : r.info.reason ?? 'unavailable' });
  } catch (e) {
    out.push({ name: 'native', kernels: null, reason: `native.ts failed to load: ${(e as Error).message}` });
  }
  return out;
}

// ---------------------------------------------------------------- helpers

const RTOL = 1e-4;

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

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** |got - want| <= RTOL * (|want| + rms(want)) elementwise, with the first offender in the message. */
function close(got: Float32Array | Int32Array, want: Float32Array | Int32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let ss = 0;
  for (let i = 0; i < want.length; i++) ss += want[i] * want[i];
  const rms = Math.sqrt(ss / Math.max(1, want.length)) || 1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (!(Math.abs(g - w) <= RTOL * (Math.abs(w) + rms))) {
      assert.fail(`${what}: element ${i} is ${g}, want ${w} (rms ${rms.toExponential(2)})`);
    }
  }
}

/**
 * Ref's outputs, computed once and shared by every backend: a case draws the
 * same seeded inputs for each backend, so its n-th call has the same answer.
 */
const refCache = new Map<string, (Float32Array | Int32Array)[]>();
let currentCase = '', callNo = 0;

/** Runs `call` on ref and on K with private copies of `outs` (initialised randomly, so accumulation is checked), then compares them. */
function both(K: Kernels, what: string, outs: (Float32Array | Int32Array)[], call: (k: Kernels, outs: (Float32Array | Int32Array)[]) => void): void {
  const key = `${currentCase}#${callNo++}: ${what}`;
  let want = refCache.get(key);
  if (!want) {
    want = outs.map((o) => o.slice());
    call(R, want);
    refCache.set(key, want);
  }
  const got = outs.map((o) => o.slice());
  call(K, got);
  for (let i = 0; i < outs.length; i++) close(got[i], want[i], `${what} [out ${i}]`);
}

const F = (x: Float32Array | Int32Array) => x as Float32Array;

/** k.biasGelu, or the composition ops.linearGelu runs when it is null. */
function biasGelu(k: Kernels, x: Float32Array, bias: Float32Array, y: Float32Array, dGelu: Float32Array | null, rows: number, n: number): void {
  if (k.biasGelu) return k.biasGelu(x, bias, y, dGelu, rows, n);
  const t = x.slice();
  k.addBias(t, bias, rows, n);
  k.unary('gelu', t, y);
  if (dGelu) k.unaryBackward('gelu', t, y, new Float32Array(rows * n).fill(1), dGelu.fill(0));
}

/**
 * A packed-rows layout for attentionRows: B sequences of T positions; a
 * third of them start a group, the others share a random number of leading
 * positions (0..T) with the sequence before; row indices shuffled.
 */
function randomLayout(rng: Rng, B: number, T: number): { rows: Int32Array; q0: Int32Array; R: number } {
  const rows = new Int32Array(B * T), q0 = new Int32Array(B);
  let R = 0;
  for (let s = 0; s < B; s++) {
    const lead = s === 0 || rng.int(3) === 0; // a new group
    q0[s] = lead ? 0 : rng.int(T + 1);
    for (let t = 0; t < T; t++) rows[s * T + t] = t < q0[s] ? rows[(s - 1) * T + t] : R++;
  }
  const perm = Array.from({ length: R }, (_, i) => i);
  for (let i = R - 1; i > 0; i--) { const j = rng.int(i + 1); [perm[i], perm[j]] = [perm[j], perm[i]]; }
  for (let i = 0; i < rows.length; i++) rows[i] = perm[rows[i]];
  return { rows, q0, R };
}

/** k.attentionRows, or the composition ops.causalAttentionRows runs without it (each sequence gathered whole). */
function attentionRows(k: Kernels, qkv: Float32Array, out: Float32Array, att: Float32Array, rows: Int32Array, q0: Int32Array, B: number, T: number, C: number, H: number): void {
  if (k.attentionRows) return k.attentionRows(qkv, out, att, rows, q0, B, T, C, H);
  const full = new Float32Array(B * T * 3 * C), y = new Float32Array(B * T * C);
  k.embedding(qkv, rows, full, B * T, 3 * C);
  k.attention(full, y, att, B, T, C, H);
  for (let s = 0; s < B; s++) for (let t = 0; t < T; t++) {
    if (t >= q0[s]) out.set(y.subarray((s * T + t) * C, (s * T + t + 1) * C), rows[s * T + t] * C);
    else for (let h = 0; h < H; h++) att.fill(0, ((s * H + h) * T + t) * T, ((s * H + h) * T + t + 1) * T);
  }
}

/** k.attentionRowsBackward, or its composition. */
function attentionRowsBackward(k: Kernels, qkv: Float32Array, att: Float32Array, dout: Float32Array, dqkv: Float32Array, rows: Int32Array, q0: Int32Array, B: number, T: number, C: number, H: number, acc: boolean): void {
  if (k.attentionRowsBackward) return k.attentionRowsBackward(qkv, att, dout, dqkv, rows, q0, B, T, C, H, acc);
  const full = new Float32Array(B * T * 3 * C), dFull = new Float32Array(B * T * 3 * C), dy = new Float32Array(B * T * C);
  k.embedding(qkv, rows, full, B * T, 3 * C);
  for (let s = 0; s < B; s++) for (let t = q0[s]; t < T; t++) dy.set(dout.subarray(rows[s * T + t] * C, (rows[s * T + t] + 1) * C), (s * T + t) * C);
  k.attentionBackward(full, att, dy, dFull, B, T, C, H);
  if (!acc) dqkv.fill(0);
  k.embeddingBackward(dFull, rows, dqkv, B * T, 3 * C);
}

/** k.biasGeluBackward, or its composition. */
function biasGeluBackward(k: Kernels, dGelu: Float32Array, dy: Float32Array, dx: Float32Array, dBias: Float32Array, rows: number, n: number): void {
  if (k.biasGeluBackward) return k.biasGeluBackward(dGelu, dy, dx, dBias, rows, n);
  const shape = [rows, n];
  k.binary('mul', dy, shape, dGelu, shape, dx, shape);
  k.biasBackward(dx, dBias, rows, n);
}
const I = (x: Float32Array | Int32Array) => x as Int32Array;

// ---------------------------------------------------------------- cases, one per kernel

type Case = (K: Kernels, rng: Rng) => void;

const MATMUL_SHAPES: [number, number, number, number][] = [
  // [batch, M, N, K]
  [1, 1, 1, 1], [1, 1, 7, 3], [1, 5, 1, 9], [1, 7, 13, 17], [2, 33, 65, 31], [1, 64, 48, 300],
  [1, 3, 600, 4], [3, 16, 16, 16], [2, 20, 36, 8], [1, 4, 4, 0], [1, 130, 129, 70],
  // large enough to be split across threads: by rows, by columns, by batch items
  [2, 97, 200, 130], [1, 41, 301, 200], [1, 20, 300, 200], [5, 40, 50, 120],
];

const BROADCAST_SHAPES: [number[], number[], number[]][] = [
  // [a, b, out]
  [[3, 4], [3, 4], [3, 4]], [[3, 4], [1], [3, 4]], [[1], [3, 4], [3, 4]], [[3, 4], [4], [3, 4]],
  [[3, 1], [1, 4], [3, 4]], [[2, 3, 4], [3, 1], [2, 3, 4]], [[2, 1, 5], [4, 1], [2, 4, 5]],
  [[1, 1], [1, 1], [1, 1]], [[7], [7], [7]], [[2, 3, 1, 5], [3, 4, 5], [2, 3, 4, 5]], [[5, 1], [5, 6], [5, 6]],
  [[2, 64, 3], [64, 3], [2, 64, 3]],
];

const ATTN_SHAPES: [number, number, number, number][] = [
  // [B, T, C, H]
  [1, 1, 4, 1], [2, 1, 8, 2], [2, 5, 12, 3], [3, 17, 32, 4], [1, 64, 128, 4], [2, 9, 20, 1], [2, 7, 15, 3], [1, 70, 24, 2],
  [4, 64, 64, 2], // large enough to be split across threads
];

const ROWS_N: [number, number][] = [[1, 1], [1, 7], [5, 3], [9, 64], [33, 128], [4, 257]];

const cases = {
  matmul(K, rng) {
    for (const [batch, M, N, Kd] of MATMUL_SHAPES) {
      for (const transA of [false, true]) for (const transB of [false, true]) {
        for (const [sa, sb] of [[M * Kd, Kd * N], [0, Kd * N], [M * Kd, 0]]) {
          const A = randn(rng, Math.max(1, sa * batch, M * Kd)), B = randn(rng, Math.max(1, sb * batch, Kd * N));
          for (const acc of [false, true]) {
            both(K, `matmul b${batch} M${M} N${N} K${Kd} tA=${transA} tB=${transB} sA=${sa} sB=${sb} acc=${acc}`,
              [randn(rng, batch * M * N)], (k, [C]) => k.matmul(A, B, F(C), batch, M, N, Kd, transA, transB, acc, sa, sb));
          }
          if (batch === 1) break; // strides are irrelevant without a batch
        }
      }
    }
  },

  binary(K, rng) {
    for (const [as, bs, os] of BROADCAST_SHAPES) for (const op of BINARY_OPS) {
      const a = randn(rng, size(as)), b = op === 'div' ? randn(rng, size(bs), 0.5) : randn(rng, size(bs));
      both(K, `binary ${op} ${JSON.stringify([as, bs])}`, [new Float32Array(size(os))], (k, [out]) => k.binary(op, a, as, b, bs, F(out), os));
    }
  },

  reduceBroadcast(K, rng) {
    for (const [as, bs, os] of BROADCAST_SHAPES) for (const dst of [as, bs]) {
      const src = randn(rng, size(os));
      both(K, `reduceBroadcast ${JSON.stringify([os, dst])}`, [randn(rng, size(dst))], (k, [d]) => k.reduceBroadcast(src, os, F(d), dst));
    }
  },

  unary(K, rng) {
    for (const op of UNARY_OPS) for (const n of [1, 7, 1000, 150_001]) { // the largest splits across threads
      const x = op === 'log' || op === 'sqrt' ? randn(rng, n, 0.05) : randn(rng, n);
      if (op === 'gelu' && n === 1000) x.set([0, -0, 6.5, -6.5, 30, -30, 1e-8, 3, -3]);
      both(K, `unary ${op} n${n}`, [new Float32Array(n)], (k, [y]) => k.unary(op, x, F(y)));
    }
  },

  unaryBackward(K, rng) {
    for (const op of UNARY_OPS) for (const n of [1, 7, 1000, 150_001]) { // the largest splits across threads
      const x = op === 'log' || op === 'sqrt' ? randn(rng, n, 0.05) : randn(rng, n);
      const y = new Float32Array(n);
      R.unary(op, x, y);
      const dy = randn(rng, n);
      both(K, `unaryBackward ${op} n${n}`, [randn(rng, n)], (k, [dx]) => k.unaryBackward(op, x, y, dy, F(dx)));
    }
  },

  scale(K, rng) {
    for (const n of [1, 5, 1001]) {
      const x = randn(rng, n);
      both(K, `scale n${n}`, [randn(rng, n)], (k, [y]) => k.scale(x, -1.7, F(y)));
    }
  },

  axpy(K, rng) {
    for (const n of [1, 5, 1001]) {
      const dy = randn(rng, n);
      both(K, `axpy n${n}`, [randn(rng, n)], (k, [dx]) => k.axpy(dy, 0.3, F(dx)));
    }
  },

  addBias(K, rng) {
    for (const [rows, n] of ROWS_N) {
      const bias = randn(rng, n);
      both(K, `addBias ${rows}x${n}`, [randn(rng, rows * n)], (k, [y]) => k.addBias(F(y), bias, rows, n));
    }
  },

  biasBackward(K, rng) {
    for (const [rows, n] of ROWS_N) {
      const dy = randn(rng, rows * n);
      both(K, `biasBackward ${rows}x${n}`, [randn(rng, n)], (k, [db]) => k.biasBackward(dy, F(db), rows, n));
    }
  },

  // Optional kernels: a table without them (null) is checked through the
  // composition ops.linearGelu runs instead. Also in place (dGelu = x, dx = dy), as the op calls them.
  biasGelu(K, rng) {
    for (const [rows, n] of [...ROWS_N, [300, 512]]) {
      const x = randn(rng, rows * n), bias = randn(rng, n);
      x[0] = 30; x[1] = -30; // saturated: gelu = x, 0 and gelu' = 1, 0
      both(K, `biasGelu ${rows}x${n}`, [randn(rng, rows * n), randn(rng, rows * n)], (k, [y, g]) => biasGelu(k, x, bias, F(y), F(g), rows, n));
      both(K, `biasGelu ${rows}x${n} no grad`, [randn(rng, rows * n)], (k, [y]) => biasGelu(k, x, bias, F(y), null, rows, n));
      both(K, `biasGelu ${rows}x${n} in place`, [randn(rng, rows * n), x], (k, [y, xg]) => biasGelu(k, F(xg), bias, F(y), F(xg), rows, n));
    }
  },

  biasGeluBackward(K, rng) {
    for (const [rows, n] of [...ROWS_N, [300, 512]]) {
      const g = randn(rng, rows * n), dy = randn(rng, rows * n);
      both(K, `biasGeluBackward ${rows}x${n}`, [randn(rng, rows * n), randn(rng, n)], (k, [dx, db]) => biasGeluBackward(k, g, dy, F(dx), F(db), rows, n));
      both(K, `biasGeluBackward ${rows}x${n} in place`, [dy, randn(rng, n)], (k, [d, db]) => biasGeluBackward(k, g, F(d), F(d), F(db), rows, n));
    }
  },

  layernorm(K, rng) {
    for (const [rows, n] of ROWS_N) {
      const x = randn(rng, rows * n), w = randn(rng, n), b = randn(rng, n);
      for (let j = 0; j < n; j++) x[j] += 3; // a row with a large mean
      both(K, `layernorm ${rows}x${n}`, [new Float32Array(rows * n), new Float32Array(rows), new Float32Array(rows)],
        (k, [y, mean, rstd]) => k.layernorm(x, w, b, F(y), F(mean), F(rstd), rows, n, 1e-5));
    }
  },

  layernormBackward(K, rng) {
    for (const [rows, n] of ROWS_N) {
      const x = randn(rng, rows * n), w = randn(rng, n), b = randn(rng, n), dy = randn(rng, rows * n);
      const y = new Float32Array(rows * n), mean = new Float32Array(rows), rstd = new Float32Array(rows);
      R.layernorm(x, w, b, y, mean, rstd, rows, n, 1e-5);
      both(K, `layernormBackward ${rows}x${n}`, [randn(rng, rows * n), randn(rng, n), randn(rng, n)],
        (k, [dx, dw, db]) => k.layernormBackward(x, w, mean, rstd, dy, F(dx), F(dw), F(db), rows, n));
    }
  },

  softmax(K, rng) {
    for (const [rows, n] of ROWS_N) for (const log of [false, true]) {
      const x = randn(rng, rows * n);
      x[0] = 40; // large logit: the max must be subtracted
      both(K, `softmax ${rows}x${n} log=${log}`, [new Float32Array(rows * n)], (k, [y]) => k.softmax(x, F(y), rows, n, log));
    }
  },

  softmaxBackward(K, rng) {
    for (const [rows, n] of ROWS_N) for (const log of [false, true]) {
      const x = randn(rng, rows * n), y = new Float32Array(rows * n), dy = randn(rng, rows * n);
      R.softmax(x, y, rows, n, log);
      both(K, `softmaxBackward ${rows}x${n} log=${log}`, [randn(rng, rows * n)], (k, [dx]) => k.softmaxBackward(y, dy, F(dx), rows, n, log));
    }
  },

  attention(K, rng) {
    for (const [B, T, C, H] of ATTN_SHAPES) {
      const qkv = randn(rng, B * T * 3 * C);
      // outputs start as noise: ops hand the kernel uninitialised buffers, so it must write every element
      both(K, `attention B${B} T${T} C${C} H${H}`, [randn(rng, B * T * C), randn(rng, B * H * T * T)],
        (k, [out, att]) => k.attention(qkv, F(out), F(att), B, T, C, H));
    }
  },

  attentionBackward(K, rng) {
    for (const [B, T, C, H] of ATTN_SHAPES) {
      const qkv = randn(rng, B * T * 3 * C), out = new Float32Array(B * T * C), att = new Float32Array(B * H * T * T);
      R.attention(qkv, out, att, B, T, C, H);
      const dout = randn(rng, B * T * C);
      both(K, `attentionBackward B${B} T${T} C${C} H${H}`, [randn(rng, B * T * 3 * C)],
        (k, [dqkv]) => k.attentionBackward(qkv, att, dout, F(dqkv), B, T, C, H));
    }
  },

  // Optional: a table without them (null) is checked through the composition ops.causalAttentionRows runs instead.
  attentionRows(K, rng) {
    for (const [B, T, C, H] of ATTN_SHAPES) {
      const { rows, q0, R: nRows } = randomLayout(rng, B, T), qkv = randn(rng, nRows * 3 * C);
      both(K, `attentionRows B${B} T${T} C${C} H${H}`, [randn(rng, nRows * C), randn(rng, B * H * T * T)],
        (k, [out, att]) => attentionRows(k, qkv, F(out), F(att), rows, q0, B, T, C, H));
    }
  },

  attentionRowsBackward(K, rng) {
    for (const [B, T, C, H] of ATTN_SHAPES) {
      const { rows, q0, R: nRows } = randomLayout(rng, B, T), qkv = randn(rng, nRows * 3 * C), att = new Float32Array(B * H * T * T);
      R.attentionRows!(qkv, new Float32Array(nRows * C), att, rows, q0, B, T, C, H);
      const dout = randn(rng, nRows * C);
      for (const acc of [true, false]) {
        both(K, `attentionRowsBackward B${B} T${T} C${C} H${H} acc=${acc}`, [randn(rng, nRows * 3 * C)],
          (k, [dqkv]) => attentionRowsBackward(k, qkv, att, dout, F(dqkv), rows, q0, B, T, C, H, acc));
      }
    }
  },

  attentionDecode(K, rng) {
    for (const [B, T, C, H] of ATTN_SHAPES) {
      const Tmax = T + 2;
      for (const t of [0, T >> 1, T - 1]) {
        const qkv = randn(rng, B * 3 * C), kc = randn(rng, B * Tmax * C), vc = randn(rng, B * Tmax * C);
        both(K, `attentionDecode B${B} t${t} C${C} H${H}`, [new Float32Array(B * C), kc, vc],
          (k, [out, kCache, vCache]) => k.attentionDecode(qkv, F(kCache), F(vCache), F(out), B, t, C, H, Tmax));
      }
    }
  },

  // No ref kernel: the oracle is the pass composed from the ref kernels
  // (composedGptStep). A table without the fused kernel (null) checks its
  // own composition instead. [B, Lq, t0, C, H, L, V, Tmax]: decode steps
  // (Lq = 1) and prefills (t0 = 0), B not a multiple of the kernel's row
  // blocks, enough rows for several chunks, positions across 16-blocks.
  gptStep(K, rng) {
    const shapes: [number, number, number, number, number, number, number, number][] = [
      [1, 1, 0, 4, 1, 1, 3, 1], [3, 1, 5, 12, 3, 2, 7, 9], [2, 5, 0, 16, 2, 2, 11, 7], [9, 1, 16, 32, 4, 1, 13, 17],
      [70, 1, 40, 64, 2, 1, 64, 65], [33, 4, 0, 32, 4, 2, 5, 4], [20, 17, 0, 32, 2, 1, 9, 20],
    ];
    for (const [B, Lq, t0, C, H, L, V, Tmax] of shapes) {
      const small = (n: number) => randn(rng, n).map((x) => 0.3 * x);
      const ids = randInt(rng, B * Lq, V), wte = randn(rng, V * C), wpe = randn(rng, Tmax * C);
      const blocks = small(L * blockFloats(C)), lnf = randn(rng, 2 * C), wteT = small(C * V);
      const per = L * B * C * Tmax;
      both(K, `gptStep B${B} Lq${Lq} t0 ${t0} C${C} H${H} L${L} V${V} Tmax${Tmax}`, [randn(rng, B * V), randn(rng, per), randn(rng, per)],
        (k, [logits, kCache, vCache]) => {
          const a: GptStepArgs = { ids, wte, wpe, blocks, lnf, wteT, kCache: F(kCache), vCache: F(vCache), logits: F(logits), B, Lq, t0, C, H, L, V, Tmax, eps: 1e-5 };
          if (k.gptStep) k.gptStep(a);
          else composedGptStep(k, a);
        });
    }
  },

  embedding(K, rng) {
    for (const [n, dim, vocab] of [[1, 1, 1], [7, 5, 3], [64, 128, 64]]) {
      const table = randn(rng, vocab * dim), ids = randInt(rng, n, vocab);
      both(K, `embedding n${n} dim${dim}`, [new Float32Array(n * dim)], (k, [out]) => k.embedding(table, ids, F(out), n, dim));
    }
  },

  embeddingBackward(K, rng) {
    for (const [n, dim, vocab] of [[1, 1, 1], [7, 5, 3], [64, 128, 64]]) {
      const dOut = randn(rng, n * dim), ids = randInt(rng, n, vocab); // repeated ids: scatter-add
      both(K, `embeddingBackward n${n} dim${dim}`, [randn(rng, vocab * dim)], (k, [dt]) => k.embeddingBackward(dOut, ids, F(dt), n, dim));
    }
  },

  crossEntropy(K, rng) {
    for (const [rows, V] of [[1, 1], [1, 5], [6, 7], [64, 64], [3, 300]]) {
      const logits = randn(rng, rows * V), targets = randInt(rng, rows, V);
      if (rows > 1) targets[1] = -1; // ignored row
      if (rows > 2) targets[2] = -100;
      logits[0] = 50;
      const gs = randn(rng, rows);
      both(K, `crossEntropy ${rows}x${V} no grad`, [randn(rng, rows)], (k, [l]) => k.crossEntropy(logits, targets, F(l), rows, V, null, null, null));
      both(K, `crossEntropy ${rows}x${V} entropy`, [randn(rng, rows), randn(rng, rows)], (k, [l, h]) => k.crossEntropy(logits, targets, F(l), rows, V, null, null, F(h)));
      both(K, `crossEntropy ${rows}x${V}`, [randn(rng, rows), randn(rng, rows * V)], (k, [l, d]) => k.crossEntropy(logits, targets, F(l), rows, V, F(d), null, null));
      both(K, `crossEntropy ${rows}x${V} scaled`, [randn(rng, rows), randn(rng, rows * V)], (k, [l, d]) => k.crossEntropy(logits, targets, F(l), rows, V, F(d), gs, null));
    }
  },

  reduce(K, rng) {
    for (const [outer, n, inner] of [[1, 1, 1], [1, 7, 1], [3, 5, 1], [1, 5, 4], [2, 3, 4], [4, 1, 3], [2, 300, 3]]) {
      const x = randn(rng, outer * n * inner);
      both(K, `reduce sum ${outer}x${n}x${inner}`, [new Float32Array(outer * inner)], (k, [out]) => k.reduce('sum', x, F(out), null, outer, n, inner));
      both(K, `reduce max ${outer}x${n}x${inner}`, [new Float32Array(outer * inner), new Int32Array(outer * inner)],
        (k, [out, arg]) => k.reduce('max', x, F(out), I(arg), outer, n, inner));
      both(K, `reduce max ${outer}x${n}x${inner} no argmax`, [new Float32Array(outer * inner)], (k, [out]) => k.reduce('max', x, F(out), null, outer, n, inner));
    }
  },

  permute(K, rng) {
    const table: [number[], number[]][] = [
      [[5], [0]], [[3, 4], [1, 0]], [[3, 4], [0, 1]], [[2, 3, 4], [2, 0, 1]], [[2, 3, 4, 5], [0, 2, 1, 3]],
      [[2, 3, 4, 5], [3, 2, 1, 0]], [[1, 3, 1, 2], [2, 3, 0, 1]], [[4, 64, 4, 32], [0, 2, 1, 3]],
    ];
    for (const [shape, perm] of table) {
      const x = randn(rng, size(shape));
      both(K, `permute ${JSON.stringify(shape)} ${JSON.stringify(perm)}`, [new Float32Array(size(shape))], (k, [out]) => k.permute(x, shape, perm, F(out)));
    }
  },

  copyBlocks(K, rng) {
    for (const [outer, len, srcOff, srcStride, dstOff, dstStride] of [[1, 1, 0, 1, 0, 1], [3, 5, 2, 7, 1, 9], [4, 20, 0, 20, 3, 40], [2, 33, 5, 40, 0, 33]]) {
      const src = randn(rng, srcOff + outer * srcStride + len), dstLen = dstOff + outer * dstStride + len;
      for (const acc of [false, true]) {
        both(K, `copyBlocks ${outer}x${len} acc=${acc}`, [randn(rng, dstLen)],
          (k, [dst]) => k.copyBlocks(src, srcOff, srcStride, F(dst), dstOff, dstStride, outer, len, acc));
      }
    }
  },

  gather(K, rng) {
    for (const [outer, n, m, inner] of [[1, 1, 1, 1], [2, 5, 3, 1], [3, 4, 6, 2], [64, 64, 1, 1]]) {
      const x = randn(rng, outer * n * inner), idx = randInt(rng, outer * m * inner, n);
      both(K, `gather ${outer}x${n}x${m}x${inner}`, [new Float32Array(outer * m * inner)], (k, [out]) => k.gather(x, idx, F(out), outer, n, m, inner));
    }
  },

  gatherBackward(K, rng) {
    for (const [outer, n, m, inner] of [[1, 1, 1, 1], [2, 5, 3, 1], [3, 4, 6, 2], [64, 64, 1, 1], [2, 2, 9, 3]]) {
      const dOut = randn(rng, outer * m * inner), idx = randInt(rng, outer * m * inner, n);
      both(K, `gatherBackward ${outer}x${n}x${m}x${inner}`, [randn(rng, outer * n * inner)], (k, [dx]) => k.gatherBackward(dOut, idx, F(dx), outer, n, m, inner));
    }
  },

  adamw(K, rng) {
    for (const [n, t, wd] of [[1, 1, 0], [7, 1, 0.1], [1000, 10, 0.01]]) {
      const g = randn(rng, n);
      const v = randn(rng, n, 0); // second moment is non-negative
      both(K, `adamw n${n} t${t} wd${wd}`, [randn(rng, n), g.map((x) => 0.1 * x), v],
        (k, [p, m, vv]) => k.adamw(F(p), g, F(m), F(vv), 1e-3, 0.9, 0.95, 1e-8, wd, t));
    }
  },
} satisfies Record<keyof Omit<Kernels, 'name'>, Case>;

// ---------------------------------------------------------------- the suite

const backends = await loadBackends();

for (const be of backends) {
  describe(`kernels: ${be.name}`, () => {
    for (const [name, run] of Object.entries(cases) as [keyof typeof cases, Case][]) {
      it(name, { skip: be.kernels ? false : `${be.name} unavailable: ${be.reason ?? 'no reason given'}` }, () => {
        currentCase = name;
        callNo = 0;
        run(be.kernels!, new Rng(`kernels/${name}`));
      });
    }
  });
}

describe('kernels: wasm lifecycle', () => {
  const wasm = backends.find((b) => b.name.startsWith('wasm'))!;
  it('a process that used the wasm worker threads exits by itself', { skip: wasm.kernels ? false : wasm.reason }, () => {
    const script = `
      const m = await import('./src/tensor/kernels/wasm.ts');
      const { kernels } = m.loadWasmKernels();
      const threads = await m.wasmThreadsReady();
      const n = 256, a = new Float32Array(n * n).fill(1), c = new Float32Array(n * n);
      kernels.matmul(a, a, c, 1, n, n, n, false, false, false, 0, 0);
      console.log(threads, c[0]);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url), encoding: 'utf8', timeout: 30_000, env: { ...process.env, FLYWHEEL_THREADS: '2' },
    });
    assert.equal(r.signal, null, `the child did not exit by itself (killed by ${r.signal}); stderr: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^[12] 256\n$/);
  });
});

describe('kernels: suite sanity', () => {
  it('the oracle agrees with itself and close() catches a wrong value', () => {
    const a = new Float32Array([1, 2, 3]);
    close(a, a.slice(), 'same');
    assert.throws(() => close(new Float32Array([1, 2, 3.01]), a, 'off'));
  });
});
