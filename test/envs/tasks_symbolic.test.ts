/**
 * Tests for the symbolic task families: sort, string transforms, count/parity,
 * boolean expressions, shortest path and 4x4 sudoku. A shared block runs the
 * contract over every family (determinism, reference solver, mistakes, junk
 * input, difficulty statistic); hand-written cases per family follow.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Task, TaskFamily } from '../../src/envs/types.ts';
import { Rng } from '../../src/util/rng.ts';
import { assertConformance, checkTaskFamily } from '../../src/envs/conformance.ts';
import { sorting } from '../../src/envs/tasks/sorting.ts';
import { stringTransform } from '../../src/envs/tasks/string_transform.ts';
import { countParity } from '../../src/envs/tasks/count_parity.ts';
import { boolExpr, evalExpr, parseBoolExpr, printExpr } from '../../src/envs/tasks/bool_expr.ts';
import { shortestPath } from '../../src/envs/tasks/shortest_path.ts';
import { sudoku4 } from '../../src/envs/tasks/sudoku4.ts';
import { check, levels, noise } from './task_helpers.ts';

const FAMILIES: TaskFamily[] = [sorting, stringTransform, countParity, boolExpr, shortestPath, sudoku4];
const SEEDS = 200;


function junkInputs(): string[] {
  const junk = noise('junk');
  return [
    '',
    'Answer:',
    'Answer:    \n',
    'no marker at all',
    junk,
    `${junk} Answer: ${junk.slice(0, 1000).replace(/\n/g, '')}`,
    'Answer: ' + 'x'.repeat(1 << 20),
    'Answer: ' + 'A'.repeat(1 << 20),
    'Answer: ' + '1 '.repeat(1 << 19),
    'Answer: ' + '9'.repeat(10_000),
    'Answer: -' + '1'.repeat(10_000),
    'Answer: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ 日本語 \u0000 \uFFFF \uD800',
    'Answer: Ｔ',
    'Answer: NaN',
    'Answer: 1e3',
    'Answer: -0',
    'Answer: \u00a0\u2003',
  ];
}

describe('symbolic families: the shared contract', () => {
  for (const f of FAMILIES) {
    describe(f.id, () => {
      it('passes the shared conformance suite', async () => {
        assertConformance(await checkTaskFamily(f));
      });

      it('has a versioned id, a description and a sane difficulty range', () => {
        assert.match(f.id, /^[a-z0-9-]+-v\d+$/);
        assert.ok(f.description.length > 0 && !f.description.includes('\n'));
        const { min, max, default: def } = f.difficulty;
        assert.ok(min === 1 && max >= 5 && max <= 8 && min <= def && def <= max, JSON.stringify(f.difficulty));
        assert.equal(f.errorKinds.includes('systematic'), true);
      });

      it('generates deterministically and varies with the seed', () => {
        for (const d of levels(f)) {
          const prompts = new Set<string>();
          for (let s = 0; s < 20; s++) {
            assert.deepEqual(f.generate(s, d), f.generate(s, d));
            prompts.add(f.generate(s, d).prompt);
          }
          assert.ok(prompts.size >= 10, `${f.id} level ${d}: only ${prompts.size} distinct prompts in 20 seeds`);
        }
      });

      it('throws RangeError on a bad difficulty', () => {
        const { min, max } = f.difficulty;
        for (const bad of [min - 1, max + 1, 1.5, Number.NaN, Infinity]) {
          assert.throws(() => f.generate(0, bad), RangeError, `difficulty ${bad}`);
        }
      });

      it('writes short ASCII prompts without the answer marker', () => {
        for (const d of levels(f)) {
          for (let s = 0; s < 50; s++) {
            const t = f.generate(s, d);
            assert.match(t.prompt, /^[\x20-\x7e]+$/);
            assert.ok(!t.prompt.includes('Answer:'));
            assert.ok(t.prompt.length <= 80, `${f.id} level ${d}: prompt of ${t.prompt.length} chars`);
            if (d === f.difficulty.default) assert.ok(t.prompt.length <= 45, t.prompt);
          }
        }
      });

      it('solve() verifies on 200 seeds at every difficulty, also after a JSON round trip', () => {
        for (const d of levels(f)) {
          for (let s = 0; s < SEEDS; s++) {
            const t = f.generate(s, d);
            const completion = f.solve(t);
            assert.deepEqual(check(f, t, completion), { reward: 1, ok: true, reason: 'correct' }, `${t.prompt} ${completion}`);
            assert.equal(completion, `Answer: ${t.answer}`);
            assert.equal(check(f, JSON.parse(JSON.stringify(t)) as Task, completion).ok, true);
          }
        }
      });

      it('mistake() of every kind never verifies; systematic ignores the rng', () => {
        for (const d of levels(f)) {
          for (let s = 0; s < SEEDS; s++) {
            const t = f.generate(s, d);
            for (const kind of f.errorKinds) {
              const wrong = f.mistake(t, kind, new Rng(s));
              const v = check(f, t, wrong);
              assert.equal(v.ok, false, `${f.id} ${kind}: ${t.prompt} -> ${wrong}`);
              assert.equal(v.reward, 0);
              assert.notEqual(v.reason, 'no_answer', `${f.id} ${kind}: ${wrong}`);
            }
            assert.equal(f.mistake(t, 'systematic', new Rng(1)), f.mistake(t, 'systematic', new Rng(2)));
          }
        }
        assert.throws(() => f.mistake(f.generate(0, 1), 'no-such-kind', new Rng(0)), RangeError);
      });

      it('gives reward 0 with a reason on junk, without throwing', () => {
        const junk = junkInputs();
        for (const d of [f.difficulty.min, f.difficulty.max]) {
          const t = f.generate(7, d);
          for (const j of junk) {
            const v = check(f, t, j);
            assert.equal(v.reward, 0, `${f.id}: ${JSON.stringify(j.slice(0, 40))}`);
            assert.equal(v.ok, false);
            assert.ok(v.reason.length > 0);
          }
          assert.equal(check(f, t, '').reason, 'no_answer');
          assert.equal(check(f, t, 'Answer:   ').reason, 'no_answer');
          assert.equal(check(f, t, 'Answer: 𝔘𝔫𝔦 ✓').reason, 'malformed');
          assert.equal(check(f, t, 'Answer: ' + '9'.repeat(10_000)).reason, 'malformed');
        }
      });

      it('stat() rises strictly with difficulty, and hard cases exist', () => {
        let previous = -Infinity;
        let hard = 0;
        for (const d of levels(f)) {
          let sum = 0;
          for (let s = 0; s < 100; s++) {
            const t = f.generate(s, d);
            sum += f.stat(t);
            if (f.isHard(t)) hard++;
          }
          assert.ok(sum / 100 > previous, `${f.id}: mean stat ${sum / 100} at level ${d} after ${previous}`);
          previous = sum / 100;
        }
        assert.ok(hard > 0 && hard < 100 * levels(f).length, `${f.id}: ${hard} hard tasks`);
      });
    });
  }
});

/** A hand-made task; verify() reads only env and meta. */
function task(env: string, meta: Task['meta']): Task {
  return { env, seed: 0, difficulty: 1, prompt: '', answer: '', meta };
}

