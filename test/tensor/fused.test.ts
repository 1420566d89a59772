/**
 * Fused ops against the ops they fuse, on every backend that loads: the
 * composition is the oracle (grad.test.ts holds both to finite
 * differences). Values and every gradient, with inputs that also feed
 * another op (so the fused backward accumulates into gradients that
 * already hold something), at GPT-like sizes that take the threaded paths.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { refKernels } from '../../src/tensor/kernels/ref.ts';
import { jsKernels } from '../../src/tensor/kernels/js.ts';
import type { Kernels } from '../../src/tensor/kernels/types.ts';
import { useKernels } from '../../src/tensor/backend.ts';
import { backward, noGrad, Tensor } from '../../src/tensor/tensor.ts';
import * as O from '../../src/tensor/ops.ts';
import { Rng } from '../../src/util/rng.ts';

async function loadBackends(): Promise<{ name: string; kernels: Kernels | null; reason?: string }[]> {
  const out: { name: string; kernels: Kernels | null; reason?: string }[] = [{ name: 'ref', kernels: refKernels }, { name: 'js', kernels: jsKernels }];
  const wasm = await import('../../src/tensor/kernels/wasm.ts').then((m) => m.loadWasmKernels(), (e: Error) => ({ kernels: null, reason: e.message }));
  out.push({ name: 'wasm', kernels: wasm.kernels, reason: wasm.reason });
  const native = await import('../../src/tensor/kernels/native.ts').then((m) => m.loadNativeKernels(), (e: Error) => ({ kernels: null, info: { reason: e.message } }));
  out.push({ name: 'native', kernels: native.kernels, reason: native.info.reason });
  return out;
}

/** |got - want| <= tol * (|want| + rms(want)) elementwise. */
function close(got: Float32Array, want: Float32Array, what: string, tol = 1e-5): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let ss = 0;
  for (const w of want) ss += w * w;
  const rms = Math.sqrt(ss / Math.max(1, want.length)) || 1;
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * (Math.abs(want[i]) + rms))) assert.fail(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
  }
}

/** Output and the gradients of every input of loss = sum(r * build(inputs)), inputs drawn from seed. */
function run(shapes: number[][], seed: string, build: (xs: Tensor[]) => Tensor): { out: Float32Array; grads: Float32Array[] } {
  const rng = new Rng(seed);
  const xs = shapes.map((s) => Tensor.randn(s, rng, 1, true));
  const y = build(xs);
  const r = Tensor.randn(y.shape, rng);
  const out = y.data.slice();
  backward(y, r.data);
  return { out, grads: xs.map((x) => x.grad!.slice()) };
}

const backends = await loadBackends();

for (const be of backends) {
  describe(`fused ops equal their composition: ${be.name}`, () => {
    const skip = be.kernels ? false : `${be.name} unavailable: ${be.reason ?? 'no reason given'}`;
    const sizes = be.name === 'ref' ? [[2, 5, 8, 12], [1, 3, 4, 1]] : [[2, 5, 8, 12], [1, 3, 4, 1], [4, 31, 128, 512]];

    it('linearGelu: gelu(linear(x, W, b)), values and the gradients of x, W and b', { skip }, () => {
      const prev = useKernels(be.kernels!);
      try {
        for (const [B, T, C, H] of sizes) {
          const shapes = [[B, T, C], [H, C], [H], [C, H]];
          // x and W also feed later products, so their gradients already hold something when the fused backward runs
          const other = (x: Tensor, w: Tensor, w2: Tensor) => O.matmul(O.matmul(x, w, { transB: true }), w2, { transB: true });
          const fused = run(shapes, `fused ${B}`, ([x, w, b, w2]) => O.add(O.linear(O.linearGelu(x, w, b), w2, null), other(x, w, w2)));
          const composed = run(shapes, `fused ${B}`, ([x, w, b, w2]) => O.add(O.linear(O.gelu(O.linear(x, w, b)), w2, null), other(x, w, w2)));
          close(fused.out, composed.out, `${be.name} ${B}x${T}x${C}x${H} output`);
          fused.grads.forEach((g, i) => close(g, composed.grads[i], `${be.name} ${B}x${T}x${C}x${H} gradient of input ${i}`, 1e-4));
          // without grad, the same values
          const rng = new Rng('nograd');
          const x = Tensor.randn([B * T, C], rng), w = Tensor.randn([H, C], rng), b = Tensor.randn([H], rng);
          close(noGrad(() => O.linearGelu(x, w, b)).data, noGrad(() => O.gelu(O.linear(x, w, b))).data, `${be.name} no grad`);
        }
      } finally {
        useKernels(prev);
      }
    });

    it('causalAttentionRows: the kernel over packed rows against gathering each sequence whole (values, gradient)', { skip }, () => {
      const k = be.kernels!;
      if (!k.attentionRows) return; // the composition is all this backend has: nothing to compare
      // G groups of M sequences sharing P positions of T, C wide, H heads
      for (const [G, M, T, C, H, P] of be.name === 'ref' ? [[2, 3, 5, 8, 2, 2]] : [[2, 3, 5, 8, 2, 2], [16, 8, 31, 128, 4, 16], [3, 2, 20, 24, 3, 20]]) {
        const B = G * M, rows = new Int32Array(B * T), q0 = new Int32Array(B);
        let R = 0;
        for (let s = 0; s < B; s++) {
          q0[s] = s % M === 0 ? 0 : P;
          for (let t = 0; t < T; t++) rows[s * T + t] = t < q0[s] ? rows[(s - 1) * T + t] : R++;
        }
        // the qkv rows also feed a later op, so their gradient already holds something
        const build = ([x]: Tensor[]) => O.add(O.causalAttentionRows(x, H, rows, q0, B, T), O.tanh(O.matmul(x, Tensor.full([3 * C, C], 0.01))));
        const prev = useKernels(k);
        let fused, composed;
        try {
          fused = run([[R, 3 * C]], `rows ${G}`, build);
          useKernels({ ...k, attentionRows: null, attentionRowsBackward: null });
          composed = run([[R, 3 * C]], `rows ${G}`, build);
        } finally {
          useKernels(prev);
        }
        close(fused.out, composed.out, `${be.name} G${G} M${M} T${T} output`);
        close(fused.grads[0], composed.grads[0], `${be.name} G${G} M${M} T${T} gradient`, 1e-4);
      }
    });
  });
}
