// Tokenizers: exact ids, round trips (ASCII, unicode, emoji, empty), BPE training by hand and at scale, JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpeTokenizer, CharTokenizer, readTokenizer, tokenizerFromJSON, type Tokenizer } from '../../src/models/tokenizer.ts';
import { UserError } from '../../src/util/errors.ts';
import { Rng } from '../../src/util/rng.ts';

const WORDS = (
  'the of and to in is was that for it as with be on not he by are this at from his but have an they which one you were ' +
  'all her she there would their we him been has when who will more no if out so said what up its about into than them can ' +
  'only other new some could time these two may then do first any my now such like our over man me even most made after also ' +
  'did many before must through back years where much your way well down should because each just those people how too little ' +
  'state good very make world still own see men work long get here between both life being under never day same another know ' +
  'while last might us great old year off come since against go came right used take three model learning training reward'
).split(' ');

/** Deterministic pseudo-English: Zipf-ish word choice, sentences, commas, some numbers. */
function english(rng: Rng, bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = rng.range(5, 16);
    const words: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = rng.float();
      words.push(rng.bool(0.03) ? String(rng.int(2000)) : WORDS[Math.floor(WORDS.length * r * r)]);
      if (i < n - 1 && rng.bool(0.08)) words[i] += ',';
    }
    const s = words.join(' ');
    const sentence = s[0].toUpperCase() + s.slice(1) + (rng.bool(0.1) ? '?' : '.') + (rng.bool(0.15) ? '\n' : ' ');
    parts.push(sentence);
    size += sentence.length;
  }
  return parts.join('');
}

const SAMPLES = ['', 'hello world', 'Hello,\tWorld!\n  x  ', 'héllo wörld — naïve café', '日本語のテキスト', 'emoji 🎉🙂 👩‍👩‍👧 flags 🇫🇷', '\uFEFFbom first', '\u0000\u0001 control'];

function assertRoundTrips(tok: Tokenizer, texts: string[]): void {
  for (const t of texts) assert.equal(tok.decode(tok.encode(t)), t, JSON.stringify(t));
}

const isUserError = (re: RegExp) => (err: unknown) => err instanceof UserError && re.test(err.message);

test('CharTokenizer.ascii: specials first, then "\\n", then 32..126', () => {
  const tok = CharTokenizer.ascii();
  assert.deepEqual([tok.padId, tok.eosId, tok.unkId, tok.vocabSize], [0, 1, 2, 99]);
  assert.deepEqual(tok.encode('\n !~'), [3, 4, 5, 98]);
  assert.deepEqual(tok.encode('Hi'), [3 + 1 + 72 - 32, 3 + 1 + 105 - 32]);
  assertRoundTrips(tok, ['', 'hello world', 'Hello,\nWorld! {x: [1, 2]} ~`|\\']);
  assert.equal(tok.decode([0, ...tok.encode('ok'), 1, 0]), 'ok'); // <pad> and <eos> decode to nothing
});

