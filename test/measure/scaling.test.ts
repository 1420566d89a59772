// Power-law fits: exact recovery, noise, bad points and degenerate inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitPowerLaw, powerLaw } from '../../src/measure/scaling.ts';
import { Rng } from '../../src/util/rng.ts';

test('points on y = 3 x^0.5 give a = 3, b = 0.5, R² = 1', () => {
  const pts = [1e3, 1e4, 1e5, 1e6, 1e7].map((x) => ({ x, y: 3 * Math.sqrt(x) }));
  const fit = fitPowerLaw(pts)!;
  assert.ok(Math.abs(fit.a - 3) < 1e-9 && Math.abs(fit.b - 0.5) < 1e-12, JSON.stringify(fit));
  assert.ok(Math.abs(fit.r2 - 1) < 1e-12);
  assert.deepEqual([fit.n, fit.skipped], [5, 0]);
  assert.ok(Math.abs(powerLaw(fit, 1e8) - 3e4) < 1e-6);
});

test('noisy points: the exponent is recovered roughly and R² drops below 1; a negative exponent works', () => {
  const rng = new Rng(5);
  const pts = Array.from({ length: 40 }, (_, i) => {
    const x = 10 ** (2 + i / 8);
    return { x, y: 50 * x ** -0.3 * Math.exp(0.1 * rng.normal()) };
  });
  const fit = fitPowerLaw(pts)!;
  assert.ok(Math.abs(fit.b + 0.3) < 0.03, String(fit.b));
  assert.ok(fit.r2 > 0.9 && fit.r2 < 1, String(fit.r2));
});

test('points without a logarithm are skipped and counted; too few or a single x give null', () => {
  const fit = fitPowerLaw([{ x: 0, y: 1 }, { x: 1, y: -2 }, { x: NaN, y: 1 }, { x: 1, y: 2 }, { x: 2, y: 8 }])!;
  assert.ok(Math.abs(fit.b - 2) < 1e-12 && Math.abs(fit.a - 2) < 1e-12);
  assert.equal(fit.skipped, 3);
  assert.equal(fitPowerLaw([{ x: 1, y: 1 }]), null);
  assert.equal(fitPowerLaw([{ x: 4, y: 1 }, { x: 4, y: 2 }]), null);
  assert.equal(fitPowerLaw([{ x: 1, y: 5 }, { x: 10, y: 5 }])!.r2, 1); // flat and exact
});
