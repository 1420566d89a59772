// Threshold crossings, sample efficiency, smoothing and GRPO group statistics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ema, firstCrossing, groupStats, movingAverage, sampleEfficiency } from '../../src/measure/curves.ts';

const close = (a: number | null, b: number, tol = 1e-12): void => assert.ok(a !== null && Math.abs(a - b) < tol, `${a} vs ${b}`);

test('firstCrossing interpolates between the bracketing points, or returns the point itself', () => {
  const pts = [{ x: 0, y: 0.1 }, { x: 10, y: 0.3 }, { x: 20, y: 0.7 }, { x: 30, y: 0.5 }, { x: 40, y: 0.9 }];
  close(firstCrossing(pts, 0.5), 15); // between (10, 0.3) and (20, 0.7), not at 30 or 40
  assert.equal(firstCrossing(pts, 0.5, { interpolate: false }), 20);
  assert.equal(firstCrossing(pts, 0.7), 20); // exactly on a point
  assert.equal(firstCrossing(pts, 0.05), 0); // already there at the start
  close(firstCrossing(pts, 0.8), 37.5); // the dip to 0.5 at 30: crossed between (30, 0.5) and (40, 0.9)
  assert.equal(firstCrossing(pts, 0.95), null);
  assert.equal(firstCrossing([], 0.5), null);
});

test('firstCrossing skips points that are not finite', () => {
  const pts = [{ x: 0, y: 0 }, { x: 5, y: NaN }, { x: 10, y: 1 }, { x: Infinity, y: 1 }];
  close(firstCrossing(pts, 0.5), 5); // interpolated from (0, 0) to (10, 1), the NaN point ignored
});

test('sampleEfficiency interpolates samples, FLOPs and tokens at the same crossing; null when never reached', () => {
  const curve = [
    { samples: 0, flops: 0, tokens: 0, accuracy: 0.2 },
    { samples: 100, flops: 1e9, tokens: 500, accuracy: null }, // not measured here
    { samples: 200, flops: 3e9, tokens: 900, accuracy: 0.4 },
    { samples: 400, flops: 7e9, tokens: 2100, accuracy: 0.8 },
  ];
  const at = sampleEfficiency(curve, 0.6)!;
  close(at.samples, 300);
  close(at.flops, 5e9, 1e-3);
  close(at.tokens, 1500);
  assert.deepEqual(sampleEfficiency(curve, 0.6, { interpolate: false }), { samples: 400, flops: 7e9, tokens: 2100 });
  assert.deepEqual(sampleEfficiency(curve, 0.1), { samples: 0, flops: 0, tokens: 0 });
  assert.equal(sampleEfficiency(curve, 0.81), null);
});

test('ema is debiased (a constant stays constant from the first value), smooths noise and skips NaN', () => {
  for (const v of ema([5, 5, 5], 0.9)) close(v, 5); // no pull toward 0
  const s = ema([0, 1, 0, 1, 0, 1, 0, 1], 0.8);
  const spread = (xs: number[]): number => Math.max(...xs.slice(4)) - Math.min(...xs.slice(4));
  assert.ok(spread(s) < 0.5, String(spread(s)));
  assert.deepEqual(ema([1, 2], 0), [1, 2]);
  const withGap = ema([1, NaN, 1], 0.5);
  assert.ok(Number.isNaN(withGap[1]));
  close(withGap[2], 1);
  assert.throws(() => ema([1], 1), /smoothing must be in \[0, 1\)/);
});

test('movingAverage is a trailing mean that leaves out non-finite values', () => {
  assert.deepEqual(movingAverage([1, 2, 3, 4, 5], 2), [1, 1.5, 2.5, 3.5, 4.5]);
  assert.deepEqual(movingAverage([1, NaN, 3, 5], 3), [1, 1, 2, 4]);
  const empty = movingAverage([NaN, 2], 1);
  assert.ok(Number.isNaN(empty[0]));
  assert.equal(empty[1], 2);
  assert.throws(() => movingAverage([1], 0), /window must be a positive integer/);
});

test('groupStats: mean reward, zero-variance share, mean within-group std', () => {
  const s = groupStats([[1, 1, 1, 1], [0, 0, 0, 0], [1, 0, 1, 0], [1, 1, 1, 0]]);
  assert.equal(s.groups, 4);
  assert.equal(s.samples, 16);
  assert.equal(s.meanReward, 9 / 16);
  assert.equal(s.zeroVarianceShare, 0.5);
  close(s.meanStd, (0 + 0 + 0.5 + Math.sqrt(3) / 4) / 4); // population std of [1,1,1,0] is sqrt(3)/4
  assert.deepEqual(groupStats([]), { groups: 0, samples: 0, meanReward: null, zeroVarianceShare: null, meanStd: null });
  assert.throws(() => groupStats([[1], []]), /group 1 is empty/);
});
