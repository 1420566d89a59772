/**
 * GPT.prefill / GPT.decode against GPT.forward, and the sampler over them
 * against the sampler they replaced (sample_legacy.ts): on every available
 * backend, logits at every position of ragged batches agree with a full
 * forward of each row alone within 1e-4, and seeded sampling gives the old
 * tokens and log-probs; generate() reports exactly what it sampled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.ts';
import { noGrad } from '../../src/tensor/tensor.ts';
import { BACKEND_NAMES, initBackend } from '../../src/tensor/backend.ts';
import { availableBackends } from './backends.ts';
import { GPT, type GPTConfig } from '../../src/models/gpt.ts';
import { generate, sample, type SampleOptions } from '../../src/models/sample.ts';
import { legacySample } from './sample_legacy.ts';
import { LocalPolicy } from '../../src/policy/local.ts';
import { CharTokenizer } from '../../src/models/tokenizer.ts';
import { entropy } from '../../src/measure/stats.ts';

const cfg: GPTConfig = { vocabSize: 13, blockSize: 12, nLayer: 2, nEmbd: 16, nHead: 4, valueHead: false };

/**
 * A GPT whose logits are far from uniform: every parameter redrawn with
 * std 0.3 around its init (LayerNorm gains around 1), so a wrong position,
 * mask or cache entry shows up as an error of order 1, not 1e-3.
 */
function spreadModel(seed: number, c: GPTConfig = cfg): GPT {
  const m = new GPT(c, seed), rng = new Rng(seed + 100);
  for (const [name, p] of m.params()) {
    const base = /ln_\d|ln_f/.test(name) && name.endsWith('.weight') ? 1 : 0;
    for (let i = 0; i < p.size; i++) p.data[i] = base + 0.3 * rng.normal();
  }
  return m;
}

/** logits (T, V) of one sequence by the autograd forward pass. */
function forwardLogits(m: GPT, seq: readonly number[]): Float32Array {
  return noGrad(() => m.forward(Int32Array.from(seq), 1, seq.length).logits.data.slice());
}

const available = await availableBackends();

