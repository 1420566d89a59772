// Entropy, KL, mean/std and percentiles, held to direct computation in float64 and to known values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entropy, klDivergence, klEstimate, logSumExp, mean, percentile, std } from '../../src/measure/stats.ts';
import { Rng } from '../../src/util/rng.ts';

const close = (a: number | null, b: number, tol = 1e-9): void => assert.ok(a !== null && Math.abs(a - b) < tol, `${a} vs ${b}`);

/** Entropy straight from the definition, with probabilities computed naively (fine for small logits). */
function naiveEntropy(logits: number[]): number {
  const e = logits.map(Math.exp), z = e.reduce((a, b) => a + b, 0);
  return -e.reduce((h, v) => h + (v / z) * Math.log(v / z), 0);
}

test('entropy equals the definition on random logits; uniform is log V; one-hot is 0', () => {
  const rng = new Rng(3);
  for (let t = 0; t < 20; t++) {
    const logits = Array.from({ length: 1 + rng.int(30) }, () => 3 * rng.normal());
    close(entropy(logits), naiveEntropy(logits));
  }
  close(entropy(new Float32Array(64)), Math.log(64));
  close(entropy([0, -Infinity, -Infinity]), 0);
  close(entropy([0, 0, -Infinity, -Infinity]), Math.log(2)); // masked tokens contribute nothing
});

test('entropy and logSumExp are stable for huge logits and invariant to a shift', () => {
  const logits = [1000, 999, 998];
  assert.ok(Number.isFinite(logSumExp(logits)));
  close(entropy(logits), naiveEntropy([2, 1, 0]));
  close(logSumExp([1e4, 1e4]), 1e4 + Math.log(2));
  assert.throws(() => logSumExp([]), /empty/);
  assert.throws(() => entropy([1, NaN]), /logit 1 is NaN/);
  assert.throws(() => logSumExp([-Infinity]), /every logit is -Infinity/);
});

test('klDivergence: 0 for equal distributions (up to a shift), the definition otherwise, Infinity where Q rules out P', () => {
  close(klDivergence([1, 2, 3], [11, 12, 13]), 0);
  const p = [0.7, 0.2, 0.1], q = [0.4, 0.4, 0.2];
  const byDef = p.reduce((s, pi, i) => s + pi * Math.log(pi / q[i]), 0);
  close(klDivergence(p.map(Math.log), q.map(Math.log)), byDef);
  assert.equal(klDivergence([0, 0], [0, -Infinity]), Infinity);
  assert.throws(() => klDivergence([0], [0, 1]), /1 vs 2 logits/);
});

test('klEstimate: k3 >= 0 always, and both estimators approach the exact KL on many samples', () => {
  const pi = [0.6, 0.3, 0.1], ref = [0.3, 0.3, 0.4];
  const exact = klDivergence(pi.map(Math.log), ref.map(Math.log));
  const rng = new Rng(11);
  const lp: number[] = [], lr: number[] = [];
  for (let i = 0; i < 20000; i++) {
    const u = rng.float(), tok = u < 0.6 ? 0 : u < 0.9 ? 1 : 2; // sampled from the policy
    lp.push(Math.log(pi[tok]));
    lr.push(Math.log(ref[tok]));
  }
  const est = klEstimate(lp, lr)!;
  close(est.k1, exact, 0.02);
  close(est.k3, exact, 0.02);
  assert.ok(klEstimate([-1, -2], [-3, -0.5])!.k3 >= 0);
  assert.deepEqual(klEstimate([-1], [-1]), { k1: 0, k3: 0 });
  assert.equal(klEstimate([], []), null);
});

test('mean, population std and percentiles (numpy linear), null when empty', () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  close(std([2, 4, 4, 4, 5, 5, 7, 9]), 2);
  const xs = [15, 20, 35, 40, 50];
  assert.equal(percentile(xs, 50), 35);
  assert.equal(percentile(xs, 0), 15);
  assert.equal(percentile(xs, 100), 50);
  close(percentile(xs, 40), 29); // numpy.percentile([15, 20, 35, 40, 50], 40) = 29.0
  assert.equal(percentile([3, 1, 2], 50), 2); // sorts numerically
  assert.equal(percentile([10, 9, 100], 50), 10); // numerically, not as strings
  assert.deepEqual([mean([]), std([]), percentile([], 50)], [null, null, null]);
  assert.throws(() => mean([1, NaN]), /value 1 is NaN/);
  assert.throws(() => percentile([1], 101), /k must be in \[0, 100\]/);
});
