/**
 * Data for next-token training.
 *
 *   CorpusData — pretraining: one token stream; the last `valFraction` is held
 *                out; a batch is B random windows of T+1 tokens.
 *   SftData    — supervised fine-tuning: JSONL lines {"prompt", "completion"};
 *                each example is prompt + "\n" + completion + EOS, the loss covers
 *                the completion and EOS only; a batch is B random examples,
 *                padded (pad targets are -1, i.e. ignored).
 *
 * Both draw batches from a seeded Rng whose state is checkpointed, so a
 * resumed run sees exactly the batches the uninterrupted run would have.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { CharTokenizer, type Tokenizer } from '../models/tokenizer.ts';

export interface Batch {
  ids: Int32Array; // (B, T) inputs
  targets: Int32Array; // (B, T) next tokens, -1 = no loss
  B: number;
  T: number;
  tokens: number; // number of target tokens that carry loss
}

export interface DataSource {
  /** A training batch drawn with rng. */
  trainBatch(B: number, T: number, rng: Rng): Batch;
  /** Deterministic held-out batches (the same every call). */
  valBatches(B: number, T: number, n: number): Batch[];
  describe(): string;
}

/** Reads a text file strictly as UTF-8; a missing or binary file is a UserError naming it. */
export function readUtf8(file: string): string {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new UserError(`${file}: no such file`);
  }
  if (!st.isFile()) throw new UserError(`${file}: not a regular file`);
  const bytes = readFileSync(file);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // name the first bad line: byte 10 never occurs inside a multi-byte sequence, so lines decode independently
    const dec = new TextDecoder('utf-8', { fatal: true });
    let line = 1, from = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i < bytes.length && bytes[i] !== 10) continue;
      try {
        dec.decode(bytes.subarray(from, i));
      } catch {
        break;
      }
      line++;
      from = i + 1;
    }
    throw new UserError(`${file}:${line}: not valid UTF-8; flywheel reads text files as UTF-8`);
  }
}

// ---------------------------------------------------------------- pretraining corpus

export class CorpusData implements DataSource {
  readonly train: Int32Array;
  readonly val: Int32Array;

  constructor(readonly tokens: Int32Array, readonly name: string, blockSize: number, valFraction = 0.1) {
    const nVal = Math.floor(tokens.length * valFraction);
    this.train = tokens.subarray(0, tokens.length - nVal);
    this.val = tokens.subarray(tokens.length - nVal);
    if (this.train.length < blockSize + 1) {
      throw new UserError(`${name}: the corpus has ${tokens.length} tokens (${this.train.length} for training); it needs more than the context length ${blockSize} — use a longer corpus or a smaller --block-size`);
    }
  }

  static fromFile(file: string, tok: Tokenizer, blockSize: number, valFraction = 0.1): CorpusData {
    const text = readUtf8(file);
    if (text.length === 0) throw new UserError(`${file}: the corpus is empty`);
    return new CorpusData(Int32Array.from(tok.encode(text)), file, blockSize, valFraction);
  }

  trainBatch(B: number, T: number, rng: Rng): Batch {
    return windows(this.train, B, T, () => rng.int(this.train.length - T));
  }

  valBatches(B: number, T: number, n: number): Batch[] {
    if (this.val.length < T + 1) return [];
    const span = this.val.length - T;
    // evenly spaced windows: deterministic and covering the held-out text
    const out: Batch[] = [];
    for (let k = 0; k < n; k++) out.push(windows(this.val, B, T, (b) => Math.floor(((k * B + b) * span) / (n * B))));
    return out;
  }

  describe(): string {
    return `${this.name}: ${this.train.length} train / ${this.val.length} held-out tokens`;
  }
}

function windows(src: Int32Array, B: number, T: number, start: (b: number) => number): Batch {
  const ids = new Int32Array(B * T), targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const s = start(b);
    ids.set(src.subarray(s, s + T), b * T);
    targets.set(src.subarray(s + 1, s + T + 1), b * T);
  }
  return { ids, targets, B, T, tokens: B * T };
}

// ---------------------------------------------------------------- SFT pairs

/**
 * What separates a prompt from its completion in token space: the model reads
 * `prompt + PROMPT_SUFFIX` and writes `completion + EOS`. Sampling a policy
 * formats prompts the same way (promptText below), so SFT and RL agree.
 */
export const PROMPT_SUFFIX = '\n';

