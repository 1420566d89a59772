/**
 * Tokenizers: text <-> token ids, and their JSON form (tokenizer.json in a
 * checkpoint).
 *
 * Every flywheel tokenizer puts its special tokens first: 0 <pad>, 1 <eos>.
 *
 * - CharTokenizer (this file), the default for tasks: one token per Unicode
 *   code point. Ids: 0 <pad>, 1 <eos>, 2 <unk>, then the vocabulary's
 *   characters sorted by code point from 3. A character outside the
 *   vocabulary encodes as <unk> (id 2), so encode never drops text; with
 *   `strict: true` it throws a UserError naming the character and its offset
 *   instead.
 * - BpeTokenizer (bpe.ts): byte-level BPE trained on a corpus; encodes any
 *   string, no <unk>.
 *
 * decode never throws: <pad> and <eos> decode to nothing; <unk>, ids outside
 * the vocabulary (e.g. from a model whose vocabulary was padded) and invalid
 * UTF-8 decode to U+FFFD.
 */
import { readFileSync } from 'node:fs';
import { UserError, at } from '../util/errors.ts';
import { BpeTokenizer } from './bpe.ts';

export { BpeTokenizer } from './bpe.ts';

export interface Tokenizer {
  readonly kind: 'char' | 'bpe';
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number;
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  toJSON(): object;
}

export const PAD_ID = 0;
export const EOS_ID = 1;
export const UNK_ID = 2; // CharTokenizer only
const FIRST_CHAR = 3;

export interface CharTokenizerOptions {
  /** Throw a UserError on characters outside the vocabulary instead of encoding <unk>. */
  strict?: boolean;
}

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char' as const;
  readonly vocabSize: number;
  readonly eosId = EOS_ID;
  readonly padId = PAD_ID;
  readonly unkId = UNK_ID;
  /** The vocabulary's characters, sorted by code point; chars[i] has id 3 + i. */
  readonly chars: readonly string[];
  readonly strict: boolean;
  private readonly ids = new Map<string, number>();

  /** `chars`: distinct single code points (sorted here); see fromCorpus and ascii. */
  constructor(chars: Iterable<string>, opts: CharTokenizerOptions = {}) {
    const sorted = [...new Set(chars)].sort((x, y) => x.codePointAt(0)! - y.codePointAt(0)!);
    for (const c of sorted) {
      if ([...c].length !== 1) throw new RangeError(`CharTokenizer: vocabulary entries must be single code points, got ${JSON.stringify(c)}`);
    }
    this.chars = sorted;
    sorted.forEach((c, i) => this.ids.set(c, FIRST_CHAR + i));
    this.vocabSize = FIRST_CHAR + sorted.length;
    this.strict = opts.strict ?? false;
  }

  /** The sorted unique code points of `text`. */
  static fromCorpus(text: string, opts?: CharTokenizerOptions): CharTokenizer {
    return new CharTokenizer(text, opts); // a string iterates by code point
  }

  /** Printable ASCII (32..126) plus '\n': 96 characters, vocabSize 99. */
  static ascii(opts?: CharTokenizerOptions): CharTokenizer {
    const chars = ['\n'];
    for (let c = 32; c <= 126; c++) chars.push(String.fromCharCode(c));
    return new CharTokenizer(chars, opts);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    let offset = 0; // in UTF-16 code units, as String.prototype.slice counts
    for (const c of text) {
      const id = this.ids.get(c);
      if (id !== undefined) out.push(id);
      else if (this.strict) {
        const hex = c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
        throw new UserError(`character ${JSON.stringify(c)} (U+${hex}) at offset ${offset} is not in the tokenizer's vocabulary of ${this.chars.length} characters`);
      } else out.push(UNK_ID);
      offset += c.length;
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id === PAD_ID || id === EOS_ID) continue;
      s += this.chars[id - FIRST_CHAR] ?? '\uFFFD'; // <unk>, out of range, non-integer
    }
    return s;
  }

  toJSON(): { kind: 'char'; version: 1; strict: boolean; chars: string[] } {
    return { kind: 'char', version: 1, strict: this.strict, chars: [...this.chars] };
  }
}

/** Rebuilds a tokenizer from its toJSON() form; any defect is a UserError naming `file`. */
export function tokenizerFromJSON(json: unknown, file = 'tokenizer.json'): Tokenizer {
  const fail = (field: string | undefined, problem: string): never => {
    throw new UserError(`${at(file, undefined, field)}: ${problem}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail(undefined, 'expected a JSON object describing a tokenizer');
  const obj = json as Record<string, unknown>;
  if (obj.version !== 1) fail('version', `unsupported version ${JSON.stringify(obj.version)} (expected 1)`);

  if (obj.kind === 'char') {
    const chars = obj.chars;
    if (!Array.isArray(chars)) return fail('chars', 'expected an array of characters');
    const seen = new Set<string>();
    chars.forEach((c, i) => {
      if (typeof c !== 'string' || [...c].length !== 1) fail('chars', `entry ${i} is ${JSON.stringify(c)}, expected a single character`);
      if (seen.has(c)) fail('chars', `entry ${i} ${JSON.stringify(c)} is a duplicate`);
      seen.add(c);
    });
    if (obj.strict !== undefined && typeof obj.strict !== 'boolean') fail('strict', `expected true or false, got ${JSON.stringify(obj.strict)}`);
    const tok = new CharTokenizer(chars as string[], { strict: obj.strict as boolean | undefined });
    // Ids follow the sorted order; a file listing them otherwise would silently renumber tokens.
    if (tok.chars.some((c, i) => c !== chars[i])) fail('chars', 'characters must be sorted by code point (ids are assigned in that order)');
    return tok;
  }

  if (obj.kind === 'bpe') {
    const merges = obj.merges;
    if (!Array.isArray(merges)) return fail('merges', 'expected an array of [left id, right id] pairs');
    merges.forEach((m, i) => {
      const id = 258 + i; // merge i makes token 258 + i from two earlier tokens (2..257 are bytes)
      const ok = Array.isArray(m) && m.length === 2 && m.every((x) => Number.isInteger(x) && x >= 2 && x < id);
      if (!ok) fail('merges', `entry ${i} is ${JSON.stringify(m)}, expected two ids of earlier non-special tokens (2..${id - 1})`);
    });
    return new BpeTokenizer(merges as [number, number][]);
  }

  return fail('kind', `unknown tokenizer kind ${JSON.stringify(obj.kind)} (expected "char" or "bpe")`);
}

/** Reads a tokenizer.json file. */
export function readTokenizer(path: string): Tokenizer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`${path}: cannot read tokenizer (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return tokenizerFromJSON(json, path);
}
