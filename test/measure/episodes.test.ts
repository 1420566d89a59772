// Multi-turn episode measures: first-attempt accuracy, recovery and its denominator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { episodeStats, type GradedEpisode } from '../../src/measure/episodes.ts';
import { wilson } from '../../src/measure/accuracy.ts';

const e = (firstOk: boolean, ok: boolean, reward: number, hard = false): GradedEpisode => ({ firstOk, ok, reward, hard });

test('recovery counts only the episodes that missed first; hard ones apart', () => {
  const s = episodeStats([e(true, true, 1), e(true, true, 1), e(false, true, 0.5, true), e(false, false, 0, true), e(false, true, 0.25), e(false, false, 0)]);
  assert.equal(s.n, 6);
  assert.equal(s.firstAttempt, 2 / 6);
  assert.deepEqual([s.missedFirst, s.recovered, s.recovery], [4, 2, 0.5]);
  assert.deepEqual(s.recoveryInterval, wilson(2, 4));
  assert.deepEqual([s.hardMissedFirst, s.hardRecovery], [2, 0.5]);
  assert.equal(s.accuracy, 4 / 6);
  assert.equal(s.meanReward, 2.75 / 6);
});

test('no miss, no recovery: null with a zero denominator, never NaN; empty input is all null', () => {
  const s = episodeStats([e(true, true, 1), e(true, true, 1)]);
  assert.deepEqual([s.firstAttempt, s.missedFirst, s.recovery, s.recoveryInterval, s.hardRecovery], [1, 0, null, null, null]);
  const none = episodeStats([]);
  assert.deepEqual([none.n, none.firstAttempt, none.recovery, none.accuracy, none.meanReward], [0, null, null, null, null]);
  assert.deepEqual(JSON.parse(JSON.stringify(none)), none);
});
