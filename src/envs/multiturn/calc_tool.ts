/**
 * calc-tool-v1: tool use. The task is an integer expression too long to do
 * in one's head; the policy may call a calculator by replying
 * 'calc: <expression>', and the environment injects the tool's result
 * ('= 17834' or 'calc error: ...') as the next observation. A final
 * 'Answer: <integer>' ends the episode: reward 1 if right, else 0. Running out
 * of turns earns 0. The reference policy calls the tool once, then answers.
 *
 * Difficulty 1..4: difficulty + 1 operands of 2..difficulty + 1 digits, joined
 * by +, - and *, sometimes with one parenthesized pair.
 */
import { Rng } from '../../util/rng.ts';
import { extractAnswer, formatAnswer, parseInteger } from '../answer.ts';
import { assertDifficulty } from '../define.ts';
import type { MultiTurnFamily, StepResult, TextEpisode } from '../types.ts';

const ID = 'calc-tool-v1';
const DIFFICULTY = { min: 1, max: 4, default: 2 };
const MAX_TURNS = 4;
const TOOL = 'calc:';
const HELP = 'reply "calc: <expression>" to use the calculator, or "Answer: <integer>" to answer';

// ------------------------------------------------------------------ the calculator

export type CalcResult = { ok: true; value: bigint } | { ok: false; error: string };

const MAX_INPUT = 200; // characters
const MAX_DEPTH = 20; // nested parentheses / unary minus
const MAX_DIGITS = 60; // of any intermediate value

/** Evaluates + - * ( ) over integers. Never throws: every problem is { ok: false, error }. */
export function calculate(input: string): CalcResult {
  if (input.length > MAX_INPUT) return { ok: false, error: `expression longer than ${MAX_INPUT} characters` };
  const tokens = input.match(/\d+|[-+*()]|\S/g) ?? [];
  let pos = 0;
  const bail = (error: string): never => {
    throw new CalcError(error);
  };
  const check = (v: bigint): bigint => (v.toString().replace('-', '').length > MAX_DIGITS ? bail('result too large') : v);
  const expr = (depth: number): bigint => {
    let v = term(depth);
    while (tokens[pos] === '+' || tokens[pos] === '-') v = check(tokens[pos++] === '+' ? v + term(depth) : v - term(depth));
    return v;
  };
  const term = (depth: number): bigint => {
    let v = factor(depth);
    while (tokens[pos] === '*') {
      pos++;
      v = check(v * factor(depth));
    }
    return v;
  };
  const factor = (depth: number): bigint => {
    if (depth > MAX_DEPTH) bail('too deeply nested');
    const t = tokens[pos++];
    if (t === '-') return -factor(depth + 1);
    if (t === '(') {
      const v = expr(depth + 1);
      if (tokens[pos++] !== ')') bail('missing )');
      return v;
    }
    if (t !== undefined && /^\d+$/.test(t)) return t.length > MAX_DIGITS ? bail('number too long') : BigInt(t);
    return bail(t === undefined ? 'unexpected end' : `unexpected ${JSON.stringify(t)}`);
  };
  try {
    if (tokens.length === 0) return { ok: false, error: 'empty expression' };
    const value = expr(0);
    if (pos < tokens.length) return { ok: false, error: `unexpected ${JSON.stringify(tokens[pos])}` };
    return { ok: true, value };
  } catch (err) {
    if (err instanceof CalcError) return { ok: false, error: err.message };
    throw err;
  }
}

class CalcError extends Error {}

// ------------------------------------------------------------------ the environment

/** The expression for (seed, difficulty). */
function makeExpression(rng: Rng, difficulty: number): string {
  const nums = Array.from({ length: difficulty + 1 }, () => String(rng.range(10, 10 ** (difficulty + 1) - 1)));
  const ops = nums.slice(1).map(() => rng.pick(['+', '-', '*']));
  const paren = nums.length >= 3 && rng.bool(0.5) ? rng.int(nums.length - 1) : -1; // wrap nums[paren] op nums[paren + 1]
  let s = '';
  for (let i = 0; i < nums.length; i++) {
    if (i > 0) s += ` ${ops[i - 1]} `;
    s += (i === paren ? '(' : '') + nums[i] + (i === paren + 1 && paren >= 0 ? ')' : '');
  }
  return s;
}

class CalcToolEpisode implements TextEpisode {
  private answer = 0n;
  private turns = 0;
  private done = true;

  reset(seed: number, difficulty = DIFFICULTY.default): string {
    assertDifficulty(ID, DIFFICULTY, difficulty);
    const expr = makeExpression(new Rng(`${ID}:${seed}:${difficulty}`), difficulty);
    const r = calculate(expr);
    if (!r.ok) throw new Error(`${ID}: generated an expression the calculator rejects: ${expr} (${r.error})`);
    this.answer = r.value;
    this.turns = 0;
    this.done = false;
    return `Compute ${expr}. You may use a calculator: reply "calc: <expression>" and I will reply with its value. When done, reply "Answer: <integer>".`;
  }

  step(action: string): StepResult {
    if (this.done) return { observation: '', reward: 0, done: true, info: { reason: 'episode_over' } };
    this.turns++;
    const got = extractAnswer(action);
    if (got.ok) {
      this.done = true;
      const n = parseInteger(got.text);
      const reason = n === this.answer ? 'correct' : n === null ? 'malformed' : 'wrong';
      return { observation: '', reward: reason === 'correct' ? 1 : 0, done: true, info: { reason, turns: this.turns } };
    }
    if (this.turns >= MAX_TURNS) {
      this.done = true;
      return { observation: '', reward: 0, done: true, info: { reason: 'out_of_turns', turns: this.turns } };
    }
    const at = action.lastIndexOf(TOOL);
    if (at < 0) return { observation: HELP, reward: 0, done: false, info: { reason: 'no_action' } };
    const end = action.indexOf('\n', at);
    const r = calculate(action.slice(at + TOOL.length, end < 0 ? action.length : end).trim());
    return r.ok
      ? { observation: `= ${r.value}`, reward: 0, done: false, info: { reason: 'tool' } }
      : { observation: `calc error: ${r.error}`, reward: 0, done: false, info: { reason: 'tool_error' } };
  }
}

/** Calls the calculator on the question, then answers with its result. */
function solve(transcript: readonly string[]): string {
  const last = transcript[transcript.length - 1] ?? '';
  if (transcript.length > 1 && last.startsWith('= ')) return formatAnswer(last.slice(2));
  const m = /^Compute (.+?)\. You may/.exec(transcript[0] ?? '');
  return `${TOOL} ${m ? m[1] : '0'}`;
}

export const calcTool: MultiTurnFamily = {
  id: ID,
  description: 'Long integer arithmetic with a calculator tool ("calc: <expr>"); the result comes back as an observation.',
  difficulty: DIFFICULTY,
  maxTurns: MAX_TURNS,
  create: () => new CalcToolEpisode(),
  solve,
};
