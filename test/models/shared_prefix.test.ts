/**
 * Shared prefixes in the training pass (src/models/shared_prefix.ts): the
 * packed layout covers every position with a row of the right token and
 * position, shares a row only between sequences whose tokens agree up to
 * it, and finds the groups of an RL batch; and GPT.forward over packed rows
 * equals the unshared pass (logits, values, every parameter's gradient) on
 * every backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.ts';
import { backward } from '../../src/tensor/tensor.ts';
import { withPool } from '../../src/tensor/pool.ts';
import * as O from '../../src/tensor/ops.ts';
import { BACKEND_NAMES, initBackend } from '../../src/tensor/backend.ts';
import { availableBackends } from './backends.ts';
import { GPT, type GPTConfig } from '../../src/models/gpt.ts';
import { planSharedRows } from '../../src/models/shared_prefix.ts';
import type { PackedRows } from '../../src/nn/modules.ts';

/** B sequences of T tokens in groups of `group` that share their first `prefix` tokens (the rest random). */
function groupedIds(rng: Rng, B: number, T: number, group: number, prefix: number, V: number): Int32Array {
  const ids = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) ids[b * T + t] = t < prefix && b % group !== 0 ? ids[(b - 1) * T + t] : rng.int(V);
  }
  return ids;
}

/**
 * Every position has a row with its token and position; a row is shared only
 * by sequences equal up to it; the slots are the sequences in an order where
 * each shares its first q0 positions with the slot before, and own every
 * other row exactly once.
 */
function checkLayout(p: PackedRows, ids: Int32Array): void {
  const { B, T, rows } = p;
  const owned = new Int32Array(rows), used = new Int32Array(rows);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const r = p.rowOf[b * T + t];
    assert.ok(r >= 0 && r < rows, `row of (${b}, ${t}) out of range`);
    assert.equal(p.ids[r], ids[b * T + t], `token of row ${r}`);
    assert.equal(p.pos[r], t, `position of row ${r}`);
    used[r]++;
  }
  assert.deepEqual([...p.seq].sort((a, b) => a - b), Array.from({ length: B }, (_, i) => i), 'slots are a permutation of the sequences');
  for (let s = 0; s < B; s++) {
    const b = p.seq[s];
    assert.ok(p.q0[s] >= 0 && p.q0[s] <= T && (s > 0 || p.q0[s] === 0), `q0 of slot ${s}`);
    for (let t = 0; t < T; t++) {
      const r = p.slotRows[s * T + t];
      assert.equal(r, p.rowOf[b * T + t], `slot ${s} position ${t}`);
      if (t < p.q0[s]) {
        assert.equal(r, p.slotRows[(s - 1) * T + t], `slot ${s} shares position ${t} with the slot before`);
        for (let u = 0; u <= t; u++) assert.equal(ids[b * T + u], ids[p.seq[s - 1] * T + u], `slot ${s} shares position ${t} but differs at ${u}`);
      } else owned[r]++;
    }
  }
  for (let r = 0; r < rows; r++) {
    assert.ok(used[r] >= 1, `row ${r} is used by no position`);
    assert.equal(owned[r], 1, `row ${r} is owned ${owned[r]} times`);
  }
}

test('the GRPO bench batch (16 prompts x 8 samples, 16 + 15 positions) packs into 16 x (16 + 8 x 15) rows', () => {
  const rng = new Rng(1), B = 128, T = 31;
  const ids = groupedIds(rng, B, T, 8, 16, 1 << 20); // a huge vocabulary: no sample repeats another's first token
  const p = planSharedRows(ids, B, T)!;
  assert.equal(p.rows, 16 * (16 + 8 * 15));
  checkLayout(p, ids);
});

test('layouts of random groupings are sound; identical sequences share every row; nothing to share gives no plan', () => {
  const rng = new Rng(2);
  for (const [B, T, group, prefix, V] of [[12, 9, 3, 4, 3], [7, 5, 7, 5, 2], [30, 16, 5, 2, 4], [9, 1, 3, 1, 2], [40, 12, 4, 8, 50]]) {
    const ids = groupedIds(rng, B, T, group, prefix, V);
    const p = planSharedRows(ids, B, T, 0);
    if (p) checkLayout(p, ids);
  }
  const same = new Int32Array(4 * 6).fill(3);
  assert.equal(planSharedRows(same, 4, 6)!.rows, 6);
  const distinct = Int32Array.from({ length: 8 * 10 }, (_, i) => i);
  assert.equal(planSharedRows(distinct, 8, 10), null);
  assert.equal(planSharedRows(groupedIds(rng, 8, 10, 2, 1, 1000), 8, 10), null, 'saving 4 of 80 rows is below the threshold');
});

test('runs are cut where that saves most: a long shared prefix is not traded for a short one', () => {
  // four sequences: two pairs share 6 tokens each, all four share 1
  const T = 8, rows = [[1, 2, 2, 2, 2, 2, 5, 6], [1, 2, 2, 2, 2, 2, 7, 8], [1, 3, 3, 3, 3, 3, 5, 6], [1, 3, 3, 3, 3, 3, 7, 8]];
  const ids = Int32Array.from(rows.flat());
  const p = planSharedRows(ids, 4, T, 0)!;
  assert.equal(p.rows, 2 * (6 + 2 * 2));
  checkLayout(p, ids);
});

const cfg: GPTConfig = { vocabSize: 11, blockSize: 16, nLayer: 2, nEmbd: 16, nHead: 2, valueHead: true };

const available = await availableBackends();

for (const backend of BACKEND_NAMES) {
  const skip = available.includes(backend) ? false : `backend ${backend} is not available here`;
  test(`${backend}: GPT.forward over shared prefixes equals the unshared pass (logits, values, every gradient)`, { skip }, async () => {
    await initBackend(backend);
    const m = new GPT(cfg, 3), rng = new Rng(4), B = 12, T = 13;
    for (const [, p] of m.params()) for (let i = 0; i < p.size; i++) p.data[i] += 0.3 * rng.normal(); // far from uniform
    const ids = groupedIds(rng, B, T, 4, 6, cfg.vocabSize);
    ids.copyWithin(11 * T, 10 * T, 11 * T); // and two identical sequences
    assert.ok(planSharedRows(ids, B, T), 'the batch shares prefixes');
    const targets = Int32Array.from({ length: B * T }, (_, i) => (i % T >= 5 ? rng.int(cfg.vocabSize) : -1));
    const vw = Float32Array.from({ length: B * T }, () => rng.normal());
    const run = (share: boolean) => withPool(() => {
      const { logits, values } = m.forward(ids, B, T, { share });
      backward(O.add(O.crossEntropy(logits, targets), O.weightedSum(values!, vw)));
      const out = { logits: logits.data.slice(), values: values!.data.slice(), grads: m.params().map(([, p]) => p.grad!.slice()) };
      for (const [, p] of m.params()) p.zeroGrad();
      return out;
    });
    const shared = run(true), plain = run(false);
    const close = (a: Float32Array, b: Float32Array, what: string) => {
      let scale = 0;
      for (const x of b) scale = Math.max(scale, Math.abs(x));
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * scale + 1e-7, `${what}: element ${i} is ${a[i]}, want ${b[i]}`);
    };
    close(shared.logits, plain.logits, 'logits');
    close(shared.values, plain.values, 'values');
    m.params().forEach(([name], k) => close(shared.grads[k], plain.grads[k], `gradient of ${name}`));
  });
}
