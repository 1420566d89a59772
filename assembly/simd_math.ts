// Math on f32x4 lanes shared by the kernels.

// 1.5 * 2^23: adding it to a float in [-2^22, 2^22] rounds to an integer and
// leaves that integer in the low mantissa bits (cheaper than nearest + trunc_sat)
const MAGIC: f32 = 12582912.0;

/** exp(x) for x <= 0 (Cephes expf polynomial, |rel err| ~ 2e-7); exactly 0 below -87. */
// @ts-ignore: decorator
@inline
export function expNeg4(x: v128): v128 {
  const c = f32x4.pmax(x, f32x4.splat(-87)); // pmax: plain maxps (x is never NaN here unless the input is)
  const t = f32x4.add(f32x4.mul(c, f32x4.splat(1.44269504088896341)), f32x4.splat(MAGIC));
  const n = f32x4.sub(t, f32x4.splat(MAGIC)); // round(c / ln 2)
  let r = f32x4.sub(c, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let y = f32x4.splat(1.9875691500e-4);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(y, r), r), r), f32x4.splat(1));
  // 2^n: the integer n sits in t's low bits; move it (+127) into the exponent field
  const pow2n = i32x4.shl(i32x4.add(i32x4.sub(t, i32x4.splat(0x4b400000)), i32x4.splat(127)), 23);
  return v128.and(f32x4.mul(y, pow2n), f32x4.gt(x, f32x4.splat(-87))); // exact 0 past the clamp
}
