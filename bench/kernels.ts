/**
 * Kernel micro-benchmark: matmul GFLOP/s (512^3 and the GPT shapes) and time
 * per call of the other kernels at GPT sizes, for ref / js / native on 1
 * thread / native on all threads. Printed as tables.
 *
 *   node --import tsx bench/kernels.ts            # everything
 *   node --import tsx bench/kernels.ts matmul     # only tables whose title contains "matmul"
 *
 * GPT sizes are the 'medium' preset (6 x 256, 8 heads) at batch 32 x context
 * 64, so rows = B*T = 2048, with vocab 512; 'tiny' (64 wide, 4 heads) for the
 * hs = 16 attention. Attention GFLOP/s counts the nominal 4*B*H*T*T*hs
 * multiply-adds x2 of the forward (QK^T and PV over the full T x T, as FLOP
 * accounting does; the causal kernel does about half of that work), twice
 * that for the backward.
 */
import { availableParallelism, loadavg } from 'node:os';
import { jsKernels } from '../src/tensor/kernels/js.ts';
import { loadNativeKernels, setNativeThreads } from '../src/tensor/kernels/native.ts';
import { refKernels } from '../src/tensor/kernels/ref.ts';
import type { Kernels } from '../src/tensor/kernels/types.ts';
import { Rng } from '../src/util/rng.ts';

const filter = process.argv[2] ?? '';
const load0 = loadavg()[0];
const rng = new Rng(1);
const randn = (n: number) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
};

/**
 * Seconds per call: the fastest of many short rounds (~2 ms each, ~0.3 s in
 * all), so a busy machine (other processes on the cores) disturbs it little.
 */
function timeit(fn: () => void): number {
  fn();
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    const dt = performance.now() - t0;
    if (dt > 2 || reps >= 1 << 20) break;
    reps *= 2;
  }
  let best = Infinity;
  const start = performance.now();
  for (let round = 0; round < 5 || (performance.now() - start < 300 && round < 1000); round++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    best = Math.min(best, (performance.now() - t0) / reps / 1000);
  }
  return best;
}

function table(title: string, header: string[], rows: string[][]): void {
  if (!title.toLowerCase().includes(filter.toLowerCase())) return;
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
}

// ---------------------------------------------------------------- backends

const nat = loadNativeKernels();
const threads = nat.info.available ? nat.info.threads : availableParallelism();
type Impl = { name: string; kernels: Kernels; threads?: number; maxFlops?: number };
const impls: Impl[] = [
  { name: 'ref', kernels: refKernels, maxFlops: 3e8 },
  { name: 'js', kernels: jsKernels, maxFlops: 3e9 },
];
if (nat.kernels) {
  impls.push({ name: 'native 1t', kernels: nat.kernels, threads: 1 });
  if (threads > 1) impls.push({ name: `native ${threads}t`, kernels: nat.kernels, threads });
}
const i = nat.info;
console.log(i.available
  ? `native: ${i.library}, OpenBLAS core ${i.blasCore} (OPENBLAS_CORETYPE=${i.coreType ?? '(autodetect)'}: ${i.coreTypeReason}; ambient ${i.ambientCoreType ?? 'unset'}), ${i.threads} threads (${i.threadsReason}), ${i.simd}`
  : `native: unavailable (${i.reason})`);

/** Runs fn on each implementation (with its thread count set); '-' where skipped. */
function across(flops: number, fn: (k: Kernels) => void, cell: (sec: number) => string, skipRef = false): string[] {
  return impls.map((im) => {
    if ((im.maxFlops !== undefined && flops > im.maxFlops) || (skipRef && im.name === 'ref')) return '-';
    if (im.threads) setNativeThreads(im.threads);
    return cell(timeit(() => fn(im.kernels)));
  });
}
const gflops = (flops: number) => (sec: number) => (flops / sec / 1e9).toFixed(1);
const micros = (sec: number) => (sec * 1e6).toFixed(sec < 1e-4 ? 1 : 0);

// ---------------------------------------------------------------- matmul

