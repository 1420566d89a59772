/**
 * GPT in the nanoGPT layout: token + learned position embeddings, n_layer
 * pre-LayerNorm blocks (causal self-attention, GELU MLP 4x, both residual),
 * a final LayerNorm, and an LM head tied to the token embedding. Linear
 * layers have biases. An optional scalar value head (for PPO) reads the
 * final hidden state.
 *
 * Three passes over the same blocks and weights: `forward` (autograd
 * tensors, every position: training and scoring), and for sampling the
 * no-grad kernel passes over a KV cache (kv_cache.ts): `prefill` (a prompt
 * block, all positions in one batched pass) and `decode` (one new token per
 * row). Both return next-token logits; tests hold them to `forward`.
 *
 * Parameter names follow nanoGPT's state_dict (transformer.h.0.attn.c_attn.weight, ...)
 * so model.safetensors loads into nanoGPT-style PyTorch code; the tied LM
 * head is not stored separately.
 */
import { Rng } from '../util/rng.ts';
import { Tensor } from '../tensor/tensor.ts';
import * as O from '../tensor/ops.ts';
import { reshape } from '../tensor/ops_shape.ts';
import { CausalSelfAttention, Embedding, LayerNorm, Linear, MLP, type NamedParams, type PackedRows } from '../nn/modules.ts';
import { planSharedRows } from './shared_prefix.ts';
import { K } from '../tensor/backend.ts';
import { KVCache } from './kv_cache.ts';
import { composedGptStep, type GptStepArgs } from '../tensor/kernels/gpt_step.ts';

export interface GPTConfig {
  vocabSize: number; // number of token ids
  blockSize: number; // maximum context length (learned positions)
  nLayer: number; // transformer blocks
  nEmbd: number; // width C
  nHead: number; // attention heads (C must divide evenly)
  valueHead: boolean; // add a scalar value head (PPO)
}

export const GPT_CONFIG_KEYS: readonly (keyof GPTConfig)[] = ['vocabSize', 'blockSize', 'nLayer', 'nEmbd', 'nHead', 'valueHead'];

/** Named sizes used by benchmarks and the CLI (batch 32 x context 64, vocab 64 in the benchmark). */
export const GPT_PRESETS = {
  tiny: { nLayer: 2, nEmbd: 64, nHead: 4 },
  small: { nLayer: 4, nEmbd: 128, nHead: 4 },
  medium: { nLayer: 6, nEmbd: 256, nHead: 8 },
} as const satisfies Record<string, Pick<GPTConfig, 'nLayer' | 'nEmbd' | 'nHead'>>;

