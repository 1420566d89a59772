/**
 * The policy-value network: the fast inference pass equals the autograd
 * reference, the loss's gradient matches finite differences, FLOPs follow
 * the layer sizes, checkpoints round-trip, and a checkpoint of a GPT or of
 * another game is refused with a clear message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/util/rng.ts';
import { UserError } from '../../src/util/errors.ts';
import { backward, noGrad } from '../../src/tensor/tensor.ts';
import { initBackend } from '../../src/tensor/backend.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/nn/checkpoint.ts';
import { PVInference, PVNet, pvnetFromCheckpoint, type PVBatch } from '../../src/models/pvnet.ts';

await initBackend();
const cfg = { game: 'connect4-v1', inputSize: 84, numActions: 7, width: 24, blocks: 2, valueHidden: 8 };

/** A batch of random 0/1 boards with some illegal moves, a one-hot policy target on a legal move, and outcomes. */
function randomBatch(B: number, rng: Rng): PVBatch {
  const batch: PVBatch = { B, inputs: new Float32Array(B * 84), legal: new Uint8Array(B * 7), policy: new Float32Array(B * 7), value: new Float32Array(B) };
  for (let i = 0; i < B * 84; i++) batch.inputs[i] = rng.bool(0.3) ? 1 : 0;
  for (let b = 0; b < B; b++) {
    for (let a = 0; a < 7; a++) batch.legal[b * 7 + a] = a === b % 7 || rng.bool(0.7) ? 1 : 0;
    batch.policy[b * 7 + (b % 7)] = 1;
    batch.value[b] = rng.pick([-1, 0, 1]);
  }
  return batch;
}

/** Softmax over legal entries of a row of logits: the reference the fast pass must match. */
function maskedSoftmax(logits: Float32Array, legal: Uint8Array): number[] {
  const mx = Math.max(...Array.from(logits).filter((_, a) => legal[a]));
  const e = Array.from(logits, (x, a) => (legal[a] ? Math.exp(x - mx) : 0));
  const s = e.reduce((x, y) => x + y, 0);
  return e.map((x) => x / s);
}

test('fast inference equals the autograd forward (policy masked to legal moves, value in [-1, 1]) at batch 1 and 5', () => {
  const net = new PVNet(cfg, 3);
  for (const [n, p] of net.params()) if (n.endsWith('bias')) p.data.fill(0.05); // exercise the biases too
  const inf = new PVInference(net);
  for (const B of [1, 5]) {
    const batch = randomBatch(B, new Rng(B));
    const ref = noGrad(() => net.forward(batch.inputs, B));
    const fast = inf.run(batch.inputs, batch.legal, B);
    for (let b = 0; b < B; b++) {
      const want = maskedSoftmax(ref.logits.data.subarray(b * 7, b * 7 + 7), batch.legal.subarray(b * 7, b * 7 + 7));
      for (let a = 0; a < 7; a++) assert.ok(Math.abs(fast.policy[b * 7 + a] - want[a]) < 1e-5, `B=${B} row ${b} move ${a}: ${fast.policy[b * 7 + a]} vs ${want[a]}`);
      assert.ok(Math.abs(fast.value[b] - ref.value.data[b]) < 1e-5);
      assert.ok(Math.abs(fast.value[b]) <= 1);
    }
  }
});

test('inference is a snapshot: training the net afterwards does not change it', () => {
  const net = new PVNet(cfg, 1);
  const inf = new PVInference(net);
  const batch = randomBatch(2, new Rng(9));
  const before = Array.from(inf.run(batch.inputs, batch.legal, 2).value);
  for (const [, p] of net.params()) p.data.fill(0.3);
  assert.deepEqual(Array.from(inf.run(batch.inputs, batch.legal, 2).value), before);
});

test('the loss gradient matches finite differences (policy cross-entropy over legal moves + value MSE)', () => {
  const net = new PVNet({ ...cfg, width: 8, blocks: 1, valueHidden: 4 }, 2);
  const batch = randomBatch(3, new Rng(4));
  const { loss } = net.loss(batch, 0.7);
  backward(loss);
  const lossAt = (): number => noGrad(() => net.loss(batch, 0.7).loss.item());
  for (const [name, p] of net.params()) {
    for (const i of [0, Math.floor(p.size / 2)]) {
      const old = p.data[i], h = 1e-2;
      p.data[i] = old + h;
      const up = lossAt();
      p.data[i] = old - h;
      const down = lossAt();
      p.data[i] = old;
      const fd = (up - down) / (2 * h);
      assert.ok(Math.abs(fd - p.grad![i]) < 2e-3 + 0.02 * Math.abs(fd), `${name}[${i}]: analytic ${p.grad![i]}, numeric ${fd}`);
    }
  }
});

test('FLOPs: 2 per multiply-add of the layers, 3x for training', () => {
  const net = new PVNet(cfg);
  const macs = 84 * 24 + 2 * 2 * 24 * 24 + 24 * 7 + 24 * 8 + 8;
  assert.equal(net.flops('inference'), 2 * macs);
  assert.equal(net.flops('train'), 6 * macs);
  const weights = net.params().filter(([n]) => n.endsWith('.weight') && !n.includes('ln')).reduce((s, [, p]) => s + p.size, 0);
  assert.equal(weights, macs, 'one multiply-add per weight of every linear layer');
});

test('checkpoints round-trip; a GPT checkpoint or another game is refused by name', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'pvnet-')), 'ck');
  const net = new PVNet(cfg, 5);
  saveCheckpoint(dir, net.toCheckpoint({ optimizer: null }, { search: { simulations: 10 } }));
  const back = pvnetFromCheckpoint(loadCheckpoint(dir), dir, 'connect4-v1');
  assert.deepEqual(back.params().map(([, p]) => Array.from(p.data)), net.params().map(([, p]) => Array.from(p.data)));
  assert.throws(() => pvnetFromCheckpoint(loadCheckpoint(dir), dir, 'tictactoe-v1'), (e: Error) => e instanceof UserError && /plays connect4-v1, not tictactoe-v1/.test(e.message));
  const gpt = { ...net.toCheckpoint(), config: { kind: 'pretrain', model: { vocabSize: 3 } } };
  assert.throws(() => pvnetFromCheckpoint(gpt, dir, 'connect4-v1'), (e: Error) => e instanceof UserError && /a GPT checkpoint \("pretrain"\), not a policy-value network/.test(e.message));
  assert.throws(() => new PVNet({ ...cfg, width: 0 }), /"width" must be an integer >= 1/);
});
