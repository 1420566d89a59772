// Exact GELU, x * Phi(x), and its gradient, four lanes at a time.
//
// Phi comes from the same erf as ref.ts (Abramowitz & Stegun 7.1.26), written
// as erfc for negative inputs so small tails keep their relative accuracy:
//   q = poly(t) * t * exp(-z^2), t = 1 / (1 + p|z|), z = x / sqrt(2)
//   Phi(x) = q / 2 (x < 0), 1 - q / 2 (x >= 0);  Phi'(x) = exp(-x^2/2) / sqrt(2 pi)

const P: f32 = 0.3275911;
const A1: f32 = 0.254829592, A2: f32 = -0.284496736, A3: f32 = 1.421413741, A4: f32 = -1.453152027, A5: f32 = 1.061405429;
const SQRT1_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

/** exp(x) for x <= 0 (Cephes expf polynomial, |rel err| ~ 2e-7); flushes to 0 below -87. */
// @ts-ignore: decorator
@inline
function expNeg4(x: v128): v128 {
  const c = f32x4.max(x, f32x4.splat(-87));
  const n = f32x4.nearest(f32x4.mul(c, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(c, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let y = f32x4.splat(1.9875691500e-4);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(y, r), r), r), f32x4.splat(1));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  const res = f32x4.mul(y, pow2n);
  return v128.and(res, f32x4.gt(x, f32x4.splat(-87))); // exact 0 past the clamp
}

/** Phi(x) in lanes; also returns exp(-x^2/2) through `e`. */
// @ts-ignore: decorator
@inline
function phi4(x: v128, eOut: usize): v128 {
  const z = f32x4.mul(x, f32x4.splat(SQRT1_2));
  const a = f32x4.abs(z);
  const t = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(P), a)));
  let poly = f32x4.splat(A5);
  poly = f32x4.add(f32x4.mul(poly, t), f32x4.splat(A4));
  poly = f32x4.add(f32x4.mul(poly, t), f32x4.splat(A3));
  poly = f32x4.add(f32x4.mul(poly, t), f32x4.splat(A2));
  poly = f32x4.add(f32x4.mul(poly, t), f32x4.splat(A1));
  const e = expNeg4(f32x4.neg(f32x4.mul(a, a)));
  v128.store(eOut, e);
  const halfQ = f32x4.mul(f32x4.mul(f32x4.mul(poly, t), e), f32x4.splat(0.5));
  return v128.bitselect(halfQ, f32x4.sub(f32x4.splat(1), halfQ), f32x4.lt(x, f32x4.splat(0)));
}

/** y = gelu(x), n elements (any n; the tail runs through a zero-padded lane block). */
export function geluForward(x: usize, y: usize, n: i32, tmp: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const xv = v128.load(x + <usize>i * 4);
    v128.store(y + <usize>i * 4, f32x4.mul(xv, phi4(xv, tmp)));
  }
  if (i < n) {
    v128.store(tmp + 16, i32x4.splat(0));
    memory.copy(tmp + 16, x + <usize>i * 4, <usize>(n - i) * 4);
    const xv = v128.load(tmp + 16);
    v128.store(tmp + 16, f32x4.mul(xv, phi4(xv, tmp)));
    memory.copy(y + <usize>i * 4, tmp + 16, <usize>(n - i) * 4);
  }
}

/** dx += dy * gelu'(x), n elements. */
export function geluBackward(x: usize, dy: usize, dx: usize, n: i32, tmp: usize): void {
  let i = 0;
  for (; i < n; i += 4) {
    const tail = i + 4 > n;
    let xp = x + <usize>i * 4, dyp = dy + <usize>i * 4, dxp = dx + <usize>i * 4;
    if (tail) {
      // stage the last partial block through tmp (+16: x, +32: dy, +48: dx)
      v128.store(tmp + 16, i32x4.splat(0)); v128.store(tmp + 32, i32x4.splat(0)); v128.store(tmp + 48, i32x4.splat(0));
      memory.copy(tmp + 16, xp, <usize>(n - i) * 4);
      memory.copy(tmp + 32, dyp, <usize>(n - i) * 4);
      memory.copy(tmp + 48, dxp, <usize>(n - i) * 4);
      xp = tmp + 16; dyp = tmp + 32;
    }
    const xv = v128.load(xp);
    const p = phi4(xv, tmp);
    const g = f32x4.add(p, f32x4.mul(f32x4.mul(xv, f32x4.splat(INV_SQRT_2PI)), v128.load(tmp)));
    const r = f32x4.add(v128.load(tail ? tmp + 48 : dxp), f32x4.mul(v128.load(dyp), g));
    if (tail) {
      v128.store(tmp + 48, r);
      memory.copy(dxp, tmp + 48, <usize>(n - i) * 4);
    } else {
      v128.store(dxp, r);
    }
  }
}
