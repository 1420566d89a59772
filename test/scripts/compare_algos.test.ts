// scripts/compare_algos.ts, the parts that decide what is compared: the
// equal-samples budget (DAPO run in pieces until it is met), the threshold,
// and the figures read back from a run directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { halfGap, headline, markdown, nextSteps, rowOf } from '../../scripts/compare_algos.ts';

test('nextSteps: one piece for a fixed-size step; pieces that never overshoot by more than a step for DAPO', () => {
  assert.equal(nextSteps(0, 0, 32_000, 128), 250); // grpo, rloo, ppo, ei: exactly the budget
  assert.equal(nextSteps(250, 32_000, 32_000, 128), null);
  // DAPO: at most 4 batches of 128 a step; a run that drew 2 a step on average
  let steps = 0, samples = 0, pieces = 0;
  for (let next = nextSteps(steps, samples, 32_000, 512); next !== null; next = nextSteps(steps, samples, 32_000, 512)) {
    assert.ok(next > steps, 'every piece adds at least one step');
    samples += (next - steps) * 256;
    steps = next;
    pieces++;
  }
  assert.ok(samples >= 32_000 && samples < 32_000 + 512, `${samples} samples`);
  assert.ok(pieces > 1 && pieces < 12, `${pieces} pieces`);
});

test('halfGap: half the way from the start to 100%', () => {
  assert.equal(halfGap(0.5), 0.75);
  assert.equal(halfGap(0.9), 0.95);
});

test('rowOf reads a run: accuracy before and after, the crossing interpolated, the last 10 rewards, the seconds of the iterations only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flywheel-compare-'));
  const point = (step: number, overall: number) => ({ step, samples: step * 100, flops: step * 1e9, tokens: step * 10, overall, easy: 1, hard: overall / 2 });
  writeFileSync(join(dir, 'summary.json'), JSON.stringify({
    steps: 20, heldout: [point(0, 0.5), point(10, 0.6), point(20, 0.9)], costs: { samples: 2000, sampleFlops: 5e9, trainFlops: 1.5e10 },
  }));
  const iters = Array.from({ length: 20 }, (_, i) => JSON.stringify({ step: i + 1, reward: i < 10 ? 0 : 0.5, seconds: 0.25 }));
  writeFileSync(join(dir, 'metrics.jsonl'), [...iters, JSON.stringify({ step: 20, eval: {} })].join('\n') + '\n');
  const row = rowOf(dir, { family: 'sort-v1', seed: 0, arm: 'grpo', wallSeconds: 9, load: 1.5, commit: null });
  assert.deepEqual(row.start, { overall: 0.5, easy: 1, hard: 0.25 });
  assert.deepEqual(row.end, { overall: 0.9, easy: 1, hard: 0.45 });
  assert.equal(row.threshold, 0.75);
  assert.equal(row.late, 0.9, 'of the evaluations at 0, 1000 and 2000 samples, only the last is in the last 40% of the budget');
  assert.ok(Math.abs(row.toThreshold!.samples - 1500) < 1e-9, `0.6 at 1000 samples, 0.9 at 2000: 0.75 at 1500, got ${row.toThreshold!.samples}`);
  assert.ok(Math.abs(row.toThreshold!.flops - 1.5e10) < 1);
  assert.equal(row.finalReward, 0.5);
  assert.equal(row.trainSeconds, 5);
  assert.equal(row.samples, 2000);

  const md = markdown([row, { ...row, seed: 1, end: { ...row.end, overall: 0.8 }, toThreshold: null }]);
  assert.match(md, /### sort-v1 \(seeds 0 \/ 1\)/);
  assert.match(md, /\| grpo \| 90\.0 \/ 80\.0 \| 90\.0 \/ 90\.0 \|/);
  assert.match(md, /\| 1500 \/ never \|/);
  const top = headline([row, { ...row, seed: 1, end: { ...row.end, overall: 0.8 }, toThreshold: null }, { ...row, arm: 'ei', trainFlops: row.trainFlops / 4 }]);
  assert.match(top, /\| sort-v1 \| grpo \| 85\.0 \(80\.0–90\.0\) \| 90\.0 \| 1\.5k, 1\.5e10 \(1 of 2 seeds\) \| 1\.00 \|/);
  assert.match(top, /\| sort-v1 \| ei \| 90\.0 \(90\.0–90\.0\) \| 90\.0 \| 1\.5k, 1\.5e10 \| 0\.25 \|/);
});
