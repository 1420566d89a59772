/**
 * Data for next-token training.
 *
 *   CorpusData — pretraining: one token stream; the last `valFraction` is held
 *                out; a batch is B random windows of T+1 tokens.
 *   SftData    — supervised fine-tuning: JSONL lines {"prompt", "completion"}
 *                or chat {"messages": [{"role", "content"}, ...]}, encoded by
 *                the one prompt format (src/policy/format.ts); the loss covers
 *                the completion (the assistant turns) and its EOS only; a batch
 *                is B random examples, padded (pad targets are -1, i.e. ignored).
 *
 * Both draw batches from a seeded Rng whose state is checkpointed, so a
 * resumed run sees exactly the batches the uninterrupted run would have.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import type { Tokenizer } from '../models/tokenizer.ts';
import { encodeChat, encodeExample, unknownChars, type EncodedChat, type Message } from '../policy/format.ts';

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

export interface SftExample {
  tokens: number[]; // the whole example
  loss: Uint8Array; // 1 at tokens the model learns to write (completion / assistant turns, with their EOS)
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

  /**
   * Loads JSONL of {"prompt","completion"} or {"messages": [...]} rows (other
   * fields are ignored); a bad line is a UserError naming file, line and field.
   */
  static fromFile(file: string, tok: Tokenizer, blockSize: number, valFraction = 0.1): SftData {
    const text = readUtf8(file);
    const examples: SftExample[] = [];
    let truncated = 0;
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (!line) return;
      const where = `${file}:${i + 1}`;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (e) {
        throw new UserError(`${where}: not valid JSON (${(e as Error).message})`);
      }
      const fields = parseRow(obj, where);
      for (const [field, value] of fields) {
        const bad = unknownChars(tok, value);
        if (bad.length > 0) {
          throw new UserError(`${where}: field "${field}" has the character ${JSON.stringify(bad[0])}, which the tokenizer does not know (its vocabulary has ${tok.vocabSize} tokens; a model started with --init keeps its tokenizer)`);
        }
      }
      const enc = isChat(obj) ? encodeChat(tok, (obj as { messages: Message[] }).messages) : encodeExample(tok, fields[0][1], fields[1][1]);
      const ex = fitContext(enc, blockSize, where);
      if (ex.tokens.length < enc.tokens.length) truncated++;
      examples.push(ex);
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

  /**
   * Pads examples into (B, T') with loss only where the example's loss mask
   * is set, T' = the longest example of this batch (at most T): positions
   * past every example's end would run forward and backward for nothing
   * (causal attention: they never change an earlier position).
   */
  pack(examples: SftExample[], maxT: number): Batch {
    const T = Math.max(1, Math.min(maxT, Math.max(...examples.map((ex) => ex.tokens.length - 1))));
    const B = examples.length, ids = new Int32Array(B * T), targets = new Int32Array(B * T).fill(-1); // (B, T)
    let tokens = 0;
    examples.forEach((ex, b) => {
      const n = Math.min(ex.tokens.length - 1, T);
      for (let t = 0; t < n; t++) {
        ids[b * T + t] = ex.tokens[t];
        if (ex.loss[t + 1]) {
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

const ROLES = new Set(['system', 'user', 'assistant']);

function isChat(obj: unknown): boolean {
  return typeof obj === 'object' && obj !== null && 'messages' in obj;
}

/** The text fields of one row, by name, after checking its shape. */
function parseRow(obj: unknown, where: string): [string, string][] {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new UserError(`${where}: expected a JSON object with "prompt" and "completion", or "messages"`);
  const row = obj as Record<string, unknown>;
  if (isChat(row)) {
    const msgs = row.messages;
    if (!Array.isArray(msgs) || msgs.length === 0) throw new UserError(`${where}: field "messages" must be a non-empty array of {"role", "content"}`);
    const out: [string, string][] = [];
    msgs.forEach((m, j) => {
      const field = `messages[${j}]`;
      if (typeof m !== 'object' || m === null) throw new UserError(`${where}: field "${field}" must be an object {"role", "content"}`);
      const { role, content } = m as Record<string, unknown>;
      if (typeof role !== 'string' || !ROLES.has(role)) throw new UserError(`${where}: field "${field}.role" is ${JSON.stringify(role)}; expected "system", "user" or "assistant"`);
      if (typeof content !== 'string') throw new UserError(`${where}: field "${field}.content" is ${content === undefined ? 'missing' : `a ${typeof content}, not a string`}`);
      out.push([`${field}.content`, content]);
    });
    if (!msgs.some((m) => (m as Message).role === 'assistant')) throw new UserError(`${where}: field "messages" has no assistant turn (nothing to learn)`);
    return out;
  }
  return (['prompt', 'completion'] as const).map((field) => {
    const v = row[field];
    if (typeof v !== 'string') throw new UserError(`${where}: field "${field}" is ${v === undefined ? 'missing' : `a ${typeof v}, not a string`} (rows are {"prompt", "completion"} or {"messages": [...]})`);
    return [field, v];
  });
}

/**
 * Fits an example into blockSize + 1 tokens (T inputs, T targets) by
 * dropping tokens from the left, keeping the end next to the last reply.
 * The last reply itself must fit, with room for at least one token before it.
 */
function fitContext(enc: EncodedChat, blockSize: number, where: string): SftExample {
  const lastReply = enc.loss.length - enc.loss.lastIndexOf(0) - 1; // trailing loss tokens
  if (lastReply >= blockSize) throw new UserError(`${where}: the completion is ${lastReply} tokens; it must fit in the context of ${blockSize} with room for the prompt`);
  const drop = Math.max(0, enc.tokens.length - blockSize - 1);
  return { tokens: enc.tokens.slice(drop), loss: enc.loss.slice(drop) };
}