{
  // [label, batch, M, N, K, transA, transB, accumulate, strideA, strideB]
  type Case = [string, number, number, number, number, boolean, boolean, boolean, number, number];
  const cases: Case[] = [
    ['512^3', 1, 512, 512, 512, false, false, false, 512 * 512, 512 * 512],
    ['(2048x64)@(64x192)', 1, 2048, 192, 64, false, false, false, 0, 0],
    ['(2048x256)@(256x1024)', 1, 2048, 1024, 256, false, false, false, 0, 0],
    ['medium qkv   x W^T   2048x768x256', 1, 2048, 768, 256, false, true, false, 0, 0],
    ['medium proj  x W^T   2048x256x256', 1, 2048, 256, 256, false, true, false, 0, 0],
    ['medium fc    x W^T   2048x1024x256', 1, 2048, 1024, 256, false, true, false, 0, 0],
    ['medium fc2   x W^T   2048x256x1024', 1, 2048, 256, 1024, false, true, false, 0, 0],
    ['medium fc2   dY W    2048x1024x256', 1, 2048, 1024, 256, false, false, false, 0, 0],
    ['medium fc    dY^T X  1024x256x2048 +=', 1, 1024, 256, 2048, true, false, true, 0, 0],
    ['medium head  x E^T   2048x512x256', 1, 2048, 512, 256, false, true, false, 0, 0],
    ['tiny qkv     x W^T   2048x192x64', 1, 2048, 192, 64, false, true, false, 0, 0],
    ['tiny qkv     dY^T X  192x64x2048 +=', 1, 192, 64, 2048, true, false, true, 0, 0],
    ['batched 256 x (64x64x32)', 256, 64, 64, 32, false, true, false, 64 * 32, 64 * 32],
    ['batched 256 x (64x32x64), B shared', 256, 64, 32, 64, false, false, false, 64 * 64, 0],
  ];
  const rows = cases.map(([label, batch, M, N, K, tA, tB, acc, sA, sB]) => {
    const A = randn(batch === 1 ? M * K : (batch - 1) * sA + M * K);
    const B = randn(batch === 1 ? K * N : (batch - 1) * sB + K * N);
    const C = new Float32Array(batch * M * N);
    const flops = 2 * batch * M * N * K;
    return [label, ...across(flops, (k) => k.matmul(A, B, C, batch, M, N, K, tA, tB, acc, sA, sB), gflops(flops))];
  });
  table('matmul, GFLOP/s', ['shape (M x N x K)', ...impls.map((m) => m.name)], rows);
}

// ---------------------------------------------------------------- attention

{
  const configs: [string, number, number, number, number][] = [
    ['medium B32 T64 C256 H8 (hs 32)', 32, 64, 256, 8],
    ['small  B32 T64 C128 H4 (hs 32)', 32, 64, 128, 4],
    ['tiny   B32 T64 C64  H4 (hs 16)', 32, 64, 64, 4],
  ];
  const rows: string[][] = [];
  for (const [label, B, T, C, H] of configs) {
    const qkv = randn(B * T * 3 * C), out = new Float32Array(B * T * C), att = new Float32Array(B * H * T * T);
    const dout = randn(B * T * C), dqkv = new Float32Array(B * T * 3 * C);
    const flops = 4 * B * H * T * T * (C / H);
    refKernels.attention(qkv, out, att, B, T, C, H);
    rows.push([`${label} forward`, ...across(flops, (k) => k.attention(qkv, out, att, B, T, C, H), gflops(flops), true)]);
    rows.push([`${label} backward`, ...across(2 * flops, (k) => k.attentionBackward(qkv, att, dout, dqkv, B, T, C, H), gflops(2 * flops), true)]);
  }
  table('attention, nominal GFLOP/s', ['config', ...impls.map((m) => m.name)], rows);
  const rowsUs: string[][] = [];
  for (const [label, B, T, C, H] of configs.slice(0, 1)) {
    const qkv = randn(B * T * 3 * C), out = new Float32Array(B * T * C), att = new Float32Array(B * H * T * T);
    const dout = randn(B * T * C), dqkv = new Float32Array(B * T * 3 * C);
    refKernels.attention(qkv, out, att, B, T, C, H);
    rowsUs.push([`${label} forward`, ...across(0, (k) => k.attention(qkv, out, att, B, T, C, H), micros)]);
    rowsUs.push([`${label} backward`, ...across(0, (k) => k.attentionBackward(qkv, att, dout, dqkv, B, T, C, H), micros)]);
  }
  table('attention, µs per call', ['config', ...impls.map((m) => m.name)], rowsUs);
}