function reasons(f: TaskFamily, t: Task, cases: [string, string][]): void {
  for (const [answer, reason] of cases) {
    assert.equal(check(f, t, answer).reason, reason, `${f.id}: ${JSON.stringify(answer)}`);
  }
}

describe('sort-v1', () => {
  const t = task('sort-v1', { values: [3, 1, 2, 1] });
  it('grades hand-written completions', () => {
    reasons(sorting, t, [
      ['Answer: 1 1 2 3', 'correct'],
      ['Answer:  1   1\t2 3  ', 'correct'],
      ['I think Answer: 3 2 1 1\nno wait. Answer: 1 1 2 3', 'correct'],
      ['Answer: 1 2 1 3', 'not_sorted'],
      ['Answer: 1 2 3', 'wrong'],
      ['Answer: 1 1 2 3 4', 'wrong'],
      ['Answer: 1,1,2,3', 'malformed'],
      ['Answer: 01 1 2 3', 'malformed'],
      ['1 1 2 3', 'no_answer'],
    ]);
  });
  it('collapses duplicates as its systematic mistake', () => {
    assert.equal(sorting.mistake(t, 'systematic', new Rng(0)), 'Answer: 1 2 3');
    assert.equal(sorting.isHard(t), true);
    assert.equal(sorting.isHard(task('sort-v1', { values: [3, 1, 2] })), false);
  });
  it('prompts and answers in the documented format', () => {
    const g = sorting.generate(3, 2);
    assert.match(g.prompt, /^sort( \d){5}$/);
    assert.equal(g.answer, g.prompt.slice(5).split(' ').map(Number).sort((a, b) => a - b).join(' '));
  });
});

