/**
 * Portable broadcasting kernels: binary, reduceBroadcast, unary, permute.
 *
 * Broadcasting is handled by coalescing: dims are right-aligned, given
 * per-operand strides (0 where an operand broadcasts), and adjacent dims are
 * merged wherever every operand is contiguous across them. After that the
 * common cases (same shape, scalar, row broadcast) have one or two dims left
 * and the inner loop runs over the longest contiguous run with fixed steps.
 */
import type { BinaryOp, UnaryOp } from './types.ts';
import { broadcastStrides, geluGrad } from './ref.ts';

/** Merge adjacent dims where every operand's stride chains (s[d] == s[d+1] * n[d+1]); drops size-1 dims. */
function coalesce(shape: readonly number[], strides: number[][]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d];
    if (n === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * n)) {
      outShape[last] *= n;
      for (let k = 0; k < strides.length; k++) outStrides[k][last] = strides[k][d];
    } else {
      outShape.push(n);
      for (let k = 0; k < strides.length; k++) outStrides[k].push(strides[k][d]);
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    for (const s of outStrides) s.push(0);
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * Visit the outer dims of a coalesced iteration space; calls inner(offsets..., count)
 * once per innermost run. Offsets advance by an odometer, no division per element.
 */
function forEachRun(shape: number[], strides: number[][], inner: (o0: number, o1: number, o2: number, n: number) => void): void {
  const rank = shape.length, n = shape[rank - 1];
  const s0 = strides[0], s1 = strides[1], s2 = strides[2] ?? new Array<number>(rank).fill(0);
  const idx = new Array<number>(rank).fill(0);
  let o0 = 0, o1 = 0, o2 = 0;
  for (;;) {
    inner(o0, o1, o2, n);
    let d = rank - 2;
    for (; d >= 0; d--) {
      o0 += s0[d]; o1 += s1[d]; o2 += s2[d];
      if (++idx[d] < shape[d]) break;
      o0 -= s0[d] * shape[d]; o1 -= s1[d] * shape[d]; o2 -= s2[d] * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

/** out[o + i] = a[ia + i*sa] (op) b[ib + i*sb] for i in [0, n); sa, sb in {0, 1}. */
function binaryRun(op: BinaryOp, a: Float32Array, ia: number, sa: number, b: Float32Array, ib: number, sb: number, out: Float32Array, o: number, n: number): void {
  if (sa === 1 && sb === 1 && ia === 0 && ib === 0 && o === 0) return binarySame(op, a, b, out, n);
  const end = o + n;
  switch (op) {
    case 'add': for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] + b[ib]; break;
    case 'sub': for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] - b[ib]; break;
    case 'mul': for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] * b[ib]; break;
    case 'div': for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] / b[ib]; break;
  }
}

/** out[i] = a[i] (op) b[i]: the same-shape case, with plain indexing V8 optimizes best. */
function binarySame(op: BinaryOp, a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
  switch (op) {
    case 'add': for (let i = 0; i < n; i++) out[i] = a[i] + b[i]; break;
    case 'sub': for (let i = 0; i < n; i++) out[i] = a[i] - b[i]; break;
    case 'mul': for (let i = 0; i < n; i++) out[i] = a[i] * b[i]; break;
    case 'div': for (let i = 0; i < n; i++) out[i] = a[i] / b[i]; break;
  }
}

export function binary(op: BinaryOp, a: Float32Array, aShape: readonly number[], b: Float32Array, bShape: readonly number[], out: Float32Array, outShape: readonly number[]): void {
  const n = out.length;
  if (n === 0) return;
  // fast paths: same size, scalar operand
  if (a.length === n && b.length === n) return binaryRun(op, a, 0, 1, b, 0, 1, out, 0, n);
  if (b.length === 1 && a.length === n) return binaryRun(op, a, 0, 1, b, 0, 0, out, 0, n);
  if (a.length === 1 && b.length === n) return binaryRun(op, a, 0, 0, b, 0, 1, out, 0, n);
  const rank = outShape.length;
  const c = coalesce(outShape, [broadcastStrides(outShape, rank), broadcastStrides(aShape, rank), broadcastStrides(bShape, rank)]);
  const [so, sa, sb] = c.strides;
  const r = c.shape.length - 1;
  const inner = c.shape[r], sai = sa[r], sbi = sb[r];
  if (so[r] !== 1) throw new Error('binary: internal error, out not contiguous');
  if (c.shape.length === 2) {
    // row broadcast (one operand repeats over rows) or column broadcast (constant within rows)
    const rows = c.shape[0];
    for (let i = 0, ia = 0, ib = 0; i < rows; i++, ia += sa[0], ib += sb[0]) binaryRun(op, a, ia, sai, b, ib, sbi, out, i * inner, inner);
    return;
  }
  forEachRun(c.shape, [so, sa, sb], (oo, ia, ib, len) => binaryRun(op, a, ia, sai, b, ib, sbi, out, oo, len));
}

