/**
 * Byte-level BPE (Sennrich et al. 2016; byte-level as in GPT-2), trained from
 * scratch on a corpus.
 *
 * Ids: 0 <pad>, 1 <eos> (the special ids every flywheel tokenizer shares, see
 * tokenizer.ts), then the 256 bytes at 2..257, then merge i at 258 + i. Any
 * string encodes (every byte has a token), so there is no <unk>.
 *
 * Training: text is split into chunks by GPT-2's pre-tokenizer regex (a word
 * with its leading space, a number, a run of punctuation, whitespace; runs
 * over 64 code points are cut into pieces), so merges never cross chunk
 * boundaries. Starting from bytes, we repeatedly merge
 * the most frequent adjacent pair; ties go to the smallest (left id, right id),
 * so training is deterministic and takes no seed. Pair counts live in a map
 * updated incrementally (only the chunks containing the merged pair are
 * rewritten) and a max-heap with lazy deletion picks the best pair, so 200 KB
 * of text trains in well under a second. Training stops early when no pair
 * occurs `minPairCount` times; `vocabSize` then reports the smaller size.
 *
 * Encoding applies merges by rank (lowest first) within each chunk; decoding
 * joins the bytes and decodes UTF-8, replacing invalid sequences with U+FFFD,
 * and never throws. Lone UTF-16 surrogates (not valid Unicode) encode as U+FFFD.
 */
import type { Tokenizer } from './tokenizer.ts';

const PAD_ID = 0;
const EOS_ID = 1;
const BYTE_OFFSET = 2; // byte b has id b + 2
const FIRST_MERGE = BYTE_OFFSET + 256; // 258
const KEY = 1 << 21; // pair key = left * KEY + right; ids stay below 2^21

/** GPT-2's pre-tokenizer. Its alternatives cover every code point, so no text is dropped. */
const PRETOKENIZE = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const MAX_CHUNK = 64; // code points

/**
 * The pre-tokenizer's chunks, with runs longer than MAX_CHUNK code points
 * (unspaced CJK text, long runs of one character) cut into MAX_CHUNK pieces,
 * which bounds the cost of training and encoding.
 */
function* chunks(text: string): Generator<string> {
  for (const m of text.matchAll(PRETOKENIZE)) {
    const chunk = m[0];
    if (chunk.length <= MAX_CHUNK) {
      yield chunk; // at most MAX_CHUNK UTF-16 units, so at most MAX_CHUNK code points
      continue;
    }
    const points = [...chunk];
    for (let i = 0; i < points.length; i += MAX_CHUNK) yield points.slice(i, i + MAX_CHUNK).join('');
  }
}

