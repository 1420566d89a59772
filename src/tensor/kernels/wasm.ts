/**
 * WebAssembly SIMD kernels (AssemblyScript, assembly/ -> build/kernels.wasm):
 * matmul, fused causal attention, GELU and layernorm in wasm; jsKernels for
 * the rest.
 *
 * Data lives in JS Float32Arrays, so each call copies its operands into the
 * module's linear memory and the result back: O(n^2) copies for O(n^3) work.
 *
 * Threads. The memory is a shared WebAssembly.Memory, and up to
 * FLYWHEEL_THREADS threads (default: the core count, at most 4) share a call:
 * the call is cut into a few tasks per thread (bands of rows of C, panels of
 * B to pack, (batch, head) pairs, runs of elements) and every thread, the
 * main one included, claims tasks from one atomic counter until none are
 * left. So a worker that is slow to wake (or descheduled on a busy machine)
 * costs nothing: the main thread takes its share. Workers spin briefly for
 * the next call, then sleep in Atomics.wait (~44 us to wake, against ~0.2 us
 * spinning); they are unref'd, so they never keep the process alive, and they
 * warm their code up (wasm starts in the baseline tier) before claiming.
 *
 * Memory layout (bytes):
 *   [0, 64K)               reserved for the module's own data
 *   [64K + t*REGION, ...)  thread t's scratch (packed A block, edge tile) and warm-up operands
 *   [ARENA, ...)           operands of the current call, then work areas (grown on demand)
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Kernels } from './types.ts';
import { jsKernels } from './js.ts';

const WASM_PATH = new URL('../../../build/kernels.wasm', import.meta.url);
const PAGE = 65536;
const MAX_PAGES = 32768; // must match --maximumMemory in scripts/build-wasm.mjs
const MIN_PARALLEL_FLOPS = 2e6; // below this one thread beats the hand-off
const TASKS_PER_THREAD = 16;
const NR = 8, MR = 4; // the micro-kernel's tile (assembly/matmul.ts)

// the WebAssembly global, typed here (tsconfig's lib has no DOM types)
interface WasmMemory { readonly buffer: SharedArrayBuffer; grow(pages: number): number }
type WasmModule = object;
const WA = (globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => WasmModule;
    Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
    Instance: new (m: WasmModule, imports: object) => { exports: object };
  };
}).WebAssembly;

type Fn = (...args: number[]) => number;
interface Exports {
  matmul: Fn; matmulPacked: Fn; matmulScratchBytes: Fn; packB: Fn; packedBFloats: Fn;
  attention: Fn; attentionBackward: Fn; attentionWorkFloats: Fn;
  geluForward: Fn; geluBackward: Fn; layernorm: Fn; layernormBackward: Fn;
}

/**
 * What a thread runs for one task: (wasm exports, the call's args, the task's
 * range [lo, hi), own scratch, thread index). Work areas that each thread
 * needs for itself are given as (base, per-thread stride) pairs in args.
 * The workers get these same functions as source text, so the two sides
 * cannot drift apart.
 */
