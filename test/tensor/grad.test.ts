/**
 * Every differentiable op's gradient against central finite differences,
 * computed in float64 around float32 values. The loss is a random projection
 * sum(r * op(inputs)) so every output element contributes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.ts';
import { Tensor, backward, noGrad } from '../../src/tensor/tensor.ts';
import * as O from '../../src/tensor/ops.ts';
import * as S from '../../src/tensor/ops_shape.ts';

type Build = (xs: Tensor[]) => Tensor;

function gradCheck(name: string, shapes: number[][], build: Build, opts: { seed?: number; positive?: boolean; tol?: number } = {}): void {
  const rng = new Rng(opts.seed ?? 1);
  const xs = shapes.map((s) => {
    const t = Tensor.randn(s, rng, 1, true);
    if (opts.positive) for (let i = 0; i < t.size; i++) t.data[i] = 0.5 + Math.abs(t.data[i]);
    return t;
  });
  const probe = noGrad(() => build(xs));
  const r = Tensor.randn(probe.shape, rng);
  const lossOf = (): number => noGrad(() => {
    const y = build(xs);
    let s = 0;
    for (let i = 0; i < y.size; i++) s += y.data[i] * r.data[i];
    return s;
  });
  const y = build(xs);
  backward(y, r.data);
  const eps = 1e-2;
  for (const [k, x] of xs.entries()) {
    const g = x.grad ?? new Float32Array(x.size);
    for (let i = 0; i < x.size; i++) {
      const orig = x.data[i];
      x.data[i] = orig + eps;
      const up = lossOf();
      x.data[i] = orig - eps;
      const down = lossOf();
      x.data[i] = orig;
      const num = (up - down) / (2 * eps);
      const tol = (opts.tol ?? 2e-2) * Math.max(1, Math.abs(num));
      assert.ok(Math.abs(num - g[i]) <= tol, `${name}: input ${k} element ${i}: analytic ${g[i]} vs numeric ${num}`);
    }
  }
}

const ids = Int32Array.from([3, 0, 2, 3, 1, 0]);

const cases: [string, number[][], Build, { positive?: boolean; tol?: number }?][] = [
  ['add broadcast', [[2, 3, 4], [4]], ([a, b]) => O.add(a, b)],
  ['sub broadcast', [[2, 1, 4], [3, 1]], ([a, b]) => O.sub(a, b)],
  ['mul broadcast', [[2, 3, 4], [3, 1]], ([a, b]) => O.mul(a, b)],
  ['div broadcast', [[3, 4], [4]], ([a, b]) => O.div(a, b), { positive: true }],
  ['gelu', [[5, 3]], ([a]) => O.gelu(a)],
  ['relu', [[5, 3]], ([a]) => O.relu(a)],
  ['tanh', [[5, 3]], ([a]) => O.tanh(a)],
  ['exp', [[5, 3]], ([a]) => O.exp(a)],
  ['log', [[5, 3]], ([a]) => O.log(a), { positive: true }],
  ['sqrt', [[4]], ([a]) => O.sqrt(a), { positive: true }],
  ['square', [[4]], ([a]) => O.square(a)],
  ['scale', [[4]], ([a]) => O.scale(a, -1.5)],
  ['matmul', [[3, 4], [4, 5]], ([a, b]) => O.matmul(a, b)],
  ['matmul transA', [[4, 3], [4, 5]], ([a, b]) => O.matmul(a, b, { transA: true })],
  ['matmul transB', [[3, 4], [5, 4]], ([a, b]) => O.matmul(a, b, { transB: true })],
  ['matmul transA transB', [[4, 3], [5, 4]], ([a, b]) => O.matmul(a, b, { transA: true, transB: true })],
  ['matmul batched', [[2, 3, 4], [2, 4, 5]], ([a, b]) => O.matmul(a, b)],
  ['matmul batched, shared B', [[2, 3, 4], [4, 5]], ([a, b]) => O.matmul(a, b)],
  ['matmul batched transA, shared B', [[2, 4, 3], [4, 5]], ([a, b]) => O.matmul(a, b, { transA: true })],
  ['matmul batched transB, shared B', [[2, 3, 4], [5, 4]], ([a, b]) => O.matmul(a, b, { transB: true })],
  ['add same shape', [[2, 3], [2, 3]], ([a, b]) => O.mul(O.add(a, b), a)],
  ['add to itself', [[2, 3]], ([a]) => O.add(a, a)],
  ['linear', [[2, 3, 4], [5, 4], [5]], ([x, w, b]) => O.linear(x, w, b)],
  // x and W used twice: the second backward accumulates into the gradients the first one wrote
  ['linear twice', [[2, 3, 4], [5, 4], [5]], ([x, w, b]) => O.mul(O.linear(x, w, b), O.linear(O.tanh(x), w, null))],
  ['matmul twice', [[3, 4], [4, 5]], ([a, b]) => O.add(O.matmul(a, b), O.matmul(O.tanh(a), O.tanh(b)))],
  ['linearGelu', [[2, 3, 4], [5, 4], [5]], ([x, w, b]) => O.linearGelu(x, w, b)],
  ['linearGelu twice', [[2, 3, 4], [5, 4], [5]], ([x, w, b]) => O.add(O.linearGelu(x, w, b), O.linear(x, w, b))],
  ['layernorm', [[3, 6], [6], [6]], ([x, w, b]) => O.layernorm(x, w, b)],
  ['softmax', [[3, 5]], ([x]) => O.softmax(x)],
  ['logSoftmax', [[3, 5]], ([x]) => O.logSoftmax(x)],
  ['causalAttention', [[2, 4, 3 * 6]], ([x]) => O.causalAttention(x, 2)],
  // 3 sequences of 4 positions in 10 rows: the second shares the first's first 2 positions
  ['causalAttentionRows', [[10, 3 * 6]], ([x]) => O.causalAttentionRows(x, 2, Int32Array.from([0, 1, 2, 3, 0, 1, 4, 5, 6, 7, 8, 9]), Int32Array.from([0, 2, 0]), 3, 4)],
  ['embedding', [[4, 3]], ([t]) => O.embedding(t, ids, [2, 3])],
  ['tokenNll', [[6, 4]], ([l]) => O.tokenNll(l, Int32Array.from([1, 0, -1, 3, 2, 2]))],
  ['crossEntropy weighted', [[6, 4]], ([l]) => O.crossEntropy(l, Int32Array.from([1, 0, -1, 3, 2, 2]), Float32Array.from([1, 0.5, 1, 0, 2, 1]))],
  ['clamp', [[6]], ([x]) => O.clamp(x, -0.5, 0.5)],
  ['minimum', [[6], [6]], ([a, b]) => O.minimum(a, b)],
  ['sum all', [[2, 3]], ([x]) => S.sum(x)],
  ['sum axis', [[2, 3, 4]], ([x]) => S.sum(x, 1)],
  ['mean axis keepdim', [[2, 3, 4]], ([x]) => S.mean(x, -1, true)],
  ['max axis', [[2, 3, 4]], ([x]) => S.max(x, 1)],
  ['reshape', [[2, 6]], ([x]) => O.mul(S.reshape(x, [3, -1]), S.reshape(x, [3, 4]))],
  ['permute', [[2, 3, 4]], ([x]) => S.permute(x, [2, 0, 1])],
  ['transpose', [[2, 3, 4]], ([x]) => S.transpose(x, 0, 2)],
  ['slice', [[2, 5, 3]], ([x]) => S.slice(x, 1, 1, 4)],
  ['concat', [[2, 2, 3], [2, 1, 3]], ([a, b]) => S.concat([a, b], 1)],
  ['gather', [[2, 4, 3]], ([x]) => S.gather(x, 1, Int32Array.from([3, 0, 1, 1, 2, 0, 0, 0, 3, 2, 1, 1]), [2, 2, 3])],
];

for (const [name, shapes, build, opts] of cases) {
  test(`gradient: ${name}`, () => gradCheck(name, shapes, build, opts));
}

test('shape errors name both shapes', () => {
  assert.throws(() => O.add(Tensor.zeros([2, 3]), Tensor.zeros([4])), /\[2, 3\] and \[4\]/);
  assert.throws(() => O.matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5])), /inner dims/);
  assert.throws(() => S.reshape(Tensor.zeros([2, 3]), [4, 2]), /cannot view/);
  assert.throws(() => O.embedding(Tensor.zeros([3, 2]), Int32Array.from([3])), /outside \[0, 3\)/);
});

test('gradients accumulate when a tensor is used twice', () => {
  const x = Tensor.from([1, 2, 3], [3], true);
  const y = S.sum(O.add(O.mul(x, x), x)); // d/dx (x^2 + x) = 2x + 1
  backward(y);
  assert.deepEqual(Array.from(x.grad!), [3, 5, 7]);
});
