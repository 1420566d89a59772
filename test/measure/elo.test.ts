/**
 * The Bradley-Terry Elo fit recovers known ratings from their expected
 * scores, keeps anchors fixed, stays finite for a player that won every game
 * (virtual draws), and refuses players no game links to an anchor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedScore, fitElo, type PairResult } from '../../src/measure/elo.ts';

const TRUE: Record<string, number> = { random: 0, weak: 250, mid: 600, strong: 900 };

/** Pairs whose scores are exactly the expected scores of the true ratings, over many games. */
function exactPairs(pairs: [string, string][], games = 100_000): PairResult[] {
  return pairs.map(([a, b]) => ({ a, b, score: games * expectedScore(TRUE[a], TRUE[b]), games }));
}

test('recovers the ratings that generated the scores, anchors held fixed', () => {
  const pairs = exactPairs([['weak', 'random'], ['mid', 'weak'], ['strong', 'mid'], ['strong', 'random'], ['mid', 'random']]);
  const fit = fitElo(pairs, { random: 0 }, { virtualDraws: 0 });
  for (const n of ['weak', 'mid', 'strong']) assert.ok(Math.abs(fit.ratings[n] - TRUE[n]) < 0.5, `${n}: ${fit.ratings[n]} vs ${TRUE[n]}`);
  assert.equal(fit.ratings.random, 0);
  assert.ok(fit.stderr.mid > 0 && fit.stderr.mid < 5, `many games, small error: ${fit.stderr.mid}`);
  assert.equal(fit.stderr.random, undefined, 'anchors have no error');
  const twoAnchors = fitElo(pairs, { random: 0, strong: 1000 }, { virtualDraws: 0 });
  assert.equal(twoAnchors.ratings.strong, 1000);
  assert.ok(twoAnchors.ratings.mid > TRUE.mid, 'a higher anchor pulls the free players up');
});

test('a clean sweep stays finite thanks to virtual draws; more games widen the gap, fewer errors', () => {
  const few = fitElo([{ a: 'agent', b: 'random', score: 10, games: 10 }], { random: 0 });
  const many = fitElo([{ a: 'agent', b: 'random', score: 100, games: 100 }], { random: 0 });
  assert.ok(Number.isFinite(few.ratings.agent) && few.ratings.agent > 300);
  assert.ok(many.ratings.agent > few.ratings.agent);
  // one virtual draw each side: 10 wins of 12 games -> the rating whose expected score is 11/12
  assert.ok(Math.abs(expectedScore(few.ratings.agent, 0) - 11 / 12) < 1e-6);
});

test('ratings far from the start converge (Newton steps are damped): a real run that undamped Newton sent to NaN', () => {
  const anchors = { random: 0, greedy: 325, 'noisy:0.3': 437, 'search:2': 713, 'search:4': 734, perfect: 1024 };
  const g = (a: string, b: string, score: number): PairResult => ({ a, b, score, games: 40 });
  const pairs = [
    g('agent', 'search:2', 32.5), g('agent', 'random', 40), g('agent', 'greedy', 38), g('agent', 'search:4', 27.5), g('agent', 'noisy:0.3', 28.5), g('agent', 'perfect', 9.5),
    g('policy', 'search:2', 20), g('policy', 'random', 37), g('policy', 'greedy', 27), g('policy', 'search:4', 8), g('policy', 'noisy:0.3', 20), g('policy', 'perfect', 0),
  ];
  const fit = fitElo(pairs, anchors);
  assert.ok(fit.ratings.agent > 734 && fit.ratings.agent < 1024, `agent ${fit.ratings.agent}`);
  assert.ok(fit.ratings.policy > 325 && fit.ratings.policy < 713, `policy ${fit.ratings.policy}`);
  assert.ok(Number.isFinite(fit.stderr.agent) && Number.isFinite(fit.stderr.policy));
});

test('players not linked to an anchor by games are an error; a self-match is an error', () => {
  assert.throws(() => fitElo([{ a: 'x', b: 'y', score: 1, games: 2 }, { a: 'weak', b: 'random', score: 1, games: 2 }], { random: 0 }), /no games link x, y to an anchor/);
  assert.throws(() => fitElo([{ a: 'x', b: 'x', score: 1, games: 2 }], { random: 0 }), /cannot play itself/);
});
