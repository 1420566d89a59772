/**
 * WebAssembly SIMD kernels (AssemblyScript, assembly/ -> build/kernels.wasm):
 * matmul, fused causal attention and GELU in wasm; jsKernels for the rest.
 *
 * Data lives in JS Float32Arrays, so each call copies its operands into the
 * module's linear memory and the result back: O(n^2) copies for O(n^3) work.
 * The memory is a shared WebAssembly.Memory, so up to FLYWHEEL_THREADS
 * threads (default: the core count, at most 4) split one call: matmul by
 * bands of rows or columns of C, attention by (batch, head) pairs. The main
 * thread takes part 0, workers the others. Workers spin briefly waiting for
 * work, then sleep in Atomics.wait (~44 us to wake, against ~0.2 us
 * spinning). They are unref'd, so they never keep the process alive, and
 * they warm their code up (wasm starts in the baseline tier) before they
 * report ready; until then the main thread works alone.
 *
 * Memory layout (bytes):
 *   [0, 64K)                 reserved for the module's own data
 *   [64K + t*REGION, ...)    thread t's matmul scratch (packA, packB, tile) and warm-up operands
 *   [ARENA, ...)             operands of the current call, then per-thread work areas (grown on demand)
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Kernels } from './types.ts';
import { jsKernels } from './js.ts';

const WASM_PATH = new URL('../../../build/kernels.wasm', import.meta.url);
const PAGE = 65536;
const MAX_PAGES = 32768; // must match --maximumMemory in scripts/build-wasm.mjs
const MIN_PARALLEL_FLOPS = 4e6; // below this one thread beats the hand-off

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
  matmul: Fn; matmulScratchBytes: Fn;
  attention: Fn; attentionBackward: Fn; attentionWorkFloats: Fn;
  geluForward: Fn; geluBackward: Fn;
}

/**
 * Jobs a thread can run: (wasm exports, shared args, this part's range, own
 * matmul scratch, thread index). For attention the last two args are the
 * work area base and its per-thread stride (bytes). The workers get these
 * same functions as source text, so the two sides cannot drift apart.
 */
type Job = (w: Exports, a: ArrayLike<number>, r: ArrayLike<number>, s: number, t: number) => void;
const JOBS: Job[] = [
  (w, a, r, s) => w.matmul(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], r[0], r[1], r[2], r[3], s),
  (w, a, r, s, t) => w.attention(a[0], a[1], a[2], a[3], a[4], a[5], a[6], r[0], r[1], a[7] + t * a[8], s),
  (w, a, r, s, t) => w.attentionBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], r[0], r[1], a[8] + t * a[9], s),
  (w, a, r, s) => w.geluForward(a[0] + 4 * r[0], a[1] + 4 * r[0], r[1] - r[0], s),
  (w, a, r, s) => w.geluBackward(a[0] + 4 * r[0], a[1] + 4 * r[0], a[2] + 4 * r[0], r[1] - r[0], s),
];
const MATMUL = 0, ATTENTION = 1, ATTENTION_BACKWARD = 2, GELU = 3, GELU_BACKWARD = 4;
const GELU_FLOPS = 40; // per element, for the threading threshold

// control block shared with the workers (Int32 slots): job sequence number, job id,
// error flag, up to 12 shared args, then per worker w >= 1 a block
// [r0, r1, r2, r3, done seq, ready] (ready: 0 starting, 1 ready, 2 gone)
const SEQ = 0, JOB = 1, ERR = 2, ARGS = 3, NARGS = 12, WBASE = 16, WSLOTS = 8;
const DONE = 4, READY = 5;
const wslot = (w: number, field: number) => WBASE + (w - 1) * WSLOTS + field;

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
 * the number of threads a call can use now (1 = main thread alone).
 */
export async function wasmThreadsReady(timeoutMs = 10_000): Promise<number> {
  const pool = activePool;
  if (!pool) return loaded?.kernels ? 1 : 0;
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && pool.starting()) await new Promise((r) => setTimeout(r, 5));
  return 1 + pool.readyWorkers().length;
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

/** The memory, its per-thread scratch regions, the operand arena, and the workers. */
class Pool {
  readonly region: number;
  readonly arena: number;
  f32!: Float32Array;
  readonly ctl: Int32Array;
  private seq = 0;

