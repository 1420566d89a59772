/**
 * The hard half of the code-js-v1 bank: difficulty 4 (small algorithms) and 5
 * (classic exercises: run-length encoding, bracket matching, lcm, primes,
 * roman numerals, common prefixes). Every hard problem has an 'edge_case'
 * mutant, the demonstrator's systematic blind spot (the empty input, n < 2,
 * subtractive roman forms, ...), and a fixed test that exposes it.
 * See problems.ts for the Problem shape.
 */
import type { Rng } from '../../util/rng.ts';
import { ints, word, type Problem } from './problems.ts';

/** A random bracket string: balanced half the time, else one character changed or dropped. */
function brackets(rng: Rng): string {
  const open = '([{';
  const close = ')]}';
  let s = '';
  const stack: number[] = [];
  for (let steps = rng.range(2, 10); steps > 0; steps--) {
    if (stack.length > 0 && (rng.bool() || stack.length >= 3)) s += close[stack.pop()!];
    else {
      const k = rng.int(3);
      stack.push(k);
      s += open[k];
    }
  }
  while (stack.length > 0) s += close[stack.pop()!];
  if (rng.bool()) return s;
  const i = rng.int(s.length);
  return rng.bool() ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + rng.pick([...'()[]{}']) + s.slice(i + 1);
}

/** Words sharing a random prefix. */
function prefixed(rng: Rng): string[] {
  const prefix = word(rng, 0, 3, 'ab');
  return Array.from({ length: rng.range(1, 4) }, () => prefix + word(rng, 0, 3, 'abc'));
}

