// The built-in multi-turn environments: their rewards, observations and
// reference policies, beyond what the conformance suite checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConformance, checkMultiTurnFamily } from '../../src/envs/conformance.ts';
import { MULTITURN_FAMILIES } from '../../src/envs/multiturn/index.ts';
import { guessNumber } from '../../src/envs/multiturn/guess_number.ts';
import { retryArith } from '../../src/envs/multiturn/retry_arith.ts';
import { calcTool, calculate } from '../../src/envs/multiturn/calc_tool.ts';
import type { MultiTurnFamily, StepResult } from '../../src/envs/types.ts';
import { Rng } from '../../src/util/rng.ts';

/** Plays the reference policy; returns the transcript and the final step. */
function playReference(family: MultiTurnFamily, seed: number, difficulty?: number): { transcript: string[]; last: StepResult; actions: number } {
  const ep = family.create();
  const transcript = [ep.reset(seed, difficulty)];
  for (let turn = 1; ; turn++) {
    const action = family.solve(transcript);
    transcript.push(action);
    const r = ep.step(action);
    if (r.done) return { transcript, last: r, actions: turn };
    transcript.push(r.observation);
  }
}

for (const family of MULTITURN_FAMILIES) {
  test(`${family.id} passes conformance`, async () => {
    assertConformance(await checkMultiTurnFamily(family));
  });
}

test('guess-number: binary search finds 1..1000 within 10 guesses; reward falls with guesses', () => {
  for (let seed = 0; seed < 60; seed++) {
    const { last, actions } = playReference(guessNumber, seed, 5);
    assert.equal(last.info.reason, 'correct');
    assert.ok(actions <= 10, `seed ${seed}: ${actions} guesses`);
    assert.equal(last.reward, 1 - (0.5 * (actions - 1)) / 11);
  }
});

test('guess-number: higher/lower observations, invalid guesses, running out of turns', () => {
  const ep = guessNumber.create();
  assert.match(ep.reset(3, 1), /from 1 to 10\./);
  const obs = Array.from({ length: 10 }, (_, i) => ep.step(`Answer: ${i + 1}`));
  const hit = obs.findIndex((r) => r.done);
  assert.ok(hit >= 0);
  assert.deepEqual(obs.slice(0, hit).map((r) => r.observation), Array(hit).fill('higher'));
  assert.equal(obs[hit].reward, 1 - (0.5 * hit) / 11);
  assert.deepEqual(ep.step('Answer: 1'), { observation: '', reward: 0, done: true, info: { reason: 'episode_over' } });

  ep.reset(3, 5);
  assert.equal(ep.step('I guess five hundred').observation, 'invalid: reply with "Answer: <integer>"');
  assert.equal(ep.step('Answer: 1001').observation, 'lower');
  let r: StepResult | undefined;
  for (let i = 0; i < 10; i++) r = ep.step('Answer: 0');
  assert.deepEqual(r, { observation: '', reward: 0, done: true, info: { reason: 'out_of_turns', guesses: 12 } });
});

test('retry-arith: a wrong answer gets "wrong, try again" and a second chance for half the reward', () => {
  const first = playReference(retryArith, 11, 3);
  assert.equal(first.last.reward, 1);
  const right = first.transcript[1];
  const ep = retryArith.create();
  assert.equal(ep.reset(11, 3), first.transcript[0]);
  assert.deepEqual(ep.step('Answer: 1'), { observation: 'wrong, try again', reward: 0, done: false, info: { reason: 'wrong', attempt: 1 } });
  assert.deepEqual(ep.step(right), { observation: '', reward: 0.5, done: true, info: { reason: 'correct', attempt: 2 } });
  ep.reset(11, 3);
  ep.step('no idea');
  ep.step('Answer: 1');
  assert.deepEqual(ep.step(right), { observation: '', reward: 0.25, done: true, info: { reason: 'correct', attempt: 3 } });
  ep.reset(11, 3);
  const misses = [ep.step('Answer: 1'), ep.step('Answer: 2'), ep.step('Answer: 3')];
  assert.deepEqual(misses.map((m) => [m.reward, m.done]), [[0, false], [0, false], [0, true]]);
});

test('calculate: precedence, parentheses, unary minus; errors are values', () => {
  assert.deepEqual(calculate('2 + 3 * 4'), { ok: true, value: 14n });
  assert.deepEqual(calculate('(2 + 3) * -4 - -1'), { ok: true, value: -19n });
  assert.deepEqual(calculate('123456789 * 987654321'), { ok: true, value: 121932631112635269n });
  for (const bad of ['', '2 +', '(1', '1)', '2 / 3', 'x', '('.repeat(30) + '1' + ')'.repeat(30), '9'.repeat(61), '1+'.repeat(150) + '1', '\uD800']) {
    const r = calculate(bad);
    assert.equal(r.ok, false, bad.slice(0, 20));
  }
  assert.deepEqual(calculate(`${'9'.repeat(40)} * ${'9'.repeat(40)}`), { ok: false, error: 'result too large' });
});

