/**
 * The native backend: a C++ N-API addon (native/, built by `npm run
 * build:native`) over OpenBLAS sgemm, with fused attention, layernorm,
 * softmax, GELU, cross-entropy and AdamW in C++; jsKernels for the rest.
 * Broadcasting (binary, reduceBroadcast) runs natively in the common cases
 * (same shape; one operand repeating whole rows, like a bias or a residual
 * over the batch) and falls back to js otherwise.
 *
 * Threads: one pool of FLYWHEEL_THREADS threads (default: the core count)
 * runs every native kernel, sgemm included: OpenBLAS itself is kept
 * single-threaded and the addon splits a big product into panels, one
 * sgemm per thread, so no second set of spinning threads competes for the
 * cores.
 *
 * OpenBLAS core type: OpenBLAS reads OPENBLAS_CORETYPE once, when the
 * library loads. Debian's 0.3.21 misdetects Zen 5 (CPU family 26) and some
 * environments export OPENBLAS_CORETYPE=Haswell, which halves sgemm speed
 * on an AVX-512 machine. So before loading the addon we set
 * OPENBLAS_CORETYPE=SKYLAKEX when /proc/cpuinfo shows avx512f (unless
 * FLYWHEEL_BLAS_CORETYPE names one), then restore the environment so child
 * processes see the ambient value. NativeInfo records what was chosen and why.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { jsKernels } from './js.ts';
import { BINARY_OPS, UNARY_OPS, type BinaryOp, type Kernels, type UnaryOp } from './types.ts';

export interface NativeInfo {
  available: boolean;
  /** Why the backend is unavailable (when !available). */
  reason?: string;
  /** Path of the addon file. */
  addon: string;
  /** Path of the loaded BLAS library (from dladdr). */
  library?: string;
  /** Kernel set OpenBLAS reports it is using, e.g. 'SkylakeX'. */
  blasCore?: string;
  /** OPENBLAS_CORETYPE the library was loaded with; null: OpenBLAS detected the CPU itself. */
  coreType: string | null;
  coreTypeReason: string;
  /** OPENBLAS_CORETYPE in the environment before we touched it. */
  ambientCoreType: string | null;
  /** Threads of the native pool (sgemm included). */
  threads: number;
  threadsReason: string;
  /** Vector instruction set the addon was compiled for. */
  simd?: string;
}

