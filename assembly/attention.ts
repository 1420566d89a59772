// Causal self-attention over a packed projection, one (batch, head) pair at a
// time, as small matmuls on contiguous copies of the head's q, k, v. The
// products run in bands of BAND rows that stop at the diagonal, so the zero
// half of the (T, T) factors costs (almost) nothing.
//
// qkv (B, T, 3C) holds [q | k | v] per token; out (B, T, C); att (B, H, T, T).
// A call processes pairs p in [p0, p1) of the B*H pairs, so threads can split
// one call. `work` is this thread's scratch of attentionWorkFloats(T, hs)
// floats; `mmScratch` is its matmul scratch.
import { matmulPacked, NR, packB, packedBFloats } from './matmul';
import { expNeg4 } from './simd_math';

const BAND = 8;

export function attentionWorkFloats(T: i32, hs: i32): i32 {
  return 7 * T * hs + T * T + packFloats(T, hs);
}

/** The packed-B area of the largest of the per-head products. */
function packFloats(T: i32, hs: i32): i32 {
  return max(packedBFloats(T, hs), packedBFloats(hs, T));
}

/** S (T, T) = x y^T for x, y (T, hs), on and below the diagonal (entries above it are left unspecified). */
function lowerXYt(x: usize, y: usize, S: usize, T: i32, hs: i32, packed: usize, scratch: usize): void {
  packB(y, true, hs, T, 0, (T + NR - 1) / NR, packed);
  for (let i0 = 0; i0 < T; i0 += BAND) {
    const i1 = min(T, i0 + BAND);
    matmulPacked(x, packed, S, T, T, hs, false, false, i0, i1, 0, min(T, (i1 + NR - 1) / NR * NR), 0, hs, scratch);
  }
}

/** out (T, hs) = L y for L (T, T) lower triangular: rows [i0, i1) sum over k < i1. */
function lowerTimes(L: usize, y: usize, out: usize, T: i32, hs: i32, packed: usize, scratch: usize): void {
  packB(y, false, T, hs, 0, (hs + NR - 1) / NR, packed);
  for (let i0 = 0; i0 < T; i0 += BAND) {
    const i1 = min(T, i0 + BAND);
    matmulPacked(L, packed, out, T, hs, T, false, false, i0, i1, 0, hs, 0, i1, scratch);
  }
}

/** out (T, hs) = L^T y for L (T, T) lower triangular: rows [j0, j1) sum over k >= j0. */
function lowerTTimes(L: usize, y: usize, out: usize, T: i32, hs: i32, packed: usize, scratch: usize): void {
  packB(y, false, T, hs, 0, (hs + NR - 1) / NR, packed);
  for (let j0 = 0; j0 < T; j0 += BAND) {
    matmulPacked(L, packed, out, T, hs, T, true, false, j0, min(T, j0 + BAND), 0, hs, j0, T, scratch);
  }
}

/**
 * row[0:n] = softmax(row[0:n] * scale), row[n:T] = 0: one causal row of
 * scores in place (full blocks of 4 in lanes, the rest scalar, so nothing
 * past the row's first n entries is read as a score).
 */
// @ts-ignore: decorator
@inline
function softmaxRow(row: usize, n: i32, T: i32, scale: f32): void {
  const n4 = n & ~3, sc4 = f32x4.splat(scale);
  let mx4 = f32x4.splat(-Infinity);
  for (let j = 0; j < n4; j += 4) mx4 = f32x4.pmax(mx4, v128.load(row + <usize>j * 4));
  let mx = max(max(f32x4.extract_lane(mx4, 0), f32x4.extract_lane(mx4, 1)), max(f32x4.extract_lane(mx4, 2), f32x4.extract_lane(mx4, 3)));
  for (let j = n4; j < n; j++) mx = max(mx, load<f32>(row + <usize>j * 4));
  mx *= scale; // scale > 0, so max(s) * scale = max(s * scale)
  const m4 = f32x4.splat(mx);
  let s4 = f32x4.splat(0);
  for (let j = 0; j < n4; j += 4) {
    const e = expNeg4(f32x4.sub(f32x4.mul(v128.load(row + <usize>j * 4), sc4), m4));
    v128.store(row + <usize>j * 4, e);
    s4 = f32x4.add(s4, e);
  }
  let sum = f32x4.extract_lane(s4, 0) + f32x4.extract_lane(s4, 1) + f32x4.extract_lane(s4, 2) + f32x4.extract_lane(s4, 3);
  for (let j = n4; j < n; j++) {
    const e = Mathf.exp(load<f32>(row + <usize>j * 4) * scale - mx);
    store<f32>(row + <usize>j * 4, e);
    sum += e;
  }
  const inv: f32 = 1 / sum, inv4 = f32x4.splat(inv);
  for (let j = 0; j < n4; j += 4) v128.store(row + <usize>j * 4, f32x4.mul(v128.load(row + <usize>j * 4), inv4));
  for (let j = n4; j < n; j++) store<f32>(row + <usize>j * 4, load<f32>(row + <usize>j * 4) * inv);
  if (n < T) memory.fill(row + <usize>n * 4, 0, <usize>(T - n) * 4);
}

/**
 * d[0:n] = p * (d - sum(p * d)) * scale, d[n:T] = 0: the softmax backward of
 * one causal row, in place of dP (p is zero past n, so dS is too).
 */
