/**
 * Tests for the numeric task families: addsub, multiplication, countdown,
 * modular, linear equations and base conversion. A shared block runs the
 * contract over every family (determinism, the prompt alone determines the
 * answer, reference solver, mistakes, junk input, difficulty statistic, the
 * shared conformance suite); hand-written cases per family follow, with the
 * expected reasons and the alternative correct answers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Task, TaskFamily } from '../../src/envs/types.ts';
import { Rng } from '../../src/util/rng.ts';
import { assertConformance, checkTaskFamily } from '../../src/envs/conformance.ts';
import { addsub } from '../../src/envs/tasks/addsub.ts';
import { multiplication } from '../../src/envs/tasks/multiplication.ts';
import { countdown, parseExpression, searchCountdown } from '../../src/envs/tasks/countdown.ts';
import { modular } from '../../src/envs/tasks/modular.ts';
import { linearEq } from '../../src/envs/tasks/linear_eq.ts';
import { baseConvert } from '../../src/envs/tasks/base_convert.ts';
import { check, levels, noise } from './task_helpers.ts';

const FAMILIES: TaskFamily[] = [addsub, multiplication, countdown, modular, linearEq, baseConvert];
const SEEDS = 200;


/** Asserts the reason of each completion: [completion, expected reason]. */
function expectReasons(f: TaskFamily, task: Task, cases: [string, string][]): void {
  for (const [completion, reason] of cases) {
    const v = check(f, task, completion);
    assert.equal(v.reason, reason, `${task.prompt} <- ${JSON.stringify(completion)}: ${v.detail ?? ''}`);
    assert.equal(v.ok, reason === 'correct');
    assert.equal(v.reward, reason === 'correct' ? 1 : 0);
  }
}

/**
 * Test-only oracle: evaluates an integer arithmetic string with JavaScript's
 * own BigInt arithmetic (the verifiers never eval). BigInt division truncates,
 * so callers only pass expressions whose divisions are exact.
 */
function jsEval(expr: string): bigint {
  assert.match(expr, /^[-+*/()\d\s]+$/);
  return Function(`"use strict"; return (${expr.replace(/\d+/g, '$&n')});`)() as bigint;
}