for (const backend of BACKEND_NAMES) {
  const skip = available.includes(backend) ? false : `backend ${backend} is not available here`;

  test(`${backend}: prefill + decode logits equal GPT.forward at every position of a ragged batch`, { skip }, async () => {
    await initBackend(backend);
    const m = spreadModel(1), V = cfg.vocabSize, rng = new Rng(2);
    // rows of different lengths, one filling the whole block
    const lengths = [5, 12, 3, 9, 3];
    const seqs = lengths.map((n) => Array.from({ length: n }, () => rng.int(V)));
    const want = seqs.map((s) => forwardLogits(m, s)); // (T_b, V) each
    let worst = 0;
    for (let L0 = 1; L0 <= Math.min(...lengths); L0++) {
      // prefill the first L0 tokens of every row, then one token per row per decode step
      const cache = m.newCache(seqs.length);
      let logits = m.prefill(cache, seqs.map((s) => s.slice(0, L0)));
      for (let t = L0 - 1; t < Math.max(...lengths); t++) {
        assert.equal(cache.length, t + 1);
        seqs.forEach((s, b) => {
          if (t >= s.length) return; // past this row's end: its logits are not compared
          for (let v = 0; v < V; v++) {
            const err = Math.abs(logits[b * V + v] - want[b][t * V + v]);
            worst = Math.max(worst, err);
            assert.ok(err <= 1e-4, `L0=${L0} row ${b} position ${t} logit ${v}: ${logits[b * V + v]} vs forward ${want[b][t * V + v]}`);
          }
        });
        if (t + 1 === cfg.blockSize) break;
        logits = m.decode(cache, seqs.map((s) => s[t + 1] ?? 0));
      }
    }
    assert.ok(worst > 0 || backend === 'ref', 'no logits were compared');
  });

  test(`${backend}: rows that share a prompt are prefilled once and continue as if each had been fed alone`, { skip }, async () => {
    await initBackend(backend);
    const m = spreadModel(6), V = cfg.vocabSize, rng = new Rng(7);
    const p = [1, 2, 3, 4], q = [4, 3, 2, 1];
    const prompts = [p, q, p, p, [5, 6, 7, 8], q]; // two groups and a single
    const steps = Array.from({ length: 5 }, () => prompts.map(() => rng.int(V))); // each row's own next tokens
    const cache = m.newCache(prompts.length);
    const got = [m.prefill(cache, prompts).slice()];
    for (const toks of steps) got.push(m.decode(cache, toks).slice());
    prompts.forEach((prompt, b) => {
      const alone = m.newCache(1);
      const want = [m.prefill(alone, [prompt]).slice()];
      for (const toks of steps) want.push(m.decode(alone, [toks[b]]).slice());
      want.forEach((w, t) => {
        for (let v = 0; v < V; v++) {
          const g = got[t][b * V + v];
          assert.ok(Math.abs(g - w[v]) <= 1e-5 * Math.max(1, Math.abs(w[v])), `row ${b} step ${t} logit ${v}: ${g} vs ${w[v]} alone`);
        }
      });
      alone.release();
    });
    cache.release();
  });

  test(`${backend}: seeded sampling gives the tokens and log-probs of the sampler before prefill`, { skip }, async () => {
    await initBackend(backend);
    const m = spreadModel(3);
    const prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9, 10, 11, 12, 0, 1, 2], [7, 7], [4], [1, 2, 3]];
    const cases: [string, Omit<SampleOptions, 'rng'>][] = [
      ['temperature 1', { maxNewTokens: 20 }],
      ['temperature 0.7, top-k 5, top-p 0.9, per-row budgets', { maxNewTokens: [6, 9, 4, 1, 0, 30], temperature: 0.7, topK: 5, topP: 0.9 }],
      ['greedy', { maxNewTokens: 20, temperature: 0 }],
      ['stop token and stop sequence', { maxNewTokens: 20, temperature: 1.3, stopTokens: [5], stopSequences: [[3, 3], [8]] }],
    ];
    for (const [what, opts] of cases) {
      const got = sample(m, prompts, { ...opts, rng: new Rng(11) });
      const want = legacySample(m, prompts, { ...opts, rng: new Rng(11) });
      assert.deepEqual(got.tokens, want.tokens, `${what}: tokens`);
      assert.deepEqual(got.finish, want.finish, `${what}: finish reasons`);
      got.logprobs.forEach((lp, b) => lp.forEach((x, j) => assert.ok(Math.abs(x - want.logprobs[b][j]) <= 1e-5, `${what}: row ${b} log-prob ${j}: ${x} vs ${want.logprobs[b][j]}`)));
      // the same prompts in one batch of equal lengths take the whole prompt through prefill
      const equal = sample(m, [prompts[0], prompts[5]], { ...opts, maxNewTokens: 7, rng: new Rng(4) });
      assert.deepEqual(equal.tokens, legacySample(m, [prompts[0], prompts[5]], { ...opts, maxNewTokens: 7, rng: new Rng(4) }).tokens, `${what}: equal-length batch`);
    }
  });
}

test('prefill and decode refuse what they cannot do, naming it', async () => {
  await initBackend();
  const m = spreadModel(5);
  assert.throws(() => m.prefill(m.newCache(2), [[1, 2], [3]]), /prompt 1 has 1 tokens, prompt 0 has 2/);
  assert.throws(() => m.prefill(m.newCache(2), [[1, 2]]), /1 prompts for a cache of 2 rows/);
  assert.throws(() => m.prefill(m.newCache(1), [[1, 99]]), /prompt 0 has token 99 outside \[0, 13\)/);
  assert.throws(() => m.prefill(m.newCache(1), [Array(13).fill(1)]), /prompt length 13 is outside \[1, 12\] \(the cache.s positions\)/);
  const cache = m.newCache(1);
  m.prefill(cache, [Array(12).fill(1)]);
  assert.throws(() => m.prefill(cache, [[1]]), /already holds 12 positions/);
  assert.throws(() => m.decode(cache, [1]), /the cache is full \(12 positions\)/);
  assert.throws(() => m.decode(m.newCache(2), [1]), /1 tokens for a cache of 2 rows/);
});

