/**
 * Portable matmul: pack, then one register-blocked micro-kernel.
 *
 * C (M, N) = op(A) (M, K) @ op(B) (K, N). Every transA/transB combination is
 * reduced to the same inner loop by packing first (the GotoBLAS layout):
 *   packB: op(B)[kc block, nc block] as panels of NR columns, each (KC, NR) contiguous
 *   packA: op(A)[MR rows, kc block] as one (KC, MR) panel
 * Panels are zero-padded at the edges, so the micro-kernel always computes a
 * full MR x NR tile and only the store is clipped.
 */

const MR = 4, NR = 4;
const KC = 256; // packed A panel (KC*MR) and B panel (KC*NR) doubles stay in L1
const NC = 512; // packed B block (KC*NC doubles = 1 MB) stays in L2

// float64 panels: V8 then loads straight into double registers (no float32
// conversion per load in the inner loop), measured ~15% faster
let packA = new Float64Array(KC * MR);
let packB = new Float64Array(KC * NC);

export function jsMatmul(
  A: Float32Array, B: Float32Array, C: Float32Array,
  batch: number, M: number, N: number, K: number,
  transA: boolean, transB: boolean, accumulate: boolean,
  strideA: number, strideB: number,
): void {
  for (let b = 0; b < batch; b++) {
    const a0 = b * strideA, b0 = b * strideB, c0 = b * M * N;
    if (K === 0) {
      if (!accumulate) C.fill(0, c0, c0 + M * N);
      continue;
    }
    for (let jc = 0; jc < N; jc += NC) {
      const nc = Math.min(NC, N - jc);
      for (let pc = 0; pc < K; pc += KC) {
        const kc = Math.min(KC, K - pc);
        const acc = accumulate || pc > 0;
        packPanelsB(B, b0, transB, K, N, pc, kc, jc, nc, packB);
        for (let ic = 0; ic < M; ic += MR) {
          const mr = Math.min(MR, M - ic);
          packPanelA(A, a0, transA, M, K, ic, mr, pc, kc, packA);
          for (let jr = 0; jr < nc; jr += NR) {
            const nr = Math.min(NR, nc - jr);
            micro4x4(packA, packB, jr * kc, kc, C, c0 + ic * N + jc + jr, N, mr, nr, acc);
          }
        }
      }
    }
  }
}

/** packB[p*kc*NR + k*NR + jj] = op(B)[pc+k, jc+p*NR+jj], zero past column nc. */
function packPanelsB(B: Float32Array, b0: number, transB: boolean, K: number, N: number, pc: number, kc: number, jc: number, nc: number, out: Float64Array): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = Math.min(NR, nc - jr);
    let o = jr * kc;
    if (!transB) {
      // op(B)[k, j] = B[k*N + j]: rows of NR contiguous floats
      let src = b0 + pc * N + jc + jr;
      if (nr === NR) {
        for (let k = 0; k < kc; k++, o += NR, src += N) {
          out[o] = B[src]; out[o + 1] = B[src + 1]; out[o + 2] = B[src + 2]; out[o + 3] = B[src + 3];
        }
      } else {
        for (let k = 0; k < kc; k++, o += NR, src += N) {
          for (let jj = 0; jj < NR; jj++) out[o + jj] = jj < nr ? B[src + jj] : 0;
        }
      }
    } else {
      // op(B)[k, j] = B[j*K + k]: NR contiguous rows of B, interleaved
      for (let jj = 0; jj < NR; jj++) {
        if (jj < nr) {
          const src = b0 + (jc + jr + jj) * K + pc;
          for (let k = 0; k < kc; k++) out[o + k * NR + jj] = B[src + k];
        } else {
          for (let k = 0; k < kc; k++) out[o + k * NR + jj] = 0;
        }
      }
    }
  }
}

/** packA[k*MR + ii] = op(A)[ic+ii, pc+k], zero past row mr. */
function packPanelA(A: Float32Array, a0: number, transA: boolean, M: number, K: number, ic: number, mr: number, pc: number, kc: number, out: Float64Array): void {
  if (transA) {
    // op(A)[i, k] = A[k*M + i]
    let src = a0 + pc * M + ic;
    if (mr === MR) {
      for (let k = 0, o = 0; k < kc; k++, o += MR, src += M) {
        out[o] = A[src]; out[o + 1] = A[src + 1]; out[o + 2] = A[src + 2]; out[o + 3] = A[src + 3];
      }
    } else {
      for (let k = 0, o = 0; k < kc; k++, o += MR, src += M) {
        for (let ii = 0; ii < MR; ii++) out[o + ii] = ii < mr ? A[src + ii] : 0;
      }
    }
  } else {
    // op(A)[i, k] = A[i*K + k]
    for (let ii = 0; ii < MR; ii++) {
      if (ii < mr) {
        const src = a0 + (ic + ii) * K + pc;
        for (let k = 0; k < kc; k++) out[k * MR + ii] = A[src + k];
      } else {
        for (let k = 0; k < kc; k++) out[k * MR + ii] = 0;
      }
    }
  }
}

/** C[c .. +mr rows, .. +nr cols] (+)= packA (kc, 4)^T @ packB[pb ..] (kc, 4). */
function micro4x4(pa: Float64Array, pb: Float64Array, pbOff: number, kc: number, C: Float32Array, c: number, ldc: number, mr: number, nr: number, acc: boolean): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  let ia = 0, ib = pbOff;
  for (let k = 0; k < kc; k++, ia += 4, ib += 4) {
    const a0 = pa[ia], a1 = pa[ia + 1], a2 = pa[ia + 2], a3 = pa[ia + 3];
    const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (mr === 4 && nr === 4) {
    if (acc) {
      C[c] += c00; C[c + 1] += c01; C[c + 2] += c02; C[c + 3] += c03; c += ldc;
      C[c] += c10; C[c + 1] += c11; C[c + 2] += c12; C[c + 3] += c13; c += ldc;
      C[c] += c20; C[c + 1] += c21; C[c + 2] += c22; C[c + 3] += c23; c += ldc;
      C[c] += c30; C[c + 1] += c31; C[c + 2] += c32; C[c + 3] += c33;
    } else {
      C[c] = c00; C[c + 1] = c01; C[c + 2] = c02; C[c + 3] = c03; c += ldc;
      C[c] = c10; C[c + 1] = c11; C[c + 2] = c12; C[c + 3] = c13; c += ldc;
      C[c] = c20; C[c + 1] = c21; C[c + 2] = c22; C[c + 3] = c23; c += ldc;
      C[c] = c30; C[c + 1] = c31; C[c + 2] = c32; C[c + 3] = c33;
    }
    return;
  }
  // edge tile: clip the store
  const t = edge;
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03;
  t[4] = c10; t[5] = c11; t[6] = c12; t[7] = c13;
  t[8] = c20; t[9] = c21; t[10] = c22; t[11] = c23;
  t[12] = c30; t[13] = c31; t[14] = c32; t[15] = c33;
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr; j++) C[c + i * ldc + j] = (acc ? C[c + i * ldc + j] : 0) + t[i * 4 + j];
  }
}
const edge = new Float64Array(16);