/** Recomputes a task's answer from its prompt alone, independently of the family's code. */
const FROM_PROMPT: Record<string, (prompt: string) => string> = {
  'addsub-v1': (p) => {
    const m = /^(add|sub) (\d+)([-+])(\d+)$/.exec(p);
    assert.ok(m && (m[1] === 'add') === (m[3] === '+'), p);
    return jsEval(`${m[2]}${m[3]}${m[4]}`).toString();
  },
  'multiplication-v1': (p) => {
    const m = /^mul (\d+)\*(\d+)$/.exec(p);
    assert.ok(m, p);
    return (BigInt(m[1]) * BigInt(m[2])).toString();
  },
  'modular-v1': (p) => {
    const m = /^\(?([-+*\d]+)\)? mod (\d+)$/.exec(p);
    assert.ok(m, p);
    const mod = BigInt(m[2]);
    return (((jsEval(m[1]) % mod) + mod) % mod).toString();
  },
  'linear-eq-v1': (p) => {
    const m = /^solve ([-+()x\d]+)=([-+()x\d]+)$/.exec(p);
    assert.ok(m, p);
    // Each side is linear in x, so two evaluations pin it down; the slopes must differ and the root be an integer.
    const side = (s: string, x: bigint) => jsEval(s.replace(/(\d)([x(])/g, '$1*$2').replace(/x/g, `(${x})`));
    const [l0, l1, r0, r1] = [side(m[1], 0n), side(m[1], 1n), side(m[2], 0n), side(m[2], 1n)];
    const slope = l1 - l0 - (r1 - r0);
    assert.ok(slope !== 0n && (r0 - l0) % slope === 0n, `${p}: no unique integer root`);
    return ((r0 - l0) / slope).toString();
  },
  'base-convert-v1': (p) => {
    const m = /^convert ([0-9a-z]+) from base (\d+) to base (\d+)$/.exec(p);
    assert.ok(m, p);
    return parseInt(m[1], Number(m[2])).toString(Number(m[3]));
  },
  'countdown-v1': (p) => {
    const m = /^make (\d+) from ([\d ]+) with \+-\*\/$/.exec(p);
    assert.ok(m, p);
    return m[1]; // the answer is an expression; the test below checks its value against this target
  },
};

let junkCache: string[] | null = null;

/** Junk completions, built once (the 1 MB noise takes a moment). */
function junkInputs(): string[] {
  if (junkCache === null) junkCache = buildJunk();
  return junkCache;
}

function buildJunk(): string[] {
  const junk = noise('numeric-junk');
  return [
    '',
    'Answer:',
    'Answer:    \n42',
    'no marker at all 42',
    junk,
    `${junk} Answer: ${junk.slice(0, 1000).replace(/\n/g, '')}`,
    'Answer: ' + 'x'.repeat(1 << 20),
    'Answer: ' + '9'.repeat(10_000),
    'Answer: -' + '1'.repeat(10_000),
    'Answer: ' + '1+'.repeat(1 << 19) + '1',
    'Answer: ' + '('.repeat(100_000) + '1' + ')'.repeat(100_000),
    'Answer: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ 日本語 \u0000 \uFFFF \uD800',
    'Answer: ５', // fullwidth digit
    'Answer: ١٢', // Arabic-Indic digits
    'Answer: NaN',
    'Answer: Infinity',
    'Answer: 1e3',
    'Answer: -0',
    'Answer: 0x1f',
    'Answer: \u00a0\u2003',
  ];
}

describe('numeric families: the shared contract', () => {
  for (const f of FAMILIES) {
    describe(f.id, () => {
      it('generates deterministically, varies with the seed, and rejects bad difficulties', () => {
        for (const d of levels(f)) {
          const prompts = new Set<string>();
          for (let s = 0; s < 20; s++) {
            assert.deepEqual(f.generate(s, d), f.generate(s, d));
            prompts.add(f.generate(s, d).prompt);
          }
          assert.ok(prompts.size >= 8, `${f.id} level ${d}: only ${prompts.size} distinct prompts in 20 seeds`);
        }
        for (const bad of [0, f.difficulty.max + 1, 1.5, Number.NaN, -1]) assert.throws(() => f.generate(0, bad), RangeError);
      });

      it('writes short ASCII prompts from which the answer follows, without the answer marker', () => {
        for (const d of levels(f))
          for (let s = 0; s < 50; s++) {
            const t = f.generate(s, d);
            assert.match(t.prompt, /^[\x20-\x7e]+$/);
            assert.ok(!t.prompt.includes('Answer:'));
            assert.ok(t.prompt.length <= 64, `${t.prompt} is ${t.prompt.length} chars`);
            if (d === f.difficulty.default) assert.ok(t.prompt.length >= 6 && t.prompt.length <= 40, t.prompt);
            const expected = FROM_PROMPT[f.id](t.prompt);
            if (f.id === 'countdown-v1') assert.equal(jsEval(t.answer).toString(), expected, t.prompt);
            else assert.equal(t.answer, expected, t.prompt);
          }
      });

      it(`solve() verifies on ${SEEDS} seeds at every difficulty`, () => {
        for (const d of levels(f))
          for (let s = 0; s < SEEDS; s++) {
            const t = f.generate(s, d);
            const v = check(f, t, f.solve(t));
            assert.equal(v.ok, true, `${t.prompt}: ${v.reason} ${v.detail ?? ''}`);
          }
      });

      it('mistake() of every kind never verifies, and the systematic one ignores the rng', () => {
        for (const d of levels(f))
          for (let s = 0; s < 60; s++) {
            const t = f.generate(s, d);
            for (const kind of f.errorKinds) {
              const wrong = f.mistake(t, kind, new Rng(s));
              assert.match(wrong, /^Answer: \S/);
              const v = check(f, t, wrong);
              assert.equal(v.ok, false, `${t.prompt}: ${kind} mistake ${wrong} verifies`);
            }
            assert.equal(f.mistake(t, 'systematic', new Rng(1)), f.mistake(t, 'systematic', new Rng(2)));
          }
        assert.throws(() => f.mistake(f.generate(0, 1), 'no-such-kind', new Rng(0)), RangeError);
      });

      it('gives junk reward 0 with a reason and never throws', () => {
        const tasks = [f.difficulty.min, f.difficulty.default, f.difficulty.max].map((d) => f.generate(3, d));
        for (const t of tasks)
          for (const junk of junkInputs()) {
            const v = check(f, t, junk);
            assert.equal(v.reward, 0, `${t.prompt} <- ${JSON.stringify(junk.slice(0, 40))}`);
            assert.equal(v.ok, false);
            assert.ok(v.reason.length > 0);
          }
      });

      it('mean stat() rises strictly with difficulty; isHard() splits the tasks', () => {
        let prev = -Infinity;
        let hard = 0;
        let total = 0;
        for (const d of levels(f)) {
          let sum = 0;
          for (let s = 0; s < 100; s++) {
            const t = f.generate(s, d);
            sum += f.stat(t);
            if (d >= f.difficulty.default) {
              total++;
              if (f.isHard(t)) hard++;
            }
          }
          assert.ok(sum / 100 > prev, `${f.id}: mean stat ${sum / 100} at level ${d} does not exceed ${prev}`);
          prev = sum / 100;
        }
        assert.ok(hard > 0 && hard < total, `${hard} of ${total} hard`);
      });

      it('passes the shared conformance suite', async () => {
        assertConformance(await checkTaskFamily(f));
      });
    });
  }
});

// ------------------------------------------------------------------ hand-written cases

function task(f: TaskFamily, prompt: string, answer: string, meta: Task['meta']): Task {
  return { env: f.id, seed: 0, difficulty: f.difficulty.default, prompt, answer, meta };
}

describe('addsub-v1 cases', () => {
  const add = task(addsub, 'add 58+67', '125', { a: 58, b: 67, op: '+' });
  const sub = task(addsub, 'sub 38-52', '-14', { a: 38, b: 52, op: '-' });

  it('grades answers exactly, liberal only in whitespace, by the last marker', () => {
    expectReasons(addsub, add, [
      ['Answer: 125', 'correct'],
      ['8+7=15, carry 1. Answer:  1 25 ', 'correct'],
      ['Answer: 1\nAnswer: 125', 'correct'],
      ['Answer: 125\nAnswer: 3', 'wrong'],
      ['Answer: 126', 'wrong'],
      ['Answer: +125', 'malformed'],
      ['Answer: 0125', 'malformed'],
      ['Answer: 125.0', 'malformed'],
      ['Answer: one hundred', 'malformed'],
      ['125', 'no_answer'],
    ]);
    expectReasons(addsub, sub, [
      ['Answer: -14', 'correct'],
      ['Answer: - 14', 'correct'],
      ['Answer: 14', 'wrong'],
      ['Answer: --14', 'malformed'],
    ]);
  });

  it('has the schoolbook blind spot on carries and borrows', () => {
    assert.equal(addsub.isHard(add), true);
    assert.equal(addsub.mistake(add, 'systematic', new Rng(0)), 'Answer: 15');
    assert.equal(addsub.mistake(task(addsub, 'sub 52-38', '14', { a: 52, b: 38, op: '-' }), 'systematic', new Rng(0)), 'Answer: 26');
    assert.equal(addsub.mistake(sub, 'sign', new Rng(0)), 'Answer: 14');
    assert.ok(['Answer: 115', 'Answer: 25'].includes(addsub.mistake(add, 'carry', new Rng(0))));
    assert.equal(addsub.isHard(task(addsub, 'add 12+34', '46', { a: 12, b: 34, op: '+' })), false);
  });
});

describe('multiplication-v1 cases', () => {
  const t = task(multiplication, 'mul 58*7', '406', { a: 58, b: 7 });

  it('grades answers exactly', () => {
    expectReasons(multiplication, t, [
      ['Answer: 406', 'correct'],
      ['Answer: 4 06', 'correct'],
      ['Answer: 405', 'wrong'],
      ['Answer: 406.', 'malformed'],
      ['Answer:', 'no_answer'],
    ]);
  });

  it('loses the carry overflow in the systematic mistake, and only on hard cases', () => {
    assert.equal(multiplication.isHard(t), true);
    assert.equal(multiplication.mistake(t, 'systematic', new Rng(0)), 'Answer: 306');
    const easy = task(multiplication, 'mul 56*7', '392', { a: 56, b: 7 }); // 6*7=42; 5*7+4=39 does not cross a ten
    assert.equal(multiplication.isHard(easy), false);
    assert.notEqual(multiplication.mistake(easy, 'systematic', new Rng(0)), 'Answer: 392');
    const twoRows = task(multiplication, 'mul 48*27', '1296', { a: 48, b: 27 });
    assert.equal(multiplication.mistake(twoRows, 'shift', new Rng(0)), `Answer: ${48 * 7 + 48 * 2}`);
  });
});

describe('countdown-v1 cases', () => {
  const t = task(countdown, 'make 24 from 3 5 7 2 with +-*/', '(5+7)*2', { numbers: [3, 5, 7, 2], target: 24, expr: '(5+7)*2' });

  it('accepts every expression that makes the target within the rules', () => {
    expectReasons(countdown, t, [
      ['Answer: (5+7)*2', 'correct'],
      ['Answer: 3*7+5-2', 'correct'],
      ['Answer: 2*(7+5)', 'correct'],
      ['Answer:  ( 5 + 7 ) * 2 ', 'correct'],
      ['Answer: ((5+7))*2', 'correct'],
      ['Answer: 5+7+2', 'wrong'],
      ['Answer: 3*(5+7)/2', 'wrong'],
      ['Answer: (5+7)+12', 'uses_unavailable_number'],
      ['Answer: (5+7)*2*1', 'uses_unavailable_number'],
      ['Answer: 3*7+3-3+5-2', 'uses_unavailable_number'],
      ['Answer: 24', 'uses_unavailable_number'],
      ['Answer: 7/2+5*3', 'bad_division'],
      ['Answer: -3+27', 'malformed'],
      ['Answer: (5+7)*2)', 'malformed'],
      ['Answer: (5+7', 'malformed'],
      ['Answer: 5+7*', 'malformed'],
      ['Answer: 5 7', 'malformed'],
      ['Answer: (5+7)x2', 'malformed'],
      ['Answer: (5+7)×2', 'malformed'],
      ['Answer: 05+19', 'malformed'],
      ['Answer: (5+7)*2=24', 'malformed'],
      ['(5+7)*2', 'no_answer'],
    ]);
  });

  it('counts repeated numbers, allows negative intermediates, requires exact division', () => {
    const dup = task(countdown, 'make 48 from 3 3 8 with +-*/', '(3+3)*8', { numbers: [3, 3, 8], target: 48, expr: '(3+3)*8' });
    expectReasons(countdown, dup, [
      ['Answer: 8*(3+3)', 'correct'],
      ['Answer: 3*8+3*8', 'uses_unavailable_number'],
      ['Answer: 3*8*(3+3)/3', 'uses_unavailable_number'],
    ]);
    const neg = task(countdown, 'make 24 from 1 1 5 7 with +-*/', '(7-1)*(5-1)', { numbers: [1, 1, 5, 7], target: 24, expr: '(7-1)*(5-1)' });
    expectReasons(countdown, neg, [['Answer: (1-7)*(1-5)', 'correct']]);
    const div = task(countdown, 'make 24 from 8 2 6 5 5 with +-*/', '8/2*6', { numbers: [8, 2, 6, 5, 5], target: 24, expr: '8/2*6' });
    expectReasons(countdown, div, [
      ['Answer: 6/2*8', 'correct'],
      ['Answer: 8*6/2', 'correct'],
      ['Answer: 2/(5-5)', 'bad_division'],
      ['Answer: 6/(8-5)*(5+2)', 'wrong'], // 14
    ]);
  });

  it('parses without eval and survives deep nesting and long chains', () => {
    assert.equal(parseExpression('('.repeat(40) + '1' + ')'.repeat(40)).ok, false);
    assert.equal(parseExpression('('.repeat(30) + '1' + ')'.repeat(30)).ok, true);
    const chain = parseExpression('1+'.repeat(499) + '1');
    assert.ok(chain.ok && chain.literals.length === 500);
    assert.equal(parseExpression('1+'.repeat(500) + '1').ok, false); // over MAX_LENGTH
    assert.equal(parseExpression('process.exit(1)').ok, false);
  });

  it('the systematic mistake drops brackets', () => {
    assert.equal(countdown.isHard(t), true);
    assert.equal(countdown.mistake(t, 'systematic', new Rng(0)), 'Answer: 5+7*2');
  });

  it('searchCountdown finds a solution for generated tasks by search alone', () => {
    for (const d of levels(countdown))
      for (let s = 0; s < 15; s++) {
        const g = countdown.generate(s, d);
        const found = searchCountdown(g.meta.numbers as number[], g.meta.target as number);
        assert.ok(found !== null, g.prompt);
        assert.equal(check(countdown, g, `Answer: ${found}`).ok, true, `${g.prompt}: ${found}`);
        assert.equal(jsEval(found).toString(), String(g.meta.target));
      }
    assert.equal(searchCountdown([2, 4], 7), null);
    assert.equal(searchCountdown([25, 50, 75, 100, 3, 6], 952) !== null, true);
  });

  it('solve() falls back to the search when the stored expression does not work', () => {
    const broken = { ...t, meta: { ...t.meta, expr: '5+7+2' } };
    const solved = countdown.solve(broken);
    assert.notEqual(solved, 'Answer: 5+7+2');
    assert.equal(check(countdown, broken, solved).ok, true, solved);
  });
});

describe('modular-v1 cases', () => {
  const t = task(modular, '(12-47) mod 9', '1', { terms: [12, 47], ops: ['-'], m: 9 });

  it('wants the least non-negative residue', () => {
    expectReasons(modular, t, [
      ['Answer: 1', 'correct'],
      ['-35 = -36 + 1. Answer: 1', 'correct'],
      ['Answer: -8', 'not_reduced'],
      ['Answer: 10', 'not_reduced'],
      ['Answer: -35', 'not_reduced'],
      ['Answer: 2', 'wrong'],
      ['Answer: 1.0', 'malformed'],
      ['Answer: 1 mod 9', 'malformed'],
    ]);
  });

  it("has C's % as its blind spot on negative values", () => {
    assert.equal(modular.isHard(t), true);
    assert.equal(modular.mistake(t, 'systematic', new Rng(0)), 'Answer: -8');
    const pos = task(modular, '(37+59*57) mod 16', '8', { terms: [37, 59, 57], ops: ['+', '*'], m: 16 });
    assert.equal(modular.isHard(pos), false);
    assert.equal(modular.mistake(pos, 'precedence', new Rng(0)), `Answer: ${((37 + 59) * 57) % 16}`);
  });
});

describe('linear-eq-v1 cases', () => {
  const t = task(linearEq, 'solve 3x-7=-19', '-4', { a: 3, b: -7, c: 0, d: -19, x: -4 });
  const both = task(linearEq, 'solve 5x+3=2x+18', '5', { a: 5, b: 3, c: 2, d: 18, x: 5 });

  it('accepts 5 and x=5 alike, checked by substitution', () => {
    expectReasons(linearEq, t, [
      ['Answer: -4', 'correct'],
      ['Answer: x=-4', 'correct'],
      ['3x = -12, so Answer: x = - 4 ', 'correct'],
      ['Answer: 4', 'wrong'],
      ['Answer: x=4', 'wrong'],
      ['Answer: x=-4.0', 'malformed'],
      ['Answer: y=-4', 'malformed'],
      ['Answer: x==-4', 'malformed'],
      ['Answer: -12/3', 'malformed'],
      ['Answer: x=\u22124', 'malformed'], // a Unicode minus sign
    ]);
    expectReasons(linearEq, both, [
      ['Answer: x=5', 'correct'],
      ['Answer: 15', 'wrong'],
    ]);
  });

  it('drops the sign of negative solutions in the systematic mistake', () => {
    assert.equal(linearEq.isHard(t), true);
    assert.equal(linearEq.mistake(t, 'systematic', new Rng(0)), 'Answer: 4');
    assert.equal(linearEq.isHard(both), false);
    assert.equal(linearEq.mistake(both, 'move', new Rng(0)), 'Answer: 7'); // 3x = 18+3
  });
});

describe('base-convert-v1 cases', () => {
  const bin = task(baseConvert, 'convert 13 from base 10 to base 2', '1101', { value: 13, from: 10, to: 2 });
  const hex = task(baseConvert, 'convert 255 from base 10 to base 16', 'ff', { value: 255, from: 10, to: 16 });
  const zero = task(baseConvert, 'convert 0 from base 10 to base 2', '0', { value: 0, from: 10, to: 2 });

  it('checks digits of the target base, any case, no prefixes or leading zeros', () => {
    expectReasons(baseConvert, bin, [
      ['Answer: 1101', 'correct'],
      ['Answer: 11 01', 'correct'],
      ['Answer: 01101', 'leading_zeros'],
      ['Answer: 0b1101', 'malformed'],
      ['Answer: 13', 'malformed'],
      ['Answer: 1011', 'wrong'],
    ]);
    expectReasons(baseConvert, hex, [
      ['Answer: ff', 'correct'],
      ['Answer: FF', 'correct'],
      ['Answer: fF', 'correct'],
      ['Answer: 0xff', 'malformed'],
      ['Answer: fg', 'malformed'],
      ['Answer: fe', 'wrong'],
      ['Answer: 255', 'wrong'],
    ]);
    expectReasons(baseConvert, zero, [
      ['Answer: 0', 'correct'],
      ['Answer: 00', 'leading_zeros'],
    ]);
  });

  it('reverses the digits in the systematic mistake', () => {
    assert.equal(baseConvert.isHard(bin), true);
    assert.equal(baseConvert.mistake(bin, 'systematic', new Rng(0)), 'Answer: 1011');
    assert.equal(baseConvert.isHard(hex), false); // a palindrome
    assert.equal(baseConvert.mistake(hex, 'letters', new Rng(0)), 'Answer: 1515');
  });
});