type Job = (w: Exports, a: ArrayLike<number>, lo: number, hi: number, s: number, t: number) => void;
const JOBS: Job[] = [
  // PACK_B: panels [lo, hi) of op(B).  a: b, transB, K, N, packed
  (w, a, lo, hi) => w.packB(a[0], a[1], a[2], a[3], lo, hi, a[4]),
  // MATMUL: rows (a[8] = 1) or columns [lo, hi) of C.  a: a, packed, c, M, N, K, transA, accumulate, byRows
  (w, a, lo, hi, s) => (a[8]
    ? w.matmulPacked(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], lo, hi, 0, a[4], 0, a[5], s)
    : w.matmulPacked(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], 0, a[3], lo, hi, 0, a[5], s)),
  // MATMUL_BATCH: batch items [lo, hi), each whole.  a: a, b, c, M, N, K, transA, transB, accumulate, strideA, strideB, packed base, stride
  (w, a, lo, hi, s, t) => {
    for (let i = lo; i < hi; i++) {
      w.matmul(a[0] + 4 * i * a[9], a[1] + 4 * i * a[10], a[2] + 4 * i * a[3] * a[4], a[3], a[4], a[5], a[6], a[7], a[8], a[11] + t * a[12], s);
    }
  },
  // ATTENTION: (batch, head) pairs [lo, hi).  a: qkv, out, att, B, T, C, H, work base, stride
  (w, a, lo, hi, s, t) => w.attention(a[0], a[1], a[2], a[3], a[4], a[5], a[6], lo, hi, a[7] + t * a[8], s),
  // ATTENTION_BACKWARD: pairs [lo, hi).  a: qkv, att, dout, dqkv, B, T, C, H, work base, stride
  (w, a, lo, hi, s, t) => w.attentionBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], lo, hi, a[8] + t * a[9], s),
  // GELU: elements [lo, hi).  a: x, y
  (w, a, lo, hi, s) => w.geluForward(a[0] + 4 * lo, a[1] + 4 * lo, hi - lo, s),
  // GELU_BACKWARD: elements [lo, hi).  a: x, dy, dx
  (w, a, lo, hi, s) => w.geluBackward(a[0] + 4 * lo, a[1] + 4 * lo, a[2] + 4 * lo, hi - lo, s),
];
const PACK_B = 0, MATMUL = 1, MATMUL_BATCH = 2, ATTENTION = 3, ATTENTION_BACKWARD = 4, GELU = 5, GELU_BACKWARD = 6;
const GELU_FLOPS = 40; // per element, for the threading threshold

// The control block shared with the workers (Int32 slots).
//   SEQ    bumped once per call, to wake the workers
//   CLAIM  (tasks << 16) | next task: Atomics.add claims a task; a claim is
//          valid iff its index < its task count, read from the same word, so
//          a late worker can never take a task of a call that has moved on
//   DONE   tasks finished in this call
//   JOB, LEN, CHUNK, ARGS: task i covers [i*CHUNK, min(LEN, (i+1)*CHUNK))
//   READY + w: worker w's state (0 starting, 1 ready, 2 gone)
const SEQ = 0, CLAIM = 1, DONE = 2, ERR = 3, JOB = 4, LEN = 5, CHUNK = 6, ARGS = 8, NARGS = 16, READY = ARGS + NARGS;
const MAX_TASKS = 32767;

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
    const wasm = new WA.Instance(module, { env: { memory } }).exports as unknown as Exports;
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

/** The memory, the per-thread scratch regions, the operand arena, and the workers. */
class Pool {
  readonly region: number;
  readonly arena: number;
  f32!: Float32Array;
  readonly ctl: Int32Array;
  private readonly args: number[] = new Array<number>(NARGS).fill(0);

