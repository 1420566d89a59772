/**
 * The Policy interface: what every algorithm, evaluation and server sees of
 * a model. Three levels, each a superset of the last:
 *
 *   Policy           text in, text out: n completions per chat prompt. Local
 *                    models and remote OpenAI-compatible servers alike.
 *   TokenPolicy      exact tokens: continue token prefixes (so multi-turn
 *                    rollouts keep the very tokens that were sampled) and
 *                    score given tokens. Local models.
 *   TrainablePolicy  per-token log-probs with gradient over a padded batch,
 *                    the parameters to update, optional values (PPO's value
 *                    head), and FLOP counts. Local models.
 *
 * Log-probabilities are under the policy's own distribution at temperature
 * 1 without truncation (what policy-gradient ratios need), whatever the
 * sampling temperature was.
 */
import type { Tensor } from '../tensor/tensor.ts';
import type { NamedParams } from '../nn/modules.ts';
import type { Tokenizer } from '../models/tokenizer.ts';
import type { Message } from './format.ts';
import type { ModelFlops } from '../measure/flops.ts';

export interface SamplingParams {
  maxTokens: number; // new tokens per completion, at most
  temperature: number; // 0 = greedy
  topP?: number; // nucleus threshold (1 = off)
  topK?: number; // keep the k most likely tokens (0 = off)
  stop?: readonly string[]; // texts that end a completion (besides EOS); not included in the text
  seed: number; // all sampling randomness of the call; the same seed gives the same completions
  ignoreEos?: boolean; // keep sampling past EOS, to exactly maxTokens (benchmarks; as vLLM's ignore_eos); default false
}

export type FinishReason = 'stop' | 'length';

export interface Completion {
  text: string; // the reply, without EOS or stop text
  finish: FinishReason; // 'stop': EOS or a stop text; 'length': maxTokens or the context ran out
  tokens: number[] | null; // the sampled token ids, exactly (null for remote policies)
  logprobs: number[] | null; // log p of each sampled token (null when the server gives none)
  promptTokens: number; // tokens in the prompt (usage)
  completionTokens: number; // tokens sampled (usage)
}

export interface Policy {
  readonly name: string; // for logs and run configs, e.g. 'local:runs/sft' or 'openai:http://host/v1 model'
  /** n completions for each chat prompt (messages ending with a user turn), prompts in order. */
  complete(prompts: readonly (readonly Message[])[], params: SamplingParams & { n: number }): Promise<Completion[][]>;
}

/** One continuation of a token prefix. */
export interface TokenSample {
  tokens: number[]; // new tokens, including the EOS that ended it (if it did)
  logprobs: number[]; // one per new token
  finish: FinishReason;
}

export interface TokenPolicy extends Policy {
  readonly tokenizer: Tokenizer;
  readonly contextLength: number; // the longest sequence (prefix + new tokens) the model reads
  /** The tokens for a chat (format.ts): with a trailing user turn, the prompt for the next reply; turns concatenate. */
  encode(messages: readonly Message[]): number[];
  /** A reply's text from its sampled tokens (up to EOS). */
  decodeReply(tokens: readonly number[]): string;
  /** One continuation per prefix (repeat a prefix for a group); stops at EOS, a stop text or maxTokens. */
  sampleTokens(prefixes: readonly (readonly number[])[], params: SamplingParams): Promise<TokenSample[]>;
  /** For each sequence, log p(seq[i] | seq[<i]) for i >= from[b] (no gradient). */
  score(seqs: readonly (readonly number[])[], from: readonly number[]): number[][];
}

/** A padded batch of token sequences: predict targets from ids. */
export interface TokenBatch {
  ids: Int32Array; // (B, T) inputs
  targets: Int32Array; // (B, T) the next token at each position; < 0 where nothing is predicted
  B: number;
  T: number;
}

export interface PolicyForward {
  logp: Tensor; // (B, T) log p(targets) with gradient; 0 where target < 0
  values: Tensor | null; // (B, T) the value head's output, when the policy has one
  entropy: Float32Array; // (B, T) entropy of the next-token distribution, no gradient
}

export interface TrainablePolicy extends TokenPolicy {
  readonly hasValueHead: boolean;
  /** The forward pass with gradient, on the policy's own tape. */
  forward(batch: TokenBatch): PolicyForward;
  /** The parameters an optimizer updates, by name. */
  params(): NamedParams;
  /** FLOP counts of sampling (2N + attention per token) and training (6N + attention), src/measure/flops.ts. */
  flops(): ModelFlops;
}
