// pass@k against its definition: the share of k-subsets of the n samples that hold a correct one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meanPassAtK, passAtK, passAtKs } from '../../src/measure/passk.ts';

/** Enumerates every k-subset of n samples whose first c are correct; returns the share holding a correct one. */
function bruteForce(n: number, c: number, k: number): number {
  let hit = 0, total = 0;
  const walk = (start: number, left: number, any: boolean): void => {
    if (left === 0) {
      total++;
      if (any) hit++;
      return;
    }
    for (let i = start; i <= n - left; i++) walk(i + 1, left - 1, any || i < c);
  };
  walk(0, k, false);
  return hit / total;
}

test('passAtK equals brute-force enumeration over subsets for every n <= 10', () => {
  for (let n = 1; n <= 10; n++) {
    for (let c = 0; c <= n; c++) {
      for (let k = 1; k <= n; k++) assert.ok(Math.abs(passAtK(n, c, k) - bruteForce(n, c, k)) < 1e-12, `n=${n} c=${c} k=${k}`);
    }
  }
});

test('pass@1 is c/n; the estimator is above the biased 1-(1-c/n)^k for k > 1; large n stays finite', () => {
  assert.ok(Math.abs(passAtK(8, 3, 1) - 3 / 8) < 1e-15);
  assert.ok(passAtK(10, 3, 5) > 1 - (1 - 0.3) ** 5);
  const big = passAtK(2000, 7, 100); // C(2000, 100) overflows a double; the product does not
  assert.ok(Number.isFinite(big) && big > 0.3 && big < 0.31, String(big)); // ≈ 1 - 0.95^7 = 0.302
  assert.equal(passAtK(5, 0, 3), 0);
  assert.equal(passAtK(5, 5, 1), 1);
});

test('passAtK rejects impossible counts', () => {
  assert.throws(() => passAtK(4, 5, 1), /0 <= c <= n/);
  assert.throws(() => passAtK(4, 2, 5), /1 <= k <= n/);
  assert.throws(() => passAtK(4, 2, 0), /1 <= k <= n/);
  assert.throws(() => passAtK(4, 1.5, 1), /integers/);
});

test('meanPassAtK and passAtKs average over tasks; no tasks is null', () => {
  const counts = [{ n: 4, c: 0 }, { n: 4, c: 1 }, { n: 4, c: 4 }];
  assert.equal(meanPassAtK(counts, 1), (0 + 0.25 + 1) / 3);
  assert.ok(Math.abs(meanPassAtK(counts, 2)! - (0 + 0.5 + 1) / 3) < 1e-12); // 1 - C(3,2)/C(4,2) = 0.5
  assert.equal(meanPassAtK([], 1), null);
  assert.deepEqual(Object.keys(passAtKs(counts, [1, 2, 4])), ['1', '2', '4']);
  assert.equal(passAtKs(counts, [4])['4'], 2 / 3);
});
