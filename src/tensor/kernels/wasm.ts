/**
 * WebAssembly SIMD kernels (AssemblyScript, assembly/ -> build/kernels.wasm),
 * with jsKernels for everything not implemented in wasm.
 *
 * Data lives in JS Float32Arrays, so each call copies its operands into the
 * module's linear memory and the result back: O(n^2) copies for O(n^3) work.
 * The memory is a shared WasmMemory, so up to FLYWHEEL_THREADS
 * threads (default: the core count, at most 4) split one matmul by rows or
 * columns of C: the main thread takes one part, workers the others. Workers
 * spin briefly waiting for work, then sleep in Atomics.wait (~44 us to wake,
 * against ~0.2 us spinning). They are unref'd, so they never keep the
 * process alive, and they warm their code up before they take work.
 *
 * Memory layout (bytes):
 *   [0, 64K)                       reserved for the module's own data
 *   [64K + t*REGION, ...)          thread t: packA, packB, edge tile, warm-up operands
 *   [ARENA, ...)                   operands of the current call (grown on demand)
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Kernels } from './types.ts';
import { jsKernels } from './js.ts';

const WASM_PATH = new URL('../../../build/kernels.wasm', import.meta.url);
const PAGE = 65536;
const MAX_PAGES = 32768; // must match --maximumMemory in scripts/build-wasm.mjs
const MIN_PARALLEL_FLOPS = 4e6; // below this one thread is faster than a hand-off

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

interface Exports {
  matmul(a: number, b: number, c: number, batch: number, M: number, N: number, K: number,
    transA: number, transB: number, acc: number, strideA: number, strideB: number,
    i0: number, i1: number, j0: number, j1: number, scratch: number): void;
  matmulScratchBytes(): number;
}

// control block shared with the workers (Int32 slots): the job sequence number,
// an error flag, the 12 shared matmul arguments, then per worker w >= 1 a block
// [i0, i1, j0, j1, done seq, ready] (ready: 0 starting, 1 ready, 2 gone)
const SEQ = 0, ERR = 1, ARGS = 2, WBASE = 16, WSLOTS = 8;
const I0 = 0, DONE = 4, READY = 5;
const wslot = (w: number, field: number) => WBASE + (w - 1) * WSLOTS + field;

export interface WasmLoad { kernels: Kernels | null; reason?: string; threads: number }

let loaded: WasmLoad | null = null;

/** Loads build/kernels.wasm (synchronously) and starts the workers in the background. */
export function loadWasmKernels(): WasmLoad {
  if (loaded) return loaded;
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
    const threads = threadCount();
    const pool = (activePool = new Pool(module, memory, wasm, threads));
    return (loaded = { kernels: makeKernels(pool), threads });
  } catch (e) {
    return (loaded = { kernels: null, reason: `WebAssembly SIMD/threads unavailable: ${(e as Error).message}`, threads: 0 });
  }
}

/**
 * Resolves, once every worker has warmed up (or gone, or timeoutMs passed),
 * to the number of threads matmul can use now (1 = main thread alone).
 */
export async function wasmThreadsReady(timeoutMs = 10_000): Promise<number> {
  const pool = activePool;
  if (!pool) return loaded?.kernels ? 1 : 0;
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && pool.starting()) await new Promise((r) => setTimeout(r, 5));
  return 1 + pool.readyWorkers().length;
}

let activePool: Pool | null = null;

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
  f32: Float32Array;
  readonly ctl: Int32Array;
  private seq = 0;
  private readonly workers: Worker[] = [];

  constructor(readonly module: WasmModule, readonly memory: WasmMemory, readonly wasm: Exports, readonly threads: number) {
    this.region = align(wasm.matmulScratchBytes() + WARM_BYTES);
    this.arena = PAGE + threads * this.region;
    this.ensure(this.arena);
    this.f32 = new Float32Array(memory.buffer);
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
        this.workers.push(worker);
      } catch {
        this.retire(w);
      }
    }
  }

  scratch(t: number): number {
    return PAGE + t * this.region;
  }

  /** Makes linear memory at least `bytes` long and refreshes the view. */
  ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      const pages = Math.ceil((bytes - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) throw new RangeError(`wasm kernels: operands need ${bytes} bytes, more than the ${MAX_PAGES * PAGE} the module allows`);
      this.memory.grow(Math.max(pages, Math.ceil(have / PAGE / 4))); // grow by at least 25%
    }
    if (!this.f32 || this.f32.buffer.byteLength !== this.memory.buffer.byteLength) this.f32 = new Float32Array(this.memory.buffer);
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

  /**
   * C restricted to parts (bands of rows or columns), one per ready thread;
   * the main thread takes part 0. `args` are the wasm matmul's first 12.
   */
  matmul(args: Args12, M: number, N: number, flops: number): void {
    const ready = flops >= MIN_PARALLEL_FLOPS ? this.readyWorkers() : [];
    if (ready.length === 0) {
      this.wasm.matmul(...args, 0, M, 0, N, this.scratch(0));
      return;
    }
    // split the longer side of C; each thread packs the other operand itself
    const parts = 1 + ready.length, byRows = M >= N, len = byRows ? M : N;
    const chunk = Math.ceil(len / parts / (byRows ? 4 : 16)) * (byRows ? 4 : 16);
    const ctl = this.ctl;
    for (let i = 0; i < 12; i++) ctl[ARGS + i] = args[i];
    for (let w = 1; w < this.threads; w++) {
      const p = ready.indexOf(w) + 1; // 0: no part for this worker
      const lo = p > 0 ? Math.min(len, p * chunk) : 0, hi = p > 0 ? Math.min(len, lo + chunk) : 0;
      ctl[wslot(w, I0)] = byRows ? lo : 0;
      ctl[wslot(w, I0 + 1)] = byRows ? hi : M;
      ctl[wslot(w, I0 + 2)] = byRows ? 0 : lo;
      ctl[wslot(w, I0 + 3)] = byRows ? N : hi;
    }
    const seq = (this.seq = (this.seq + 1) | 0);
    Atomics.store(ctl, SEQ, seq);
    Atomics.notify(ctl, SEQ);
    const hi0 = Math.min(len, chunk);
    this.wasm.matmul(...args, 0, byRows ? hi0 : M, 0, byRows ? N : hi0, this.scratch(0));
    for (const w of ready) waitDone(ctl, wslot(w, DONE), seq);
    if (Atomics.load(ctl, ERR) !== 0) {
      Atomics.store(ctl, ERR, 0);
      throw new Error('wasm kernels: a worker failed during matmul');
    }
  }
}