  constructor(readonly module: WasmModule, readonly memory: WasmMemory, readonly wasm: Exports, readonly threads: number) {
    this.region = align(wasm.matmulScratchBytes() + WARM_BYTES);
    this.arena = PAGE + threads * this.region;
    this.ensure(this.arena);
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * (READY + threads)));
    for (let w = 1; w < threads; w++) {
      try {
        const worker = new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { module, memory, ctl: this.ctl, index: w, scratch: this.scratch(w), scratchBytes: wasm.matmulScratchBytes() },
        });
        worker.unref();
        worker.on('error', () => Atomics.store(this.ctl, READY + w, 2));
        worker.on('exit', () => Atomics.store(this.ctl, READY + w, 2));
      } catch {
        Atomics.store(this.ctl, READY + w, 2);
      }
    }
  }

  scratch(t: number): number {
    return PAGE + t * this.region;
  }

  /** Workers in a state (0 starting, 1 ready, 2 gone). */
  count(state: number): number {
    let n = 0;
    for (let w = 1; w < this.threads; w++) if (Atomics.load(this.ctl, READY + w) === state) n++;
    return n;
  }

  /** Makes linear memory at least `bytes` long; returns the (refreshed) view. */
  ensure(bytes: number): Float32Array {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      const pages = Math.ceil((bytes - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) throw new RangeError(`wasm kernels: a call needs ${bytes} bytes, more than the ${MAX_PAGES * PAGE} the module allows`);
      this.memory.grow(Math.min(MAX_PAGES - have / PAGE, Math.max(pages, Math.ceil(have / PAGE / 4)))); // grow by >= 25%
    }
    if (!this.f32 || this.f32.buffer.byteLength !== this.memory.buffer.byteLength) this.f32 = new Float32Array(this.memory.buffer);
    return this.f32;
  }

  /** Threads worth sharing a call of this many flops among (workers not yet ready just won't claim). */
  width(flops: number): number {
    return flops >= MIN_PARALLEL_FLOPS && this.threads > 1 && this.count(1) > 0 ? this.threads : 1;
  }

  /**
   * Runs `job` over [0, len) in tasks of `chunk`: on this thread alone when
   * there is one task, else shared with whichever workers claim tasks.
   */
  run(job: number, args: number[], len: number, chunk: number): void {
    const tasks = Math.ceil(len / chunk);
    if (tasks <= 0) return;
    if (tasks === 1) {
      JOBS[job](this.wasm, args, 0, len, this.scratch(0), 0);
      return;
    }
    if (tasks > MAX_TASKS) throw new RangeError(`wasm kernels: ${tasks} tasks is more than ${MAX_TASKS}`);
    const ctl = this.ctl;
    ctl[JOB] = job;
    ctl[LEN] = len;
    ctl[CHUNK] = chunk;
    for (let i = 0; i < args.length; i++) ctl[ARGS + i] = args[i];
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, CLAIM, tasks << 16); // opens the call: from here tasks can be claimed
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    const a = this.args;
    for (let i = 0; i < args.length; i++) a[i] = args[i];
    for (;;) {
      const c = Atomics.add(ctl, CLAIM, 1), i = c & 0xffff;
      if (i >= c >>> 16) break;
      JOBS[job](this.wasm, a, i * chunk, Math.min(len, (i + 1) * chunk), this.scratch(0), 0);
      Atomics.add(ctl, DONE, 1);
    }
    // wait for tasks still running on workers: spin, then sleep in short waits
    for (let n = 0, d = Atomics.load(ctl, DONE); d !== tasks; d = Atomics.load(ctl, DONE)) {
      if (++n > 1 << 16) Atomics.wait(ctl, DONE, d, 1);
    }
    if (Atomics.load(ctl, ERR) !== 0) {
      Atomics.store(ctl, ERR, 0);
      throw new Error('wasm kernels: a task failed on a worker thread');
    }
  }
}

const align = (bytes: number) => (bytes + 63) & ~63;
const alignF = (floats: number) => (floats + 15) & ~15;
const roundUp = (n: number, unit: number) => Math.ceil(n / unit) * unit;

const WARM_N = 64;
const WARM_BYTES = 4 * WARM_N * WARM_N * 4;

/** The worker: warm up, then wait for calls and claim their tasks. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctl, index, scratch, scratchBytes } = workerData;
const JOBS = [${JOBS.map(String).join(',\n')}];
const wasm = new WebAssembly.Instance(module, { env: { memory } }).exports;
const n = ${WARM_N}, a = scratch + scratchBytes, b = a + n * n * 4, c = b + n * n * 4, packed = c + n * n * 4;
for (let r = 0; r < 300; r++) wasm.matmul(a, b, c, n, n, n, r & 1, (r >> 1) & 1, 0, packed, scratch);
const args = ctl.subarray(${ARGS}, ${ARGS + NARGS});
let last = Atomics.load(ctl, ${SEQ});
Atomics.store(ctl, ${READY} + index, 1);
for (;;) {
  let s = last;
  for (let i = 0; i < ${1 << 16} && s === last; i++) s = Atomics.load(ctl, ${SEQ});
  if (s === last) { Atomics.wait(ctl, ${SEQ}, last); continue; }
  last = s;
  for (;;) {
    const c = Atomics.add(ctl, ${CLAIM}, 1), i = c & 0xffff;
    if (i >= c >>> 16) break;
    const chunk = ctl[${CHUNK}], len = ctl[${LEN}];
    try {
      JOBS[ctl[${JOB}]](wasm, args, i * chunk, Math.min(len, (i + 1) * chunk), scratch, index);
    } catch (e) {
      Atomics.store(ctl, ${ERR}, 1);
    }
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
}
`;

/** A chunk giving each of `threads` threads about TASKS_PER_THREAD tasks, a multiple of `unit`, at least `min`. */
function chunkFor(len: number, threads: number, unit: number, min: number): number {
  if (threads <= 1) return Math.max(1, len);
  return Math.max(roundUp(Math.max(1, min), unit), roundUp(Math.ceil(len / (threads * TASKS_PER_THREAD)), unit));
}