/** The addon's functions (native/addon.cc); op names travel as their index in UNARY_OPS / BINARY_OPS. */
interface Addon {
  matmul: Kernels['matmul'];
  attention: Kernels['attention'];
  attentionBackward: Kernels['attentionBackward'];
  attentionDecode: Kernels['attentionDecode'];
  attentionRows: NonNullable<Kernels['attentionRows']>;
  attentionRowsBackward: NonNullable<Kernels['attentionRowsBackward']>;
  gptStep(ids: Int32Array, wte: Float32Array, wpe: Float32Array, blocks: Float32Array, lnf: Float32Array, wteT: Float32Array,
    kCache: Float32Array, vCache: Float32Array, logits: Float32Array, B: number, Lq: number, t0: number, C: number, H: number,
    L: number, V: number, Tmax: number, eps: number): void;
  /** out (cols, rows) = x (rows, cols) transposed. */
  transpose(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  unary(op: number, x: Float32Array, y: Float32Array): void;
  unaryBackward(op: number, x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** out = a (op) b, where b (bRepeats) or a repeats with the given period over out's length. */
  binaryRow(op: number, a: Float32Array, b: Float32Array, out: Float32Array, period: number, bRepeats: boolean): void;
  scale: Kernels['scale'];
  axpy: Kernels['axpy'];
  armSignalExit(): void;
  disarmSignalExit(): void;
  addBias: Kernels['addBias'];
  biasBackward: Kernels['biasBackward'];
  biasGelu: NonNullable<Kernels['biasGelu']>;
  biasGeluBackward: NonNullable<Kernels['biasGeluBackward']>;
  layernorm: Kernels['layernorm'];
  layernormBackward: Kernels['layernormBackward'];
  softmax: Kernels['softmax'];
  softmaxBackward: Kernels['softmaxBackward'];
  embedding: Kernels['embedding'];
  embeddingBackward: Kernels['embeddingBackward'];
  crossEntropy: Kernels['crossEntropy'];
  adamw: Kernels['adamw'];
  setThreads(n: number): void;
  info(): { library: string; blasCore: string; blasConfig: string; blasThreads: number; threads: number; simd: string };
}

const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/flywheel.node', import.meta.url));

const UNARY_CODE = Object.fromEntries(UNARY_OPS.map((op, i) => [op, i])) as Record<UnaryOp, number>;
const BINARY_CODE = Object.fromEntries(BINARY_OPS.map((op, i) => [op, i])) as Record<BinaryOp, number>;

let loaded: { kernels: Kernels | null; info: NativeInfo; addon: Addon | null } | null = null;

/** Loads the addon once per process; later calls return the same result. */
export function loadNativeKernels(): { kernels: Kernels | null; info: NativeInfo } {
  if (!loaded) loaded = load();
  return { kernels: loaded.kernels, info: loaded.info };
}

/** Resizes the native thread pool (benchmarks; tests of the threaded paths). */
export function setNativeThreads(n: number): void {
  if (!loaded?.addon) throw new Error('setNativeThreads: the native backend is not loaded');
  loaded.addon.setThreads(n);
  loaded.info.threads = n;
  loaded.info.threadsReason = 'set by setNativeThreads';
}

/**
 * Makes a second SIGINT/SIGTERM end the process at once (130 / 143) even
 * while JS is stuck, e.g. in a user's generate() (native/addon.cc says how);
 * the first still reaches Node's handlers. False when the addon is not
 * loaded: then only JS sees signals.
 */
export function armSignalExit(): boolean {
  if (!loaded?.addon?.armSignalExit) return false;
  loaded.addon.armSignalExit();
  return true;
}

/** Undoes armSignalExit: signals go to Node's handlers alone again. */
export function disarmSignalExit(): void {
  loaded?.addon?.disarmSignalExit?.();
}

function load(): { kernels: Kernels | null; info: NativeInfo; addon: Addon | null } {
  const ambient = process.env.OPENBLAS_CORETYPE || null;
  const core = chooseCoreType(ambient);
  const threads = chooseThreads();
  const info: NativeInfo = {
    available: false, addon: ADDON_PATH, coreType: core.value, coreTypeReason: core.reason,
    ambientCoreType: ambient, threads: threads.n, threadsReason: threads.reason,
  };
  if (!existsSync(ADDON_PATH)) {
    info.reason = `native addon not built (${ADDON_PATH} is missing): run \`npm run build:native\` (needs g++ and libopenblas-dev)`;
    return { kernels: null, info, addon: null };
  }
  // OpenBLAS reads these when it loads; it must not start threads of its own.
  const ambientThreads = process.env.OPENBLAS_NUM_THREADS;
  setEnv('OPENBLAS_CORETYPE', core.value);
  process.env.OPENBLAS_NUM_THREADS = '1';
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as Addon;
  } catch (e) {
    info.reason = `native addon failed to load (${(e as Error).message.split('\n')[0]}); rebuild it with \`npm run build:native\``;
    return { kernels: null, info, addon: null };
  } finally {
    setEnv('OPENBLAS_CORETYPE', ambient);
    setEnv('OPENBLAS_NUM_THREADS', ambientThreads ?? null);
  }
  addon.setThreads(threads.n);
  const a = addon.info();
  Object.assign(info, { available: true, library: a.library, blasCore: a.blasCore, simd: a.simd, threads: a.threads });
  return { kernels: nativeKernels(addon), info, addon };
}

function setEnv(name: string, value: string | null): void {
  if (value === null) delete process.env[name];
  else process.env[name] = value;
}

function chooseCoreType(ambient: string | null): { value: string | null; reason: string } {
  const forced = process.env.FLYWHEEL_BLAS_CORETYPE;
  if (forced) return { value: forced, reason: 'forced by FLYWHEEL_BLAS_CORETYPE' };
  let flags = '';
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux: leave the choice to OpenBLAS
  }
  if (/\bavx512f\b/.test(flags)) {
    return { value: 'SKYLAKEX', reason: `avx512f in /proc/cpuinfo${ambient ? `; overrides ambient OPENBLAS_CORETYPE=${ambient}` : ''}` };
  }
  if (ambient) return { value: ambient, reason: 'ambient OPENBLAS_CORETYPE (no avx512f in /proc/cpuinfo)' };
  return { value: null, reason: 'OpenBLAS autodetect (no avx512f in /proc/cpuinfo)' };
}