// ---------------------------------------------------------------- the other kernels

{
  const rowsN = 2048, C = 256, F = 1024, V = 512, P = 4_800_000;
  const x = randn(rowsN * C), y = new Float32Array(rowsN * C), dx = new Float32Array(rowsN * C), dy = randn(rowsN * C);
  const w = randn(C), b = randn(C), dw = new Float32Array(C), db = new Float32Array(C);
  const mean = new Float32Array(rowsN), rstd = new Float32Array(rowsN);
  const h = randn(rowsN * F), hy = new Float32Array(rowsN * F), dh = randn(rowsN * F), dhx = new Float32Array(rowsN * F);
  const bias = randn(F), dBias = new Float32Array(F);
  const logits = randn(rowsN * V), probs = new Float32Array(rowsN * V), dLogits = new Float32Array(rowsN * V);
  const targets = new Int32Array(rowsN).map(() => rng.int(V)), losses = new Float32Array(rowsN);
  const gradScale = new Float32Array(rowsN).fill(1 / rowsN);
  const table0 = randn(V * C), dTable = new Float32Array(V * C), ids = new Int32Array(rowsN).map(() => rng.int(V));
  const p = randn(P), g = randn(P), m = new Float32Array(P), v = new Float32Array(P);
  const cases: [string, (k: Kernels) => void][] = [
    ['layernorm 2048x256', (k) => k.layernorm(x, w, b, y, mean, rstd, rowsN, C, 1e-5)],
    ['layernormBackward 2048x256', (k) => k.layernormBackward(x, w, mean, rstd, dy, dx, dw, db, rowsN, C)],
    ['gelu 2048x1024', (k) => k.unary('gelu', h, hy)],
    ['geluBackward 2048x1024', (k) => k.unaryBackward('gelu', h, hy, dh, dhx)],
    ['addBias 2048x1024', (k) => k.addBias(hy, bias, rowsN, F)],
    ['biasBackward 2048x1024', (k) => k.biasBackward(dh, dBias, rowsN, F)],
    ['add (same shape) 2048x256', (k) => k.binary('add', x, [rowsN, C], dy, [rowsN, C], y, [rowsN, C])],
    ['softmax 2048x512', (k) => k.softmax(logits, probs, rowsN, V, false)],
    ['softmaxBackward 2048x512', (k) => k.softmaxBackward(probs, logits, dLogits, rowsN, V, false)],
    ['crossEntropy+grad 2048x512', (k) => k.crossEntropy(logits, targets, losses, rowsN, V, dLogits, gradScale, null)],
    ['embedding 2048x256', (k) => k.embedding(table0, ids, y, rowsN, C)],
    ['embeddingBackward 2048x256', (k) => k.embeddingBackward(dy, ids, dTable, rowsN, C)],
    ['axpy 2048x1024', (k) => k.axpy(dh, 0.5, dhx)],
    [`adamw ${(P / 1e6).toFixed(1)}M params`, (k) => k.adamw(p, g, m, v, 1e-3, 0.9, 0.95, 1e-8, 0.1, 10)],
  ];
  const rows = cases.map(([label, fn]) => [label, ...across(0, fn, micros)]);
  table('other kernels, µs per call (medium sizes: rows 2048, C 256, MLP 1024, vocab 512)', ['kernel', ...impls.map((im) => im.name)], rows);
}
if (nat.kernels) setNativeThreads(threads);
console.log(`\nload average before ${load0.toFixed(2)}, after ${loadavg()[0].toFixed(2)} (2-thread columns need idle cores to mean anything)`);
