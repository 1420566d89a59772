/**
 * Reductions and layout ops: sum / mean / max, reshape, permute / transpose,
 * slice, concat, gather along an axis. Each forward sits above its backward.
 */
import { K } from './backend.ts';
import { sizeOf } from './kernels/ref.ts';
import { record, Tensor } from './tensor.ts';
import { allocF32 } from './pool.ts';

function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** (outer, n, inner) view of a shape around an axis. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

// ---------------------------------------------------------------- reductions

/** Sum over one axis (or all elements when axis is undefined). */
export function sum(x: Tensor, axis?: number, keepDim = false): Tensor {
  if (axis === undefined) {
    let s = 0;
    for (let i = 0; i < x.size; i++) s += x.data[i];
    const out = Tensor.scalar(s);
    return record(out, [x], () => K.axpy(allocF32(x.size).fill(out.grad![0]), 1, x.gradBuf()));
  }
  const a = normAxis(axis, x.rank, 'sum');
  const [outer, n, inner] = around(x.shape, a);
  const shape = keepDim ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  const out = Tensor.zeros(shape);
  K.reduce('sum', x.data, out.data, null, outer, n, inner);
  return record(out, [x], () => {
    const dy = out.grad!, dx = x.gradBuf();
    for (let o = 0; o < outer; o++) for (let j = 0; j < n; j++) {
      const src = dy.subarray(o * inner, (o + 1) * inner);
      K.axpy(src, 1, dx.subarray((o * n + j) * inner, (o * n + j + 1) * inner));
    }
  });
}

/** Mean over one axis (or all elements). */
export function mean(x: Tensor, axis?: number, keepDim = false): Tensor {
  const n = axis === undefined ? x.size : x.shape[normAxis(axis, x.rank, 'mean')];
  const s = sum(x, axis, keepDim);
  const out = Tensor.zeros(s.shape);
  K.scale(s.data, 1 / n, out.data);
  return record(out, [s], () => K.axpy(out.grad!, 1 / n, s.gradBuf()));
}

/** Max over one axis; the gradient flows to the (first) argmax. */
export function max(x: Tensor, axis: number, keepDim = false): Tensor {
  const a = normAxis(axis, x.rank, 'max');
  const [outer, n, inner] = around(x.shape, a);
  const shape = keepDim ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  const out = Tensor.zeros(shape);
  const arg = new Int32Array(outer * inner);
  K.reduce('max', x.data, out.data, arg, outer, n, inner);
  return record(out, [x], () => {
    const dy = out.grad!, dx = x.gradBuf();
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
      dx[(o * n + arg[o * inner + i]) * inner + i] += dy[o * inner + i];
    }
  });
}

// ---------------------------------------------------------------- layout

/** Same data, new shape (one dim may be -1). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((d) => d !== -1);
  const free = shape.length - known.length;
  if (free > 1) throw new Error(`reshape: more than one -1 in ${shapeStr(shape)}`);
  const resolved = free ? shape.map((d) => (d === -1 ? x.size / sizeOf(known) : d)) : [...shape];
  if (sizeOf(resolved) !== x.size || !resolved.every(Number.isInteger)) {
    throw new Error(`reshape: cannot view ${shapeStr(x.shape)} (${x.size} elements) as ${shapeStr(shape)}`);
  }
  const out = new Tensor(x.data, resolved);
  return record(out, [x], () => {
    // the same elements in the same order: a fresh gradient IS dy (out is done with it), so share instead of copying
    if (!x.grad) x.grad = out.grad;
    else K.axpy(out.grad!, 1, x.grad);
  });
}

/** Permutes axes: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
    throw new Error(`permute: ${shapeStr(perm)} is not a permutation of the ${x.rank} axes of ${shapeStr(x.shape)}`);
  }
  const shape = perm.map((p) => x.shape[p]);
  const out = Tensor.zeros(shape);
  K.permute(x.data, x.shape, perm, out.data);
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return record(out, [x], () => {
    const back = allocF32(x.size);
    K.permute(out.grad!, shape, inverse, back);
    K.axpy(back, 1, x.gradBuf());
  });
}

/** Swaps two axes. */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const perm = x.shape.map((_, i) => i);
  const i = normAxis(a, x.rank, 'transpose'), j = normAxis(b, x.rank, 'transpose');
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return permute(x, perm);
}

/** x[..., start:end, ...] along one axis. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = normAxis(axis, x.rank, 'slice');
  const [outer, n, inner] = around(x.shape, a);
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= n)) {
    throw new Error(`slice: [${start}, ${end}) is out of range for axis ${axis} of ${shapeStr(x.shape)}`);
  }
  const len = (end - start) * inner;
  const out = Tensor.zeros(x.shape.map((d, i) => (i === a ? end - start : d)));
  K.copyBlocks(x.data, start * inner, n * inner, out.data, 0, len, outer, len, false);
  return record(out, [x], () => K.copyBlocks(out.grad!, 0, len, x.gradBuf(), start * inner, n * inner, outer, len, true));
}

/** Joins tensors along an axis; all other dims must agree. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error('concat: no tensors');
  const a = normAxis(axis, xs[0].rank, 'concat');
  for (const t of xs) {
    if (t.rank !== xs[0].rank || t.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
      throw new Error(`concat: shapes ${xs.map((t) => shapeStr(t.shape)).join(', ')} differ outside axis ${axis}`);
    }
  }
  const total = xs.reduce((s, t) => s + t.shape[a], 0);
  const shape = xs[0].shape.map((d, i) => (i === a ? total : d));
  const [outer, , inner] = around(shape, a);
  const out = Tensor.zeros(shape);
  const offsets: number[] = [];
  let off = 0;
  for (const t of xs) {
    offsets.push(off);
    K.copyBlocks(t.data, 0, t.shape[a] * inner, out.data, off * inner, total * inner, outer, t.shape[a] * inner, false);
    off += t.shape[a];
  }
  return record(out, xs, () => {
    xs.forEach((t, k) => {
      if (!t.requiresGrad) return;
      const len = t.shape[a] * inner;
      K.copyBlocks(out.grad!, offsets[k] * inner, total * inner, t.gradBuf(), 0, len, outer, len, true);
    });
  });
}

/**
 * Picks entries along an axis: for x (..., n, ...) and integer idx of shape
 * (..., m, ...) (same dims except the axis), out[..., j, ...] = x[..., idx[..., j, ...], ...].
 */
export function gather(x: Tensor, axis: number, idx: Int32Array, idxShape: readonly number[]): Tensor {
  const a = normAxis(axis, x.rank, 'gather');
  if (idxShape.length !== x.rank || idxShape.some((d, i) => i !== a && d !== x.shape[i]) || sizeOf(idxShape) !== idx.length) {
    throw new Error(`gather: index shape ${shapeStr(idxShape)} does not fit ${shapeStr(x.shape)} along axis ${axis}`);
  }
  const [outer, n, inner] = around(x.shape, a), m = idxShape[a];
  for (let i = 0; i < idx.length; i++) {
    if (!(idx[i] >= 0 && idx[i] < n)) throw new Error(`gather: index ${idx[i]} at position ${i} is outside [0, ${n})`);
  }
  const out = Tensor.zeros(idxShape);
  K.gather(x.data, idx, out.data, outer, n, m, inner);
  return record(out, [x], () => K.gatherBackward(out.grad!, idx, x.gradBuf(), outer, n, m, inner));
}
