/**
 * GPT: config validation, the KV-cache decode agrees with the full forward,
 * seeded sampling is reproducible, and a tiny model learns a pattern.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.ts';
import { backward } from '../../src/tensor/tensor.ts';
import { sum } from '../../src/tensor/ops_shape.ts';
import { initBackend } from '../../src/tensor/backend.ts';
import { GPT, validateGPTConfig } from '../../src/models/gpt.ts';
import { sample, scoreTokens } from '../../src/models/sample.ts';
import { AdamW } from '../../src/nn/optim.ts';

await initBackend();
const cfg = { vocabSize: 11, blockSize: 16, nLayer: 2, nEmbd: 16, nHead: 2, valueHead: true };

test('config validation names the bad key', () => {
  assert.throws(() => validateGPTConfig({ ...cfg, nLayers: 3 }), /unknown key "nLayers"/);
  assert.throws(() => validateGPTConfig({ ...cfg, nEmbd: 15 }), /not divisible/);
  assert.throws(() => validateGPTConfig({ ...cfg, blockSize: 0 }), /"blockSize" must be a positive integer/);
});

test('parameter names follow nanoGPT and count matches the formula', () => {
  const m = new GPT({ ...cfg, valueHead: false }, 1);
  const names = m.params().map(([n]) => n);
  assert.ok(names.includes('transformer.h.1.attn.c_attn.weight'));
  assert.ok(names.includes('transformer.ln_f.bias'));
  const C = 16, V = 11, T = 16, L = 2;
  const perBlock = 2 * C + (3 * C * C + 3 * C) + (C * C + C) + 2 * C + (4 * C * C + 4 * C) + (4 * C * C + C);
  assert.equal(m.numParams(), V * C + T * C + L * perBlock + 2 * C);
});

test('sampled log-probs equal the full forward (KV cache is exact)', () => {
  const m = new GPT(cfg, 3);
  const prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9]];
  const r = sample(m, prompts, { maxNewTokens: [6, 9, 4], rng: new Rng(7) });
  assert.deepEqual(r.tokens.map((t) => t.length), [6, 9, 4]);
  const full = prompts.map((p, i) => [...p, ...r.tokens[i]]);
  const scored = scoreTokens(m, full, prompts.map((p) => p.length));
  for (let i = 0; i < prompts.length; i++) {
    for (let j = 0; j < r.logprobs[i].length; j++) assert.ok(Math.abs(scored[i][j] - r.logprobs[i][j]) < 1e-4, `seq ${i} token ${j}`);
  }
});

test('seeded sampling is reproducible; greedy ignores the seed; stop tokens end sequences', () => {
  const m = new GPT(cfg, 3);
  const a = sample(m, [[1], [2]], { maxNewTokens: 10, rng: new Rng(5), topK: 5, topP: 0.9 });
  const b = sample(m, [[1], [2]], { maxNewTokens: 10, rng: new Rng(5), topK: 5, topP: 0.9 });
  assert.deepEqual(a.tokens, b.tokens);
  const g1 = sample(m, [[1]], { maxNewTokens: 8, temperature: 0, rng: new Rng(1) });
  const g2 = sample(m, [[1]], { maxNewTokens: 8, temperature: 0, rng: new Rng(2) });
  assert.deepEqual(g1.tokens, g2.tokens);
  const stopTok = g1.tokens[0][2];
  const s = sample(m, [[1]], { maxNewTokens: 8, temperature: 0, rng: new Rng(1), stopTokens: [stopTok] });
  assert.equal(s.finish[0], 'stop');
  assert.ok(s.tokens[0].length <= 3);
});

test('a tiny GPT learns to continue a repeating pattern (loss falls, greedy continuation is right)', () => {
  const m = new GPT({ ...cfg, valueHead: false }, 0);
  const opt = new AdamW(m.params(), { lr: 1e-2, weightDecay: 0 });
  const pattern = [1, 2, 3, 4, 5, 6, 7];
  const B = 8, T = 12, rng = new Rng(0);
  let first = 0, last = 0;
  for (let step = 0; step < 120; step++) {
    const ids = new Int32Array(B * T), tg = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const off = rng.int(7);
      for (let t = 0; t < T; t++) {
        ids[b * T + t] = pattern[(off + t) % 7];
        tg[b * T + t] = pattern[(off + t + 1) % 7];
      }
    }
    const loss = m.loss(ids, tg, B, T);
    if (step === 0) first = loss.item();
    last = loss.item();
    backward(loss);
    opt.update();
    opt.zeroGrad();
  }
  assert.ok(first > 2 && last < 0.1, `loss ${first} -> ${last}`);
  const g = sample(m, [[3, 4]], { maxNewTokens: 6, temperature: 0, rng: new Rng(0) });
  assert.deepEqual(g.tokens[0], [5, 6, 7, 1, 2, 3]);
});

test('stop sequences end a sequence when its output ends with one', () => {
  const m = new GPT(cfg, 3);
  const free = sample(m, [[1]], { maxNewTokens: 10, temperature: 0, rng: new Rng(1) });
  const seq = free.tokens[0].slice(3, 5); // stop at the first occurrence of tokens 3..4 of the free run
  const r = sample(m, [[1]], { maxNewTokens: 10, temperature: 0, rng: new Rng(1), stopSequences: [[99, 98], seq] });
  assert.equal(r.finish[0], 'stop');
  const got = r.tokens[0];
  assert.deepEqual(got.slice(-2), seq);
  assert.deepEqual(got, free.tokens[0].slice(0, got.length));
});

test('the value head gives one value per position and receives gradient', () => {
  const m = new GPT(cfg, 4);
  const ids = Int32Array.from([1, 2, 3, 4, 5, 6]);
  const { logits, values } = m.forward(ids, 2, 3);
  assert.deepEqual(logits.shape, [2, 3, 11]);
  assert.deepEqual(values!.shape, [2, 3]);
  backward(sum(values!));
  const vw = m.params().find(([n]) => n === 'value_head.weight')![1];
  assert.ok(vw.grad && vw.grad.some((g) => g !== 0));
});
