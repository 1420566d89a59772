/** Tallies, solver-move accuracy (trivial positions left out) and value accuracy with a draw band. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { solverAccuracy, tally, valueAccuracy, valueClass } from '../../src/measure/games.ts';

test('tally counts wins, draws and losses and scores them 1, 1/2, 0', () => {
  const t = tally([1, 1, 0.5, 0, 1]);
  assert.deepEqual({ w: t.wins, d: t.draws, l: t.losses, n: t.games }, { w: 3, d: 1, l: 1, n: 5 });
  assert.equal(t.score, 0.7);
  assert.ok(t.stderr > 0.15 && t.stderr < 0.25);
  assert.ok(Number.isNaN(tally([]).score));
  assert.throws(() => tally([0.3]), /must be 0, 0.5 or 1/);
});

test('solver accuracy counts only positions where some move loses the value', () => {
  const legal = [[0, 1, 2], [0, 1, 2], [0, 1], [3, 4]];
  const keeps = [[1], [0, 2], [0, 1], [4]]; // the third position: every move keeps the value
  assert.deepEqual(solverAccuracy([1, 1, 0, 3], keeps, legal), { accuracy: 1 / 3, positions: 3 });
  assert.deepEqual(solverAccuracy([1, 2, 1, 4], keeps, legal), { accuracy: 1, positions: 3 });
  assert.throws(() => solverAccuracy([1], keeps, legal), /1 moves, 4 labels/);
});

test('value accuracy compares the predicted class (win / draw band / loss) with the exact value', () => {
  assert.equal(valueClass(0.2, 1 / 3), 0);
  assert.equal(valueClass(-0.9, 1 / 3), -1);
  assert.equal(valueAccuracy([0.9, -0.5, 0.1, 0.5], [1, -1, 0, 0]), 0.75);
  assert.equal(valueAccuracy(new Float32Array([0.2]), [1], 0.1), 1);
});
