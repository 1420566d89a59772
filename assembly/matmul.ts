// SIMD matmul over packed panels (AssemblyScript, f32x4).
//
// C (M, N) = op(A) (M, K) @ op(B) (K, N), restricted to the tile of C given by
// rows [i0, i1) and columns [j0, j1), so two threads can share one call.
// All pointers are byte offsets into the (shared) linear memory; the caller
// owns the layout and gives each thread its own packA / packB buffers.
//   packB: op(B)[kc block, nc block] as panels of NR columns, each (kc, NR)
//   packA: op(A)[mc block, kc block] as panels of MR rows, each (kc, MR)
// The loop order is GotoBLAS's: one B panel (kc*NR floats) stays in L1 while
// the A block (MC*KC floats) streams from L2 through the micro-kernel.
// Panels are zero-padded at the edges, so the micro-kernel always computes a
// full MR x NR tile and only the store is clipped (through `tile`).

const MR = 4;
const NR = 8;
const KC = 256;
const MC = 128;
const NC = 512;

/** Bytes a thread needs for packA, packB and the edge tile. */
export function matmulScratchBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

export function matmul(
  a: usize, b: usize, c: usize,
  batch: i32, M: i32, N: i32, K: i32,
  transA: bool, transB: bool, accumulate: bool,
  strideA: i32, strideB: i32,
  i0: i32, i1: i32, j0: i32, j1: i32,
  scratch: usize,
): void {
  const packA = scratch;
  const packB = packA + <usize>(MC * KC * 4);
  const tile = packB + <usize>(KC * NC * 4);
  for (let bi = 0; bi < batch; bi++) {
    const a0 = a + <usize>(bi * strideA) * 4;
    const b0 = b + <usize>(bi * strideB) * 4;
    const c0 = c + <usize>(bi * M * N) * 4;
    if (K == 0) {
      if (!accumulate) for (let i = i0; i < i1; i++) memory.fill(c0 + <usize>(i * N + j0) * 4, 0, <usize>(j1 - j0) * 4);
      continue;
    }
    for (let jc = j0; jc < j1; jc += NC) {
      const nc = min(NC, j1 - jc);
      for (let pc = 0; pc < K; pc += KC) {
        const kc = min(KC, K - pc);
        const acc = accumulate || pc > 0;
        packPanelsB(b0, transB, K, N, pc, kc, jc, nc, packB);
        for (let ic = i0; ic < i1; ic += MC) {
          const mc = min(MC, i1 - ic);
          for (let ir = 0; ir < mc; ir += MR) packPanelA(a0, transA, M, K, ic + ir, min(MR, mc - ir), pc, kc, packA + <usize>(ir * kc) * 4);
          for (let jr = 0; jr < nc; jr += NR) {
            const nr = min(NR, nc - jr);
            const pb = packB + <usize>(jr * kc) * 4;
            for (let ir = 0; ir < mc; ir += MR) {
              micro(packA + <usize>(ir * kc) * 4, pb, kc, c0 + <usize>((ic + ir) * N + jc + jr) * 4, N, min(MR, mc - ir), nr, acc, tile);
            }
          }
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline
function packPanelsB(b0: usize, transB: bool, K: i32, N: i32, pc: i32, kc: i32, jc: i32, nc: i32, out: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    let o = out + <usize>(jr * kc) * 4;
    if (!transB) {
      // op(B)[k, j] = B[k*N + j]: each panel row is NR contiguous floats
      let src = b0 + <usize>(pc * N + jc + jr) * 4;
      const ld = <usize>N * 4;
      if (nr == NR) {
        for (let k = 0; k < kc; k++) {
          v128.store(o, v128.load(src));
          v128.store(o, v128.load(src, 16), 16);
          o += NR * 4;
          src += ld;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let jj = 0; jj < NR; jj++) store<f32>(o + <usize>jj * 4, jj < nr ? load<f32>(src + <usize>jj * 4) : 0);
          o += NR * 4;
          src += ld;
        }
      }
    } else {
      // op(B)[k, j] = B[j*K + k]: NR rows of B, interleaved
      for (let jj = 0; jj < NR; jj++) {
        let d = o + <usize>jj * 4;
        if (jj < nr) {
          let src = b0 + <usize>((jc + jr + jj) * K + pc) * 4;
          for (let k = 0; k < kc; k++) { store<f32>(d, load<f32>(src)); d += NR * 4; src += 4; }
        } else {
          for (let k = 0; k < kc; k++) { store<f32>(d, 0); d += NR * 4; }
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline
function packPanelA(a0: usize, transA: bool, M: i32, K: i32, ic: i32, mr: i32, pc: i32, kc: i32, out: usize): void {
  if (transA) {
    // op(A)[i, k] = A[k*M + i]: MR contiguous floats per k
    let src = a0 + <usize>(pc * M + ic) * 4;
    const ld = <usize>M * 4;
    let o = out;
    if (mr == MR) {
      for (let k = 0; k < kc; k++) { v128.store(o, v128.load(src)); o += MR * 4; src += ld; }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let ii = 0; ii < MR; ii++) store<f32>(o + <usize>ii * 4, ii < mr ? load<f32>(src + <usize>ii * 4) : 0);
        o += MR * 4;
        src += ld;
      }
    }
  } else {
    // op(A)[i, k] = A[i*K + k]
    for (let ii = 0; ii < MR; ii++) {
      let d = out + <usize>ii * 4;
      if (ii < mr) {
        let src = a0 + <usize>((ic + ii) * K + pc) * 4;
        for (let k = 0; k < kc; k++) { store<f32>(d, load<f32>(src)); d += MR * 4; src += 4; }
      } else {
        for (let k = 0; k < kc; k++) { store<f32>(d, 0); d += MR * 4; }
      }
    }
  }
}

/**
 * C tile (mr, nr) at c (row length ldc floats) (+)= packA (kc, MR)^T @ packB (kc, NR).
 * 4x8 measured best here (8 accumulators: V8 has 16 xmm registers and no
 * SIMD FMA without relaxed-SIMD); kept out of line, which V8 allocates better.
 */
function micro(pa: usize, pb: usize, kc: i32, c: usize, ldc: i32, mr: i32, nr: i32, acc: bool, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = f32x4.add(c00, f32x4.mul(a, b0)); c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(pa, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0)); c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(pa, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0)); c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(pa, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0)); c31 = f32x4.add(c31, f32x4.mul(a, b1));
    pa += MR * 4;
    pb += NR * 4;
  }
  const full = mr == MR && nr == NR;
  const ld = <usize>ldc * 4;
  // full tiles go straight to C; edge tiles go through `tile` and are clipped
  let t = full ? c : tile;
  const lt: usize = full ? ld : NR * 4;
  if (full && acc) {
    v128.store(t, f32x4.add(v128.load(t), c00)); v128.store(t, f32x4.add(v128.load(t, 16), c01), 16); t += lt;
    v128.store(t, f32x4.add(v128.load(t), c10)); v128.store(t, f32x4.add(v128.load(t, 16), c11), 16); t += lt;
    v128.store(t, f32x4.add(v128.load(t), c20)); v128.store(t, f32x4.add(v128.load(t, 16), c21), 16); t += lt;
    v128.store(t, f32x4.add(v128.load(t), c30)); v128.store(t, f32x4.add(v128.load(t, 16), c31), 16);
    return;
  }
  v128.store(t, c00); v128.store(t, c01, 16); t += lt;
  v128.store(t, c10); v128.store(t, c11, 16); t += lt;
  v128.store(t, c20); v128.store(t, c21, 16); t += lt;
  v128.store(t, c30); v128.store(t, c31, 16);
  if (full) return;
  for (let i = 0; i < mr; i++) {
    const src = tile + <usize>(i * NR) * 4, dst = c + <usize>i * ld;
    for (let j = 0; j < nr; j++) {
      const p = dst + <usize>j * 4;
      const v = load<f32>(src + <usize>j * 4);
      store<f32>(p, acc ? load<f32>(p) + v : v);
    }
  }
}