test('CharTokenizer: unknown characters become <unk>, or a UserError in strict mode', () => {
  const tok = CharTokenizer.ascii();
  assert.deepEqual(tok.encode('aé🎉b'), [69, 2, 2, 70]); // one <unk> per code point, nothing dropped
  assert.equal(tok.decode(tok.encode('aé🎉b')), 'a\uFFFD\uFFFDb');
  assert.equal(tok.decode([9999, -1, 2.5]), '\uFFFD\uFFFD\uFFFD');
  const strict = CharTokenizer.ascii({ strict: true });
  assert.throws(() => strict.encode('ab🎉c'), isUserError(/character "🎉" \(U\+1F389\) at offset 2 is not in the tokenizer's vocabulary/));
});

test('CharTokenizer.fromCorpus: sorted unique code points, unicode and emoji round trip', () => {
  const corpus = SAMPLES.join('');
  const tok = CharTokenizer.fromCorpus(corpus);
  const points = tok.chars.map((c) => c.codePointAt(0)!);
  assert.deepEqual(points, [...new Set([...corpus].map((c) => c.codePointAt(0)!))].sort((a, b) => a - b));
  assert.equal(tok.vocabSize, 3 + tok.chars.length);
  assert.ok(tok.chars.includes('🎉')); // astral characters are one token, not two surrogates
  assertRoundTrips(tok, SAMPLES);
  assert.equal(tok.encode('🎉').length, 1);
});

test('BPE by hand: "aaabdaaabac" merges aa, then ab (tie broken by smaller ids), then aa+ab', () => {
  const tok = BpeTokenizer.train('aaabdaaabac', 1000);
  // ids: byte b is b + 2, so a=99 b=100 c=101 d=102; merges get 258, 259, 260
  assert.deepEqual(tok.merges, [[99, 99], [99, 100], [258, 259]]);
  assert.equal(tok.vocabSize, 261); // stopped early: every remaining pair occurs once
  assert.deepEqual(tok.encode('aaabdaaabac'), [260, 102, 260, 99, 101]);
  assert.deepEqual(tok.encode('aaab ab'), [260, 34, 259]);
  assert.deepEqual(tok.encode('aa a'), [258, 34, 99]); // "aa" and " a" are separate chunks; merges never cross them
  assert.deepEqual([tok.padId, tok.eosId], [0, 1]);
  assert.deepEqual(BpeTokenizer.train('aaabdaaabac', 259).merges, [[99, 99]]);
});

/** The textbook algorithm: recount every pair before each merge. The oracle for the incremental trainer. */
function referenceMerges(text: string, vocabSize: number): [number, number][] {
  const pre = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu; // GPT-2's, as in bpe.ts
  let words = [...text.matchAll(pre)].map((m) => Array.from(new TextEncoder().encode(m[0]), (b) => b + 2));
  const merges: [number, number][] = [];
  while (258 + merges.length < vocabSize) {
    const counts = new Map<string, number>();
    for (const w of words) for (let j = 0; j + 1 < w.length; j++) counts.set(`${w[j]},${w[j + 1]}`, (counts.get(`${w[j]},${w[j + 1]}`) ?? 0) + 1);
    let best: [number, number] | null = null;
    let bestCount = 1; // pairs seen once are not merged
    for (const [key, count] of counts) {
      const [a, b] = key.split(',').map(Number);
      if (count > bestCount || (count === bestCount && best !== null && (a < best[0] || (a === best[0] && b < best[1])))) [best, bestCount] = [[a, b], count];
    }
    if (best === null) break;
    const [a, b] = best;
    const id = 258 + merges.length;
    merges.push(best);
    words = words.map((w) => {
      const out: number[] = [];
      for (let j = 0; j < w.length; j++) {
        if (j + 1 < w.length && w[j] === a && w[j + 1] === b) {
          out.push(id);
          j++;
        } else out.push(w[j]);
      }
      return out;
    });
  }
  return merges;
}

test('BPE training matches the textbook full-recount algorithm merge for merge', () => {
  const corpus = english(new Rng(5), 6000) + ' aaaa abab ababab 1111 2222 ... !!! ?? héé 🎉🎉🎉';
  const expected = referenceMerges(corpus, 600);
  assert.ok(expected.length > 200, `reference made only ${expected.length} merges`);
  assert.deepEqual(BpeTokenizer.train(corpus, 600).merges, expected);
});

test('BPE round trips any string, including text unseen in training', () => {
  const tok = BpeTokenizer.train(english(new Rng(1), 20_000) + SAMPLES.join(' '), 400);
  assertRoundTrips(tok, [...SAMPLES, english(new Rng(2), 2000), 'x'.repeat(5000), ' '.repeat(300) + '\n\n\t end']);
  const rng = new Rng(3);
  for (let i = 0; i < 50; i++) {
    const points = Array.from({ length: rng.range(0, 40) }, () => (rng.bool() ? rng.int(0xd800) : rng.range(0xe000, 0x10ffff)));
    assertRoundTrips(tok, [String.fromCodePoint(...points)]);
  }
  assert.equal(tok.decode([0, 1]), '');
});

test('BPE decode replaces invalid UTF-8 and unknown ids with U+FFFD, never throws', () => {
  const tok = BpeTokenizer.train('hello hello', 300);
  assert.equal(tok.decode([2 + 0xff, 2 + 0x41]), '\uFFFDA');
  assert.equal(tok.decode([2 + 0xf0, 2 + 0x9f]), '\uFFFD'); // a truncated 4-byte sequence
  assert.equal(tok.decode([2 + 0x41, 5000, -3, 1.5]), 'A\uFFFD\uFFFD\uFFFD');
  const emoji = tok.encode('🎉');
  assert.equal(tok.decode(emoji.slice(0, -1)), '\uFFFD');
});

test('BPE on 200 KB of English: compresses well and trains deterministically', () => {
  const corpus = english(new Rng(10), 200_000);
  const tok = BpeTokenizer.train(corpus, 1024);
  assert.equal(tok.vocabSize, 1024);
  const heldOut = english(new Rng(11), 20_000);
  const bytes = new TextEncoder().encode(heldOut).length;
  const ids = tok.encode(heldOut);
  assert.ok(ids.length < bytes / 3, `expected < ${bytes / 3} tokens, got ${ids.length}`);
  assert.equal(tok.decode(ids), heldOut);
  const again = BpeTokenizer.train(corpus, 1024);
  assert.deepEqual(again.toJSON(), tok.toJSON());
  assert.notDeepEqual(BpeTokenizer.train(english(new Rng(12), 200_000), 1024).toJSON(), tok.toJSON());
  assert.throws(() => BpeTokenizer.train(corpus, 100), /vocabSize must be an integer in \[258, /);
});

test('JSON round trip for both kinds, through a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flywheel-tok-'));
  try {
    const toks: Tokenizer[] = [CharTokenizer.fromCorpus('héllo 🎉', { strict: true }), BpeTokenizer.train(english(new Rng(4), 5000), 300)];
    for (const tok of toks) {
      const path = join(dir, `${tok.kind}.json`);
      writeFileSync(path, JSON.stringify(tok.toJSON()));
      const back = readTokenizer(path);
      assert.equal(back.kind, tok.kind);
      assert.equal(back.vocabSize, tok.vocabSize);
      assert.deepEqual(back.toJSON(), tok.toJSON());
      assert.deepEqual(back.encode('héllo 🎉'), tok.encode('héllo 🎉'));
    }
    assert.deepEqual(tokenizerFromJSON(CharTokenizer.ascii().toJSON()).encode('az'), CharTokenizer.ascii().encode('az'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad tokenizer JSON is a UserError naming the file and field', () => {
  const f = 'runs/x/tokenizer.json';
  const bad = (json: unknown, re: RegExp) => assert.throws(() => tokenizerFromJSON(json, f), isUserError(re), String(re));
  bad([], /^runs\/x\/tokenizer\.json: expected a JSON object/);
  bad({ kind: 'wordpiece', version: 1 }, /field "kind": unknown tokenizer kind "wordpiece"/);
  bad({ kind: 'char', version: 2, chars: [] }, /field "version": unsupported version 2/);
  bad({ kind: 'char', version: 1, chars: ['a', 'bc'] }, /field "chars": entry 1 is "bc", expected a single character/);
  bad({ kind: 'char', version: 1, chars: ['a', 'a'] }, /field "chars": entry 1 "a" is a duplicate/);
  bad({ kind: 'char', version: 1, chars: ['b', 'a'] }, /field "chars": characters must be sorted by code point/);
  bad({ kind: 'char', version: 1, chars: ['a'], strict: 'yes' }, /field "strict": expected true or false/);
  bad({ kind: 'bpe', version: 1, merges: [[99, 99], [258, 259]] }, /field "merges": entry 1 is \[258,259\], expected two ids of earlier non-special tokens \(2\.\.258\)/);
  bad({ kind: 'bpe', version: 1, merges: [[0, 5]] }, /field "merges": entry 0 is \[0,5\]/);
  bad({ kind: 'bpe', version: 1 }, /field "merges": expected an array/);

  const dir = mkdtempSync(join(tmpdir(), 'flywheel-tok-'));
  try {
    const path = join(dir, 'tokenizer.json');
    assert.throws(() => readTokenizer(path), isUserError(/tokenizer\.json: cannot read tokenizer \(ENOENT\)/));
    writeFileSync(path, '{"kind": "char",');
    assert.throws(() => readTokenizer(path), isUserError(/tokenizer\.json: not valid JSON/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
