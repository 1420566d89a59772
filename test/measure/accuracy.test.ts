// Accuracy aggregation of graded rollouts and Wilson intervals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracyOf, wilson, type Graded } from '../../src/measure/accuracy.ts';
import { Rng } from '../../src/util/rng.ts';

const g = (ok: boolean, difficulty: number, hard: boolean, reason = ok ? 'correct' : 'wrong', reward = ok ? 1 : 0): Graded => ({ ok, reward, reason, difficulty, hard });

test('accuracyOf splits overall, easy, hard and by difficulty, counts reasons most frequent first', () => {
  const items = [
    g(true, 1, false), g(true, 1, false), g(false, 1, false, 'no_answer'),
    g(true, 3, true), g(false, 3, true), g(false, 3, true), g(false, 2, false, 'malformed', 0.1),
  ];
  const a = accuracyOf(items);
  assert.equal(a.n, 7);
  assert.equal(a.overall, 3 / 7);
  assert.equal(a.easy, 2 / 4);
  assert.equal(a.hard, 1 / 3);
  assert.deepEqual(a.byDifficulty, { 1: 2 / 3, 2: 0, 3: 1 / 3 });
  assert.deepEqual(Object.keys(a.byDifficulty), ['1', '2', '3']);
  assert.deepEqual(Object.entries(a.reasons), [['correct', 3], ['wrong', 2], ['malformed', 1], ['no_answer', 1]]);
  assert.ok(Math.abs(a.meanReward! - 3.1 / 7) < 1e-12);
  assert.deepEqual(a.counts, { easy: 4, hard: 3, byDifficulty: { 1: 3, 2: 1, 3: 3 } });
  assert.deepEqual(a.intervals.hard, wilson(1, 3));
});

test('a group with no items is null, never NaN, and survives JSON', () => {
  const onlyEasy = accuracyOf([g(true, 1, false), g(false, 1, false)]);
  assert.equal(onlyEasy.hard, null);
  assert.equal(onlyEasy.intervals.hard, null);
  const none = accuracyOf([]);
  assert.deepEqual([none.overall, none.easy, none.hard, none.meanReward, none.intervals.overall], [null, null, null, null, null]);
  assert.deepEqual(JSON.parse(JSON.stringify(none)), none);
});

test('wilson matches the closed form at a worked value and stays in [0, 1] at the edges', () => {
  // 8 of 10: centre (0.8 + 1.9208/10) / 1.38416 = 0.71675, half-width 0.22856
  const [lo, hi] = wilson(8, 10)!;
  assert.ok(Math.abs(lo - 0.4902) < 1e-4 && Math.abs(hi - 0.9433) < 1e-4, `${lo} ${hi}`);
  const [lo0, hi0] = wilson(0, 20)!;
  assert.equal(lo0, 0);
  assert.ok(hi0 > 0.1 && hi0 < 0.2);
  assert.equal(wilson(20, 20)![1], 1);
  assert.equal(wilson(0, 0), null);
  assert.throws(() => wilson(3, 2), /0 <= k <= n/);
});

test('wilson 95% intervals cover the true rate about 95% of the time (seeded simulation)', () => {
  const rng = new Rng(7);
  const p = 0.3, n = 40, trials = 2000;
  let covered = 0;
  for (let t = 0; t < trials; t++) {
    let k = 0;
    for (let i = 0; i < n; i++) if (rng.float() < p) k++;
    const [lo, hi] = wilson(k, n)!;
    if (lo <= p && p <= hi) covered++;
  }
  assert.ok(covered / trials > 0.92 && covered / trials < 0.98, String(covered / trials));
});
