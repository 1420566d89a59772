// The conformance suite itself: passes well-behaved toy environments and
// names the contract each broken one violates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConformance, checkGame, checkMultiTurnFamily, checkTaskFamily, formatReport, type ConformanceReport } from '../../src/envs/conformance.ts';
import { CORRECT, fail } from '../../src/envs/answer.ts';
import { broken, toyEcho, toyNim, toySum, type NimState } from './toy.ts';
import type { Game, MultiTurnFamily, TextEpisode } from '../../src/envs/types.ts';
import { Rng } from '../../src/util/rng.ts';

function failed(report: ConformanceReport): string[] {
  return report.checks.filter((c) => !c.ok).map((c) => c.name);
}

test('a correct task family passes every check', async () => {
  const report = await checkTaskFamily(toySum);
  assertConformance(report);
  assert.equal(report.kind, 'task');
  assert.ok(report.checks.length >= 9, formatReport(report));
});

test('assertConformance lists the failed checks', async () => {
  const report = await checkTaskFamily(broken({ solve: () => 'Answer: -1' }));
  assert.throws(() => assertConformance(report), (err: Error) => err.name === 'AssertionError' && /reference solver/.test(err.message));
  assert.match(formatReport(report), /^FAIL {2}the reference solver verifies: seed 0, difficulty 1: solve\(\) got wrong/m);
});

const cases: [string, Parameters<typeof broken>[0], RegExp][] = [
  ['nondeterministic generate', { generate: (s, d) => ({ ...toySum.generate(s, d), meta: { t: Math.random() } }) }, /deterministic/],
  ['a task that does not survive JSON', { generate: (s, d) => ({ ...toySum.generate(s, d), meta: { x: Number.NaN } }) }, /deterministic/],
  ['the same task for every seed', { generate: (_s, d) => toySum.generate(0, d) }, /different seeds/],
  ['verify that throws on junk', { verify: (t, c) => { if (c.length > 1000) throw new Error('too long'); return toySum.verify(t, c); } }, /junk/],
  ['verify that rewards anything with an answer', { verify: (t, c) => (c.includes('Answer:') ? CORRECT : fail('no_answer')) }, /mistakes never verify|junk/],
  ['a reward outside [0, 1]', { verify: () => ({ reward: 2, ok: false, reason: 'wrong' }) }, /junk/],
  ['an empty reason', { verify: () => ({ reward: 0, ok: false, reason: '' }) }, /junk/],
  ['a mistake that is right', { mistake: (t) => `Answer: ${t.answer}` }, /mistakes never verify/],
  ['a random systematic mistake', { mistake: (t, _k, rng) => `Answer: ${Number(t.answer) + rng.range(1, 1000)}` }, /mistakes never verify/],
  ['no systematic kind', { errorKinds: ['slip'] }, /metadata/],
  ['a bad id', { id: 'ToySum' }, /metadata/],
  ['no RangeError on a bad difficulty', { generate: (s, d) => toySum.generate(s, Math.min(4, Math.max(1, Math.round(d || 1)))) }, /bad difficulty/],
  ['a flat stat', { stat: () => 3 }, /stat/],
  ['isHard always false', { isHard: () => false }, /isHard/],
  ['an async verify that never settles', { verify: () => new Promise(() => {}) }, /reference solver/],
];
for (const [what, over, expected] of cases) {
  test(`conformance catches ${what}`, async () => {
    const report = await checkTaskFamily(broken(over), { seeds: 3, statSeeds: 8, verifyTimeoutMs: 50 });
    assert.equal(report.ok, false);
    assert.ok(failed(report).some((n) => expected.test(n)), `expected a failure matching ${expected}, got:\n${formatReport(report)}`);
  });
}