export interface BpeTrainOptions {
  /** Stop when the most frequent pair occurs fewer times than this (default 2). */
  minPairCount?: number;
}

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  readonly eosId = EOS_ID;
  readonly padId = PAD_ID;
  /** merges[i] = [left id, right id] of token 258 + i. */
  readonly merges: readonly (readonly [number, number])[];
  private readonly ranks = new Map<number, number>(); // pair key -> merge index
  private readonly bytesOf: Uint8Array[] = []; // token id -> its bytes
  private readonly cache = new Map<string, number[]>(); // chunk -> ids

  /** Builds a tokenizer from merges; they must already be valid (see tokenizerFromJSON). */
  constructor(merges: readonly (readonly [number, number])[]) {
    this.merges = merges.map(([a, b]) => [a, b] as const);
    this.vocabSize = FIRST_MERGE + merges.length;
    this.bytesOf[PAD_ID] = new Uint8Array(0);
    this.bytesOf[EOS_ID] = new Uint8Array(0);
    for (let b = 0; b < 256; b++) this.bytesOf[BYTE_OFFSET + b] = new Uint8Array([b]);
    merges.forEach(([a, b], i) => {
      const id = FIRST_MERGE + i;
      if (!(a >= BYTE_OFFSET && a < id && b >= BYTE_OFFSET && b < id)) throw new RangeError(`BpeTokenizer: merge ${i} [${a}, ${b}] must join two earlier non-special tokens (ids ${BYTE_OFFSET}..${id - 1})`);
      const bytes = new Uint8Array(this.bytesOf[a].length + this.bytesOf[b].length);
      bytes.set(this.bytesOf[a]);
      bytes.set(this.bytesOf[b], this.bytesOf[a].length);
      this.bytesOf[id] = bytes;
      this.ranks.set(a * KEY + b, i);
    });
  }

  /** Learns merges from `text` until the vocabulary (specials + bytes + merges) reaches `vocabSize`. */
  static train(text: string, vocabSize: number, opts: BpeTrainOptions = {}): BpeTokenizer {
    if (!Number.isInteger(vocabSize) || vocabSize < FIRST_MERGE || vocabSize >= KEY) {
      throw new RangeError(`BpeTokenizer.train: vocabSize must be an integer in [${FIRST_MERGE}, ${KEY}), got ${vocabSize}`);
    }
    const minPairCount = opts.minPairCount ?? 2;

    // Unique chunks with their counts; each chunk becomes a word of byte ids.
    const chunkCounts = new Map<string, number>();
    for (const chunk of chunks(text)) chunkCounts.set(chunk, (chunkCounts.get(chunk) ?? 0) + 1);
    const encoder = new TextEncoder();
    const words: number[][] = [];
    const freqs: number[] = [];
    for (const [chunk, count] of chunkCounts) {
      words.push(Array.from(encoder.encode(chunk), (b) => b + BYTE_OFFSET));
      freqs.push(count);
    }

    const counts = new Map<number, number>(); // pair key -> occurrences, weighted by chunk count
    const where = new Map<number, Set<number>>(); // pair key -> words that may contain it
    for (let w = 0; w < words.length; w++) {
      const word = words[w];
      for (let j = 0; j + 1 < word.length; j++) {
        addPair(counts, where, word[j] * KEY + word[j + 1], freqs[w], w);
      }
    }
    const heap = new PairHeap();
    for (const [key, count] of counts) heap.push(count, key);

    const merges: [number, number][] = [];
    while (FIRST_MERGE + merges.length < vocabSize) {
      const best = popCurrent(heap, counts);
      if (best === null || best.count < minPairCount) break;
      const a = Math.floor(best.key / KEY);
      const b = best.key % KEY;
      const id = FIRST_MERGE + merges.length;
      merges.push([a, b]);

      // Rewrite every word holding (a, b). Only the neighbours of each merge
      // change: (prev, a) -> (prev, id) and (b, next) -> (id, next). prev is
      // read from the output, so back-to-back merges (a b a b) net out right.
      const delta = new Map<number, number>();
      for (const w of where.get(best.key) ?? []) {
        const word = words[w];
        const f = freqs[w];
        const out: number[] = [];
        for (let j = 0; j < word.length; j++) {
          if (j + 1 >= word.length || word[j] !== a || word[j + 1] !== b) {
            out.push(word[j]);
            continue;
          }
          addTo(delta, best.key, -f);
          if (out.length > 0) {
            const prev = out[out.length - 1];
            addTo(delta, prev * KEY + a, -f);
            addPair(delta, where, prev * KEY + id, f, w);
          }
          if (j + 2 < word.length) {
            const next = word[j + 2];
            addTo(delta, b * KEY + next, -f);
            addPair(delta, where, id * KEY + next, f, w);
          }
          out.push(id);
          j++;
        }
        words[w] = out; // unchanged if this entry was stale (the pair already gone)
      }
      where.delete(best.key);
      for (const [key, d] of delta) {
        if (d === 0) continue;
        const count = (counts.get(key) ?? 0) + d;
        if (count > 0) {
          counts.set(key, count);
          heap.push(count, key);
        } else counts.delete(key);
      }
    }
    return new BpeTokenizer(merges);
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const chunk of chunks(text)) {
      let chunkIds = this.cache.get(chunk);
      if (chunkIds === undefined) {
        chunkIds = this.encodeChunk(chunk);
        if (this.cache.size < 50_000) this.cache.set(chunk, chunkIds);
      }
      for (const id of chunkIds) ids.push(id);
    }
    return ids;
  }

  /** Applies merges to one chunk, lowest rank first, each to every occurrence at once. */
  private encodeChunk(chunk: string): number[] {
    let ids = Array.from(new TextEncoder().encode(chunk), (b) => b + BYTE_OFFSET);
    for (;;) {
      let bestRank = Infinity;
      for (let j = 0; j + 1 < ids.length; j++) {
        const rank = this.ranks.get(ids[j] * KEY + ids[j + 1]);
        if (rank !== undefined && rank < bestRank) bestRank = rank;
      }
      if (bestRank === Infinity) return ids;
      const [a, b] = this.merges[bestRank];
      ids = mergePair(ids, a, b, FIRST_MERGE + bestRank);
    }
  }

  /** Bytes -> UTF-8 text. Specials decode to nothing; unknown ids and invalid bytes to U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    const parts: Uint8Array[] = [];
    let total = 0;
    const bad = new Uint8Array([0xef, 0xbf, 0xbd]); // U+FFFD
    for (let i = 0; i < ids.length; i++) {
      const bytes = this.bytesOf[ids[i]] ?? bad; // non-integer or out-of-range ids miss too
      parts.push(bytes);
      total += bytes.length;
    }
    const all = new Uint8Array(total);
    let pos = 0;
    for (const p of parts) {
      all.set(p, pos);
      pos += p.length;
    }
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(all);
  }

  toJSON(): { kind: 'bpe'; version: 1; merges: [number, number][] } {
    return { kind: 'bpe', version: 1, merges: this.merges.map(([a, b]) => [a, b]) };
  }
}

/** `word` with every non-overlapping (a, b), scanned left to right, replaced by `id`. */
function mergePair(word: readonly number[], a: number, b: number, id: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < word.length; j++) {
    if (j + 1 < word.length && word[j] === a && word[j + 1] === b) {
      out.push(id);
      j++;
    } else out.push(word[j]);
  }
  return out;
}

function addTo(map: Map<number, number>, key: number, d: number): void {
  map.set(key, (map.get(key) ?? 0) + d);
}

/** Counts a new pair occurrence in word `w` and remembers that `w` holds it. */
function addPair(delta: Map<number, number>, where: Map<number, Set<number>>, key: number, f: number, w: number): void {
  addTo(delta, key, f);
  let set = where.get(key);
  if (set === undefined) where.set(key, (set = new Set()));
  set.add(w);
}

/** Pops heap entries until one matches the pair's current count (older entries are stale). */
function popCurrent(heap: PairHeap, counts: Map<number, number>): { count: number; key: number } | null {
  while (heap.size > 0) {
    const top = heap.pop();
    if (counts.get(top.key) === top.count) return top;
  }
  return null;
}

/** Binary max-heap of (count, pair key): higher count first, then smaller key. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0], key: this.keys[0] };
    const last = this.counts.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < last && this.before(l, best)) best = l;
      if (r < last && this.before(r, best)) best = r;
      if (best === i) return top;
      this.swap(i, best);
      i = best;
    }
  }

  private before(i: number, j: number): boolean {
    return this.counts[i] > this.counts[j] || (this.counts[i] === this.counts[j] && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }
}
