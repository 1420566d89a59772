import type { Kernels } from './types.ts';
export function loadWasmKernels(): { kernels: Kernels | null; reason?: string; threads: number } {
  return { kernels: null, reason: 'not built', threads: 0 };
}
