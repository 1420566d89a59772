/**
 * The problem bank of code-js-v1: small function-writing problems, 6 at each
 * difficulty level 1..5. Levels 1-3 are here (EASY_PROBLEMS), levels 4-5 in
 * problems_hard.ts; code_js.ts joins them.
 *
 * A problem is its reference solution (JavaScript source: the single source
 * of truth; expected outputs are computed by running it on the host), a
 * random-argument generator, fixed tests included in every task, and the
 * mistakes a demonstrator makes, written as textual edits of the solution:
 *
 *   off_by_one  a boundary moved by one (a loop bound, a start index)
 *   wrong_op    an operator or comparison swapped
 *   edge_case   correct except on an edge input (empty list, n = 0, ...): the
 *               family's 'systematic' blind spot on hard problems
 *
 * The fixed tests are chosen so that every mutant fails at least one of them
 * (test/envs/code_problems.test.ts checks this for every problem), so a
 * mistake never verifies, whatever the seed.
 */
import type { Json } from '../types.ts';
import type { Rng } from '../../util/rng.ts';

/** One textual edit: replace the first occurrence of `from` with `to`. */
export type Edit = readonly [from: string, to: string];

export type MutantKind = 'off_by_one' | 'wrong_op' | 'edge_case';

export interface Problem {
  name: string; // the function's name, e.g. 'sumDigits'
  level: number; // difficulty 1..5
  signature: string; // shown in the prompt, e.g. 'sumDigits(n)'
  spec: string; // one or two sentences: inputs and what to return
  args(rng: Rng): Json[]; // one random argument list
  fixed: readonly Json[][]; // argument lists in every task (edge cases; each mutant fails one)
  solution: string; // reference solution (defines `name`)
  mutants: Partial<Record<MutantKind, readonly Edit[]>>; // at least one of off_by_one / wrong_op
}

// ------------------------------------------------------------------ generators

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const WORDS = ['sun', 'moon', 'tree', 'river', 'stone', 'cloud', 'fire', 'leaf', 'bird', 'rain', 'sky', 'sea', 'hill', 'wind', 'star'];

export function ints(rng: Rng, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => rng.range(lo, hi));
}

export function word(rng: Rng, minLen: number, maxLen: number, alphabet = LETTERS): string {
  let s = '';
  for (let i = rng.range(minLen, maxLen); i > 0; i--) s += alphabet[rng.int(alphabet.length)];
  return s;
}

export function sentence(rng: Rng, minWords: number, maxWords: number): string {
  return Array.from({ length: rng.range(minWords, maxWords) }, () => rng.pick(WORDS)).join(' ');
}

// ------------------------------------------------------------------ levels 1-3

