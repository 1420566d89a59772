/** The tensor layer's public surface. */
export { Tensor, backward, noGrad, clearTape, isGradEnabled } from './tensor.ts';
export * from './ops.ts';
export * from './ops_shape.ts';
export { K, initBackend, useKernels, backendInfo, backendLine, BACKEND_NAMES } from './backend.ts';
export type { BackendInfo, BackendName } from './backend.ts';
export type { Kernels } from './kernels/types.ts';