  constructor(readonly module: WasmModule, readonly memory: WasmMemory, readonly wasm: Exports, readonly threads: number) {
    this.region = align(wasm.matmulScratchBytes() + WARM_BYTES);
    this.arena = PAGE + threads * this.region;
    this.ensure(this.arena);
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * (WBASE + WSLOTS * threads)));
    for (let w = 1; w < threads; w++) {
      try {
        const worker = new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { module, memory, ctl: this.ctl, index: w, scratch: this.scratch(w), scratchBytes: wasm.matmulScratchBytes() },
        });
        worker.unref();
        worker.on('error', () => this.retire(w));
        worker.on('exit', () => this.retire(w));
      } catch {
        this.retire(w);
      }
    }
  }

  scratch(t: number): number {
    return PAGE + t * this.region;
  }

  /** Makes linear memory at least `bytes` long and refreshes the view. */
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

  /** Workers that have warmed up and can take a part now. */
  readyWorkers(): number[] {
    const ready: number[] = [];
    for (let w = 1; w < this.threads; w++) if (Atomics.load(this.ctl, wslot(w, READY)) === 1) ready.push(w);
    return ready;
  }

  /** Some worker has neither warmed up nor gone yet. */
  starting(): boolean {
    for (let w = 1; w < this.threads; w++) if (Atomics.load(this.ctl, wslot(w, READY)) === 0) return true;
    return false;
  }

  private retire(w: number): void {
    Atomics.store(this.ctl, wslot(w, READY), 2); // never dispatch to it again
  }

  /** Threads a call of this size should use. */
  parts(flops: number): number[] {
    return flops >= MIN_PARALLEL_FLOPS ? this.readyWorkers() : [];
  }

  /**
   * Runs `job` with ranges[p] on part p: part 0 here, part p on workers[p - 1].
   * Workers not listed get an empty range. Returns when every part is done.
   */
  run(job: number, args: number[], ranges: number[][], workers: number[]): void {
    if (workers.length === 0) {
      JOBS[job](this.wasm, args, ranges[0], this.scratch(0), 0);
      return;
    }
    const ctl = this.ctl;
    ctl[JOB] = job;
    for (let i = 0; i < args.length; i++) ctl[ARGS + i] = args[i];
    for (let w = 1; w < this.threads; w++) {
      const p = workers.indexOf(w) + 1;
      const r = p > 0 ? ranges[p] : [0, 0, 0, 0];
      for (let i = 0; i < 4; i++) ctl[wslot(w, i)] = r[i] ?? 0;
    }
    const seq = (this.seq = (this.seq + 1) | 0);
    Atomics.store(ctl, SEQ, seq);
    Atomics.notify(ctl, SEQ);
    JOBS[job](this.wasm, args, ranges[0], this.scratch(0), 0);
    for (const w of workers) waitDone(ctl, wslot(w, DONE), seq);
    if (Atomics.load(ctl, ERR) !== 0) {
      Atomics.store(ctl, ERR, 0);
      throw new Error('wasm kernels: a worker failed');
    }
  }
}

/** Spin on a done slot, then sleep in short waits. */
function waitDone(ctl: Int32Array, slot: number, seq: number): void {
  for (let i = 0; i < 1 << 20; i++) if (Atomics.load(ctl, slot) === seq) return;
  for (let v = Atomics.load(ctl, slot); v !== seq; v = Atomics.load(ctl, slot)) Atomics.wait(ctl, slot, v, 5);
}

const align = (bytes: number) => (bytes + 63) & ~63;
const alignF = (floats: number) => (floats + 15) & ~15;

const WARM_N = 64;
const WARM_BYTES = 3 * WARM_N * WARM_N * 4;

/** The worker: warm up, then spin-then-wait for parts of jobs. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctl, index, scratch, scratchBytes } = workerData;
const JOBS = [${JOBS.map(String).join(', ')}];
const base = ${WBASE} + (index - 1) * ${WSLOTS};
const wasm = new WebAssembly.Instance(module, { env: { memory } }).exports;
const n = ${WARM_N}, a = scratch + scratchBytes, b = a + n * n * 4, c = b + n * n * 4;
for (let r = 0; r < 300; r++) wasm.matmul(a, b, c, 1, n, n, n, r & 1, (r >> 1) & 1, 0, 0, 0, 0, n, 0, n, scratch);
const args = ctl.subarray(${ARGS}, ${ARGS + NARGS});
let last = Atomics.load(ctl, ${SEQ});
Atomics.store(ctl, base + ${READY}, 1);
for (;;) {
  let s = last;
  for (let i = 0; i < ${1 << 16} && s === last; i++) s = Atomics.load(ctl, ${SEQ});
  if (s === last) { Atomics.wait(ctl, ${SEQ}, last); continue; }
  last = s;
  const r = [ctl[base], ctl[base + 1], ctl[base + 2], ctl[base + 3]];
  if (r[1] > r[0]) {
    try { JOBS[ctl[${JOB}]](wasm, args, r, scratch, index); } catch (e) { Atomics.store(ctl, ${ERR}, 1); }
  }
  Atomics.store(ctl, base + ${DONE}, s);
  Atomics.notify(ctl, base + ${DONE});
}
`;

/** Split [0, len) into `parts` ranges of multiples of `unit`. */
function split(len: number, parts: number, unit: number): [number, number][] {
  const chunk = Math.ceil(len / parts / unit) * unit;
  const out: [number, number][] = [];
  for (let p = 0; p < parts; p++) out.push([Math.min(len, p * chunk), Math.min(len, (p + 1) * chunk)]);
  return out;
}