export const HARD_PROBLEMS: readonly Problem[] = [
  // ---- level 4: a small algorithm
  {
    name: 'fib', level: 4, signature: 'fib(n)', spec: 'Returns the n-th Fibonacci number for 0 <= n <= 40, where fib(0) = 0 and fib(1) = 1.',
    args: (r) => [r.range(0, 40)],
    fixed: [[10], [0]],
    solution: 'function fib(n) {\n  let a = 0, b = 1;\n  for (let i = 0; i < n; i++) {\n    const t = a + b;\n    a = b;\n    b = t;\n  }\n  return a;\n}',
    mutants: {
      off_by_one: [['i < n', 'i <= n']],
      wrong_op: [['a + b', 'a * b']],
      edge_case: [['let a = 0, b = 1;', 'let a = 1, b = 1;'], ['let i = 0', 'let i = 2'], ['return a;', 'return b;']],
    },
  },
  {
    name: 'uniqueSorted', level: 4, signature: 'uniqueSorted(xs)', spec: 'Returns the distinct integers of the array xs in ascending order (an empty array for an empty xs).',
    args: (r) => [ints(r, r.range(0, 9), -9, 9)],
    fixed: [[[3, 1, 2, 3]], [[]]],
    solution:
      'function uniqueSorted(xs) {\n  const sorted = [...xs].sort((a, b) => a - b);\n  const out = [];\n  for (let i = 0; i < sorted.length; i++) {\n    if (i === 0 || sorted[i] !== sorted[i - 1]) out.push(sorted[i]);\n  }\n  return out;\n}',
    mutants: {
      off_by_one: [['sorted[i - 1]', 'sorted[i - 2]']],
      wrong_op: [['a - b', 'b - a']],
      edge_case: [['const out = [];', 'const out = [sorted[0]];'], ['let i = 0', 'let i = 1'], ['i === 0 || ', '']],
    },
  },
  {
    name: 'isPrime', level: 4, signature: 'isPrime(n)', spec: 'Returns true if the integer n (0 <= n <= 500) is a prime number, false otherwise.',
    args: (r) => [r.range(0, 500)],
    fixed: [[49], [97], [1]],
    solution: 'function isPrime(n) {\n  if (n < 2) return false;\n  for (let d = 2; d * d <= n; d++) {\n    if (n % d === 0) return false;\n  }\n  return true;\n}',
    mutants: { off_by_one: [['d * d <= n', 'd * d < n']], edge_case: [['if (n < 2)', 'if (n < 1)']] },
  },
  {
    name: 'binarySearch', level: 4, signature: 'binarySearch(xs, target)',
    spec: 'xs is a strictly increasing array of integers. Returns the index of target in xs, or -1 if it is not there.',
    args: (r) => {
      const xs: number[] = [];
      for (let v = r.range(-10, 5), n = r.range(0, 9); n > 0; n--, v += r.range(1, 4)) xs.push(v);
      return [xs, xs.length > 0 && r.bool(0.6) ? r.pick(xs) : r.range(-12, 30)];
    },
    fixed: [[[1, 3, 5], 5], [[2, 4, 6, 8], 7], [[1, 3, 5, 7, 9, 11], 1]],
    solution:
      'function binarySearch(xs, target) {\n  let lo = 0;\n  let hi = xs.length - 1;\n  while (lo <= hi) {\n    const mid = Math.floor((lo + hi) / 2);\n    if (xs[mid] === target) return mid;\n    if (xs[mid] < target) lo = mid + 1;\n    else hi = mid - 1;\n  }\n  return -1;\n}',
    mutants: {
      off_by_one: [['lo <= hi', 'lo < hi']],
      wrong_op: [['xs[mid] < target', 'xs[mid] > target']],
      edge_case: [['return -1;', 'return lo;']],
    },
  },
  {
    name: 'mostFrequentChar', level: 4, signature: 'mostFrequentChar(s)',
    spec: 'Returns the character that occurs most often in the non-empty lowercase string s; on a tie, the alphabetically first of the tied characters.',
    args: (r) => [word(r, 1, 10, 'abcd')],
    fixed: [['bbaa'], ['abab']],
    solution:
      "function mostFrequentChar(s) {\n  const counts = {};\n  for (const ch of s) counts[ch] = (counts[ch] || 0) + 1;\n  let best = '';\n  for (const ch of Object.keys(counts).sort()) {\n    if (best === '' || counts[ch] > counts[best]) best = ch;\n  }\n  return best;\n}",
    mutants: { wrong_op: [['counts[ch] > counts[best]', 'counts[ch] >= counts[best]']], edge_case: [['Object.keys(counts).sort()', 'Object.keys(counts)']] },
  },
  {
    name: 'chunk', level: 4, signature: 'chunk(xs, k)',
    spec: 'Splits the array xs into consecutive pieces of length k (k >= 1; the last piece may be shorter) and returns the array of pieces ([] for an empty xs).',
    args: (r) => [ints(r, r.range(0, 9), 0, 9), r.range(1, 4)],
    fixed: [[[1, 2, 3, 4, 5], 2], [[], 3]],
    solution: 'function chunk(xs, k) {\n  const out = [];\n  for (let i = 0; i < xs.length; i += k) out.push(xs.slice(i, i + k));\n  return out;\n}',
    mutants: {
      off_by_one: [['xs.slice(i, i + k)', 'xs.slice(i, i + k - 1)']],
      edge_case: [['for (let i = 0; i < xs.length; i += k) out.push(xs.slice(i, i + k));', 'let i = 0;\n  do {\n    out.push(xs.slice(i, i + k));\n    i += k;\n  } while (i < xs.length);']],
    },
  },
  // ---- level 5: classic exercises
  {
    name: 'runLengthEncode', level: 5, signature: 'runLengthEncode(s)',
    spec: "Encodes each run of equal characters in s as the character followed by the run's length, e.g. 'aaabcc' -> 'a3b1c2' ('' for '').",
    args: (r) => [word(r, 0, 5, 'ab').split('').map((ch) => ch.repeat(r.range(1, 4))).join('')],
    fixed: [['aaabcc'], ['']],
    solution:
      "function runLengthEncode(s) {\n  let out = '';\n  let i = 0;\n  while (i < s.length) {\n    let j = i;\n    while (j < s.length && s[j] === s[i]) j++;\n    out += s[i] + (j - i);\n    i = j;\n  }\n  return out;\n}",
    mutants: {
      off_by_one: [['(j - i)', '(j - i - 1)']],
      edge_case: [['while (i < s.length) {', 'do {'], ['    i = j;\n  }', '    i = j;\n  } while (i < s.length);']],
    },
  },
  {
    name: 'balancedBrackets', level: 5, signature: 'balancedBrackets(s)',
    spec: 'Returns true if the brackets in s (made only of the characters ()[]{}) are balanced and properly nested, false otherwise.',
    args: (r) => [brackets(r)],
    fixed: [['([]{})'], ['(()'], ['(]']],
    solution:
      "function balancedBrackets(s) {\n  const pairs = { ')': '(', ']': '[', '}': '{' };\n  const stack = [];\n  for (const ch of s) {\n    if (ch === '(' || ch === '[' || ch === '{') stack.push(ch);\n    else if (stack.pop() !== pairs[ch]) return false;\n  }\n  return stack.length === 0;\n}",
    mutants: { wrong_op: [['stack.pop() !== pairs[ch]', 'stack.pop() === pairs[ch]']], edge_case: [['return stack.length === 0;', 'return true;']] },
  },
  {
    name: 'lcm', level: 5, signature: 'lcm(a, b)', spec: 'Returns the least common multiple of the integers a, b >= 0, where lcm(a, 0) = lcm(0, b) = 0.',
    args: (r) => [r.range(0, 30), r.range(0, 30)],
    fixed: [[4, 6], [0, 0]],
    solution:
      'function gcd(a, b) {\n  while (b !== 0) {\n    const t = b;\n    b = a % b;\n    a = t;\n  }\n  return a;\n}\n\nfunction lcm(a, b) {\n  if (a === 0 || b === 0) return 0;\n  return (a / gcd(a, b)) * b;\n}',
    mutants: { wrong_op: [['(a / gcd(a, b)) * b', 'a * b']], edge_case: [['if (a === 0 || b === 0) return 0;\n  ', '']] },
  },
  {
    name: 'primesUpTo', level: 5, signature: 'primesUpTo(n)', spec: 'Returns the array of all primes p <= n in ascending order, for an integer 0 <= n <= 100.',
    args: (r) => [r.range(0, 100)],
    fixed: [[13], [1]],
    solution:
      'function primesUpTo(n) {\n  const primes = [];\n  for (let k = 2; k <= n; k++) {\n    let isPrime = true;\n    for (const p of primes) {\n      if (p * p > k) break;\n      if (k % p === 0) {\n        isPrime = false;\n        break;\n      }\n    }\n    if (isPrime) primes.push(k);\n  }\n  return primes;\n}',
    mutants: {
      off_by_one: [['k <= n', 'k < n']],
      wrong_op: [['p * p > k', 'p * p < k']],
      edge_case: [['const primes = [];', 'const primes = [2];'], ['let k = 2', 'let k = 3']],
    },
  },
  {
    name: 'toRoman', level: 5, signature: 'toRoman(n)', spec: 'Returns the integer 1 <= n <= 3999 as a Roman numeral in standard form (4 is IV, 1994 is MCMXCIV).',
    args: (r) => [r.bool(0.3) ? r.range(1, 50) : r.range(1, 3999)],
    fixed: [[1994], [10]],
    solution:
      "function toRoman(n) {\n  const values = [1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1];\n  const symbols = ['M', 'CM', 'D', 'CD', 'C', 'XC', 'L', 'XL', 'X', 'IX', 'V', 'IV', 'I'];\n  let out = '';\n  for (let i = 0; i < values.length; i++) {\n    while (n >= values[i]) {\n      out += symbols[i];\n      n -= values[i];\n    }\n  }\n  return out;\n}",
    mutants: {
      wrong_op: [['n >= values[i]', 'n > values[i]']],
      edge_case: [
        ['1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1', '1000, 500, 100, 50, 10, 5, 1'],
        ["'M', 'CM', 'D', 'CD', 'C', 'XC', 'L', 'XL', 'X', 'IX', 'V', 'IV', 'I'", "'M', 'D', 'C', 'L', 'X', 'V', 'I'"],
      ],
    },
  },
  {
    name: 'longestCommonPrefix', level: 5, signature: 'longestCommonPrefix(words)',
    spec: "Returns the longest string that every string in the array words starts with ('' for an empty array).",
    args: (r) => [prefixed(r)],
    fixed: [[['flower', 'flow', 'flight']], [[]]],
    solution:
      "function longestCommonPrefix(words) {\n  if (words.length === 0) return '';\n  let end = 0;\n  while (end < words[0].length && words.every((w) => w[end] === words[0][end])) end++;\n  return words[0].slice(0, end);\n}",
    mutants: { off_by_one: [['words[0].slice(0, end)', 'words[0].slice(0, end + 1)']], edge_case: [["if (words.length === 0) return '';\n  ", '']] },
  },
];
