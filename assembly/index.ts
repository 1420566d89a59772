// Entry point of build/kernels.wasm (built by scripts/build-wasm.mjs).
// Pointers are byte offsets into the imported memory; the JS side
// (src/tensor/kernels/wasm.ts) owns the layout.
export { matmul, matmulPacked, matmulScratchBytes, packB, packedBFloats } from './matmul';
export { attention, attentionBackward, attentionWorkFloats } from './attention';
export { geluForward, geluBackward } from './gelu';
export { layernorm, layernormBackward } from './layernorm';