// ---------------------------------------------------------------- the kernel table

function makeKernels(pool: Pool): Kernels {
  return {
    ...jsKernels,
    name: 'wasm',

    matmul(A, B, C, batch, M, N, K, transA, transB, accumulate, strideA, strideB) {
      if (batch === 0 || M === 0 || N === 0) return;
      const aLen = (strideA === 0 ? 0 : (batch - 1) * strideA) + M * K;
      const bLen = (strideB === 0 ? 0 : (batch - 1) * strideB) + N * K;
      const cLen = batch * M * N;
      const a = pool.arena >> 2, b = a + alignF(aLen), c = b + alignF(bLen); // in floats
      const f32 = pool.ensure((c + cLen) * 4);
      f32.set(A.subarray(0, aLen), a);
      f32.set(B.subarray(0, bLen), b);
      if (accumulate) f32.set(C.subarray(0, cLen), c);
      // split the longer side of C; each thread packs the other operand itself
      const workers = pool.parts(2 * batch * M * N * K);
      const byRows = M >= N;
      const ranges = split(byRows ? M : N, workers.length + 1, byRows ? 4 : 8).map(([lo, hi]) => (byRows ? [lo, hi, 0, N] : [0, M, lo, hi]));
      pool.run(MATMUL, [a * 4, b * 4, c * 4, batch, M, N, K, +transA, +transB, +accumulate, strideA, strideB], ranges, workers);
      C.set(f32.subarray(c, c + cLen));
    },

    attention(qkv, out, att, B, T, C, H) {
      const hs = C / H, nq = B * T * 3 * C, no = B * T * C, na = B * H * T * T;
      const q = pool.arena >> 2, o = q + alignF(nq), at = o + alignF(no), work = at + alignF(na);
      const workers = pool.parts(4 * B * T * T * C);
      const stride = alignF(pool.wasm.attentionWorkFloats(T, hs));
      const f32 = pool.ensure((work + stride * (workers.length + 1)) * 4);
      f32.set(qkv.subarray(0, nq), q);
      const ranges = split(B * H, workers.length + 1, 1);
      pool.run(ATTENTION, [q * 4, o * 4, at * 4, B, T, C, H, work * 4, stride * 4], ranges, workers);
      out.set(f32.subarray(o, o + no));
      att.set(f32.subarray(at, at + na));
    },

    attentionBackward(qkv, att, dout, dqkv, B, T, C, H) {
      const hs = C / H, nq = B * T * 3 * C, no = B * T * C, na = B * H * T * T;
      const q = pool.arena >> 2, at = q + alignF(nq), d = at + alignF(na), dq = d + alignF(no), work = dq + alignF(nq);
      const workers = pool.parts(8 * B * T * T * C);
      const stride = alignF(pool.wasm.attentionWorkFloats(T, hs));
      const f32 = pool.ensure((work + stride * (workers.length + 1)) * 4);
      f32.set(qkv.subarray(0, nq), q);
      f32.set(att.subarray(0, na), at);
      f32.set(dout.subarray(0, no), d);
      f32.set(dqkv.subarray(0, nq), dq);
      const ranges = split(B * H, workers.length + 1, 1);
      pool.run(ATTENTION_BACKWARD, [q * 4, at * 4, d * 4, dq * 4, B, T, C, H, work * 4, stride * 4], ranges, workers);
      dqkv.set(f32.subarray(dq, dq + nq));
    },

    unary(op, x, y) {
      if (op !== 'gelu') return jsKernels.unary(op, x, y);
      const n = x.length, xs = pool.arena >> 2, ys = xs + alignF(n);
      const f32 = pool.ensure((ys + n) * 4);
      f32.set(x, xs);
      const workers = pool.parts(GELU_FLOPS * n);
      pool.run(GELU, [xs * 4, ys * 4], split(n, workers.length + 1, 4).map(([lo, hi]) => [lo, hi]), workers);
      y.set(f32.subarray(ys, ys + n));
    },

    unaryBackward(op, x, y, dy, dx) {
      if (op !== 'gelu') return jsKernels.unaryBackward(op, x, y, dy, dx);
      const n = x.length, xs = pool.arena >> 2, dys = xs + alignF(n), dxs = dys + alignF(n);
      const f32 = pool.ensure((dxs + n) * 4);
      f32.set(x, xs);
      f32.set(dy, dys);
      f32.set(dx, dxs);
      const workers = pool.parts(2 * GELU_FLOPS * n);
      pool.run(GELU_BACKWARD, [xs * 4, dys * 4, dxs * 4], split(n, workers.length + 1, 4).map(([lo, hi]) => [lo, hi]), workers);
      dx.set(f32.subarray(dxs, dxs + n));
    },
  };
}
