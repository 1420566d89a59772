// Exact GELU, x * Phi(x), and its gradient, four lanes at a time.
//
// Phi comes from the same erf as ref.ts (Abramowitz & Stegun 7.1.26), written
// as erfc for negative inputs so small tails keep their relative accuracy:
//   q = poly(t) * t * exp(-z^2), t = 1 / (1 + p|z|), z = x / sqrt(2)
//   Phi(x) = q / 2 (x < 0), 1 - q / 2 (x >= 0);  Phi'(x) = exp(-x^2/2) / sqrt(2 pi)

import { expNeg4 } from './simd_math';

const P: f32 = 0.3275911;
const A1: f32 = 0.254829592, A2: f32 = -0.284496736, A3: f32 = 1.421413741, A4: f32 = -1.453152027, A5: f32 = 1.061405429;
const SQRT1_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

/** q/2 = erfc(|x|/sqrt 2)/2 by A&S 7.1.26, given e = exp(-x^2/2). */
// @ts-ignore: decorator
@inline
function halfTail4(x: v128, e: v128): v128 {
  const a = f32x4.abs(f32x4.mul(x, f32x4.splat(SQRT1_2)));
  const t = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(P), a)));
  let poly = f32x4.splat(A5);
  poly = f32x4.add(f32x4.mul(poly, t), f32x4.splat(A4));
  poly = f32x4.add(f32x4.mul(poly, t), f32x4.splat(A3));
  poly = f32x4.add(f32x4.mul(poly, t), f32x4.splat(A2));
  poly = f32x4.add(f32x4.mul(poly, t), f32x4.splat(A1));
  return f32x4.mul(f32x4.mul(f32x4.mul(poly, t), e), f32x4.splat(0.5));
}

/** Phi(x) from the tail: q/2 for x < 0, 1 - q/2 otherwise. */
// @ts-ignore: decorator
@inline
function phiFromTail4(x: v128, halfQ: v128): v128 {
  return v128.bitselect(halfQ, f32x4.sub(f32x4.splat(1), halfQ), f32x4.lt(x, f32x4.splat(0)));
}

/** exp(-x^2 / 2) in lanes. */
// @ts-ignore: decorator
@inline
function gauss4(x: v128): v128 {
  return expNeg4(f32x4.mul(f32x4.mul(x, x), f32x4.splat(-0.5)));
}

/** gelu(x) in lanes. */
// @ts-ignore: decorator
@inline
function gelu4(x: v128): v128 {
  return f32x4.mul(x, phiFromTail4(x, halfTail4(x, gauss4(x))));
}

/** gelu'(x) in lanes: Phi(x) + x phi(x). */
// @ts-ignore: decorator
@inline
function geluGrad4(x: v128): v128 {
  const e = gauss4(x);
  return f32x4.add(phiFromTail4(x, halfTail4(x, e)), f32x4.mul(f32x4.mul(x, f32x4.splat(INV_SQRT_2PI)), e));
}

/** y = gelu(x), n elements; tmp: 16 scratch bytes for the tail. */
export function geluForward(x: usize, y: usize, n: i32, tmp: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + <usize>i * 4, gelu4(v128.load(x + <usize>i * 4)));
  if (i < n) {
    v128.store(tmp, i32x4.splat(0));
    memory.copy(tmp, x + <usize>i * 4, <usize>(n - i) * 4);
    v128.store(tmp, gelu4(v128.load(tmp)));
    memory.copy(y + <usize>i * 4, tmp, <usize>(n - i) * 4);
  }
}

/** dx += dy * gelu'(x), n elements; tmp: 48 scratch bytes for the tail. */
export function geluBackward(x: usize, dy: usize, dx: usize, n: i32, tmp: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * 4;
    v128.store(dx + o, f32x4.add(v128.load(dx + o), f32x4.mul(v128.load(dy + o), geluGrad4(v128.load(x + o)))));
  }
  if (i < n) {
    // the last partial block through tmp: x at +0, dy at +16, dx at +32
    const o = <usize>i * 4, bytes = <usize>(n - i) * 4;
    v128.store(tmp, i32x4.splat(0)); v128.store(tmp, i32x4.splat(0), 16); v128.store(tmp, i32x4.splat(0), 32);
    memory.copy(tmp, x + o, bytes);
    memory.copy(tmp + 16, dy + o, bytes);
    memory.copy(tmp + 32, dx + o, bytes);
    v128.store(tmp, f32x4.add(v128.load(tmp, 32), f32x4.mul(v128.load(tmp, 16), geluGrad4(v128.load(tmp)))), 32);
    memory.copy(dx + o, tmp + 32, bytes);
  }
}