test('a correct multi-turn family passes; junk that throws or never ends fails', async () => {
  assertConformance(await checkMultiTurnFamily(toyEcho));
  const throwing = {
    ...toyEcho,
    create(): TextEpisode {
      const ep = toyEcho.create();
      return { reset: ep.reset, step: (a) => { if (a.includes('\u0000')) throw new Error('NUL'); return ep.step(a); } };
    },
  };
  assert.deepEqual(failed(await checkMultiTurnFamily(throwing)), ['junk actions never throw, earn nothing, and episodes end within maxTurns']);
  const endless = { ...toyEcho, create: (): TextEpisode => ({ reset: () => 'Say 1.', step: () => ({ observation: 'more', reward: 0, done: false, info: {} }) }) };
  const names = failed(await checkMultiTurnFamily(endless));
  assert.ok(names.includes('the reference policy earns positive reward within maxTurns'), names.join('\n'));
});

/** toyEcho with a teacher: it says the wrong number (one more) with probability errorRate, or, on hard episodes (numbers from 50 up), unless right with probability hardAccuracy. */
const echoTeacher: MultiTurnFamily = {
  ...toyEcho,
  demonstrate(transcript, rng, teacher) {
    const n = Number(/(\d+)\.$/.exec(transcript[transcript.length - 1])![1]);
    const right = rng.float() < (n >= 50 ? teacher.hardAccuracy : 1 - teacher.errorRate);
    return `Answer: ${right ? n : n + 1}`;
  },
  isHard: (first) => Number(/(\d+)\.$/.exec(first)![1]) >= 50,
};

test('a multi-turn teacher: passes when deterministic, the reference at skill 1, and flawed at skill 0', async () => {
  const report = await checkMultiTurnFamily(echoTeacher);
  assertConformance(report);
  assert.ok(report.checks.some((c) => /teacher/.test(c.name)) && report.checks.some((c) => /isHard/.test(c.name)), formatReport(report));
  const teacherCheck = 'the teacher (demonstrate) is deterministic given its rng, is the reference policy at skill 1, and errs at skill 0';
  const cases: [string, Partial<MultiTurnFamily>, string, RegExp][] = [
    ['draws from Math.random', { demonstrate: (t, _rng, o) => echoTeacher.demonstrate!(t, new Rng(String(Math.random())), o) }, teacherCheck, /two teacher episodes from the same rng state differ/],
    ['errs at skill 1', { demonstrate: (t, rng) => echoTeacher.demonstrate!(t, rng, { errorRate: 0.5, hardAccuracy: 0.5 }) }, teacherCheck, /with errorRate 0 and hardAccuracy 1 the teacher played/],
    ['never errs', { demonstrate: (t) => toyEcho.solve(t) }, teacherCheck, /never errs/],
    ['throws', { demonstrate: () => { throw new Error('no teacher today'); } }, teacherCheck, /threw Error: no teacher today/],
    ['a constant isHard', { isHard: () => false }, 'isHard gives a boolean, true for some episodes and false for others', /false for all \d+ episodes/],
    ['an isHard that is not a boolean', { isHard: () => 1 as unknown as boolean }, 'isHard gives a boolean, true for some episodes and false for others', /returned number, not a boolean/],
  ];
  for (const [what, over, check, message] of cases) {
    const r = await checkMultiTurnFamily({ ...echoTeacher, ...over });
    assert.deepEqual(failed(r), [check], `${what}:\n${formatReport(r)}`);
    assert.match(r.checks.find((c) => c.name === check)!.message, message, what);
  }
});

test('a correct game passes; an unguarded play() and a lossy key() fail', async () => {
  assertConformance(await checkGame(toyNim));
  const lax: Game<NimState> = { ...toyNim, play: (s, m) => ({ heap: Math.max(0, s.heap - m - 1), toMove: s.toMove === 0 ? 1 : 0 }) };
  assert.deepEqual(failed(await checkGame(lax)), ['play() throws RangeError on an illegal move']);
  const lossy: Game<NimState> = { ...toyNim, key: (s) => String(s.toMove) };
  assert.deepEqual(failed(await checkGame(lossy)), ['key() distinguishes different states']);
  const badShape: Game<NimState> = { ...toyNim, encodingShape: [2, 3] };
  assert.match(failed(await checkGame(badShape)).join(), /encode/);
});