// ---------------------------------------------------------------- the kernel table

function makeKernels(pool: Pool): Kernels {
  const w = pool.wasm;
  return {
    ...jsKernels,
    name: 'wasm',

    matmul(A, B, C, batch, M, N, K, transA, transB, accumulate, strideA, strideB) {
      if (batch === 0 || M === 0 || N === 0) return;
      const aLen = (strideA === 0 ? 0 : (batch - 1) * strideA) + M * K;
      const bLen = (strideB === 0 ? 0 : (batch - 1) * strideB) + N * K;
      const cLen = batch * M * N;
      const threads = pool.width(2 * batch * M * N * K);
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
    },

    attention(qkv, out, att, B, T, C, H) {
      const nq = B * T * 3 * C, no = B * T * C, na = B * H * T * T;
      const threads = pool.width(4 * B * T * T * C);
      const stride = alignF(w.attentionWorkFloats(T, C / H));
      const q = pool.arena >> 2, o = q + alignF(nq), at = o + alignF(no), work = at + alignF(na);
      const f32 = pool.ensure((work + stride * threads) * 4);
      f32.set(qkv.subarray(0, nq), q);
      pool.run(ATTENTION, [q * 4, o * 4, at * 4, B, T, C, H, work * 4, stride * 4], B * H, chunkFor(B * H, threads, 1, 1));
      out.set(f32.subarray(o, o + no));
      att.set(f32.subarray(at, at + na));
    },

    attentionBackward(qkv, att, dout, dqkv, B, T, C, H) {
      const nq = B * T * 3 * C, no = B * T * C, na = B * H * T * T;
      const threads = pool.width(8 * B * T * T * C);
      const stride = alignF(w.attentionWorkFloats(T, C / H));
      const q = pool.arena >> 2, at = q + alignF(nq), d = at + alignF(na), dq = d + alignF(no), work = dq + alignF(nq);
      const f32 = pool.ensure((work + stride * threads) * 4);
      f32.set(qkv.subarray(0, nq), q);
      f32.set(att.subarray(0, na), at);
      f32.set(dout.subarray(0, no), d);
      f32.set(dqkv.subarray(0, nq), dq);
      pool.run(ATTENTION_BACKWARD, [q * 4, at * 4, d * 4, dq * 4, B, T, C, H, work * 4, stride * 4], B * H, chunkFor(B * H, threads, 1, 1));
      dqkv.set(f32.subarray(dq, dq + nq));
    },

    unary(op, x, y) {
      if (op !== 'gelu') return jsKernels.unary(op, x, y);
      const n = x.length, xs = pool.arena >> 2, ys = xs + alignF(n);
      const f32 = pool.ensure((ys + n) * 4);
      f32.set(x, xs);
      pool.run(GELU, [xs * 4, ys * 4], n, chunkFor(n, pool.width(GELU_FLOPS * n), 4, 1 << 14));
      y.set(f32.subarray(ys, ys + n));
    },

    unaryBackward(op, x, y, dy, dx) {
      if (op !== 'gelu') return jsKernels.unaryBackward(op, x, y, dy, dx);
      const n = x.length, xs = pool.arena >> 2, dys = xs + alignF(n), dxs = dys + alignF(n);
      const f32 = pool.ensure((dxs + n) * 4);
      f32.set(x, xs);
      f32.set(dy, dys);
      f32.set(dx, dxs);
      pool.run(GELU_BACKWARD, [xs * 4, dys * 4, dxs * 4], n, chunkFor(n, pool.width(2 * GELU_FLOPS * n), 4, 1 << 14));
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