export function promptText(prompt: string): string {
  return prompt + PROMPT_SUFFIX;
}

export interface SftExample {
  tokens: number[]; // prompt + completion + EOS
  promptLen: number; // loss starts at the first completion token
}

export class SftData implements DataSource {
  readonly trainSet: SftExample[];
  readonly valSet: SftExample[];
  readonly truncated: number; // examples whose prompt was cut from the left to fit

  constructor(examples: SftExample[], readonly name: string, valFraction = 0.1) {
    const nVal = Math.min(Math.floor(examples.length * valFraction), examples.length - 1);
    this.trainSet = examples.slice(0, examples.length - nVal);
    this.valSet = examples.slice(examples.length - nVal);
    this.truncated = 0;
  }

  /** Loads {"prompt","completion"} JSONL; a bad line is a UserError naming file, line and field. */
  static fromFile(file: string, tok: Tokenizer, blockSize: number, valFraction = 0.1): SftData {
    const text = readUtf8(file);
    const examples: SftExample[] = [];
    const known = tok instanceof CharTokenizer ? new Set(tok.chars) : null; // char vocabularies can miss characters
    let truncated = 0;
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (!line) return;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (e) {
        throw new UserError(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new UserError(`${file}:${i + 1}: expected a JSON object with "prompt" and "completion"`);
      for (const field of ['prompt', 'completion'] as const) {
        const v = (obj as Record<string, unknown>)[field];
        if (typeof v !== 'string') throw new UserError(`${file}:${i + 1}: field "${field}" is ${v === undefined ? 'missing' : `a ${typeof v}, not a string`}`);
      }
      const { prompt, completion } = obj as { prompt: string; completion: string };
      if (tok instanceof CharTokenizer) {
        for (const field of ['prompt', 'completion'] as const) {
          const bad = [...(obj as Record<string, string>)[field]].find((c) => !known!.has(c));
          if (bad !== undefined) {
            throw new UserError(`${file}:${i + 1}: field "${field}" has the character ${JSON.stringify(bad)}, which the tokenizer does not know (its vocabulary has ${tok.chars.length} characters; a model started with --init keeps its tokenizer)`);
          }
        }
      }
      let p = tok.encode(promptText(prompt));
      const c = [...tok.encode(completion), tok.eosId];
      if (c.length >= blockSize) throw new UserError(`${file}:${i + 1}: field "completion" is ${c.length} tokens; it must fit in the context of ${blockSize} with room for the prompt`);
      if (p.length + c.length > blockSize + 1) {
        p = p.slice(p.length + c.length - blockSize - 1); // keep the prompt's end, next to the completion
        truncated++;
      }
      if (p.length === 0) p = [tok.eosId]; // every sequence starts with a token to condition on
      examples.push({ tokens: [...p, ...c], promptLen: p.length });
    });
    if (examples.length < 2) throw new UserError(`${file}: needs at least 2 examples, found ${examples.length}`);
    const d = new SftData(examples, file, valFraction);
    (d as { truncated: number }).truncated = truncated;
    return d;
  }

  trainBatch(B: number, T: number, rng: Rng): Batch {
    return this.pack(Array.from({ length: B }, () => this.trainSet[rng.int(this.trainSet.length)]), T);
  }

  valBatches(B: number, T: number, n: number): Batch[] {
    const out: Batch[] = [];
    for (let k = 0; k < n && k * B < this.valSet.length; k++) out.push(this.pack(this.valSet.slice(k * B, (k + 1) * B), T));
    return out;
  }

  /** Pads examples into (B, T) with loss only on completion tokens. */
  pack(examples: SftExample[], T: number): Batch {
    const B = examples.length, ids = new Int32Array(B * T), targets = new Int32Array(B * T).fill(-1);
    let tokens = 0;
    examples.forEach((ex, b) => {
      const n = Math.min(ex.tokens.length - 1, T);
      for (let t = 0; t < n; t++) {
        ids[b * T + t] = ex.tokens[t];
        if (t + 1 >= ex.promptLen) {
          targets[b * T + t] = ex.tokens[t + 1];
          tokens++;
        }
      }
    });
    return { ids, targets, B, T, tokens };
  }

  describe(): string {
    return `${this.name}: ${this.trainSet.length} train / ${this.valSet.length} held-out examples${this.truncated ? ` (${this.truncated} prompts truncated from the left)` : ''}`;
  }
}
