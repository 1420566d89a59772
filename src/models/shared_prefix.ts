/**
 * Shared prefixes in a training batch. Sequences whose first P tokens are
 * equal (an RL group: one prompt, several samples) have equal activations
 * at positions 0..P-1 in every layer, since causal attention reads nothing
 * later. So GPT.forward can run those positions once per group: the batch
 * becomes R packed rows (each group's shared prefix once, then each
 * sequence's own suffix), every row-wise layer (LayerNorm, the linears, the
 * MLP, the head) works on R rows instead of B*T, and gradients of a shared
 * row sum over the sequences that share it, which is what the unshared pass
 * computes as well.
 *
 * Which sequences share: sorted by their tokens, equal prefixes are
 * neighbours; the batch is cut into runs of neighbours, each sharing the
 * common prefix of its run, so as to save the most rows (a small dynamic
 * program over the cut points). A batch with nothing worth sharing (random
 * pretraining windows) gets no plan and runs as before.
 */
import type { PackedRows } from '../nn/modules.ts';

/** Below this share of B*T rows saved, packing is not worth its gathers. */
export const MIN_SAVING = 0.1;

/** Tokens 0..n-1 of rows a and b (of T each) that agree, from the start. */
function commonPrefix(ids: Int32Array, a: number, b: number, T: number): number {
  let n = 0;
  while (n < T && ids[a * T + n] === ids[b * T + n]) n++;
  return n;
}

/**
 * The packed layout of ids (B, T), or null when sharing would save fewer
 * than minSaving * B * T rows.
 */
export function planSharedRows(ids: Int32Array, B: number, T: number, minSaving = MIN_SAVING): PackedRows | null {
  if (B < 2 || T < 1) return null;
  // sequences in token order (ties by index), and the common prefix of each pair of neighbours
  const order = Array.from({ length: B }, (_, b) => b).sort((a, b) => {
    for (let t = 0; t < T; t++) {
      const d = ids[a * T + t] - ids[b * T + t];
      if (d !== 0) return d;
    }
    return a - b;
  });
  const lcp = new Int32Array(B - 1);
  for (let i = 0; i + 1 < B; i++) lcp[i] = commonPrefix(ids, order[i], order[i + 1], T);
  // best[j]: most rows saved by cutting order[0..j-1] into runs; a run order[i..j-1] saves (j-1-i) * min(lcp[i..j-2])
  const best = new Float64Array(B + 1), cut = new Int32Array(B + 1);
  for (let j = 1; j <= B; j++) {
    best[j] = best[j - 1]; // order[j-1] alone
    cut[j] = j - 1;
    let p = T;
    for (let i = j - 2; i >= 0; i--) {
      p = Math.min(p, lcp[i]);
      if (p === 0) break;
      const s = best[i] + (j - 1 - i) * p;
      if (s > best[j]) (best[j] = s), (cut[j] = i);
    }
  }
  if (best[B] < minSaving * B * T) return null;
  const runs: [number, number][] = []; // [start, end) in order
  for (let j = B; j > 0; j = cut[j]) runs.push([cut[j], j]);
  runs.reverse();

  // rows: each run's shared prefix once, then each member's own positions; slots: the members, run by run
  const rowOf = new Int32Array(B * T), seq = new Int32Array(B), q0 = new Int32Array(B), source: number[] = [];
  let slot = 0;
  for (const [i0, i1] of runs) {
    let P = i1 - i0 > 1 ? T : 0; // a sequence alone shares nothing
    for (let i = i0; i + 1 < i1; i++) P = Math.min(P, lcp[i]);
    const members = order.slice(i0, i1).sort((a, b) => a - b);
    for (let t = 0; t < P; t++) {
      for (const b of members) rowOf[b * T + t] = source.length;
      source.push(members[0] * T + t);
    }
    members.forEach((b, m) => {
      for (let t = P; t < T; t++) {
        rowOf[b * T + t] = source.length;
        source.push(b * T + t);
      }
      seq[slot] = b;
      q0[slot++] = m === 0 ? 0 : P;
    });
  }
  const R = source.length, rowIds = new Int32Array(R), pos = new Int32Array(R), slotRows = new Int32Array(B * T);
  source.forEach((i, r) => {
    rowIds[r] = ids[i];
    pos[r] = i % T;
  });
  for (let s = 0; s < B; s++) slotRows.set(rowOf.subarray(seq[s] * T, (seq[s] + 1) * T), s * T);
  return { B, T, rows: R, ids: rowIds, pos, rowOf, seq, slotRows, q0 };
}
