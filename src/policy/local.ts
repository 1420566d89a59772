/**
 * LocalPolicy: a GPT trained here, as a TrainablePolicy. Prompts become
 * tokens through the one prompt format (format.ts); sampling is the model's
 * KV-cache sampler (src/models/sample.ts); the training forward pass is the
 * model's own forward.
 */
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import * as O from '../tensor/ops.ts';
import type { GPT } from '../models/gpt.ts';
import type { Tokenizer } from '../models/tokenizer.ts';
import { sample, scoreTokens } from '../models/sample.ts';
import type { NamedParams } from '../nn/modules.ts';
import { modelFlops, type ModelFlops } from '../measure/flops.ts';
import { decodeReply, encodeChat, encodePrompt, showChars, unknownChars, type Message, type PromptFormat } from './format.ts';
import type { Completion, PolicyForward, SamplingParams, TokenBatch, TokenSample, TrainablePolicy } from './types.ts';

/** Sequences sampled per call of the sampler: bounds the KV cache's memory. */
const MAX_BATCH = 256;

export interface LocalPolicyOptions {
  name?: string; // for logs, e.g. the checkpoint path
  format?: PromptFormat; // 'chat' (fine-tuned models, the default) or 'text' (raw continuation)
  warn?: (message: string) => void; // told once per new character the tokenizer cannot encode
}

export class LocalPolicy implements TrainablePolicy {
  readonly name: string;
  readonly format: PromptFormat;
  readonly contextLength: number;
  readonly hasValueHead: boolean;
  private readonly warned = new Set<string>();

  constructor(readonly model: GPT, readonly tokenizer: Tokenizer, private readonly opts: LocalPolicyOptions = {}) {
    this.name = opts.name ?? 'local';
    this.format = opts.format ?? 'chat';
    this.contextLength = model.config.blockSize;
    this.hasValueHead = model.valueHead !== null;
  }

  /** The tokens the model reads before its reply to this chat. */
  encode(messages: readonly Message[]): number[] {
    const text = messages.map((m) => m.content).join('');
    this.checkChars(text);
    if (this.format === 'text') return encodePrompt(this.tokenizer, text, 'text');
    return encodeChat(this.tokenizer, messages, { open: true }).tokens;
  }

  decodeReply(tokens: readonly number[]): string {
    return decodeReply(this.tokenizer, tokens);
  }

  async complete(prompts: readonly (readonly Message[])[], params: SamplingParams & { n: number }): Promise<Completion[][]> {
    const prefixes = prompts.map((m) => this.encode(m));
    const samples = await this.sampleTokens(prefixes.flatMap((p) => Array.from({ length: params.n }, () => p)), params);
    return prefixes.map((p, i) =>
      samples.slice(i * params.n, (i + 1) * params.n).map((s) => {
        const { text, stopped } = cutAtStop(this.decodeReply(s.tokens), params.stop);
        return {
          text, finish: stopped ? 'stop' : s.finish, tokens: s.tokens, logprobs: s.logprobs,
          promptTokens: p.length, completionTokens: s.tokens.length,
        };
      }),
    );
  }

  async sampleTokens(prefixes: readonly (readonly number[])[], params: SamplingParams): Promise<TokenSample[]> {
    const T = this.contextLength;
    prefixes.forEach((p, i) => {
      if (p.length === 0) throw new Error(`sampleTokens: prefix ${i} is empty`);
      if (p.length >= T) throw new UserError(`a prompt of ${p.length} tokens leaves no room to answer in this model's context of ${T} tokens`);
    });
    const rng = new Rng(`sample:${params.seed}`);
    const stopSequences = (params.stop ?? []).map((s) => this.tokenizer.encode(s)).filter((s) => s.length > 0);
    const out: TokenSample[] = [];
    for (let i = 0; i < prefixes.length; i += MAX_BATCH) {
      const chunk = prefixes.slice(i, i + MAX_BATCH);
      const r = sample(this.model, chunk, {
        maxNewTokens: chunk.map((p) => Math.min(params.maxTokens, T - p.length)),
        temperature: params.temperature, topK: params.topK, topP: params.topP,
        stopTokens: params.ignoreEos ? [] : [this.tokenizer.eosId], stopSequences, rng,
      });
      chunk.forEach((_, b) => out.push({ tokens: r.tokens[b], logprobs: r.logprobs[b], finish: r.finish[b] }));
    }
    return out;
  }

  score(seqs: readonly (readonly number[])[], from: readonly number[]): number[][] {
    return scoreTokens(this.model, seqs, from);
  }

  forward(batch: TokenBatch): PolicyForward {
    const { logits, values } = this.model.forward(batch.ids, batch.B, batch.T); // (B, T, V), (B, T)
    const entropy = new Float32Array(batch.B * batch.T); // (B, T), from the log-prob pass
    const logp = O.neg(O.tokenNll(logits, batch.targets, entropy)); // (B, T)
    return { logp, values, entropy };
  }

  params(): NamedParams {
    return this.model.params();
  }

  flops(): ModelFlops {
    const c = this.model.config;
    return modelFlops({ nLayer: c.nLayer, nEmbd: c.nEmbd, vocabSize: c.vocabSize, blockSize: c.blockSize, nParams: this.model.numParams(false) });
  }

  private checkChars(text: string): void {
    const fresh = unknownChars(this.tokenizer, text).filter((c) => !this.warned.has(c));
    if (fresh.length === 0) return;
    for (const c of fresh) this.warned.add(c);
    this.opts.warn?.(`the prompt has characters this model's tokenizer does not know (read as <unk>): ${showChars(fresh)}`);
  }
}

/** The text up to the first stop text, and whether one was found. */
function cutAtStop(text: string, stop: readonly string[] | undefined): { text: string; stopped: boolean } {
  let cut = -1;
  for (const s of stop ?? []) {
    const i = s ? text.indexOf(s) : -1;
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut < 0 ? { text, stopped: false } : { text: text.slice(0, cut), stopped: true };
}