/** Checks a config object strictly: unknown keys and bad values are errors naming the key. */
export function validateGPTConfig(raw: unknown, where = 'config'): GPTConfig {
  if (typeof raw !== 'object' || raw === null) throw new Error(`${where}: expected an object`);
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!(GPT_CONFIG_KEYS as readonly string[]).includes(k)) throw new Error(`${where}: unknown key "${k}" (known: ${GPT_CONFIG_KEYS.join(', ')})`);
  }
  const int = (k: keyof GPTConfig): number => {
    const v = obj[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`${where}: "${k}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const cfg: GPTConfig = {
    vocabSize: int('vocabSize'), blockSize: int('blockSize'), nLayer: int('nLayer'), nEmbd: int('nEmbd'), nHead: int('nHead'),
    valueHead: obj.valueHead === undefined ? false : Boolean(obj.valueHead),
  };
  if (cfg.nEmbd % cfg.nHead !== 0) throw new Error(`${where}: nEmbd ${cfg.nEmbd} is not divisible by nHead ${cfg.nHead}`);
  return cfg;
}

export class Block {
  readonly ln_1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln_2: LayerNorm;
  readonly mlp: MLP;
  constructor(c: GPTConfig, rng: Rng) {
    this.ln_1 = new LayerNorm(c.nEmbd);
    this.attn = new CausalSelfAttention(c.nEmbd, c.nHead, rng);
    this.ln_2 = new LayerNorm(c.nEmbd);
    this.mlp = new MLP(c.nEmbd, rng);
  }
  /** x (B, T, C) -> (B, T, C); or packed rows x (R, C) -> (R, C). */
  forward(x: Tensor, packed?: PackedRows | null): Tensor {
    x = O.add(x, this.attn.forward(this.ln_1.forward(x), packed));
    return O.add(x, this.mlp.forward(this.ln_2.forward(x)));
  }
  params(prefix: string): NamedParams {
    return [
      ...this.ln_1.params(`${prefix}.ln_1`), ...this.attn.params(`${prefix}.attn`),
      ...this.ln_2.params(`${prefix}.ln_2`), ...this.mlp.params(`${prefix}.mlp`),
    ];
  }
}

export interface GPTOutput {
  logits: Tensor; // (B, T, V)
  values: Tensor | null; // (B, T) when the value head is on
}

export class GPT {
  readonly config: GPTConfig;
  readonly wte: Embedding; // (V, C), also the LM head
  readonly wpe: Embedding; // (blockSize, C)
  readonly h: Block[];
  readonly ln_f: LayerNorm;
  readonly valueHead: Linear | null; // (1, C)
  /**
   * Rows that share a prefix (an RL group's prompt) run its positions once,
   * in prefill and in forward, with the same results per row. false makes
   * every row do all of its own work, as a framework without prefix sharing
   * does (the like-for-like row of the bench).
   */
  sharePrefixes = true;

  /** Weights N(0, 0.02), biases 0, LayerNorm gains 1 (as the PyTorch peer initializes). */
  constructor(config: GPTConfig, seed = 0) {
    this.config = validateGPTConfig(config);
    const rng = new Rng(seed);
    const c = this.config;
    this.wte = new Embedding(c.vocabSize, c.nEmbd, rng);
    this.wpe = new Embedding(c.blockSize, c.nEmbd, rng);
    this.h = Array.from({ length: c.nLayer }, () => new Block(c, rng));
    this.ln_f = new LayerNorm(c.nEmbd);
    this.valueHead = c.valueHead ? new Linear(c.nEmbd, 1, rng) : null;
  }

  /** Parameters by state_dict name, in a fixed order. */
  params(): NamedParams {
    const out: NamedParams = [...this.wte.params('transformer.wte'), ...this.wpe.params('transformer.wpe')];
    this.h.forEach((b, i) => out.push(...b.params(`transformer.h.${i}`)));
    out.push(...this.ln_f.params('transformer.ln_f'));
    if (this.valueHead) out.push(...this.valueHead.params('value_head'));
    return out;
  }

  numParams(includePositions = true): number {
    return this.params().reduce((n, [name, p]) => n + (includePositions || name !== 'transformer.wpe.weight' ? p.size : 0), 0);
  }

  /** Training FLOPs per token, nanoGPT's estimate: 6N + 12 L C T (N without position embeddings). */
  flopsPerToken(T = this.config.blockSize): number {
    const c = this.config;
    return 6 * this.numParams(false) + 12 * c.nLayer * c.nEmbd * T;
  }

  /**
   * ids (B*T, row-major) -> logits (B, T, V) [+ values (B, T)]. Sequences
   * that share a prefix (an RL group's prompt) run its positions once
   * (shared_prefix.ts) unless share (default: sharePrefixes) is false; the outputs are the same
   * either way, up to float rounding.
   */
  forward(ids: Int32Array, B: number, T: number, opts: { share?: boolean } = {}): GPTOutput {
    const c = this.config;
    if (ids.length !== B * T) throw new Error(`GPT.forward: ${ids.length} ids for B=${B} x T=${T}`);
    if (T > c.blockSize) throw new Error(`GPT.forward: sequence length ${T} exceeds blockSize ${c.blockSize}`);
    const packed = (opts.share ?? this.sharePrefixes) ? planSharedRows(ids, B, T) : null;
    if (packed) return this.forwardPacked(packed);
    const pos = new Int32Array(T).map((_, i) => i);
    let x = O.add(this.wte.forward(ids, [B, T]), this.wpe.forward(pos, [T])); // (B, T, C)
    for (const block of this.h) x = block.forward(x);
    x = this.ln_f.forward(x);
    const logits = O.matmul(x, this.wte.weight, { transB: true }); // (B, T, V), tied head
    const values = this.valueHead ? reshape(this.valueHead.forward(x), [B, T]) : null; // (B, T, 1) -> (B, T)
    return { logits, values };
  }

  /** forward over packed rows: every row-wise layer on R rows, logits and values gathered back to (B, T). */
  private forwardPacked(p: PackedRows): GPTOutput {
    let x = O.add(this.wte.forward(p.ids, [p.rows]), this.wpe.forward(p.pos, [p.rows])); // (R, C)
    for (const block of this.h) x = block.forward(x, p);
    x = this.ln_f.forward(x);
    const logits = O.embedding(O.matmul(x, this.wte.weight, { transB: true }), p.rowOf, [p.B, p.T]); // (R, V) -> (B, T, V)
    const values = this.valueHead ? reshape(O.embedding(this.valueHead.forward(x), p.rowOf, [p.B, p.T]), [p.B, p.T]) : null; // (R, 1) -> (B, T)
    return { logits, values };
  }

  /** A KV cache for B rows and up to `positions` positions (kv_cache.ts); it snapshots the current weights. */
  newCache(B: number, positions = this.config.blockSize): KVCache {
    return new KVCache(this, B, positions);
  }

  /**
   * No grad. Feeds a prompt block into an empty cache in one pass: rows of
   * one length L (1 <= L <= blockSize), one per cache row, go through every
   * block as B*L rows of batched products with causal attention, and their
   * keys and values fill cache positions 0..L-1. Returns the next-token
   * logits at position L-1, (B, V), in the cache's buffer (valid until the
   * next call). sample() prefills the common length of ragged prompts and
   * feeds the rest of the longer ones through decode. Rows with the same
   * prompt (an RL group) go through the pass once and are copied: a row's
   * pass does not depend on the other rows, so each gets what it would get
   * alone (bit for bit on the native, wasm and js kernels).
   */
  prefill(cache: KVCache, prompts: readonly (readonly number[])[]): Float32Array {
    const { B } = cache, L = prompts[0]?.length ?? 0;
    if (cache.length !== 0) throw new Error(`GPT.prefill: the cache already holds ${cache.length} positions (prefill starts a cache; decode extends it)`);
    if (prompts.length !== B) throw new Error(`GPT.prefill: ${prompts.length} prompts for a cache of ${B} rows`);
    if (L < 1 || L > cache.Tmax) throw new Error(`GPT.prefill: prompt length ${L} is outside [1, ${cache.Tmax}] (the cache's positions)`);
    prompts.forEach((p, b) => {
      if (p.length !== L) throw new Error(`GPT.prefill: prompt ${b} has ${p.length} tokens, prompt 0 has ${L} (one length per block)`);
      for (let t = 0; t < L; t++) this.tokenId(p[t], `prompt ${b}`);
    });
    // rows with the same prompt (an RL group: one prompt, several samples) are fed once, through a
    // cache of the distinct prompts, whose keys, values and logits are then copied to every row
    const seen = new Map<string, number>(), from = new Int32Array(B), distinct: (readonly number[])[] = [];
    prompts.forEach((p, b) => {
      const key = p.join(',');
      let u = seen.get(key);
      if (u === undefined) seen.set(key, (u = distinct.push(p) - 1));
      from[b] = u;
    });
    if (distinct.length === B || !this.sharePrefixes) return this.passNoGrad(cache, blockIds(prompts, L), L);
    const sub = cache.rowsSharing(this, distinct.length);
    this.passNoGrad(sub, blockIds(distinct, L), L);
    cache.copyRows(sub, from);
    sub.release();
    return cache.logits;
  }

  /**
   * No grad. Feeds one token per row at position cache.length (every row
   * there) and returns the next-token logits, (B, V), in the cache's buffer
   * (valid until the next call).
   */
  decode(cache: KVCache, tokens: ArrayLike<number>): Float32Array {
    const { B } = cache;
    if (tokens.length !== B) throw new Error(`GPT.decode: ${tokens.length} tokens for a cache of ${B} rows`);
    if (cache.length >= cache.Tmax) throw new Error(`GPT.decode: the cache is full (${cache.Tmax} positions)`);
    for (let b = 0; b < B; b++) cache.ids[b] = this.tokenId(tokens[b], `row ${b}`);
    return this.passNoGrad(cache, cache.ids, 1);
  }

  /**
   * Lq new tokens per row (ids (B, Lq)) at positions cache.length.. through
   * the whole model over the cache: the backend's fused gptStep kernel when
   * it has one, else the same pass composed from its kernels (gpt_step.ts).
   */
  private passNoGrad(cache: KVCache, ids: Int32Array, Lq: number): Float32Array {
    const c = this.config, w = cache.weights;
    const args: GptStepArgs = {
      ids, wte: w.wte, wpe: w.wpe, blocks: w.blocks, lnf: w.lnf, wteT: w.wteT, kCache: cache.kAll, vCache: cache.vAll, logits: cache.logits,
      B: cache.B, Lq, t0: cache.length, C: c.nEmbd, H: c.nHead, L: c.nLayer, V: c.vocabSize, Tmax: cache.Tmax, eps: w.eps,
    };
    if (K.gptStep) K.gptStep(args);
    else composedGptStep(K, args);
    cache.length += Lq;
    return cache.logits;
  }

  private tokenId(tok: number, where: string): number {
    if (!(Number.isInteger(tok) && tok >= 0 && tok < this.config.vocabSize)) throw new Error(`GPT: ${where} has token ${tok} outside [0, ${this.config.vocabSize})`);
    return tok;
  }

  /** Mean next-token loss: targets (B*T), target < 0 ignored, optional per-token weights. */
  loss(ids: Int32Array, targets: Int32Array, B: number, T: number, weights?: Float32Array): Tensor {
    const { logits } = this.forward(ids, B, T);
    return O.crossEntropy(logits, targets, weights);
  }
}

/** ids (B, L) of B prompts of length L. */
function blockIds(prompts: readonly (readonly number[])[], L: number): Int32Array {
  const ids = new Int32Array(prompts.length * L);
  prompts.forEach((p, b) => ids.set(p, b * L));
  return ids;
}
