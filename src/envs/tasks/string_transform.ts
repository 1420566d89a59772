/**
 * string-transform-v1: apply named string operations to a string of letters.
 *
 *   prompt  `rev abCde`               answer  `edCba`
 *   prompt  `rotl2 then upper abcde`  answer  `CDEAB`   (ops apply left to right)
 *
 * The string is the last word of the prompt. Operations:
 *   rev       reverse                 upper / lower   change case
 *   swapcase  swap each letter's case devowel         drop the vowels a e i o u (either case)
 *   rotlK     rotate left by K        rotrK           rotate right by K   (K in 1..3)
 * e.g. rotl2 abcde = cdeab, rotr1 abcde = eabcd.
 *
 * Difficulty raises the string length (3 to 13) and the number of composed ops
 * (1 to 3). Every op changes its input, the result is never the input, and two
 * case ops never follow each other (the first would be moot).
 *
 * Hard cases: tasks where the demonstrator's systematic blind spot changes the
 * answer: it rotates the wrong way (rotlK as rotrK and back).
 *
 * Verdict reasons: correct | no_answer | malformed (anything but letters,
 * ignoring whitespace) | wrong_case (right letters, wrong case) | wrong.
 */
import type { Task, TaskFamily, Verdict } from '../types.ts';
import { CORRECT, extractAnswer, fail, formatAnswer } from '../answer.ts';
import { Rng } from '../../util/rng.ts';
import { defineTaskFamily, type DrawnTask } from '../define.ts';

const ID = 'string-transform-v1';

/** Per difficulty level (index = level - 1): number of composed ops and the string length range. */
const LEVELS: readonly { ops: number; minLen: number; maxLen: number }[] = [
  { ops: 1, minLen: 3, maxLen: 4 },
  { ops: 1, minLen: 5, maxLen: 6 },
  { ops: 2, minLen: 5, maxLen: 7 },
  { ops: 2, minLen: 8, maxLen: 10 },
  { ops: 3, minLen: 8, maxLen: 10 },
  { ops: 3, minLen: 11, maxLen: 13 },
];

/** Probability that a generated letter is uppercase. */
const UPPER_RATE = 0.3;

const OP_KINDS = ['rev', 'upper', 'lower', 'swapcase', 'devowel', 'rot'] as const;
const CASE_OPS: ReadonlySet<string> = new Set(['upper', 'lower', 'swapcase']);
const VOWELS = /[aeiouAEIOU]/g;

/** What the verifier needs: the input string and the op names, in order of application. */
interface TransformMeta {
  input: string;
  ops: string[];
}


function metaOf(task: Task): TransformMeta {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  return { input: task.meta.input as string, ops: task.meta.ops as string[] };
}

function rotateLeft(s: string, k: number): string {
  if (s.length === 0) return s;
  const r = ((k % s.length) + s.length) % s.length;
  return s.slice(r) + s.slice(0, r);
}

function swapCase(s: string): string {
  let out = '';
  for (const c of s) out += c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
  return out;
}

/** Applies one named op. `flipRotation` rotates the other way (the blind spot). */
function applyOp(op: string, s: string, flipRotation = false): string {
  if (op === 'rev') return [...s].reverse().join('');
  if (op === 'upper') return s.toUpperCase();
  if (op === 'lower') return s.toLowerCase();
  if (op === 'swapcase') return swapCase(s);
  if (op === 'devowel') return s.replace(VOWELS, '');
  const rot = /^rot([lr])([1-9])$/.exec(op);
  if (rot) {
    const left = (rot[1] === 'l') !== flipRotation;
    const k = Number(rot[2]);
    return rotateLeft(s, left ? k : -k);
  }
  throw new Error(`${ID}: unknown op ${JSON.stringify(op)}`);
}

function applyAll(ops: readonly string[], s: string): string {
  return ops.reduce((acc, op) => applyOp(op, acc), s);
}

/** The blind spot: every rotation goes the wrong way. */
function blindSpot(ops: readonly string[], s: string): string {
  return ops.reduce((acc, op) => applyOp(op, acc, true), s);
}

function randomLetters(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = String.fromCharCode(97 + rng.int(26));
    s += rng.bool(UPPER_RATE) ? c.toUpperCase() : c;
  }
  return s;
}

function randomOp(rng: Rng, len: number): string {
  const kind = rng.pick(OP_KINDS);
  if (kind !== 'rot') return kind;
  return `rot${rng.bool() ? 'l' : 'r'}${1 + rng.int(Math.max(1, Math.min(3, len - 1)))}`;
}

