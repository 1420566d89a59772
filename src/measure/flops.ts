/**
 * What learning costs: FLOPs per token of a GPT, and a meter that adds up
 * samples, tokens and FLOPs over a run so every curve can be drawn against
 * samples, tokens or compute.
 *
 * FLOPs of a forward pass, per token (a multiply-add is 2 FLOPs):
 *   - weights: every weight is used in one multiply-add per token, so 2N,
 *     where N excludes the position embeddings (a lookup, no arithmetic). The
 *     token embedding is tied to the output head, so counting it once in N
 *     is exactly the head's matmul (2 V C); its lookup is free. Biases and
 *     LayerNorm gains are counted the same way, a slight overestimate.
 *   - attention over ctx positions, per layer: the scores q·k are ctx dot
 *     products of length hs in each of H heads, ctx·C multiply-adds (H·hs =
 *     C); weighting the values (A·V) is another ctx·C. So 4·C·ctx FLOPs per
 *     layer, 4·L·C·ctx in all. Softmax and masking are O(H·ctx): ignored.
 *   => samplePerToken(ctx) = 2N + 4·L·C·ctx
 * Training runs the forward and a backward that costs about twice as much
 * (gradients with respect to both inputs and weights):
 *   => trainPerToken(T) = 3·(2N + 4·L·C·T) = 6N + 12·L·C·T
 * which is nanoGPT's `estimate_mfu` (PaLM appendix B). As there, T is the
 * full trained sequence length for every token: the masked half of the
 * causal score matrix is computed and thrown away, so it is counted.
 *
 * Sampling with a KV cache is counted as it runs: the token at (1-based)
 * position t attends to t positions, and producing G new tokens after a
 * P-token prompt runs P + G - 1 positions through the model (the last token
 * sampled is never fed back). See sampleSequence.
 */

export interface FlopsModel {
  nLayer: number;
  nEmbd: number;
  vocabSize: number;
  blockSize: number; // longest context; the default T of trainPerToken
  nParams: number; // parameters excluding position embeddings (tied head counted once)
}

export interface ModelFlops {
  /** FLOPs to run one token through the model attending to ctx positions (KV-cache sampling, prefill). */
  samplePerToken(ctx: number): number;
  /** FLOPs to train on one token of a sequence of ctx tokens (forward + backward). Default ctx: blockSize. */
  trainPerToken(ctx?: number): number;
  /** FLOPs to sample `generated` new tokens after a prompt of `prompt` tokens (prefill + decode, causal). */
  sampleSequence(prompt: number, generated: number): number;
}

export function modelFlops(cfg: FlopsModel): ModelFlops {
  const { nLayer: L, nEmbd: C, vocabSize: V, blockSize, nParams: N } = cfg;
  for (const [k, v] of Object.entries(cfg)) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`modelFlops: ${k} must be a positive integer, got ${v}`);
  }
  if (N < V * C) throw new RangeError(`modelFlops: nParams=${N} is less than the head's vocabSize x nEmbd = ${V * C}: count the tied embedding once`);
  const checkCtx = (ctx: number): void => {
    if (!Number.isInteger(ctx) || ctx < 1 || ctx > blockSize) throw new RangeError(`modelFlops: ctx must be an integer in [1, ${blockSize}], got ${ctx}`);
  };
  return {
    samplePerToken(ctx) {
      checkCtx(ctx);
      return 2 * N + 4 * L * C * ctx;
    },
    trainPerToken(ctx = blockSize) {
      checkCtx(ctx);
      return 6 * N + 12 * L * C * ctx;
    },
    sampleSequence(prompt, generated) {
      if (!Number.isInteger(prompt) || !Number.isInteger(generated) || prompt < 1 || generated < 0) {
        throw new RangeError(`modelFlops: need a prompt of >= 1 token and >= 0 new tokens, got ${prompt} and ${generated}`);
      }
      const m = prompt + Math.max(0, generated - 1); // positions run through the model
      checkCtx(m);
      return 2 * N * m + 4 * L * C * ((m * (m + 1)) / 2); // sum over t = 1..m of samplePerToken(t)
    },
  };
}

/** Costs so far, as a plain JSON object (what a run saves and resumes from). */
export interface Costs {
  samples: number; // completions drawn for training (each is one verifier call unless told otherwise)
  verified: number; // of them graded by the verifier
  tokensSampled: number; // new tokens generated (prompts excluded; their cost is in sampleFlops)
  tokensTrained: number; // tokens that carried a loss in an update
  sampleFlops: number; // prefill + decode
  trainFlops: number; // forward + backward
}

const FIELDS = ['samples', 'verified', 'tokensSampled', 'tokensTrained', 'sampleFlops', 'trainFlops'] as const;

export function zeroCosts(): Costs {
  return { samples: 0, verified: 0, tokensSampled: 0, tokensTrained: 0, sampleFlops: 0, trainFlops: 0 };
}

/**
 * Adds up what a run spends. Keep one meter per purpose: the training meter
 * measures sample efficiency; held-out evaluation, if counted at all, goes in
 * a second meter so it does not inflate the cost of learning.
 */
export class CostMeter {
  private c: Costs = zeroCosts();

  /** Records `samples` completions (of which `verified` were graded; default all) with their new tokens and FLOPs. */
  sampled(add: { samples: number; verified?: number; tokens: number; flops: number }): void {
    const verified = add.verified ?? add.samples;
    check({ samples: add.samples, verified, tokens: add.tokens, flops: add.flops }, 'CostMeter.sampled');
    if (verified > add.samples) throw new RangeError(`CostMeter.sampled: verified=${verified} exceeds samples=${add.samples}`);
    this.c.samples += add.samples;
    this.c.verified += verified;
    this.c.tokensSampled += add.tokens;
    this.c.sampleFlops += add.flops;
  }

  /** Records an update over `tokens` loss-carrying tokens that cost `flops`. */
  trained(add: { tokens: number; flops: number }): void {
    check(add, 'CostMeter.trained');
    this.c.tokensTrained += add.tokens;
    this.c.trainFlops += add.flops;
  }

  /** A copy of the totals, safe to store. */
  snapshot(): Costs {
    return { ...this.c };
  }

  /** Continues from saved totals (a resumed run). Throws naming the field if one is missing or not a count. */
  restore(saved: Costs): void {
    check(saved, 'CostMeter.restore', FIELDS);
    this.c = Object.fromEntries(FIELDS.map((k) => [k, saved[k]])) as unknown as Costs;
  }
}

/** after - before, field by field: what a phase of a run cost. */
export function costsBetween(before: Costs, after: Costs): Costs {
  return Object.fromEntries(FIELDS.map((k) => [k, after[k] - before[k]])) as unknown as Costs;
}

/** Total FLOPs of a Costs object: sampling plus training. */
export function totalFlops(c: Costs): number {
  return c.sampleFlops + c.trainFlops;
}

function check(o: object, where: string, fields: readonly string[] = Object.keys(o)): void {
  for (const k of fields) {
    const v = (o as Record<string, unknown>)[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${where}: ${k} must be a finite number >= 0, got ${JSON.stringify(v)}`);
  }
}
