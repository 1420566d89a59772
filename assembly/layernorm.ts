// Layer normalization over the last dim of x (rows, n), four lanes at a time.
// Row sums are taken in f32 lanes (ref.ts uses float64; for the widths used
// here the difference is far below the kernel suite's tolerance).

// @ts-ignore: decorator
@inline
function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** y = (x - mean) * rstd * w + b per row; saves mean and rstd (rows). */
export function layernorm(x: usize, w: usize, b: usize, y: usize, mean: usize, rstd: usize, rows: i32, n: i32, eps: f32): void {
  const n4 = n & ~3;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>(r * n) * 4, yr = y + <usize>(r * n) * 4;
    let s4 = f32x4.splat(0);
    for (let j = 0; j < n4; j += 4) s4 = f32x4.add(s4, v128.load(xr + <usize>j * 4));
    let s = hsum(s4);
    for (let j = n4; j < n; j++) s += load<f32>(xr + <usize>j * 4);
    const m = s / <f32>n;
    const m4 = f32x4.splat(m);
    let v4 = f32x4.splat(0);
    for (let j = 0; j < n4; j += 4) {
      const d = f32x4.sub(v128.load(xr + <usize>j * 4), m4);
      v4 = f32x4.add(v4, f32x4.mul(d, d));
    }
    let v = hsum(v4);
    for (let j = n4; j < n; j++) { const d = load<f32>(xr + <usize>j * 4) - m; v += d * d; }
    const rs = <f32>1 / Mathf.sqrt(v / <f32>n + eps);
    const rs4 = f32x4.splat(rs);
    for (let j = 0; j < n4; j += 4) {
      const o = <usize>j * 4;
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), m4), rs4);
      v128.store(yr + o, f32x4.add(f32x4.mul(xh, v128.load(w + o)), v128.load(b + o)));
    }
    for (let j = n4; j < n; j++) {
      const o = <usize>j * 4;
      store<f32>(yr + o, (load<f32>(xr + o) - m) * rs * load<f32>(w + o) + load<f32>(b + o));
    }
    store<f32>(mean + <usize>r * 4, m);
    store<f32>(rstd + <usize>r * 4, rs);
  }
}

/** Accumulates dx (rows, n), dw (n), db (n). */
export function layernormBackward(
  x: usize, w: usize, mean: usize, rstd: usize, dy: usize, dx: usize, dw: usize, db: usize, rows: i32, n: i32,
): void {
  const n4 = n & ~3, invN = <f32>1 / <f32>n;
  for (let r = 0; r < rows; r++) {
    const off = <usize>(r * n) * 4;
    const xr = x + off, gr = dy + off, dxr = dx + off;
    const m = load<f32>(mean + <usize>r * 4), rs = load<f32>(rstd + <usize>r * 4);
    const m4 = f32x4.splat(m), rs4 = f32x4.splat(rs);
    // sumD = sum dy*w, sumDX = sum dy*w*xhat; dw += dy*xhat, db += dy
    let sd4 = f32x4.splat(0), sdx4 = f32x4.splat(0);
    for (let j = 0; j < n4; j += 4) {
      const o = <usize>j * 4;
      const g = v128.load(gr + o), xh = f32x4.mul(f32x4.sub(v128.load(xr + o), m4), rs4), d = f32x4.mul(g, v128.load(w + o));
      sd4 = f32x4.add(sd4, d);
      sdx4 = f32x4.add(sdx4, f32x4.mul(d, xh));
      v128.store(dw + o, f32x4.add(v128.load(dw + o), f32x4.mul(g, xh)));
      v128.store(db + o, f32x4.add(v128.load(db + o), g));
    }
    let sd = hsum(sd4), sdx = hsum(sdx4);
    for (let j = n4; j < n; j++) {
      const o = <usize>j * 4;
      const g = load<f32>(gr + o), xh = (load<f32>(xr + o) - m) * rs, d = g * load<f32>(w + o);
      sd += d;
      sdx += d * xh;
      store<f32>(dw + o, load<f32>(dw + o) + g * xh);
      store<f32>(db + o, load<f32>(db + o) + g);
    }
    const a = sd * invN, c = sdx * invN;
    const a4 = f32x4.splat(a), c4 = f32x4.splat(c);
    for (let j = 0; j < n4; j += 4) {
      const o = <usize>j * 4;
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), m4), rs4);
      const t = f32x4.sub(f32x4.sub(f32x4.mul(v128.load(gr + o), v128.load(w + o)), a4), f32x4.mul(xh, c4));
      v128.store(dxr + o, f32x4.add(v128.load(dxr + o), f32x4.mul(rs4, t)));
    }
    for (let j = n4; j < n; j++) {
      const o = <usize>j * 4;
      const xh = (load<f32>(xr + o) - m) * rs;
      store<f32>(dxr + o, load<f32>(dxr + o) + rs * (load<f32>(gr + o) * load<f32>(w + o) - a - xh * c));
    }
  }
}