type Args12 = [number, number, number, number, number, number, number, number, number, number, number, number];

/** Spin on a done slot, then sleep in short waits. */
function waitDone(ctl: Int32Array, slot: number, seq: number): void {
  for (let i = 0; i < 1 << 20; i++) if (Atomics.load(ctl, slot) === seq) return;
  for (let v = Atomics.load(ctl, slot); v !== seq; v = Atomics.load(ctl, slot)) Atomics.wait(ctl, slot, v, 5);
}

function align(n: number): number {
  return (n + 63) & ~63;
}

const WARM_N = 64;
const WARM_BYTES = 3 * WARM_N * WARM_N * 4;

/** The worker: warm up (wasm starts in the baseline tier), then spin-then-wait for parts of matmuls. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctl, index, scratch, scratchBytes } = workerData;
const SEQ = ${SEQ}, ERR = ${ERR}, ARGS = ${ARGS}, base = ${WBASE} + (index - 1) * ${WSLOTS};
const wasm = new WebAssembly.Instance(module, { env: { memory } }).exports;
const n = ${WARM_N}, a = scratch + scratchBytes, b = a + n * n * 4, c = b + n * n * 4;
for (let r = 0; r < 300; r++) wasm.matmul(a, b, c, 1, n, n, n, r & 1, (r >> 1) & 1, 0, 0, 0, 0, n, 0, n, scratch);
let last = Atomics.load(ctl, SEQ);
Atomics.store(ctl, base + ${READY}, 1);
for (;;) {
  let s = last;
  for (let i = 0; i < ${1 << 16} && s === last; i++) s = Atomics.load(ctl, SEQ);
  if (s === last) { Atomics.wait(ctl, SEQ, last); continue; }
  last = s;
  const i0 = ctl[base], i1 = ctl[base + 1], j0 = ctl[base + 2], j1 = ctl[base + 3];
  if (i1 > i0 && j1 > j0) {
    try {
      wasm.matmul(ctl[ARGS], ctl[ARGS + 1], ctl[ARGS + 2], ctl[ARGS + 3], ctl[ARGS + 4], ctl[ARGS + 5], ctl[ARGS + 6],
        ctl[ARGS + 7], ctl[ARGS + 8], ctl[ARGS + 9], ctl[ARGS + 10], ctl[ARGS + 11], i0, i1, j0, j1, scratch);
    } catch (e) {
      Atomics.store(ctl, ERR, 1);
    }
  }
  Atomics.store(ctl, base + ${DONE}, s);
  Atomics.notify(ctl, base + ${DONE});
}
`;

// ---------------------------------------------------------------- the kernel table

function makeKernels(pool: Pool): Kernels {
  return {
    ...jsKernels,
    name: 'wasm',

    matmul(A, B, C, batch, M, N, K, transA, transB, accumulate, strideA, strideB) {
      if (batch === 0 || M === 0 || N === 0) return;
      // operands in floats, each 16-float aligned in the arena
      const aLen = (strideA === 0 ? 0 : (batch - 1) * strideA) + M * K;
      const bLen = (strideB === 0 ? 0 : (batch - 1) * strideB) + N * K;
      const cLen = batch * M * N;
      const a = pool.arena >> 2, b = a + alignF(aLen), c = b + alignF(bLen);
      pool.ensure((c + cLen) * 4);
      const f32 = pool.f32;
      f32.set(A.subarray(0, aLen), a);
      f32.set(B.subarray(0, bLen), b);
      if (accumulate) f32.set(C.subarray(0, cLen), c);
      pool.matmul([a * 4, b * 4, c * 4, batch, M, N, K, +transA, +transB, +accumulate, strideA, strideB], M, N, 2 * batch * M * N * K);
      C.set(f32.subarray(c, c + cLen));
    },
  };
}

const alignF = (n: number) => (n + 15) & ~15;
