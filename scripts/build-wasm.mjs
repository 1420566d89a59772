// Builds the AssemblyScript kernels (assembly/) into build/kernels.wasm.
// Usage: node scripts/build-wasm.mjs   (npm run build:wasm)
// The module imports a shared memory (env.memory), so the main thread and a
// worker can run one matmul together; it uses SIMD (f32x4) and no runtime.
import asc from 'assemblyscript/asc';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, 'build'), { recursive: true });
const { error, stderr } = await asc.main([
  join(root, 'assembly/index.ts'),
  '--outFile', join(root, 'build/kernels.wasm'),
  '-O3', '--noAssert', '--runtime', 'stub', '--use', 'abort=',
  '--enable', 'simd', '--enable', 'threads',
  '--importMemory', '--sharedMemory', '--initialMemory', '16', '--maximumMemory', '32768',
]);
if (error) {
  console.error(stderr.toString());
  console.error(`build-wasm: ${error.message}`);
  process.exit(1);
}
console.log('build-wasm: wrote build/kernels.wasm');
