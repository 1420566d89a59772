// SIMD matmul over packed panels (AssemblyScript, f32x4).
//
// C (M, N) = op(A) (M, K) @ op(B) (K, N) in two steps, so threads can share
// one product without packing anything twice:
//   packB         op(B) as panels of NR columns, each (K, NR) contiguous,
//                 zero-padded past column N (panel p at p*K*NR floats);
//                 threads split the panels;
//   matmulPacked  the tile rows [i0, i1) x columns [j0, j1) of C from op(A)
//                 and the packed B; threads split the rows (or columns).
// Loop order is GotoBLAS's: an A block (MC x KC, packed as panels of MR rows)
// stays in L2, one B panel (KC x NR) in L1, and the micro-kernel computes a
// full MR x NR tile; edge tiles are clipped on the store (through `tile`).
// All pointers are byte offsets into the shared linear memory; the JS side
// owns the layout and gives each thread its own scratch.

const MR = 4;
export const NR = 8;
const KC = 256;
const MC = 128;

/** Bytes of a thread's scratch: the packed A block and the edge tile. */
export function matmulScratchBytes(): i32 {
  return (MC * KC + MR * NR) * 4;
}

/** Floats of a packed op(B) with N columns and K rows. */
export function packedBFloats(N: i32, K: i32): i32 {
  return ((N + NR - 1) / NR) * NR * K;
}

/** Packs panels [p0, p1) of op(B) into out. */
export function packB(b: usize, transB: bool, K: i32, N: i32, p0: i32, p1: i32, out: usize): void {
  for (let p = p0; p < p1; p++) {
    const j = p * NR, nr = min(NR, N - j);
    let o = out + <usize>(p * K * NR) * 4;
    if (!transB) {
      // op(B)[k, j] = B[k*N + j]: each panel row is NR contiguous floats
      let src = b + <usize>j * 4;
      const ld = <usize>N * 4;
      if (nr == NR) {
        for (let k = 0; k < K; k++) {
          v128.store(o, v128.load(src));
          v128.store(o, v128.load(src, 16), 16);
          o += NR * 4;
          src += ld;
        }
      } else {
        for (let k = 0; k < K; k++) {
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
          let src = b + <usize>((j + jj) * K) * 4;
          for (let k = 0; k < K; k++) { store<f32>(d, load<f32>(src)); d += NR * 4; src += 4; }
        } else {
          for (let k = 0; k < K; k++) { store<f32>(d, 0); d += NR * 4; }
        }
      }
    }
  }
}

/**
 * C[i0:i1, j0:j1] (+)= op(A)[:, k0:k1] @ op(B)[k0:k1, :], op(B) packed by packB at pB;
 * j0 is a multiple of NR. The k range lets causal attention skip the zeros of
 * its triangular factors; a full product passes [0, K).
 */
export function matmulPacked(
  a: usize, pB: usize, c: usize, M: i32, N: i32, K: i32, transA: bool, accumulate: bool,
  i0: i32, i1: i32, j0: i32, j1: i32, k0: i32, k1: i32, scratch: usize,
): void {
  if (k1 <= k0) {
    if (!accumulate) for (let i = i0; i < i1; i++) memory.fill(c + <usize>(i * N + j0) * 4, 0, <usize>(j1 - j0) * 4);
    return;
  }
  const packA = scratch, tile = scratch + <usize>(MC * KC) * 4;
  for (let pc = k0; pc < k1; pc += KC) {
    const kc = min(KC, k1 - pc);
    const acc = accumulate || pc > k0;
    for (let ic = i0; ic < i1; ic += MC) {
      const mc = min(MC, i1 - ic);
      for (let ir = 0; ir < mc; ir += MR) packPanelA(a, transA, M, K, ic + ir, min(MR, mc - ir), pc, kc, packA + <usize>(ir * kc) * 4);
      for (let jr = j0; jr < j1; jr += NR) {
        const nr = min(NR, j1 - jr);
        const pb = pB + <usize>((jr / NR) * K * NR + pc * NR) * 4;
        for (let ir = 0; ir < mc; ir += MR) {
          micro(packA + <usize>(ir * kc) * 4, pb, kc, c + <usize>((ic + ir) * N + jr) * 4, N, min(MR, mc - ir), nr, acc, tile);
        }
      }
    }
  }
}

/** The whole product on one thread, packing B into `packed` (packedBFloats(N, K) floats). */
export function matmul(
  a: usize, b: usize, c: usize, M: i32, N: i32, K: i32,
  transA: bool, transB: bool, accumulate: bool, packed: usize, scratch: usize,
): void {
  packB(b, transB, K, N, 0, (N + NR - 1) / NR, packed);
  matmulPacked(a, packed, c, M, N, K, transA, accumulate, 0, M, 0, N, 0, K, scratch);
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
