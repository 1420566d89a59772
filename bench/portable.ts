/**
 * GFLOP/s of the portable kernels (js, wasm on 1 and 2 threads) on 512^3 and
 * the 'small' GPT's shapes (batch 32 x context 64 = 2048 tokens, width 128),
 * plus the per-step time of the heavy non-matmul kernels.
 *
 * Usage: node --import tsx bench/portable.ts [--quick]
 * Each thread count runs in its own child process (FLYWHEEL_THREADS is read
 * when the wasm kernels load). With 2 threads the pool shares a call only
 * while sharing measures faster (wasm_pool.ts), so on a busy machine the
 * '2t' rows can equal the '1t' rows. The CPU-second rate is the steadier
 * number when other processes compete for the cores.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jsKernels } from '../src/tensor/kernels/js.ts';
import { loadWasmKernels, wasmThreadsReady } from '../src/tensor/kernels/wasm.ts';
import type { Kernels } from '../src/tensor/kernels/types.ts';

const quick = process.argv.includes('--quick');
const budgetMs = quick ? 150 : 600;

// [label, M, N, K, transA, transB]: the linear layer's three products, as
// ops.ts calls them (y = x W^T, dX = dy W, dW = dy^T x), at the small GPT's shapes
const SHAPES: [string, number, number, number, boolean, boolean][] = [
  ['512^3', 512, 512, 512, false, false],
  ['y  x(2048x128) W(384x128)^T', 2048, 384, 128, false, true],
  ['y  x(2048x512) W(128x512)^T', 2048, 128, 512, false, true],
  ['dX dy(2048x384) W(384x128)', 2048, 128, 384, false, false],
  ['dW dy(2048x512)^T x(2048x128)', 512, 128, 2048, true, false],
];

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898) * 0.5;
  return a;
}

/**
 * Mean wall ms per call after warm-up, over about budgetMs, and the process's
 * CPU ms per call (all threads; on a busy machine the steadier number).
 */
function time(f: () => void): { ms: number; cpu: number } {
  for (let i = 0; i < 3; i++) f();
  let n = 0;
  const t0 = performance.now(), c0 = process.cpuUsage();
  while (performance.now() - t0 < budgetMs || n < 3) { f(); n++; }
  const c = process.cpuUsage(c0);
  return { ms: (performance.now() - t0) / n, cpu: (c.user + c.system) / 1e3 / n };
}

function benchMatmul(k: Kernels, label: string): void {
  for (const [name, M, N, K, tA, tB] of SHAPES) {
    const A = rand(M * K), B = rand(K * N), C = new Float32Array(M * N);
    const { ms, cpu } = time(() => k.matmul(A, B, C, 1, M, N, K, tA, tB, false, 0, 0));
    const gf = (t: number) => (2 * M * N * K / t / 1e6).toFixed(1).padStart(6);
    console.log(`${label.padEnd(10)} ${name.padEnd(30)} ${gf(ms)} GFLOP/s  ${ms.toFixed(2).padStart(7)} ms   (per CPU-second: ${gf(cpu)})`);
  }
}

/** The non-matmul kernels of one training step of the small GPT (4 layers), in ms. */
function benchOthers(k: Kernels, label: string): void {
  const Bt = 32, T = 64, C = 128, H = 4, L = 4, V = 64, n = Bt * T;
  const qkv = rand(n * 3 * C), out = new Float32Array(n * C), att = new Float32Array(Bt * H * T * T);
  const dout = rand(n * C), dqkv = new Float32Array(n * 3 * C);
  const h = rand(n * 4 * C), g = new Float32Array(n * 4 * C);
  const x = rand(n * C), w = rand(C), y = new Float32Array(n * C), mean = new Float32Array(n), rstd = new Float32Array(n);
  const logits = rand(n * V), targets = new Int32Array(n).map((_, i) => i % V), losses = new Float32Array(n), dl = new Float32Array(n * V);
  const p = rand(820_000), pg = rand(p.length), m = new Float32Array(p.length), v = new Float32Array(p.length);
  const parts: [string, number, () => void][] = [
    ['attention fwd+bwd', L, () => { k.attention(qkv, out, att, Bt, T, C, H); k.attentionBackward(qkv, att, dout, dqkv, Bt, T, C, H); }],
    ['gelu fwd+bwd', L, () => { k.unary('gelu', h, g); k.unaryBackward('gelu', h, g, h, g); }],
    ['layernorm fwd+bwd', 2 * L + 1, () => { k.layernorm(x, w, w, y, mean, rstd, n, C, 1e-5); k.layernormBackward(x, w, mean, rstd, dout, y, w.slice(), w.slice(), n, C); }],
    ['crossEntropy', 1, () => k.crossEntropy(logits, targets, losses, n, V, dl, null, null)],
    ['adamw (0.82M params)', 1, () => k.adamw(p, pg, m, v, 1e-3, 0.9, 0.95, 1e-8, 0.1, 5)],
  ];
  let total = 0, totalCpu = 0;
  for (const [name, times, f] of parts) {
    const { ms, cpu } = time(f);
    total += ms * times;
    totalCpu += cpu * times;
    console.log(`${label.padEnd(10)} ${name.padEnd(30)} ${(ms * times).toFixed(2).padStart(7)} ms/step  (CPU ${(cpu * times).toFixed(2)})`);
  }
  console.log(`${label.padEnd(10)} ${'total non-matmul'.padEnd(30)} ${total.toFixed(2).padStart(7)} ms/step  (CPU ${totalCpu.toFixed(2)})`);
}

if (process.env.FLYWHEEL_BENCH_CHILD) {
  const r = loadWasmKernels();
  if (!r.kernels) {
    console.log(`wasm unavailable: ${r.reason}`);
  } else {
    const threads = await wasmThreadsReady();
    benchMatmul(r.kernels, `wasm ${threads}t`);
    if (threads === 1) benchOthers(r.kernels, `wasm ${threads}t`);
  }
} else {
  benchMatmul(jsKernels, 'js');
  benchOthers(jsKernels, 'js');
  const self = fileURLToPath(import.meta.url);
  for (const threads of ['1', '2']) {
    spawnSync(process.execPath, ['--import', 'tsx', self, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, FLYWHEEL_BENCH_CHILD: '1', FLYWHEEL_THREADS: threads },
    });
  }
}