export function reduceBroadcast(src: Float32Array, srcShape: readonly number[], dst: Float32Array, dstShape: readonly number[]): void {
  const n = src.length;
  if (n === 0) return;
  if (dst.length === n) {
    for (let i = 0; i < n; i++) dst[i] += src[i];
    return;
  }
  if (dst.length === 1) {
    let s = 0;
    for (let i = 0; i < n; i++) s += src[i];
    dst[0] += s;
    return;
  }
  const rank = srcShape.length;
  const c = coalesce(srcShape, [broadcastStrides(srcShape, rank), broadcastStrides(dstShape, rank)]);
  const [ss, sd] = c.strides;
  const r = c.shape.length - 1, inner = c.shape[r];
  if (sd[r] === 0) {
    // dst constant along the run: sum the run
    forEachRun(c.shape, [ss, sd], (is, id, _, len) => {
      let s = 0;
      for (let i = is, end = is + len; i < end; i++) s += src[i];
      dst[id] += s;
    });
  } else if (c.shape.length === 2 && sd[0] === 0) {
    // dst is a row summed over rows (the bias-gradient shape)
    sumRows(src, c.shape[0], inner, dst);
  } else {
    forEachRun(c.shape, [ss, sd], (is, id, _, len) => {
      for (let i = 0; i < len; i++) dst[id + i] += src[is + i];
    });
  }
}

/** out (n) += sum over rows of x (rows, n), in float64; four rows per pass over the accumulator (~2x one). */
export function sumRows(x: Float32Array, rows: number, n: number, out: Float32Array): void {
  const acc = new Float64Array(n);
  let r = 0, o = 0;
  for (; r + 4 <= rows; r += 4, o += 4 * n) {
    for (let j = 0; j < n; j++) acc[j] += (x[o + j] + x[o + n + j]) + (x[o + 2 * n + j] + x[o + 3 * n + j]);
  }
  for (; r < rows; r++, o += n) for (let j = 0; j < n; j++) acc[j] += x[o + j];
  for (let j = 0; j < n; j++) out[j] += acc[j];
}

// ---------------------------------------------------------------- unary

// erf as in ref.ts (Abramowitz & Stegun 7.1.26), inlined so the GELU loop calls nothing
const P = 0.3275911, A1 = 0.254829592, A2 = -0.284496736, A3 = 1.421413741, A4 = -1.453152027, A5 = 1.061405429;

function geluFast(x: number): number {
  const z = x * Math.SQRT1_2;
  const a = z < 0 ? -z : z;
  let e = 1;
  if (a <= 6) {
    const t = 1 / (1 + P * a);
    e = 1 - ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t * Math.exp(-a * a);
  }
  return 0.5 * x * (1 + (z < 0 ? -e : e));
}

export function unary(op: UnaryOp, x: Float32Array, y: Float32Array): void {
  const n = x.length;
  switch (op) {
    case 'gelu': for (let i = 0; i < n; i++) y[i] = geluFast(x[i]); break;
    case 'relu': for (let i = 0; i < n; i++) { const v = x[i]; y[i] = v > 0 ? v : 0; } break;
    case 'tanh': for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]); break;
    case 'exp': for (let i = 0; i < n; i++) y[i] = Math.exp(x[i]); break;
    case 'log': for (let i = 0; i < n; i++) y[i] = Math.log(x[i]); break;
    case 'neg': for (let i = 0; i < n; i++) y[i] = -x[i]; break;
    case 'sqrt': for (let i = 0; i < n; i++) y[i] = Math.sqrt(x[i]); break;
    case 'square': for (let i = 0; i < n; i++) { const v = x[i]; y[i] = v * v; } break;
  }
}

export function unaryBackward(op: UnaryOp, x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array): void {
  const n = x.length;
  switch (op) {
    case 'gelu': for (let i = 0; i < n; i++) dx[i] += dy[i] * geluGrad(x[i]); break;
    case 'relu': for (let i = 0; i < n; i++) if (x[i] > 0) dx[i] += dy[i]; break;
    case 'tanh': for (let i = 0; i < n; i++) { const v = y[i]; dx[i] += dy[i] * (1 - v * v); } break;
    case 'exp': for (let i = 0; i < n; i++) dx[i] += dy[i] * y[i]; break;
    case 'log': for (let i = 0; i < n; i++) dx[i] += dy[i] / x[i]; break;
    case 'neg': for (let i = 0; i < n; i++) dx[i] -= dy[i]; break;
    case 'sqrt': for (let i = 0; i < n; i++) dx[i] += dy[i] * 0.5 / y[i]; break;
    case 'square': for (let i = 0; i < n; i++) dx[i] += dy[i] * 2 * x[i]; break;
  }
}

// ---------------------------------------------------------------- permute

export function permute(x: Float32Array, shape: readonly number[], perm: readonly number[], out: Float32Array): void {
  const rank = shape.length;
  if (out.length === 0) return;
  const inStrides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) { inStrides[d] = s; s *= shape[d]; }
  const outShape = perm.map((p) => shape[p]);
  const outStrides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) { outStrides[d] = s; s *= outShape[d]; }
  const c = coalesce(outShape, [outStrides, perm.map((p) => inStrides[p])]);
  const [so, si] = c.strides;
  const r = c.shape.length - 1, step = si[r];
  forEachRun(c.shape, [so, si], (oo, ii, _, len) => {
    if (step === 1) out.set(x.subarray(ii, ii + len), oo);
    else for (let j = 0; j < len; j++, ii += step) out[oo + j] = x[ii];
  });
}