function chooseThreads(): { n: number; reason: string } {
  const env = process.env.FLYWHEEL_THREADS;
  if (env) {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`FLYWHEEL_THREADS=${env} is not an integer in [1, 256]`);
    return { n, reason: 'FLYWHEEL_THREADS' };
  }
  return { n: availableParallelism(), reason: 'core count' };
}

/** The period with which an operand of `shape` repeats over `outShape`: its size when `shape`, without leading 1s, is a suffix of outShape; else 0. */
function rowPeriod(shape: readonly number[], outShape: readonly number[]): number {
  let s = 0;
  while (s < shape.length && shape[s] === 1) s++;
  const k = shape.length - s;
  if (k > outShape.length) return 0;
  let period = 1;
  for (let i = 0; i < k; i++) {
    const d = shape[s + i];
    if (d !== outShape[outShape.length - k + i]) return 0;
    period *= d;
  }
  return period;
}

function nativeKernels(addon: Addon): Kernels {
  const base = jsKernels;
  return {
    ...base,
    name: 'native',
    matmul: addon.matmul,
    attention: addon.attention,
    attentionBackward: addon.attentionBackward,
    attentionDecode: addon.attentionDecode,
    attentionRows: addon.attentionRows,
    attentionRowsBackward: addon.attentionRowsBackward,
    gptStep: (a) => addon.gptStep(a.ids, a.wte, a.wpe, a.blocks, a.lnf, a.wteT, a.kCache, a.vCache, a.logits, a.B, a.Lq, a.t0, a.C, a.H, a.L, a.V, a.Tmax, a.eps),
    permute(x, shape, perm, out) {
      if (shape.length === 2 && perm[0] === 1 && out.length === x.length) addon.transpose(x, out, shape[0], shape[1]);
      else base.permute(x, shape, perm, out);
    },
    unary: (op, x, y) => addon.unary(UNARY_CODE[op], x, y),
    unaryBackward: (op, x, y, dy, dx) => addon.unaryBackward(UNARY_CODE[op], x, y, dy, dx),
    binary(op, a, aShape, b, bShape, out, outShape) {
      const n = out.length;
      if (n === 0) return;
      if (a.length === n && (b.length === n || rowPeriod(bShape, outShape) === b.length)) {
        addon.binaryRow(BINARY_CODE[op], a, b, out, b.length, true);
      } else if (b.length === n && rowPeriod(aShape, outShape) === a.length) {
        addon.binaryRow(BINARY_CODE[op], a, b, out, a.length, false);
      } else {
        base.binary(op, a, aShape, b, bShape, out, outShape);
      }
    },
    reduceBroadcast(src, srcShape, dst, dstShape) {
      const p = dst.length;
      if (p === src.length) addon.axpy(src, 1, dst);
      else if (p > 0 && rowPeriod(dstShape, srcShape) === p) addon.biasBackward(src, dst, src.length / p, p);
      else base.reduceBroadcast(src, srcShape, dst, dstShape);
    },
    scale: addon.scale,
    axpy: addon.axpy,
    addBias: addon.addBias,
    biasBackward: addon.biasBackward,
    biasGelu: addon.biasGelu,
    biasGeluBackward: addon.biasGeluBackward,
    layernorm: addon.layernorm,
    layernormBackward: addon.layernormBackward,
    softmax: addon.softmax,
    softmaxBackward: addon.softmaxBackward,
    embedding: addon.embedding,
    embeddingBackward: addon.embeddingBackward,
    crossEntropy: addon.crossEntropy,
    adamw: addon.adamw,
  } satisfies Kernels;
}
