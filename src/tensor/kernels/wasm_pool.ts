/**
 * The thread pool behind the wasm kernels (wasm.ts): one shared
 * WebAssembly.Memory, one module instance per thread, and calls cut into
 * tasks that every thread, the main one included, claims from one atomic
 * counter until none are left. A worker that is slow to wake (or descheduled
 * on a busy machine) thus costs nothing but the task it holds: the main
 * thread takes the rest. Workers spin briefly for the next call, then sleep
 * in Atomics.wait (~44 us to wake, against ~0.2 us spinning); they are
 * unref'd, so they never keep the process alive, and they warm their code up
 * (wasm starts in the baseline tier) before they claim anything.
 *
 * Memory layout (bytes):
 *   [0, 64K)               reserved for the module's own data
 *   [64K + t*REGION, ...)  thread t's scratch (packed A block, edge tile) and warm-up operands
 *   [ARENA, ...)           operands of the current call, then work areas (grown on demand)
 */
import { Worker } from 'node:worker_threads';

const PAGE = 65536;
export const MAX_PAGES = 32768; // must match --maximumMemory in scripts/build-wasm.mjs
const MIN_PARALLEL_FLOPS = 2e6; // below this one thread beats the hand-off
const TASKS_PER_THREAD = 16;
export const MR = 4, NR = 8; // the micro-kernel's tile (assembly/matmul.ts)
const PROBE_EVERY = 16; // calls of a kind between tries of the mode that is losing
const EMA = 0.25;
const STALL_MS = 60_000;

// the WebAssembly global, typed here (tsconfig's lib has no DOM types)
export interface WasmMemory { readonly buffer: SharedArrayBuffer; grow(pages: number): number }
export type WasmModule = object;
export const WA = (globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => WasmModule;
    Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
    Instance: new (m: WasmModule, imports: object) => { exports: object };
  };
}).WebAssembly;

const EXPORTS = [
  'matmul', 'matmulPacked', 'matmulScratchBytes', 'packB', 'packedBFloats',
  'attention', 'attentionBackward', 'attentionWorkFloats',
  'geluForward', 'geluBackward', 'layernorm', 'layernormBackward',
] as const;
export type Exports = Record<(typeof EXPORTS)[number], (...args: number[]) => number>;

/** The names build/kernels.wasm lacks (an old build), or []. */
export function missingExports(exports: object): string[] {
  return EXPORTS.filter((name) => typeof (exports as Record<string, unknown>)[name] !== 'function');
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
export const PACK_B = 0, MATMUL = 1, MATMUL_BATCH = 2, ATTENTION = 3, ATTENTION_BACKWARD = 4, GELU = 5, GELU_BACKWARD = 6;
export const GELU_FLOPS = 40; // per element, for the threading threshold

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

/** The memory, the per-thread scratch regions, the operand arena, and the workers. */
export class Pool {
  readonly region: number;
  readonly arena: number;
  f32!: Float32Array;
  readonly ctl: Int32Array;
  private readonly args: number[] = new Array<number>(NARGS).fill(0);
  private readonly stats = new Map<string, { solo: number; shared: number; calls: number }>(); // see call()

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

  /**
   * Runs one kernel call, `body(threads)`, on all threads or on this one.
   * Sharing pays on an idle machine; on a busy one (a core taken by another
   * process) our own worker steals time from the main thread and sharing
   * loses. So each kind of call keeps a moving average of its time per flop
   * in both modes, uses the faster, and tries the other every PROBE_EVERY
   * calls. Results do not depend on the mode: every element is computed by
   * the same operations in the same order either way.
   */
  call(kind: string, flops: number, body: (threads: number) => void): void {
    if (flops < MIN_PARALLEL_FLOPS || this.threads === 1 || this.count(1) === 0) return body(1);
    let s = this.stats.get(kind);
    if (!s) this.stats.set(kind, (s = { solo: NaN, shared: NaN, calls: 0 }));
    const probe = ++s.calls % PROBE_EVERY === 0;
    const shared = Number.isNaN(s.shared) || (!Number.isNaN(s.solo) && (s.shared <= s.solo) !== probe);
    const t0 = performance.now();
    body(shared ? this.threads : 1);
    const perFlop = (performance.now() - t0) / flops;
    if (shared) s.shared = Number.isNaN(s.shared) ? perFlop : s.shared + EMA * (perFlop - s.shared);
    else s.solo = Number.isNaN(s.solo) ? perFlop : s.solo + EMA * (perFlop - s.solo);
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
    let error: unknown = null; // a failed task still counts as done, so the count stays exact for the next call
    for (;;) {
      const c = Atomics.add(ctl, CLAIM, 1), i = c & 0xffff;
      if (i >= c >>> 16) break;
      try {
        JOBS[job](this.wasm, a, i * chunk, Math.min(len, (i + 1) * chunk), this.scratch(0), 0);
      } catch (e) {
        error ??= e;
      }
      Atomics.add(ctl, DONE, 1);
    }
    // wait for tasks still running on workers: spin, then sleep in short waits;
    // a worker that died holding a task (its exit event cannot reach us while
    // we block) would hang us, so no progress for STALL_MS is an error
    let last = Atomics.load(ctl, DONE), since = 0;
    for (let n = 0, d = last; d !== tasks; d = Atomics.load(ctl, DONE)) {
      if (++n < 1 << 16) continue;
      Atomics.wait(ctl, DONE, d, 1);
      if (d !== last) { last = d; since = 0; } else if (since === 0) since = performance.now();
      else if (performance.now() - since > STALL_MS) throw new Error(`wasm kernels: a worker thread made no progress for ${STALL_MS / 1000} s`);
    }
    if (error) throw error;
    if (Atomics.load(ctl, ERR) !== 0) {
      Atomics.store(ctl, ERR, 0);
      throw new Error('wasm kernels: a task failed on a worker thread');
    }
  }
}

const align = (bytes: number) => (bytes + 63) & ~63;
export const alignF = (floats: number) => (floats + 15) & ~15;
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
for (let r = 0; r < 300; r++) {
  wasm.packB(b, (r >> 1) & 1, n, n, 0, n / ${NR}, packed);
  wasm.matmulPacked(a, packed, c, n, n, n, r & 1, 0, 0, n, 0, n, 0, n, scratch);
}
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
export function chunkFor(len: number, threads: number, unit: number, min: number): number {
  if (threads <= 1) return Math.max(1, len);
  return Math.max(roundUp(Math.max(1, min), unit), roundUp(Math.ceil(len / (threads * TASKS_PER_THREAD)), unit));
}