describe('string-transform-v1', () => {
  const ev = (input: string, ops: string[]): string => stringTransform.solve(task('string-transform-v1', { input, ops }));
  it('applies each op as documented, left to right', () => {
    assert.equal(ev('abCde', ['rev']), 'Answer: edCba');
    assert.equal(ev('abcde', ['rotl2']), 'Answer: cdeab');
    assert.equal(ev('abcde', ['rotr1']), 'Answer: eabcd');
    assert.equal(ev('bAnAna', ['devowel']), 'Answer: bnn');
    assert.equal(ev('aBc', ['swapcase']), 'Answer: AbC');
    assert.equal(ev('abcde', ['rotl2', 'upper']), 'Answer: CDEAB');
    assert.equal(ev('abcde', ['rev', 'rotl1']), 'Answer: dcbae');
  });
  it('grades hand-written completions', () => {
    const t = task('string-transform-v1', { input: 'abCde', ops: ['rev'] });
    reasons(stringTransform, t, [
      ['Answer: edCba', 'correct'],
      ['Answer: e d C b a', 'correct'],
      ['Answer: EDCBA', 'wrong_case'],
      ['Answer: edCb', 'wrong'],
      ['Answer: ed-Cba', 'malformed'],
      ['Answer: "edCba"', 'malformed'],
    ]);
  });
  it('rotates the wrong way as its systematic mistake', () => {
    const t = task('string-transform-v1', { input: 'abcde', ops: ['rotl2', 'rev'] });
    assert.equal(stringTransform.solve(t), 'Answer: baedc');
    assert.equal(stringTransform.mistake(t, 'systematic', new Rng(0)), 'Answer: cbaed');
    assert.equal(stringTransform.isHard(t), true);
    assert.equal(stringTransform.isHard(task('string-transform-v1', { input: 'abc', ops: ['upper'] })), false);
  });
});

describe('count-parity-v1', () => {
  const count = task('count-parity-v1', { kind: 'count', symbol: 'b', seq: 'abbcab' });
  const parity = task('count-parity-v1', { kind: 'parity', symbol: '1', seq: '1101001' });
  it('grades counts', () => {
    reasons(countParity, count, [
      ['Answer: 3', 'correct'],
      ['Answer: 2', 'wrong'],
      ['Answer: 03', 'malformed'],
      ['Answer: three', 'malformed'],
      ['Answer: odd', 'malformed'],
    ]);
  });
  it('grades parities in any letter case', () => {
    reasons(countParity, parity, [
      ['Answer: even', 'correct'],
      ['Answer: EVEN', 'correct'],
      ['Answer: odd', 'wrong'],
      ['Answer: 0', 'malformed'],
      ['Answer: 4', 'malformed'],
    ]);
  });
  it('counts runs instead of symbols as its systematic mistake', () => {
    assert.equal(countParity.mistake(count, 'systematic', new Rng(0)), 'Answer: 2');
    assert.equal(countParity.mistake(parity, 'systematic', new Rng(0)), 'Answer: odd');
    assert.equal(countParity.isHard(count), true);
    assert.equal(countParity.isHard(task('count-parity-v1', { kind: 'count', symbol: 'b', seq: 'abcab' })), false);
  });
});

describe('bool-expr-v1', () => {
  const t = task('bool-expr-v1', { expr: '(T xor F) and not T' });
  it('accepts the documented spellings', () => {
    reasons(boolExpr, t, [
      ['Answer: F', 'correct'],
      ['Answer: f', 'correct'],
      ['Answer: false', 'correct'],
      ['Answer: FALSE', 'correct'],
      ['Answer: 0', 'correct'],
      ['Answer: T', 'wrong'],
      ['Answer: true', 'wrong'],
      ['Answer: 1', 'wrong'],
      ['Answer: maybe', 'malformed'],
      ['Answer: F.', 'malformed'],
    ]);
  });
  it('parses with the usual precedence: not > and > xor > or', () => {
    const value = (s: string): boolean => evalExpr(parseBoolExpr(s));
    assert.equal(value('F and T or T'), true);
    assert.equal(value('T or T and F'), true);
    assert.equal(value('not F and F'), false);
    assert.equal(value('T xor T or T'), true);
    assert.equal(value('T or T xor T'), true);
    assert.equal(value('F xor T and F'), false);
    assert.equal(value('not not (T xor (F or T))'), false);
    for (const bad of ['', 'T and', '(T', 'T T', 'T nand F', 'T)']) assert.throws(() => parseBoolExpr(bad), SyntaxError, bad);
  });
  it('prints what it parses, and generated prompts parse to their answer', () => {
    for (let s = 0; s < 100; s++) {
      const g = boolExpr.generate(s, 1 + (s % 7));
      assert.equal(printExpr(parseBoolExpr(g.prompt)), g.prompt);
      assert.equal(evalExpr(parseBoolExpr(g.prompt)) ? 'T' : 'F', g.answer);
    }
  });
  it('reads xor as or as its blind spot', () => {
    assert.equal(boolExpr.isHard(task('bool-expr-v1', { expr: 'T xor T' })), true);
    assert.equal(boolExpr.isHard(task('bool-expr-v1', { expr: 'T xor F' })), false);
    assert.equal(boolExpr.mistake(t, 'systematic', new Rng(0)), 'Answer: T');
  });
});

