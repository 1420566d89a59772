// FLOP accounting against a count of the GPT's matmuls made by hand, and the cost meter's resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CostMeter, costsBetween, modelFlops, totalFlops, zeroCosts } from '../../src/measure/flops.ts';

// A GPT with L=2, C=64, V=16, blockSize=32, tied head, and biases, counted from its parts.
const L = 2, C = 64, V = 16;
const perLayer = 2 * C /* ln_1 */ + (C * 3 * C + 3 * C) /* c_attn */ + (C * C + C) /* attn c_proj */ + 2 * C /* ln_2 */ + (C * 4 * C + 4 * C) + (4 * C * C + C) /* mlp */;
const N = V * C + L * perLayer + 2 * C; // wte (tied head), blocks, ln_f; no wpe
const cfg = { nLayer: L, nEmbd: C, vocabSize: V, blockSize: 32, nParams: N };

/** FLOPs of one token's forward pass, matmul by matmul, attending to ctx positions. */
function forwardByHand(ctx: number): number {
  const mm = (rows: number, cols: number): number => 2 * rows * cols; // one token through a rows x cols weight
  const layer = mm(C, 3 * C) + 2 * ctx * C /* q·k over all heads */ + 2 * ctx * C /* A·V */ + mm(C, C) + mm(C, 4 * C) + mm(4 * C, C);
  return L * layer + mm(C, V);
}

test('samplePerToken is 2N + 4LC·ctx, within 2% of the matmul count (biases and LayerNorm are the rest)', () => {
  const f = modelFlops(cfg);
  for (const ctx of [1, 7, 32]) {
    assert.equal(f.samplePerToken(ctx), 2 * N + 4 * L * C * ctx);
    const byHand = forwardByHand(ctx);
    assert.ok(f.samplePerToken(ctx) >= byHand && f.samplePerToken(ctx) < 1.02 * byHand, `ctx=${ctx}: ${f.samplePerToken(ctx)} vs ${byHand}`);
  }
});

test('trainPerToken is 3x the forward (nanoGPT 6N + 12LCT), defaulting to blockSize', () => {
  const f = modelFlops(cfg);
  assert.equal(f.trainPerToken(10), 3 * f.samplePerToken(10));
  assert.equal(f.trainPerToken(), 6 * N + 12 * L * C * 32);
});

test('sampleSequence sums samplePerToken over the positions actually run: prompt + new - 1', () => {
  const f = modelFlops(cfg);
  let byToken = 0;
  for (let t = 1; t <= 5 + 4 - 1; t++) byToken += f.samplePerToken(t);
  assert.equal(f.sampleSequence(5, 4), byToken);
  assert.equal(f.sampleSequence(5, 0), f.sampleSequence(5, 1)); // prefill alone yields the first token
  assert.throws(() => f.sampleSequence(30, 4), /ctx must be an integer in \[1, 32\], got 33/);
  assert.throws(() => f.sampleSequence(0, 4), /prompt of >= 1 token/);
});

test('modelFlops rejects configs that cannot be a GPT', () => {
  assert.throws(() => modelFlops({ ...cfg, nParams: V * C - 1 }), /count the tied embedding once/);
  assert.throws(() => modelFlops({ ...cfg, nLayer: 0 }), /nLayer must be a positive integer, got 0/);
  assert.throws(() => modelFlops(cfg).trainPerToken(33), /ctx must be/);
});

test('CostMeter adds up, snapshots are copies, restore continues the counts', () => {
  const m = new CostMeter();
  m.sampled({ samples: 8, tokens: 100, flops: 1e6 });
  m.sampled({ samples: 4, verified: 3, tokens: 50, flops: 5e5 });
  m.trained({ tokens: 120, flops: 3e6 });
  const snap = m.snapshot();
  assert.deepEqual(snap, { samples: 12, verified: 11, tokensSampled: 150, tokensTrained: 120, sampleFlops: 1.5e6, trainFlops: 3e6 });
  snap.samples = 999;
  assert.equal(m.snapshot().samples, 12);

  const resumed = new CostMeter();
  resumed.restore(JSON.parse(JSON.stringify(m.snapshot())));
  m.trained({ tokens: 1, flops: 2 });
  resumed.trained({ tokens: 1, flops: 2 });
  assert.deepEqual(resumed.snapshot(), m.snapshot());
  assert.equal(totalFlops(m.snapshot()), 1.5e6 + 3e6 + 2);
});

test('costsBetween gives a phase its own costs; bad counts are refused with the field named', () => {
  const m = new CostMeter();
  m.sampled({ samples: 2, tokens: 10, flops: 10 });
  const before = m.snapshot();
  m.sampled({ samples: 3, tokens: 5, flops: 7 });
  assert.deepEqual(costsBetween(before, m.snapshot()), { ...zeroCosts(), samples: 3, verified: 3, tokensSampled: 5, sampleFlops: 7 });
  assert.throws(() => m.sampled({ samples: 1, tokens: -1, flops: 0 }), /tokens must be a finite number >= 0, got -1/);
  assert.throws(() => m.sampled({ samples: 1, verified: 2, tokens: 0, flops: 0 }), /verified=2 exceeds samples=1/);
  const { trainFlops: _, ...partial } = m.snapshot();
  assert.throws(() => m.restore(partial as never), /trainFlops must be a finite number >= 0, got undefined/);
});
