/**
 * Backend selection: which kernel table the ops run on.
 *
 *   backend | needs                          | kernels
 *   --------+--------------------------------+---------------------------------------------
 *   native  | C++ addon + OpenBLAS (setup)   | sgemm, attention, norms, GELU, CE, AdamW in C++
 *   wasm    | nothing (built by npm)         | SIMD matmul, attention, GELU, LayerNorm in WebAssembly, the rest js
 *   js      | nothing                        | blocked matmul, fused attention in TypeScript
 *   ref     | nothing                        | naive loops (the oracle; slow)
 *
 * Picked automatically in that order; FLYWHEEL_BACKEND=native|wasm|js|ref
 * forces one (an unavailable forced backend is an error, not a silent
 * fallback). Ops read the live binding `K`.
 */
import { UserError } from '../util/errors.ts';
import { refKernels } from './kernels/ref.ts';
import type { Kernels } from './kernels/types.ts';

export type BackendName = 'native' | 'wasm' | 'js' | 'ref';
export const BACKEND_NAMES: readonly BackendName[] = ['native', 'wasm', 'js', 'ref'];

export interface BackendInfo {
  name: BackendName;
  forced: boolean; // chosen by FLYWHEEL_BACKEND
  detail: string; // one line: threads, BLAS core type, library
  skipped: { name: BackendName; reason: string }[]; // better backends that were not available
}

/** The active kernels. A live ESM binding: importers always see the current table. */
export let K: Kernels = refKernels;
let info: BackendInfo | null = null;

type Loader = () => { kernels: Kernels | null; detail: string };

async function loaders(): Promise<Record<BackendName, Loader>> {
  const js = await import('./kernels/js.ts').catch(() => null);
  const native = await import('./kernels/native.ts').catch((e: Error) => e);
  const wasm = await import('./kernels/wasm.ts').catch((e: Error) => e);
  return {
    native: () => {
      if (native instanceof Error) return { kernels: null, detail: `native module failed to load: ${native.message}` };
      const r = native.loadNativeKernels();
      return { kernels: r.kernels, detail: describeNative(r.info) };
    },
    wasm: () => {
      if (wasm instanceof Error) return { kernels: null, detail: `wasm module failed to load: ${wasm.message}` };
      const r = wasm.loadWasmKernels();
      return { kernels: r.kernels, detail: r.kernels ? `WebAssembly SIMD, ${r.threads} thread(s)` : r.reason ?? 'unavailable' };
    },
    js: () => (js ? { kernels: js.jsKernels, detail: 'TypeScript kernels, 1 thread' } : { kernels: null, detail: 'js kernels missing' }),
    ref: () => ({ kernels: refKernels, detail: 'naive reference loops, 1 thread' }),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function describeNative(i: any): string {
  if (!i) return 'unavailable';
  if (!i.available) return i.reason ?? 'unavailable';
  const parts = [`OpenBLAS sgemm, ${i.threads} thread(s)`];
  if (i.coreType) parts.push(`core type ${i.coreType}${i.coreTypeReason ? ` (${i.coreTypeReason})` : ''}`);
  if (i.library) parts.push(i.library);
  return parts.join(', ');
}

/**
 * Chooses and activates a backend (once; later calls return the same info
 * unless `force` names another). Call before building models.
 */
export async function initBackend(force?: string): Promise<BackendInfo> {
  const want = force ?? process.env.FLYWHEEL_BACKEND ?? '';
  if (info && (!want || want === info.name)) return info;
  const threads = process.env.FLYWHEEL_THREADS;
  if (threads !== undefined && threads !== '' && !/^\s*([1-9]\d{0,2})\s*$/.test(threads)) {
    throw new UserError(`FLYWHEEL_THREADS=${threads} is not a thread count; give a whole number from 1 to 256, or unset it to use every core`);
  }
  const table = await loaders();
  const skipped: BackendInfo['skipped'] = [];
  if (want) {
    if (!(BACKEND_NAMES as readonly string[]).includes(want)) {
      throw new UserError(`FLYWHEEL_BACKEND=${want} is not a backend; choose one of ${BACKEND_NAMES.join(', ')}`);
    }
    const r = table[want as BackendName]();
    if (!r.kernels) throw new UserError(`backend '${want}' was requested (FLYWHEEL_BACKEND) but is not available: ${r.detail}`);
    K = r.kernels;
    info = { name: want as BackendName, forced: true, detail: r.detail, skipped };
    return info;
  }
  for (const name of BACKEND_NAMES) {
    const r = table[name]();
    if (r.kernels) {
      K = r.kernels;
      info = { name, forced: false, detail: r.detail, skipped };
      return info;
    }
    skipped.push({ name, reason: r.detail });
  }
  throw new Error('no backend available'); // unreachable: ref always loads
}

/** Activates a specific kernel table directly (tests, benchmarks). Returns the previous one. */
export function useKernels(k: Kernels): Kernels {
  const prev = K;
  K = k;
  return prev;
}

export function backendInfo(): BackendInfo | null {
  return info;
}

/** One line saying which backend is active, for CLI output. */
export function backendLine(i: BackendInfo): string {
  return `backend: ${i.name}${i.forced ? ' (forced by FLYWHEEL_BACKEND)' : ''} — ${i.detail}`;
}
