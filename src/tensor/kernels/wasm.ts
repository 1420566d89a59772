/**
 * WebAssembly SIMD kernels (AssemblyScript, assembly/ -> build/kernels.wasm):
 * matmul, fused causal attention, GELU and layernorm in wasm; jsKernels for
 * the rest.
 *
 * Data lives in JS Float32Arrays, so each call copies its operands into the
 * module's linear memory and the result back: O(n^2) copies for O(n^3) work.
 * Up to FLYWHEEL_THREADS threads (default: the core count, at most 4) share
 * a call: matmul by bands of rows of C (or columns, when C is short and wide)
 * after packing B together, attention by (batch, head) pairs, GELU by runs
 * of elements. The threads and the memory live in wasm_pool.ts.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Kernels } from './types.ts';
import { jsKernels } from './js.ts';
import {
  alignF, ATTENTION, ATTENTION_BACKWARD, chunkFor, type Exports, GELU, GELU_BACKWARD, GELU_FLOPS,
  MATMUL, MATMUL_BATCH, MAX_PAGES, missingExports, MR, NR, PACK_B, Pool, WA,
} from './wasm_pool.ts';

const WASM_PATH = new URL('../../../build/kernels.wasm', import.meta.url);

export interface WasmLoad { kernels: Kernels | null; reason?: string; threads: number }

let loaded: WasmLoad | null = null;
let activePool: Pool | null = null;

/** Loads build/kernels.wasm (synchronously) and starts the workers in the background. */
export function loadWasmKernels(): WasmLoad {
  if (loaded) return loaded;
  const threads = threadCount(); // a bad FLYWHEEL_THREADS is the caller's error: throw
  let bytes: Buffer;
  try {
    bytes = readFileSync(WASM_PATH);
  } catch {
    return (loaded = { kernels: null, reason: 'build/kernels.wasm is missing: run `npm run build:wasm`', threads: 0 });
  }
  try {
    const module = new WA.Module(bytes);
    const memory = new WA.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    const exports = new WA.Instance(module, { env: { memory } }).exports;
    const missing = missingExports(exports);
    if (missing.length > 0) {
      return (loaded = { kernels: null, reason: `build/kernels.wasm is out of date (no ${missing.join(', ')}): run \`npm run build:wasm\``, threads: 0 });
    }
    const wasm = exports as Exports;
    activePool = new Pool(module, memory, wasm, threads);
    return (loaded = { kernels: makeKernels(activePool), threads });
  } catch (e) {
    return (loaded = { kernels: null, reason: `WebAssembly SIMD/threads unavailable: ${(e as Error).message}`, threads: 0 });
  }
}

/**
 * Resolves once every worker has warmed up (or gone, or timeoutMs passed) to
 * the number of threads taking tasks now (1 = main thread alone).
 */
export async function wasmThreadsReady(timeoutMs = 10_000): Promise<number> {
  const pool = activePool;
  if (!pool) return loaded?.kernels ? 1 : 0;
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && pool.count(0) > 0) await new Promise((r) => setTimeout(r, 5));
  return 1 + pool.count(1);
}

function threadCount(): number {
  const env = process.env.FLYWHEEL_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`FLYWHEEL_THREADS must be a positive integer, got '${env}'`);
    return Math.min(n, 16);
  }
  return Math.max(1, Math.min(4, availableParallelism()));
}

// ---------------------------------------------------------------- the kernel table

