// Demonstrator statistics: slip rate on easy tasks, accuracy on hard tasks,
// repeatable systematic errors, determinism, and the skill mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demonstrate, skillToDemoOptions, skillToPlayerSpec } from '../../src/envs/demo.ts';
import { Rng } from '../../src/util/rng.ts';
import type { Task } from '../../src/envs/types.ts';
import { toySum } from './toy.ts';

/** Generates tasks until it has n of the wanted hardness. */
function tasks(n: number, hard: boolean): Task[] {
  const out: Task[] = [];
  for (let seed = 0; out.length < n; seed++) {
    const t = toySum.generate(seed, 2);
    if (toySum.isHard(t) === hard) out.push(t);
  }
  return out;
}

async function fractionRight(ts: Task[], errorRate: number, hardAccuracy: number, seed: number): Promise<number> {
  const rng = new Rng(seed);
  let right = 0;
  for (const t of ts) if ((await toySum.verify(t, demonstrate(toySum, t, rng, { errorRate, hardAccuracy }))).ok) right++;
  return right / ts.length;
}

test('errorRate 0.3 on easy tasks: about 30% wrong over 1000 tasks', async () => {
  const wrong = 1 - (await fractionRight(tasks(1000, false), 0.3, 1, 1));
  assert.ok(Math.abs(wrong - 0.3) < 0.045, `wrong fraction ${wrong}`); // 3 sigma is 0.043
});

test('hard tasks are right about hardAccuracy of the time, whatever the errorRate', async () => {
  const hard = tasks(1000, true);
  const right = await fractionRight(hard, 0.5, 0.7, 2);
  assert.ok(Math.abs(right - 0.7) < 0.045, `right fraction ${right}`);
  assert.equal(await fractionRight(hard, 0, 0, 3), 0);
  assert.equal(await fractionRight(hard, 1, 1, 4), 1);
});

test('errorRate 0 and hardAccuracy 1 is perfect; systematic errors repeat across calls', async () => {
  assert.equal(await fractionRight([...tasks(200, false), ...tasks(200, true)], 0, 1, 5), 1);
  for (const t of tasks(50, true)) {
    const a = demonstrate(toySum, t, new Rng(1), { errorRate: 0, hardAccuracy: 0 });
    const b = demonstrate(toySum, t, new Rng(999), { errorRate: 0, hardAccuracy: 0 });
    assert.equal(a, b);
    assert.equal(a, toySum.mistake(t, 'systematic', new Rng(0)));
  }
});

test('same rng state, same demonstrations; slips use the requested kind', () => {
  const ts = tasks(100, false);
  const run = (seed: number, errorKind?: string) => ts.map((t) => demonstrate(toySum, t, new Rng(seed).fork(), { errorRate: 1, hardAccuracy: 1, errorKind }));
  assert.deepEqual(run(7), run(7));
  const sys = run(7, 'systematic');
  assert.deepEqual(sys, ts.map((t) => toySum.mistake(t, 'systematic', new Rng(0))));
  assert.throws(() => demonstrate(toySum, ts[0], new Rng(0), { errorRate: 0, hardAccuracy: 1, errorKind: 'typo' }), /errorKind "typo"/);
  assert.throws(() => demonstrate(toySum, ts[0], new Rng(0), { errorRate: 1.5, hardAccuracy: 1 }), RangeError);
});

test('skill maps to demo options and player specs', () => {
  assert.deepEqual(skillToDemoOptions(1), { errorRate: 0, hardAccuracy: 1 });
  assert.deepEqual(skillToDemoOptions(0.8), { errorRate: 0.1, hardAccuracy: 0.8 });
  assert.deepEqual(skillToDemoOptions(0), { errorRate: 0.5, hardAccuracy: 0 });
  assert.throws(() => skillToDemoOptions(1.2), /skill must be a number in \[0, 1\], got 1.2/);
  assert.equal(skillToPlayerSpec(1), 'perfect');
  assert.equal(skillToPlayerSpec(0.8), 'noisy:0.1');
  assert.equal(skillToPlayerSpec(0), 'random');
});
