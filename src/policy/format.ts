/**
 * The prompt format: how a task's prompt, a completion and a chat transcript
 * become tokens. It lives here, once, and SFT, sampling, RL, evaluation and
 * the server all call it, so a model is always read the way it was trained.
 *
 *   single turn   prompt + "\n"  ->  completion + EOS
 *   chat          each user (or system) message: content + "\n"      (no loss)
 *                 each assistant message:        content + EOS       (loss)
 *   text          raw text, no separator (pretrained models continue text)
 *
 * A single-turn example is the chat [user: prompt, assistant: completion],
 * token for token. A multi-turn episode is the chat of its observations
 * (user) and the policy's actions (assistant); only the actions carry loss.
 *
 * Every sequence starts with at least one token: an empty text prompt is
 * [EOS] (what pretraining saw between documents).
 */
import { CharTokenizer, type Tokenizer } from '../models/tokenizer.ts';

/** 'chat' for fine-tuned models (SFT, RL), 'text' for plain continuation (pretrained models). */
export type PromptFormat = 'chat' | 'text';

export interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** What separates a user turn from the assistant's reply. */
export const TURN_SUFFIX = '\n';

/** Tokens the model reads before writing its reply to `prompt`. */
export function encodePrompt(tok: Tokenizer, prompt: string, format: PromptFormat = 'chat'): number[] {
  if (format === 'text') return prompt ? tok.encode(prompt) : [tok.eosId];
  return tok.encode(prompt + TURN_SUFFIX);
}

/** A reply's tokens: the completion and the EOS that ends it. */
export function encodeReply(tok: Tokenizer, completion: string): number[] {
  return [...tok.encode(completion), tok.eosId];
}

export interface EncodedChat {
  tokens: number[]; // the whole transcript
  loss: Uint8Array; // 1 where the token is the assistant's (predicted, trained on), 0 elsewhere
}

/**
 * A transcript as tokens with its loss mask. With `open` true the transcript
 * must end with a user turn, and the result is the prompt for the assistant's
 * next reply (what sampling continues).
 */
export function encodeChat(tok: Tokenizer, messages: readonly Message[], opts: { open?: boolean } = {}): EncodedChat {
  const tokens: number[] = [], loss: number[] = [];
  for (const m of messages) {
    const ids = m.role === 'assistant' ? encodeReply(tok, m.content) : tok.encode(m.content + TURN_SUFFIX);
    for (const id of ids) {
      tokens.push(id);
      loss.push(m.role === 'assistant' ? 1 : 0);
    }
  }
  if (opts.open && messages.at(-1)?.role === 'assistant') throw new Error('encodeChat: an open transcript ends with a user turn');
  return { tokens, loss: Uint8Array.from(loss) };
}

/** A single-turn example: prompt then completion, loss on the completion and its EOS. */
export function encodeExample(tok: Tokenizer, prompt: string, completion: string): EncodedChat {
  return encodeChat(tok, [{ role: 'user', content: prompt }, { role: 'assistant', content: completion }]);
}

/** A reply's text from sampled tokens: up to the first EOS, which is dropped. */
export function decodeReply(tok: Tokenizer, tokens: readonly number[]): string {
  const end = tokens.indexOf(tok.eosId);
  return tok.decode(end < 0 ? tokens : tokens.slice(0, end));
}

/**
 * The distinct characters of `text` that a character-level tokenizer cannot
 * encode (they would become <unk>); always empty for byte-level BPE.
 */
export function unknownChars(tok: Tokenizer, text: string): string[] {
  if (!(tok instanceof CharTokenizer)) return [];
  const known = new Set(tok.chars);
  return [...new Set([...text].filter((c) => !known.has(c)))];
}

/** A list of characters for messages: "'é', '\u0007'". */
export function showChars(chars: readonly string[]): string {
  return chars.map((c) => JSON.stringify(c)).join(', ');
}
