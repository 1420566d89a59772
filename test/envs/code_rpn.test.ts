// code-rpn-v1: the stack language's semantics, grading (any program that
// computes the formula passes), the left-to-right blind spot, conformance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codeRpn, parseRpn, runRpn } from '../../src/envs/code/rpn.ts';
import { assertConformance, checkTaskFamily } from '../../src/envs/conformance.ts';
import type { Task } from '../../src/envs/types.ts';
import { Rng } from '../../src/util/rng.ts';

function run(program: string, x = 5, y = 3) {
  const p = parseRpn(program, ['x', 'y']);
  assert.ok('tokens' in p, `parse failed on ${program}`);
  return runRpn(p.tokens, ['x', 'y'], [x, y]);
}

test('each op does what the prompt says', () => {
  assert.deepEqual(run('x y -'), { ok: true, value: 2 }); // pop b, pop a, push a - b
  assert.deepEqual(run('x y swap -'), { ok: true, value: -2 });
  assert.deepEqual(run('x dup *'), { ok: true, value: 25 });
  assert.deepEqual(run('x y over * +'), { ok: true, value: 20 }); // x y x -> x (y*x) -> x + y*x
  assert.deepEqual(run('x y drop -4 +'), { ok: true, value: 1 });
});

test('stack errors, unknown tokens and overflow are reported', () => {
  assert.equal((run('x +') as { reason: string }).reason, 'stack_underflow');
  assert.equal((run('x y') as { reason: string }).reason, 'stack_error');
  assert.equal((run('x drop') as { reason: string }).reason, 'stack_error');
  assert.deepEqual(parseRpn('x z +', ['x', 'y']), { bad: 'z' });
  assert.deepEqual(parseRpn('x 1e3 +', ['x', 'y']), { bad: '1e3' });
  const big = `${'999999999 '.repeat(3)}* *`;
  assert.equal((run(big) as { reason: string }).reason, 'overflow');
});

/** The first task (by seed) whose formula matches. */
function find(difficulty: number, pred: (t: Task) => boolean): Task {
  for (let seed = 0; seed < 500; seed++) {
    const t = codeRpn.generate(seed, difficulty);
    if (pred(t)) return t;
  }
  throw new Error('no such task');
}

test('any program computing the formula passes; partial ones get partial credit', async () => {
  // A hand-made task: f(x, y) = x + y on two input pairs.
  const tests = [{ inputs: [1, 1], expected: 2 }, { inputs: [2, 3], expected: 5 }];
  const t: Task = { env: 'code-rpn-v1', seed: 0, difficulty: 2, prompt: '', answer: 'x y +', meta: { vars: ['x', 'y'], formula: 'x + y', naive: 'x y +', tests } };
  const grade = async (c: string) => await codeRpn.verify(t, c);
  assert.deepEqual(await grade('Answer: y x +'), { reward: 1, ok: true, reason: 'correct' });
  assert.deepEqual(await grade('Answer: x y over drop swap + 0 +'), { reward: 1, ok: true, reason: 'correct' });
  const half = await grade('Answer: x x +'); // right only where x = y
  assert.deepEqual([half.reward, half.reason], [0.5, 'wrong']);
  assert.equal((await grade('x y +')).reason, 'no_answer');
  assert.equal((await grade('Answer: x y plus')).reason, 'malformed');
  assert.equal((await grade(`Answer: ${'x '.repeat(300)}`)).reason, 'too_long');
  assert.equal((await grade('Answer: x y + x')).reason, 'stack_error');
});

test('hard tasks are those the left-to-right reading gets wrong, and the systematic mistake is that reading', async () => {
  const hard = find(3, (t) => codeRpn.isHard(t));
  const naive = hard.meta.naive as string;
  assert.equal(codeRpn.mistake(hard, 'systematic', new Rng(1)), `Answer: ${naive}`);
  assert.equal((await codeRpn.verify(hard, `Answer: ${naive}`)).ok, false);
  const easy = find(3, (t) => !codeRpn.isHard(t));
  assert.equal((await codeRpn.verify(easy, `Answer: ${easy.meta.naive as string}`)).ok, true);
});

test('code-rpn-v1 passes the shared conformance suite', async () => {
  assertConformance(await checkTaskFamily(codeRpn));
});
