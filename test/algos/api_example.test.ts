/**
 * The RL loop as a library: examples/rl_from_code.ts (imports from
 * 'flywheel' only) trains GRPO on a family it defines, from a random GPT,
 * in a child process as a user runs it; and trainRL refuses a config the
 * CLI would have resolved from the environment.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALGORITHMS, RL_DEFAULTS, RolloutStore, RunDir, tensor, trainRL, type RLConfig } from 'flywheel';
import { toyEnv, toyPolicy } from './rl_toy.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'flywheel-api-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('examples/rl_from_code.ts: GRPO from code lifts held-out accuracy from < 40% to > 80% and leaves a checkpoint', () => {
  const out = join(tmp, 'run');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', 'rl_from_code.ts'), out, '60'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const { curve, checkpoint, rollouts } = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.ok(curve[0].accuracy < 0.4, `starts near chance: ${curve[0].accuracy}`);
  assert.ok(curve.at(-1).accuracy > 0.8, `held-out ${curve[0].accuracy} -> ${curve.at(-1).accuracy}`);
  assert.equal(curve.at(-1).samples, 60 * 8 * 8);
  assert.ok(existsSync(join(checkpoint, 'checkpoint.json')), 'a complete checkpoint');
  assert.ok(rollouts >= 60 * 8 * 8, `every training rollout stored: ${rollouts}`);
});

test('trainRL says which config field is missing instead of training on nothing', async () => {
  await tensor.initBackend();
  const cases: [Partial<RLConfig>, RegExp][] = [[{ maxTokens: 0 }, /config\.maxTokens must be at least 1/], [{ difficulties: [] }, /config\.difficulties is empty/]];
  for (const [bad, re] of cases) {
    const dir = join(tmp, `bad-${Object.keys(bad)[0]}`);
    const config: RLConfig = { ...RL_DEFAULTS, difficulties: [1], maxTokens: 2, ...bad };
    const store = new RolloutStore(join(tmp, `${Object.keys(bad)[0]}.sqlite`));
    const policy = toyPolicy(0);
    await assert.rejects(trainRL({
      run: RunDir.start(dir, 'rl', { rl: config }), env: toyEnv, policy, ref: null, algorithm: ALGORITHMS.grpo, config, store, resume: false,
      checkpointConfig: { kind: 'rl', model: policy.model.config, format: 'chat' },
    }), { name: 'UserError', message: re });
    store.close();
  }
});
