// defineTaskFamily's defaults and perturbAnswer's guarantees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConformance, checkTaskFamily } from '../../src/envs/conformance.ts';
import { defineTaskFamily, perturbAnswer } from '../../src/envs/define.ts';
import { parseInteger } from '../../src/envs/answer.ts';
import { Rng } from '../../src/util/rng.ts';

const echo = defineTaskFamily({
  id: 'echo-number-v1',
  description: 'Repeat a number.',
  difficulty: { min: 1, max: 4 },
  generate(rng, digits) {
    const n = rng.range(10 ** (digits - 1), 10 ** digits - 1);
    return { prompt: `Say ${n}.`, answer: n, meta: { n } };
  },
  normalize: (t) => parseInteger(t)?.toString() ?? null,
});

test('a family of id, description, difficulty and generate passes conformance', async () => {
  assertConformance(await checkTaskFamily(echo));
});

test('defaults: task fields, difficulty default, verify, solve, error kinds, isHard, stat', async () => {
  const t = echo.generate(5, 3);
  assert.deepEqual(echo.generate(5, 3), t);
  assert.equal(t.env, 'echo-number-v1');
  assert.equal(t.seed, 5);
  assert.equal(t.difficulty, 3);
  assert.equal(t.answer, String(t.meta.n));
  assert.deepEqual(echo.difficulty, { min: 1, max: 4, default: 1 });
  assert.equal(echo.solve(t), `Answer: ${t.answer}`);
  assert.deepEqual(await echo.verify(t, `I think. Answer: ${t.answer}`), { reward: 1, ok: true, reason: 'correct' });
  assert.equal((await echo.verify(t, `Answer: 0${t.answer}`)).reason, 'malformed');
  assert.equal((await echo.verify(t, 'no idea')).reason, 'no_answer');
  assert.deepEqual(echo.errorKinds, ['slip', 'systematic']);
  assert.equal(echo.isHard(t), false);
  assert.equal(echo.isHard(echo.generate(5, 4)), true);
  assert.equal(echo.stat(t), 3);
  assert.throws(() => echo.generate(0, 5), { name: 'RangeError', message: 'echo-number-v1: difficulty must be an integer in [1, 4], got 5' });
});

test('given members replace the defaults', async () => {
  const custom = defineTaskFamily({
    ...{ id: 'c-v1', description: 'c', difficulty: { min: 1, max: 2, default: 2 } },
    generate: () => ({ prompt: 'p', answer: 'a' }),
    verify: () => ({ reward: 0, ok: false, reason: 'never' }),
    solve: () => 'S',
    isHard: () => true,
    stat: () => 42,
  });
  const t = custom.generate(0, 2);
  assert.deepEqual([await custom.verify(t, 'Answer: a'), custom.solve(t), custom.isHard(t), custom.stat(t)], [{ reward: 0, ok: false, reason: 'never' }, 'S', true, 42]);
  assert.deepEqual(t.meta, {});
});

test('defineTaskFamily rejects a spec without generate or with a bad difficulty', () => {
  const base = { id: 'x-v1', description: 'x', difficulty: { min: 1, max: 3 }, generate: () => ({ prompt: 'p', answer: 1 }) };
  assert.throws(() => defineTaskFamily({ ...base, generate: undefined as never }), /x-v1\): generate must be a function/);
  assert.throws(() => defineTaskFamily({ ...base, difficulty: { min: 3, max: 1 } }), /difficulty needs integers min <= default <= max/);
  assert.throws(() => defineTaskFamily({ ...base, difficulty: { min: 1, max: 3, default: 1.5 } }), TypeError);
  assert.throws(() => defineTaskFamily({ ...base, id: 7 as never }), /id must be a string, got 7/);
});

test('perturbAnswer never returns the answer; systematic is deterministic; integers stay well-formed', () => {
  const answers = ['0', '5', '-5', '10', '-907', '123456789012345678901234567890', 'a', 'aa', 'abc', 'aba', 'T', 'F', '3 1 2', '!!', ' ', '', 'héllo', '1,2'];
  const rng = new Rng(1);
  for (const a of answers)
    for (const kind of ['slip', 'systematic'])
      for (let i = 0; i < 30; i++) {
        const p = perturbAnswer(a, kind, rng);
        assert.notEqual(p, a, `${kind} of ${JSON.stringify(a)}`);
        if (/^-?\d+$/.test(a)) assert.notEqual(parseInteger(p), null, `${kind} of ${a} gave ${p}`);
        if (kind === 'systematic') assert.equal(p, perturbAnswer(a, kind, new Rng(i)));
      }
  assert.equal(perturbAnswer('41', 'systematic', rng), '42');
  assert.equal(perturbAnswer('abc', 'systematic', rng), 'cba');
  assert.equal(perturbAnswer('aba', 'systematic', rng), 'abaa');
});