export const EASY_PROBLEMS: readonly Problem[] = [
  // ---- level 1: one expression
  {
    name: 'add', level: 1, signature: 'add(a, b)', spec: 'Returns the sum of the integers a and b.',
    args: (r) => [r.range(-100, 100), r.range(-100, 100)],
    fixed: [[2, 3]],
    solution: 'function add(a, b) {\n  return a + b;\n}',
    mutants: { wrong_op: [['a + b', 'a - b']] },
  },
  {
    name: 'max2', level: 1, signature: 'max2(a, b)', spec: 'Returns the larger of the integers a and b.',
    args: (r) => [r.range(-50, 50), r.range(-50, 50)],
    fixed: [[1, 7], [9, 4]],
    solution: 'function max2(a, b) {\n  return a > b ? a : b;\n}',
    mutants: { wrong_op: [['a > b', 'a < b']] },
  },
  {
    name: 'strLength', level: 1, signature: 'strLength(s)', spec: 'Returns the number of characters in the string s.',
    args: (r) => [word(r, 0, 12)],
    fixed: [['hello']],
    solution: 'function strLength(s) {\n  return s.length;\n}',
    mutants: { off_by_one: [['s.length', 's.length - 1']] },
  },
  {
    name: 'isEven', level: 1, signature: 'isEven(n)', spec: 'Returns true if the integer n is even, false otherwise.',
    args: (r) => [r.range(-100, 100)],
    fixed: [[4], [7]],
    solution: 'function isEven(n) {\n  return n % 2 === 0;\n}',
    mutants: { wrong_op: [['=== 0', '=== 1']] },
  },
  {
    name: 'square', level: 1, signature: 'square(n)', spec: 'Returns n multiplied by itself.',
    args: (r) => [r.range(-30, 30)],
    fixed: [[5]],
    solution: 'function square(n) {\n  return n * n;\n}',
    mutants: { wrong_op: [['n * n', 'n + n']] },
  },
  {
    name: 'absDiff', level: 1, signature: 'absDiff(a, b)', spec: 'Returns the absolute difference between the integers a and b.',
    args: (r) => [r.range(-50, 50), r.range(-50, 50)],
    fixed: [[3, 10]],
    solution: 'function absDiff(a, b) {\n  return Math.abs(a - b);\n}',
    mutants: { wrong_op: [['a - b', 'a + b']] },
  },
  // ---- level 2: one loop
  {
    name: 'sumArray', level: 2, signature: 'sumArray(xs)', spec: 'Returns the sum of the integers in the array xs (0 for an empty array).',
    args: (r) => [ints(r, r.range(0, 8), -20, 20)],
    fixed: [[[1, 2, 3]], [[]]],
    solution: 'function sumArray(xs) {\n  let total = 0;\n  for (let i = 0; i < xs.length; i++) total += xs[i];\n  return total;\n}',
    mutants: { off_by_one: [['i < xs.length', 'i < xs.length - 1']], wrong_op: [['total += xs[i]', 'total -= xs[i]']] },
  },
  {
    name: 'countChar', level: 2, signature: 'countChar(s, c)', spec: 'Returns how many times the one-character string c occurs in the string s.',
    args: (r) => [word(r, 0, 14, 'abc'), r.pick(['a', 'b', 'c'])],
    fixed: [['aab', 'a']],
    solution: 'function countChar(s, c) {\n  let count = 0;\n  for (let i = 0; i < s.length; i++) if (s[i] === c) count++;\n  return count;\n}',
    mutants: { off_by_one: [['let i = 0', 'let i = 1']], wrong_op: [['s[i] === c', 's[i] !== c']] },
  },
  {
    name: 'factorial', level: 2, signature: 'factorial(n)', spec: 'Returns n! for an integer 0 <= n <= 12 (0! is 1).',
    args: (r) => [r.range(0, 12)],
    fixed: [[5], [0]],
    solution: 'function factorial(n) {\n  let result = 1;\n  for (let i = 2; i <= n; i++) result *= i;\n  return result;\n}',
    mutants: { off_by_one: [['i <= n', 'i < n']], wrong_op: [['result *= i', 'result += i']] },
  },
  {
    name: 'minArray', level: 2, signature: 'minArray(xs)', spec: 'Returns the smallest integer in the non-empty array xs.',
    args: (r) => [ints(r, r.range(1, 8), -50, 50)],
    fixed: [[[4, -2, 9]], [[3, 8, 1]]],
    solution: 'function minArray(xs) {\n  let best = xs[0];\n  for (let i = 1; i < xs.length; i++) if (xs[i] < best) best = xs[i];\n  return best;\n}',
    mutants: { off_by_one: [['i < xs.length', 'i < xs.length - 1']], wrong_op: [['xs[i] < best', 'xs[i] > best']] },
  },
  {
    name: 'repeatString', level: 2, signature: 'repeatString(s, n)', spec: 'Returns the string s repeated n times (n >= 0; the empty string when n is 0).',
    args: (r) => [word(r, 1, 4), r.range(0, 5)],
    fixed: [['ab', 3], ['x', 0]],
    solution: "function repeatString(s, n) {\n  let out = '';\n  for (let i = 0; i < n; i++) out += s;\n  return out;\n}",
    mutants: { off_by_one: [['i < n', 'i <= n']] },
  },
  {
    name: 'countPositives', level: 2, signature: 'countPositives(xs)', spec: 'Returns how many integers in the array xs are strictly greater than zero.',
    args: (r) => [ints(r, r.range(0, 10), -5, 5)],
    fixed: [[[0, 1, -2, 3]], [[5, 5, 0]]],
    solution: 'function countPositives(xs) {\n  let count = 0;\n  for (const x of xs) if (x > 0) count++;\n  return count;\n}',
    mutants: { wrong_op: [['x > 0', 'x >= 0']] },
  },
  // ---- level 3: a loop and a condition, or a little string work
  {
    name: 'fizzbuzz', level: 3, signature: 'fizzbuzz(n)',
    spec: "Returns an array of strings for 1..n: 'FizzBuzz' for multiples of 15, 'Fizz' for multiples of 3, 'Buzz' for multiples of 5, else the number as a string.",
    args: (r) => [r.range(1, 20)],
    fixed: [[15]],
    solution:
      "function fizzbuzz(n) {\n  const out = [];\n  for (let i = 1; i <= n; i++) {\n    if (i % 15 === 0) out.push('FizzBuzz');\n    else if (i % 3 === 0) out.push('Fizz');\n    else if (i % 5 === 0) out.push('Buzz');\n    else out.push(String(i));\n  }\n  return out;\n}",
    mutants: { off_by_one: [['i <= n', 'i < n']], wrong_op: [['i % 15 === 0', 'i % 15 === 1']] },
  },
  {
    name: 'reverseWords', level: 3, signature: 'reverseWords(s)',
    spec: 'Returns the words of s (separated by single spaces) in reverse order, joined by single spaces.',
    args: (r) => [sentence(r, 1, 6)],
    fixed: [['the quick brown fox']],
    solution: "function reverseWords(s) {\n  const words = s.split(' ');\n  const out = [];\n  for (let i = words.length - 1; i >= 0; i--) out.push(words[i]);\n  return out.join(' ');\n}",
    mutants: { off_by_one: [['i >= 0', 'i > 0']] },
  },
  {
    name: 'countVowels', level: 3, signature: 'countVowels(s)', spec: 'Returns how many characters of the lowercase string s are vowels (a, e, i, o, u).',
    args: (r) => [word(r, 0, 16)],
    fixed: [['education'], ['rhythm']],
    solution: "function countVowels(s) {\n  let count = 0;\n  for (const ch of s) if ('aeiou'.includes(ch)) count++;\n  return count;\n}",
    mutants: { wrong_op: [["'aeiou'.includes(ch)", "!'aeiou'.includes(ch)"]] },
  },
  {
    name: 'isPalindrome', level: 3, signature: 'isPalindrome(s)', spec: 'Returns true if the string s reads the same forwards and backwards, false otherwise.',
    args: (r) => {
      const half = word(r, 0, 5, 'abc');
      return [r.bool() ? half + half.split('').reverse().join('') : half + word(r, 1, 3, 'abc')];
    },
    fixed: [['abca'], ['racecar'], ['ab']],
    solution: 'function isPalindrome(s) {\n  for (let i = 0; i < s.length / 2; i++) {\n    if (s[i] !== s[s.length - 1 - i]) return false;\n  }\n  return true;\n}',
    mutants: { off_by_one: [['s.length - 1 - i', 's.length - i']], wrong_op: [['s[i] !== s[', 's[i] === s[']] },
  },
  {
    name: 'sumDigits', level: 3, signature: 'sumDigits(n)', spec: 'Returns the sum of the decimal digits of the non-negative integer n.',
    args: (r) => [r.range(0, 99999)],
    fixed: [[123], [905]],
    solution: 'function sumDigits(n) {\n  let sum = 0;\n  while (n > 0) {\n    sum += n % 10;\n    n = Math.floor(n / 10);\n  }\n  return sum;\n}',
    mutants: { wrong_op: [['sum += n % 10', 'sum += n % 9']] },
  },
  {
    name: 'capitalizeWords', level: 3, signature: 'capitalizeWords(s)',
    spec: 'Returns s (lowercase words separated by single spaces) with the first letter of every word in upper case.',
    args: (r) => [sentence(r, 1, 5)],
    fixed: [['hello big world']],
    solution:
      "function capitalizeWords(s) {\n  return s\n    .split(' ')\n    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))\n    .join(' ');\n}",
    mutants: { off_by_one: [['w.slice(1)', 'w.slice(2)']] },
  },
];

/** Applies edits in order; throws if an edit does not apply (a bank bug). */
export function applyEdits(source: string, edits: readonly Edit[], where: string): string {
  let out = source;
  for (const [from, to] of edits) {
    const at = out.indexOf(from);
    if (at < 0) throw new Error(`${where}: edit ${JSON.stringify(from)} does not apply`);
    out = out.slice(0, at) + to + out.slice(at + from.length);
  }
  return out;
}
