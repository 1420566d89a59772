/** The rollout store: rows round-trip (token blobs included), resume deletes later steps, the cap drops the oldest training rows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutStore, type RolloutRow } from '../../src/runs/rollouts.ts';

const tmp = mkdtempSync(join(tmpdir(), 'flywheel-store-'));
const row = (step: number, phase: RolloutRow['phase'] = 'train'): RolloutRow => ({
  step, phase, env: 'x-v1', seed: step, difficulty: 1, hard: step % 2 === 0, group: 0, prompt: `p${step}`, completion: 'Answer: 1',
  messages: null, reward: step % 2, ok: step % 2 === 1, reason: 'correct', advantage: 0.5, finish: 'stop', turns: 1,
  promptTokens: 2, completionTokens: 3, tokens: [5, 6, 7, 8, 1], actionMask: Uint8Array.of(0, 0, 1, 1, 1), logprobs: Float32Array.of(0, 0, -0.25, -1.5, -3), sampling: { temperature: 1 },
});

test('rows round-trip, including the token, mask and log-prob blobs', () => {
  const s = new RolloutStore(join(tmp, 'a.sqlite'));
  s.insert([row(1), row(2)]);
  const [a, b] = [...s.rows()];
  assert.deepEqual(a.tokens, [5, 6, 7, 8, 1]);
  assert.deepEqual([...a.actionMask!], [0, 0, 1, 1, 1]);
  assert.deepEqual([...a.logprobs!], [0, 0, -0.25, -1.5, -3]);
  assert.equal(a.ok, true);
  assert.equal(b.hard, true);
  assert.deepEqual(b.sampling, { temperature: 1 });
  assert.equal(s.count({ minReward: 1 }), 1);
  s.close();
  const again = new RolloutStore(join(tmp, 'a.sqlite'));
  assert.equal(again.count(), 2, 'persisted');
  again.close();
});

test('deleteAfter removes the steps after a checkpoint; the cap keeps the newest training rows and every eval row', () => {
  const s = new RolloutStore(join(tmp, 'b.sqlite'), 3);
  s.insert([row(0, 'eval'), row(1), row(2)]);
  s.insert([row(3), row(4)]);
  assert.deepEqual([...s.rows({ phase: 'train' })].map((r) => r.step), [2, 3, 4]);
  assert.equal(s.count({ phase: 'eval' }), 1);
  assert.equal(s.deleteAfter(3), 1);
  assert.deepEqual([...s.rows()].map((r) => r.step), [0, 2, 3]);
  assert.deepEqual([...s.rows({ fromStep: 2, toStep: 2 })].map((r) => r.step), [2]);
  s.close();
});