function makeKernels(pool: Pool): Kernels {
  const w = pool.wasm;
  return {
    ...jsKernels,
    name: 'wasm',

    matmul(A, B, C, batch, M, N, K, transA, transB, accumulate, strideA, strideB) {
      if (batch === 0 || M === 0 || N === 0) return;
      pool.call('matmul', 2 * batch * M * N * K, (threads) => {
        const aLen = (strideA === 0 ? 0 : (batch - 1) * strideA) + M * K;
        const bLen = (strideB === 0 ? 0 : (batch - 1) * strideB) + N * K;
        const cLen = batch * M * N;
        const packFloats = alignF(w.packedBFloats(N, K));
        // in floats: operands, then one packed B per thread
        const a = pool.arena >> 2, b = a + alignF(aLen), c = b + alignF(bLen), packed = c + alignF(cLen);
        const f32 = pool.ensure((packed + packFloats * threads) * 4);
        f32.set(A.subarray(0, aLen), a);
        f32.set(B.subarray(0, bLen), b);
        if (accumulate) f32.set(C.subarray(0, cLen), c);
        if (threads === 1 || batch >= 2 * threads) {
          // whole products, batch items shared among threads
          pool.run(MATMUL_BATCH, [a * 4, b * 4, c * 4, M, N, K, +transA, +transB, +accumulate, strideA, strideB, packed * 4, packFloats * 4],
            batch, chunkFor(batch, threads, 1, 1));
        } else {
          // one product at a time: pack B together, then split C by rows (or by columns when it is short and wide)
          const byRows = M >= 16 * threads || M >= N;
          const panels = Math.ceil(N / NR);
          for (let i = 0; i < batch; i++) {
            if (i === 0 || strideB !== 0) {
              pool.run(PACK_B, [4 * (b + i * strideB), +transB, K, N, packed * 4], panels, chunkFor(panels, K * N >= 1 << 16 ? threads : 1, 1, 8));
            }
            const args = [4 * (a + i * strideA), packed * 4, 4 * (c + i * M * N), M, N, K, +transA, +accumulate, +byRows];
            if (byRows) pool.run(MATMUL, args, M, chunkFor(M, threads, MR, 32));
            else pool.run(MATMUL, args, N, chunkFor(N, threads, NR, 64));
          }
        }
        C.set(f32.subarray(c, c + cLen));
      });
    },

    attention(qkv, out, att, B, T, C, H) {
      pool.call('attention', 2 * B * T * T * C, (threads) => {
        const nq = B * T * 3 * C, no = B * T * C, na = B * H * T * T;
        const stride = alignF(w.attentionWorkFloats(T, C / H));
        const q = pool.arena >> 2, o = q + alignF(nq), at = o + alignF(no), work = at + alignF(na);
        const f32 = pool.ensure((work + stride * threads) * 4);
        f32.set(qkv.subarray(0, nq), q);
        pool.run(ATTENTION, [q * 4, o * 4, at * 4, B, T, C, H, work * 4, stride * 4], B * H, chunkFor(B * H, threads, 1, 1));
        out.set(f32.subarray(o, o + no));
        att.set(f32.subarray(at, at + na));
      });
    },

    attentionBackward(qkv, att, dout, dqkv, B, T, C, H) {
      pool.call('attentionBackward', 4 * B * T * T * C, (threads) => {
        const nq = B * T * 3 * C, no = B * T * C, na = B * H * T * T;
        const stride = alignF(w.attentionWorkFloats(T, C / H));
        const q = pool.arena >> 2, at = q + alignF(nq), d = at + alignF(na), dq = d + alignF(no), work = dq + alignF(nq);
        const f32 = pool.ensure((work + stride * threads) * 4);
        f32.set(qkv.subarray(0, nq), q);
        f32.set(att.subarray(0, na), at);
        f32.set(dout.subarray(0, no), d);
        f32.set(dqkv.subarray(0, nq), dq);
        pool.run(ATTENTION_BACKWARD, [q * 4, at * 4, d * 4, dq * 4, B, T, C, H, work * 4, stride * 4], B * H, chunkFor(B * H, threads, 1, 1));
        dqkv.set(f32.subarray(dq, dq + nq));
      });
    },

    unary(op, x, y) {
      if (op !== 'gelu') return jsKernels.unary(op, x, y);
      const n = x.length, xs = pool.arena >> 2, ys = xs + alignF(n);
      const f32 = pool.ensure((ys + n) * 4);
      f32.set(x, xs);
      pool.call('gelu', GELU_FLOPS * n, (threads) => pool.run(GELU, [xs * 4, ys * 4], n, chunkFor(n, threads, 4, 1 << 14)));
      y.set(f32.subarray(ys, ys + n));
    },

    unaryBackward(op, x, y, dy, dx) {
      if (op !== 'gelu') return jsKernels.unaryBackward(op, x, y, dy, dx);
      const n = x.length, xs = pool.arena >> 2, dys = xs + alignF(n), dxs = dys + alignF(n);
      const f32 = pool.ensure((dxs + n) * 4);
      f32.set(x, xs);
      f32.set(dy, dys);
      f32.set(dx, dxs);
      pool.call('geluBackward', 2 * GELU_FLOPS * n, (threads) => pool.run(GELU_BACKWARD, [xs * 4, dys * 4, dxs * 4], n, chunkFor(n, threads, 4, 1 << 14)));
      dx.set(f32.subarray(dxs, dxs + n));
    },

    layernorm(x, wt, b, y, mean, rstd, rows, n, eps) {
      const xs = pool.arena >> 2, ys = xs + alignF(rows * n), ws = ys + alignF(rows * n), bs = ws + alignF(n);
      const ms = bs + alignF(n), rss = ms + alignF(rows);
      const f32 = pool.ensure((rss + rows) * 4);
      f32.set(x.subarray(0, rows * n), xs);
      f32.set(wt.subarray(0, n), ws);
      f32.set(b.subarray(0, n), bs);
      w.layernorm(xs * 4, ws * 4, bs * 4, ys * 4, ms * 4, rss * 4, rows, n, eps);
      y.set(f32.subarray(ys, ys + rows * n));
      mean.set(f32.subarray(ms, ms + rows));
      rstd.set(f32.subarray(rss, rss + rows));
    },

    layernormBackward(x, wt, mean, rstd, dy, dx, dw, db, rows, n) {
      const len = rows * n;
      const xs = pool.arena >> 2, dys = xs + alignF(len), dxs = dys + alignF(len), ws = dxs + alignF(len);
      const dws = ws + alignF(n), dbs = dws + alignF(n), ms = dbs + alignF(n), rss = ms + alignF(rows);
      const f32 = pool.ensure((rss + rows) * 4);
      f32.set(x.subarray(0, len), xs);
      f32.set(dy.subarray(0, len), dys);
      f32.set(dx.subarray(0, len), dxs);
      f32.set(wt.subarray(0, n), ws);
      f32.set(dw.subarray(0, n), dws);
      f32.set(db.subarray(0, n), dbs);
      f32.set(mean.subarray(0, rows), ms);
      f32.set(rstd.subarray(0, rows), rss);
      w.layernormBackward(xs * 4, ws * 4, ms * 4, rss * 4, dys * 4, dxs * 4, dws * 4, dbs * 4, rows, n);
      dx.set(f32.subarray(dxs, dxs + len));
      dw.set(f32.subarray(dws, dws + n));
      db.set(f32.subarray(dbs, dbs + n));
    },
  };
}