test('generate(): tokens and log-probs are exactly what was sampled; the stop text ends sampling; it runs past the block', async () => {
  await initBackend();
  const m = spreadModel(7);
  const chars = 'abcdefghij'; // ids 3..12 of a 13-token vocabulary
  const tok = {
    eosId: 1,
    encode: (s: string) => [...s].map((c) => chars.indexOf(c) + 3),
    decode: (ids: ArrayLike<number>) => Array.from(ids, (i) => (i >= 3 ? chars[i - 3] : '')).join(''),
  };
  const long = generate(m, tok, 'abc', 30, { rng: new Rng(1), temperature: 1 });
  assert.equal(long.tokens.length, 30, 'generation continues past blockSize 12 by restarting');
  assert.equal(long.logprobs.length, long.tokens.length);
  assert.equal(long.text, tok.decode(long.tokens));
  assert.equal(long.finish, 'length');
  // the first chunk reads the prompt (3 tokens <= half block): its log-probs are the full forward's
  const scored = noGrad(() => m.forward(Int32Array.from([...tok.encode('abc'), ...long.tokens.slice(0, 9)]), 1, 12).logits.data);
  for (let j = 0; j < 9; j++) {
    const row = scored.subarray((2 + j) * 13, (3 + j) * 13), mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
    assert.ok(Math.abs(row[long.tokens[j]] - lse - long.logprobs[j]) < 1e-4, `log-prob of token ${j}`);
  }
  // stop at a text the free run produced: sampling ends there, same tokens up to it
  const stopText = tok.decode(long.tokens.slice(4, 6));
  const stopped = generate(m, tok, 'abc', 30, { rng: new Rng(1), temperature: 1, stopText });
  assert.equal(stopped.finish, 'stop');
  assert.ok(stopped.text.endsWith(stopText));
  assert.deepEqual(stopped.tokens, long.tokens.slice(0, stopped.tokens.length));
  assert.ok(stopped.tokens.length <= 6);
});

test('a released cache hands its storage to the next one, and only once', async () => {
  await initBackend();
  const m = spreadModel(8);
  const a = m.newCache(2);
  const buffer = a.kAll.buffer;
  a.release();
  const b = m.newCache(2);
  assert.equal(b.kAll.buffer, buffer, 'the storage is reused');
  assert.throws(() => a.release(), /released twice/);
  // reused storage holds old keys; results must not depend on it
  const seq = [1, 2, 3, 4];
  const logits = m.prefill(b, [seq, seq]).slice();
  const fresh = forwardLogits(m, seq).subarray(3 * cfg.vocabSize);
  for (let v = 0; v < cfg.vocabSize; v++) assert.ok(Math.abs(logits[v] - fresh[v]) <= 1e-4);
});

for (const backend of BACKEND_NAMES) {
  const skip = available.includes(backend) ? false : `backend ${backend} is not available here`;
  test(`${backend}: LocalPolicy.forward's entropy equals the definition at every predicting row, 0 elsewhere`, { skip }, async () => {
    await initBackend(backend);
    const m = spreadModel(10), V = cfg.vocabSize, rng = new Rng(11), B = 3, T = 9;
    const policy = new LocalPolicy(m, new CharTokenizer('abcdefghij'), { format: 'text' });
    const ids = Int32Array.from({ length: B * T }, () => rng.int(V));
    const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 4 === 3 ? -1 : rng.int(V)));
    const f = noGrad(() => policy.forward({ ids, targets, B, T }));
    const logits = forwardLogits(m, Array.from(ids.subarray(0, T))); // row 0 alone, (T, V)
    for (let r = 0; r < B * T; r++) {
      if (targets[r] < 0) {
        assert.equal(f.entropy[r], 0, `row ${r} predicts nothing`);
        continue;
      }
      if (r >= T) continue; // rows of sequence 0 are compared with the definition
      const want = entropy(logits.subarray(r * V, (r + 1) * V));
      assert.ok(Math.abs(f.entropy[r] - want) <= 1e-4, `row ${r}: entropy ${f.entropy[r]} vs ${want}`);
    }
    assert.ok(f.entropy.some((h) => h > 0.1), 'the rows are not all one-hot');
  });
}

test('LocalPolicy: ignoreEos samples exactly maxTokens; by default EOS ends a reply', async () => {
  await initBackend();
  const m = spreadModel(9);
  const policy = new LocalPolicy(m, new CharTokenizer('abcdefghij'), { format: 'text' });
  const prefixes = Array.from({ length: 32 }, () => [3, 4]);
  const free = await policy.sampleTokens(prefixes, { maxTokens: 9, temperature: 3, seed: 1 });
  assert.ok(free.some((s) => s.finish === 'stop' && s.tokens.at(-1) === 1), 'some reply ends at EOS (temperature 3 over 13 tokens)');
  const all = await policy.sampleTokens(prefixes, { maxTokens: 9, temperature: 3, seed: 1, ignoreEos: true });
  assert.ok(all.every((s) => s.tokens.length === 9 && s.finish === 'length'));
  assert.ok(all.some((s) => s.tokens.slice(0, -1).includes(1)), 'EOS was sampled and sampling went on');
});