describe('shortest-path-v1', () => {
  // Two shortest paths of length 3 (A B D and A C D); the direct edge A D has length 5.
  const edges = [['A', 'B', 1], ['B', 'D', 2], ['A', 'C', 2], ['C', 'D', 1], ['A', 'D', 5]];
  const t = task('shortest-path-v1', { edges, from: 'A', to: 'D' });
  it('accepts every shortest path and names what is wrong with the rest', () => {
    reasons(shortestPath, t, [
      ['Answer: A B D', 'correct'],
      ['Answer: A C D', 'correct'],
      ['Answer: ACD', 'correct'],
      ['Answer: A D', 'not_shortest'],
      ['Answer: A B D A C D', 'not_shortest'],
      ['Answer: A B C D', 'not_a_path'],
      ['Answer: B D', 'not_a_path'],
      ['Answer: A B', 'not_a_path'],
      ['Answer: A Z D', 'not_a_path'],
      ['Answer: A', 'not_a_path'],
      ['Answer: a b d', 'malformed'],
      ['Answer: A-B-D', 'malformed'],
    ]);
  });
  it('takes the fewest-hop path as its systematic mistake', () => {
    assert.equal(shortestPath.isHard(t), true);
    assert.equal(shortestPath.mistake(t, 'systematic', new Rng(0)), 'Answer: A D');
    const easy = task('shortest-path-v1', { edges: [['A', 'B', 1], ['B', 'C', 1], ['A', 'C', 3]], from: 'A', to: 'B' });
    assert.equal(shortestPath.isHard(easy), false);
  });
  it('writes the graph it verifies against', () => {
    const g = shortestPath.generate(5, 3);
    assert.match(g.prompt, /^path [A-F] to [A-F]:( [A-F]{2}[1-9]){8}$/);
    const listed = g.prompt.split(': ')[1].split(' ');
    assert.deepEqual(listed, (g.meta.edges as [string, string, number][]).map(([u, v, w]) => `${u}${v}${w}`));
  });
});

describe('sudoku4-v1', () => {
  const solved = '1234341221434321';
  it('checks givens and constraints, not equality with one solution', () => {
    const open = task('sudoku4-v1', { puzzle: '.'.repeat(16) });
    reasons(sudoku4, open, [
      [`Answer: ${solved}`, 'correct'],
      ['Answer: 2143432112343412', 'correct'],
      ['Answer: 1234/3412/2143/4321', 'correct'],
      ['Answer: 1234 3412 2143 4321', 'correct'],
      ['Answer: 1234341221434312', 'constraint_violated'],
      ['Answer: 1234123412341234', 'constraint_violated'],
      ['Answer: 123434122143432', 'malformed'],
      ['Answer: 1234341221434325', 'malformed'],
      ['Answer: 1234-3412-2143-4321', 'malformed'],
    ]);
    const given = task('sudoku4-v1', { puzzle: '1...........4...' });
    reasons(sudoku4, given, [
      ['Answer: 1234341221434321', 'correct'],
      ['Answer: 1234341243212143', 'givens_changed'],
    ]);
  });
  it('generates puzzles with exactly the level\'s blanks and one solution', () => {
    for (const [d, blanks] of [[1, 4], [2, 6], [6, 12]]) {
      const g = sudoku4.generate(11, d);
      assert.equal((g.meta.puzzle as string).split('.').length - 1, blanks);
      assert.match(g.prompt, /^sudoku [1-4.]{4}(\/[1-4.]{4}){3}$/);
      assert.equal(g.answer.length, 16);
    }
  });
  it('forgets the box rule as its blind spot', () => {
    let hard: Task | undefined;
    for (let s = 0; hard === undefined; s++) if (sudoku4.isHard(sudoku4.generate(s, 6))) hard = sudoku4.generate(s, 6);
    const wrong = sudoku4.mistake(hard, 'systematic', new Rng(0));
    assert.equal(check(sudoku4, hard, wrong).reason, 'constraint_violated');
  });
});