/** One attempt at a task; null when a rule (every op changes its input, ...) is broken. */
function tryGenerate(rng: Rng, numOps: number, len: number): TransformMeta | null {
  const input = randomLetters(rng, len);
  const ops: string[] = [];
  let s = input;
  for (let i = 0; i < numOps; i++) {
    const op = randomOp(rng, s.length);
    if (i > 0 && CASE_OPS.has(op) && CASE_OPS.has(ops[i - 1])) return null;
    const next = applyOp(op, s);
    if (next === s || next.length === 0) return null;
    ops.push(op);
    s = next;
  }
  return s === input ? null : { input, ops };
}

function drawTask(rng: Rng, difficulty: number): DrawnTask {
  const level = LEVELS[difficulty - 1];
  for (let attempt = 0; attempt < 1000; attempt++) {
    const meta = tryGenerate(rng, level.ops, rng.range(level.minLen, level.maxLen));
    if (meta === null) continue;
    return {
      prompt: `${meta.ops.join(' then ')} ${meta.input}`,
      answer: applyAll(meta.ops, meta.input),
      meta: { input: meta.input, ops: meta.ops },
    };
  }
  throw new Error(`${ID}: no valid task after 1000 attempts at difficulty ${difficulty}`);
}

function verify(task: Task, completion: string): Verdict {
  const { input, ops } = metaOf(task);
  const got = extractAnswer(completion);
  if (!got.ok) return fail('no_answer');
  const text = got.text.replace(/\s+/g, '');
  if (!/^[A-Za-z]+$/.test(text)) return fail('malformed', `not a string of letters: ${JSON.stringify(text.slice(0, 40))}`);
  const expected = applyAll(ops, input);
  if (text === expected) return CORRECT;
  if (text.toLowerCase() === expected.toLowerCase()) return fail('wrong_case', `expected ${expected}, got ${text}`);
  return fail('wrong', `expected ${expected}, got ${text.slice(0, 80)}`);
}

function solve(task: Task): string {
  const { input, ops } = metaOf(task);
  return formatAnswer(applyAll(ops, input));
}

/** Replaces the letter at i with a different letter of the same case. */
function slip(s: string, i: number, rng: Rng): string {
  const c = s[i];
  const lower = c.toLowerCase();
  let d = lower;
  while (d === lower) d = String.fromCharCode(97 + rng.int(26));
  return s.slice(0, i) + (c === lower ? d : d.toUpperCase()) + s.slice(i + 1);
}

const ERROR_KINDS = ['slip', 'drop', 'skip_op', 'systematic'] as const;

function mistake(task: Task, kind: string, rng: Rng): string {
  const { input, ops } = metaOf(task);
  const right = applyAll(ops, input);
  let wrong: string;
  if (kind === 'slip') wrong = slip(right, rng.int(right.length), rng);
  else if (kind === 'drop') {
    const i = rng.int(right.length);
    wrong = right.length > 1 ? right.slice(0, i) + right.slice(i + 1) : right + right;
  } else if (kind === 'skip_op') {
    const skip = rng.int(ops.length);
    wrong = applyAll(ops.filter((_, i) => i !== skip), input);
  } else if (kind === 'systematic') wrong = blindSpot(ops, input);
  else throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}; expected one of ${ERROR_KINDS.join(', ')}`);
  if (wrong !== right && wrong.length > 0) return formatAnswer(wrong);
  // Harmless here (e.g. the blind spot without a rotation): forget the last op, or failing that, lose the last letter.
  const skipped = applyAll(ops.slice(0, -1), input);
  if (skipped !== right) return formatAnswer(skipped);
  return formatAnswer(right.length > 1 ? right.slice(0, -1) : right + right);
}

export const stringTransform: TaskFamily = defineTaskFamily({
  id: ID,
  description: 'Apply named string ops (rev, upper, lower, swapcase, devowel, rotlK, rotrK) left to right to a word.',
  difficulty: { min: 1, max: LEVELS.length, default: 2 },
  generate: drawTask,
  verify,
  solve,
  errorKinds: ERROR_KINDS,
  mistake,
  isHard(task: Task): boolean {
    const { input, ops } = metaOf(task);
    return blindSpot(ops, input) !== applyAll(ops, input);
  },
  /** Character-operations: string length times the number of ops. */
  stat(task: Task): number {
    const { input, ops } = metaOf(task);
    return input.length * ops.length;
  },
});