test('calc-tool: the tool result comes back as the observation; a right answer earns 1', () => {
  const { transcript, last, actions } = playReference(calcTool, 5, 4);
  assert.equal(actions, 2);
  assert.match(transcript[1], /^calc: [\d()+*\- ]+$/);
  const expr = transcript[1].slice('calc:'.length);
  const value = calculate(expr);
  assert.ok(value.ok);
  assert.equal(transcript[2], `= ${value.value}`);
  assert.deepEqual(last, { observation: '', reward: 1, done: true, info: { reason: 'correct', turns: 2 } });

  const ep = calcTool.create();
  ep.reset(5, 4);
  assert.equal(ep.step('calc: 2 +').observation, 'calc error: unexpected end');
  assert.match(ep.step('hmm').observation, /^reply "calc: <expression>"/);
  assert.deepEqual(ep.step(`Answer: ${value.value + 1n}`), { observation: '', reward: 0, done: true, info: { reason: 'wrong', turns: 3 } });
});

test('retry-arith teacher: hard = a negative result; it drops the minus sign unless right (p = hardAccuracy), afresh at every attempt', () => {
  const teacher = { errorRate: 0.1, hardAccuracy: 0.3 };
  let hard = 0, hardFirstRight = 0, hardMissed = 0, hardSecondRight = 0, hardRepeats = 0, easy = 0, easyFirstWrong = 0;
  for (let seed = 0; seed < 3000; seed++) {
    const ep = retryArith.create();
    const first = ep.reset(seed, 1);
    const m = /Compute (\d+) ([+*-]) (\d+)\./.exec(first)!;
    const answer = m[2] === '+' ? +m[1] + +m[3] : m[2] === '-' ? +m[1] - +m[3] : +m[1] * +m[3];
    assert.equal(retryArith.isHard!(first), answer < 0);
    const rng = new Rng(`t:${seed}`);
    const a1 = retryArith.demonstrate!([first], rng, teacher);
    const a2 = retryArith.demonstrate!([first, a1, 'wrong, try again'], rng, teacher);
    if (answer < 0) {
      hard++;
      if (a1 === `Answer: ${answer}`) hardFirstRight++;
      else {
        assert.equal(a1, `Answer: ${-answer}`, `seed ${seed}: the systematic mistake drops the sign`);
        hardMissed++;
        if (a2 === `Answer: ${answer}`) hardSecondRight++;
        else if (a2 === a1) hardRepeats++;
      }
    } else {
      easy++;
      if (a1 !== `Answer: ${answer}`) easyFirstWrong++;
    }
  }
  assert.ok(hard > 300 && easy > 2000, `${hard} hard, ${easy} easy`);
  const near = (x: number, p: number, n: number, what: string): void => assert.ok(Math.abs(x - p) < 3.5 * Math.sqrt((p * (1 - p)) / n), `${what}: ${x}, expected about ${p}`);
  near(hardFirstRight / hard, 0.3, hard, 'right first on hard');
  near(hardSecondRight / hardMissed, 0.3, hardMissed, 'right second on hard after a miss');
  assert.equal(hardRepeats, hardMissed - hardSecondRight, 'a wrong second attempt on a hard case repeats the first');
  near(easyFirstWrong / easy, 0.1, easy, 'slips on easy');
});

test('guess-number teacher: on 1..1000 its off-by-one bisection costs guesses unless right (hardAccuracy); elsewhere it slips to a guess the hints allow', () => {
  const meanGuesses = (difficulty: number, teacher: { errorRate: number; hardAccuracy: number }): number => {
    let guesses = 0;
    for (let seed = 0; seed < 200; seed++) {
      const ep = guessNumber.create();
      const transcript = [ep.reset(seed, difficulty)];
      const rng = new Rng(`t:${seed}`);
      let lo = 1, hi = Number(/from 1 to (\d+)/.exec(transcript[0])![1]);
      for (;;) {
        const action = guessNumber.demonstrate!(transcript, rng, teacher);
        const g = Number(action.slice('Answer: '.length));
        if (difficulty < 5) assert.ok(g >= lo && g <= hi, `seed ${seed}: the guess ${g} is outside what the hints allow, ${lo}..${hi}`); // on 1..1000 the blind spot guesses ruled-out numbers
        const r = ep.step(action);
        transcript.push(action, r.observation);
        guesses++;
        if (r.done) break;
        if (r.observation === 'higher') lo = g + 1;
        else hi = g - 1;
      }
    }
    return guesses / 200;
  };
  assert.equal(guessNumber.isHard!(guessNumber.create().reset(0, 5)), true);
  assert.equal(guessNumber.isHard!(guessNumber.create().reset(0, 4)), false);
  const perfect = meanGuesses(5, { errorRate: 0, hardAccuracy: 1 }), blind = meanGuesses(5, { errorRate: 0, hardAccuracy: 0.3 });
  assert.ok(blind > perfect + 0.5, `hard: ${perfect} guesses bisecting, ${blind} with the off-by-one`);
  assert.equal(meanGuesses(5, { errorRate: 1, hardAccuracy: 1 }), perfect, 'slips do not strike on hard ranges');
  const sloppy = meanGuesses(3, { errorRate: 0.5, hardAccuracy: 0 });
  assert.ok(sloppy > meanGuesses(3, { errorRate: 0, hardAccuracy: 0 }) + 0.5, `easy: slips cost guesses (${sloppy})`);
});
