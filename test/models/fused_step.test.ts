/**
 * The fused no-grad pass (the native gptStep kernel) against the pass
 * composed from the same backend's kernels (composedGptStep, what GPT runs
 * when a table has no gptStep): prefill and decode logits agree within 1e-5
 * relative at every step of ragged batches, and seeded sampling gives the
 * same tokens, with log-probs within 1e-4, on the sampling and GRPO bench
 * workloads; and the kernel gives the same bits on 1, 2 and 3 threads.
 * Batches are sized so the kernel's chunks and 8-row blocks end unevenly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.ts';
import { backendInfo, initBackend, K, useKernels } from '../../src/tensor/backend.ts';
import { setNativeThreads } from '../../src/tensor/kernels/native.ts';
import { GPT, type GPTConfig } from '../../src/models/gpt.ts';
import { sample, type SampleOptions } from '../../src/models/sample.ts';

let skip: string | false = false;
try {
  await initBackend('native');
  if (!K.gptStep) skip = 'the native table has no gptStep';
} catch (e) {
  skip = `native backend not available: ${(e as Error).message}`;
}

/** A GPT with every parameter redrawn around its init (std 0.3), so logits are far from uniform. */
function spreadModel(c: GPTConfig, seed: number): GPT {
  const m = new GPT(c, seed), rng = new Rng(seed + 100);
  for (const [name, p] of m.params()) {
    const base = /ln_\d|ln_f/.test(name) && name.endsWith('.weight') ? 1 : 0;
    for (let i = 0; i < p.size; i++) p.data[i] = base + 0.3 * rng.normal();
  }
  return m;
}

/** Runs f with the kernel table's gptStep removed (the composed pass), then restores the table. */
function composed<T>(f: () => T): T {
  const fused = K;
  useKernels({ ...fused, gptStep: null });
  try {
    return f();
  } finally {
    useKernels(fused);
  }
}

/** max |got - want| / max(|want|, rms(want)) over the elements. */
function relErr(got: Float32Array, want: Float32Array): number {
  let ss = 0;
  for (const w of want) ss += w * w;
  const rms = Math.sqrt(ss / want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(Math.abs(want[i]), rms));
  return worst;
}

test('gptStep: prefill and decode logits equal the composed pass within 1e-5 at every step', { skip }, () => {
  const cfg: GPTConfig = { vocabSize: 29, blockSize: 40, nLayer: 3, nEmbd: 48, nHead: 3, valueHead: false };
  const m = spreadModel(cfg, 1), rng = new Rng(2);
  for (const [B, L] of [[1, 1], [37, 5], [130, 17], [3, 40]]) {
    const seqs = Array.from({ length: B }, () => Array.from({ length: cfg.blockSize }, () => rng.int(cfg.vocabSize)));
    const a = m.newCache(B), b = m.newCache(B);
    let got = m.prefill(a, seqs.map((s) => s.slice(0, L))).slice();
    let want = composed(() => m.prefill(b, seqs.map((s) => s.slice(0, L))).slice());
    for (let t = L; ; t++) {
      const err = relErr(got, want);
      assert.ok(err <= 1e-5, `B=${B} prompt ${L}, logits at position ${t - 1}: relative error ${err}`);
      if (t >= cfg.blockSize) break;
      const tokens = seqs.map((s) => s[t]);
      got = m.decode(a, tokens).slice();
      want = composed(() => m.decode(b, tokens).slice());
    }
    a.release();
    b.release();
  }
});

test('gptStep: seeded sampling gives the composed pass\'s tokens (sampling and GRPO bench workloads, ragged prompts)', { skip }, () => {
  const small: GPTConfig = { vocabSize: 64, blockSize: 64, nLayer: 4, nEmbd: 128, nHead: 4, valueHead: false };
  const m = spreadModel(small, 3), rng = new Rng(4);
  const grpo = Array.from({ length: 16 }, () => Array.from({ length: 16 }, () => rng.int(64))).flatMap((p) => Array.from({ length: 8 }, () => p));
  const ragged = Array.from({ length: 45 }, (_, i) => Array.from({ length: 1 + (i % 7) }, () => rng.int(64)));
  const cases: [string, number[][], Omit<SampleOptions, 'rng'>][] = [
    ['64 x 63 tokens from one token, temperature 1', Array.from({ length: 64 }, () => [0]), { maxNewTokens: 63 }],
    ['GRPO: 128 rows, 16 + 16 tokens', grpo, { maxNewTokens: 16 }],
    ['ragged prompts, temperature 0.8, top-p 0.9', ragged, { maxNewTokens: 20, temperature: 0.8, topP: 0.9 }],
  ];
  for (const [what, prompts, opts] of cases) {
    const got = sample(m, prompts, { ...opts, rng: new Rng(9) });
    const want = composed(() => sample(m, prompts, { ...opts, rng: new Rng(9) }));
    assert.deepEqual(got.tokens, want.tokens, `${what}: tokens`);
    // a log-prob is a difference of logits (tens here), each within 1e-5 relative
    got.logprobs.forEach((lp, b) => lp.forEach((x, j) => assert.ok(Math.abs(x - want.logprobs[b][j]) <= 1e-4, `${what}: row ${b} log-prob ${j}: ${x} vs ${want.logprobs[b][j]}`)));
  }
});

test('gptStep: the same logits, bit for bit, on 1, 2 and 3 threads (prefill and decode, ragged batches)', { skip }, () => {
  const cfg: GPTConfig = { vocabSize: 29, blockSize: 24, nLayer: 2, nEmbd: 48, nHead: 3, valueHead: false };
  const m = spreadModel(cfg, 5), rng = new Rng(6);
  const configured = backendInfo()!;
  const threads = Number(/(\d+) thread/.exec(configured.detail)?.[1] ?? 1);
  try {
    for (const [B, L] of [[37, 5], [130, 3], [3, 20], [24, 1], [12, 16]]) {
      const seqs = Array.from({ length: B }, () => Array.from({ length: cfg.blockSize }, () => rng.int(cfg.vocabSize)));
      let first: Float32Array[] | null = null;
      for (const t of [1, 2, 3]) {
        setNativeThreads(t);
        const cache = m.newCache(B), logits = [m.prefill(cache, seqs.map((s) => s.slice(0, L))).slice()];
        for (let p = L; p < Math.min(cfg.blockSize, L + 4); p++) logits.push(m.decode(cache, seqs.map((s) => s[p])).slice());
        cache.release();
        if (!first) first = logits;
        else logits.forEach((l, i) => assert.deepEqual(new Uint32Array(l.buffer), new Uint32Array(first![i].buffer), `B=${B} prompt ${L}, step ${i}: threads=${t} against threads=1`));
      }
    }
  } finally {
    setNativeThreads(threads);
  }
});
