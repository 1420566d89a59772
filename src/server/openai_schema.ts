/**
 * The requests `flywheel serve` accepts, as zod schemas: the subset of
 * OpenAI's /v1/chat/completions and /v1/completions that a flywheel model can
 * honour. Fields OpenAI defines that do not change sampling here (user,
 * metadata, presence/frequency penalties at 0, ...) are accepted and ignored;
 * a field that would change the answer and cannot be honoured (a nonzero
 * penalty, echo, tools, logit_bias) is a 400 naming it, never silently
 * dropped.
 */
import { z } from 'zod';

const Stop = z.union([z.string(), z.array(z.string()).max(4, 'at most 4 stop sequences')]).nullish();
const Seed = z.int().nullish();

/** Sampling fields shared by both endpoints. */
const Sampling = {
  model: z.string().min(1, 'model is required'),
  n: z.int().min(1).max(128).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  max_tokens: z.int().min(1).nullish(),
  stop: Stop,
  seed: Seed,
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  presence_penalty: z.literal(0, 'not supported by flywheel serve (only 0)').nullish(),
  frequency_penalty: z.literal(0, 'not supported by flywheel serve (only 0)').nullish(),
  logit_bias: z.record(z.string(), z.number()).refine((o) => Object.keys(o).length === 0, 'logit_bias is not supported by flywheel serve').nullish(),
  user: z.string().nullish(),
};

const TextPart = z.object({ type: z.literal('text'), text: z.string() });

export const ChatMessage = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(TextPart)]),
  name: z.string().nullish(),
});

export const ChatRequest = z.object({
  ...Sampling,
  messages: z.array(ChatMessage).min(1, 'messages must hold at least one message'),
  max_completion_tokens: z.int().min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.int().min(0).max(20).nullish(),
  tools: z.array(z.unknown()).max(0, 'tools are not supported by flywheel serve').nullish(),
  response_format: z.object({ type: z.literal('text', 'only {"type": "text"} is supported') }).nullish(),
});
export type ChatRequest = z.output<typeof ChatRequest>;

export const CompletionRequest = z.object({
  ...Sampling,
  prompt: z.union([z.string(), z.array(z.string()).min(1, 'prompt must hold at least one string')]),
  logprobs: z.int().min(0).max(5).nullish(),
  echo: z.literal(false, 'echo is not supported by flywheel serve').nullish(),
  suffix: z.null('suffix is not supported by flywheel serve').optional(),
  best_of: z.literal(1, 'best_of is not supported by flywheel serve (only 1)').nullish(),
});
export type CompletionRequest = z.output<typeof CompletionRequest>;

/** OpenAI's error body. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