// @ts-ignore: decorator
@inline
function softmaxBackwardRow(p: usize, d: usize, n: i32, T: i32, scale: f32): void {
  const n4 = n & ~3;
  let dot4 = f32x4.splat(0);
  for (let j = 0; j < n4; j += 4) dot4 = f32x4.add(dot4, f32x4.mul(v128.load(p + <usize>j * 4), v128.load(d + <usize>j * 4)));
  let dot = f32x4.extract_lane(dot4, 0) + f32x4.extract_lane(dot4, 1) + f32x4.extract_lane(dot4, 2) + f32x4.extract_lane(dot4, 3);
  for (let j = n4; j < n; j++) dot += load<f32>(p + <usize>j * 4) * load<f32>(d + <usize>j * 4);
  const dot4b = f32x4.splat(dot), sc4 = f32x4.splat(scale);
  for (let j = 0; j < n4; j += 4) {
    const o = <usize>j * 4;
    v128.store(d + o, f32x4.mul(f32x4.mul(v128.load(p + o), f32x4.sub(v128.load(d + o), dot4b)), sc4));
  }
  for (let j = n4; j < n; j++) {
    const o = <usize>j * 4;
    store<f32>(d + o, load<f32>(p + o) * (load<f32>(d + o) - dot) * scale);
  }
  if (n < T) memory.fill(d + <usize>n * 4, 0, <usize>(T - n) * 4);
}

/** dst (T, hs) = the head's columns [col, col + hs) of src rows (row length ld). */
// @ts-ignore: decorator
@inline
function gatherHead(src: usize, ld: i32, col: i32, T: i32, hs: i32, dst: usize): void {
  for (let t = 0; t < T; t++) memory.copy(dst + <usize>(t * hs) * 4, src + <usize>(t * ld + col) * 4, <usize>hs * 4);
}

/** dst rows (row length ld) at [col, col + hs) (+)= src (T, hs). */
// @ts-ignore: decorator
@inline
function scatterHead(src: usize, T: i32, hs: i32, dst: usize, ld: i32, col: i32, accumulate: bool): void {
  for (let t = 0; t < T; t++) {
    const d = dst + <usize>(t * ld + col) * 4, s = src + <usize>(t * hs) * 4;
    if (!accumulate) { memory.copy(d, s, <usize>hs * 4); continue; }
    let i = 0;
    for (; i + 4 <= hs; i += 4) v128.store(d + <usize>i * 4, f32x4.add(v128.load(d + <usize>i * 4), v128.load(s + <usize>i * 4)));
    for (; i < hs; i++) store<f32>(d + <usize>i * 4, load<f32>(d + <usize>i * 4) + load<f32>(s + <usize>i * 4));
  }
}

export function attention(
  qkv: usize, out: usize, att: usize, B: i32, T: i32, C: i32, H: i32,
  p0: i32, p1: i32, work: usize, mmScratch: usize,
): void {
  const hs = C / H, C3 = 3 * C;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hs));
  const q = work, k = q + <usize>(T * hs) * 4, v = k + <usize>(T * hs) * 4, o = v + <usize>(T * hs) * 4;
  const packed = o + <usize>(T * hs) * 4;
  for (let p = p0; p < p1; p++) {
    const b = p / H, h = p % H;
    const rows = qkv + <usize>(b * T * C3) * 4;
    gatherHead(rows, C3, h * hs, T, hs, q);
    gatherHead(rows, C3, C + h * hs, T, hs, k);
    gatherHead(rows, C3, 2 * C + h * hs, T, hs, v);
    // S = q k^T (T, T), straight into the att block, then masked softmax in place
    const P = att + <usize>(p * T * T) * 4;
    lowerXYt(q, k, P, T, hs, packed, mmScratch);
    for (let t = 0; t < T; t++) softmaxRow(P + <usize>(t * T) * 4, t + 1, T, scale);
    // out = P v (T, hs)
    lowerTimes(P, v, o, T, hs, packed, mmScratch);
    scatterHead(o, T, hs, out + <usize>(b * T * C) * 4, C, h * hs, false);
  }
}

export function attentionBackward(
  qkv: usize, att: usize, dout: usize, dqkv: usize, B: i32, T: i32, C: i32, H: i32,
  p0: i32, p1: i32, work: usize, mmScratch: usize,
): void {
  const hs = C / H, C3 = 3 * C, n = <usize>(T * hs) * 4;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hs));
  const q = work, k = q + n, v = k + n, dO = v + n, dq = dO + n, dk = dq + n, dv = dk + n, dP = dv + n;
  const packed = dP + <usize>(T * T) * 4;
  for (let p = p0; p < p1; p++) {
    const b = p / H, h = p % H;
    const rows = qkv + <usize>(b * T * C3) * 4;
    gatherHead(rows, C3, h * hs, T, hs, q);
    gatherHead(rows, C3, C + h * hs, T, hs, k);
    gatherHead(rows, C3, 2 * C + h * hs, T, hs, v);
    gatherHead(dout + <usize>(b * T * C) * 4, C, h * hs, T, hs, dO);
    const P = att + <usize>(p * T * T) * 4;
    // dP = dO v^T (T, T); dv = P^T dO (T, hs)
    lowerXYt(dO, v, dP, T, hs, packed, mmScratch);
    lowerTTimes(P, dO, dv, T, hs, packed, mmScratch);
    // dS = P * (dP - sum_j P dP) * scale, in place of dP (zero above the diagonal, as P is)
    for (let t = 0; t < T; t++) softmaxBackwardRow(P + <usize>(t * T) * 4, dP + <usize>(t * T) * 4, t + 1, T, scale);
    // dq = dS k (T, hs); dk = dS^T q (T, hs)
    lowerTimes(dP, k, dq, T, hs, packed, mmScratch);
    lowerTTimes(dP, q, dk, T, hs, packed, mmScratch);
    const drows = dqkv + <usize>(b * T * C3) * 4;
    scatterHead(dq, T, hs, drows, C3, h * hs, true);
    scatterHead(dk, T, hs, drows, C3, C + h * hs, true);
    scatterHead(dv, T, hs, drows, C3, 2 * C + h * hs, true);
  }
}
