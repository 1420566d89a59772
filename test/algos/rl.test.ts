/**
 * Every RL algorithm learns on a small environment (held-out accuracy rises
 * from near chance to most tasks), the loop's bookkeeping holds (costs,
 * rollouts stored, held-out seeds never trained on), and a too-small task
 * space or an impossible policy is a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/tensor/backend.ts';
import { RunDir } from '../../src/runs/run_dir.ts';
import { RolloutStore } from '../../src/runs/rollouts.ts';
import { trainRL, type RLResult } from '../../src/algos/rl.ts';
import { ALGORITHMS } from '../../src/algos/algorithms.ts';
import { HELDOUT_SEED_BASE, type RLConfig } from '../../src/algos/rl_config.ts';
import { groupAdvantages } from '../../src/algos/grpo.ts';
import { leaveOneOutAdvantages } from '../../src/algos/rloo.ts';
import { acceptedUnique } from '../../src/algos/expert_iteration.ts';
import type { Trajectory } from '../../src/algos/rollout.ts';
import { UserError } from '../../src/util/errors.ts';
import type { TaskFamily } from '../../src/envs/types.ts';
import { firstLetter, toyEnv, toyPolicy, TOY_CONFIG } from './rl_toy.ts';

await initBackend();
const tmp = mkdtempSync(join(tmpdir(), 'flywheel-rl-'));
let n = 0;

async function run(cfg: Partial<RLConfig>, opts: { force?: boolean; family?: TaskFamily } = {}): Promise<{ res: RLResult; store: RolloutStore; dir: string }> {
  const config = { ...TOY_CONFIG, ...cfg };
  const policy = toyPolicy(1, config.algo === 'ppo');
  const ref = config.klCoef > 0 ? toyPolicy(1, config.algo === 'ppo') : null;
  const dir = join(tmp, `run${n++}`);
  const runDir = RunDir.start(dir, 'rl', { rl: config });
  const store = new RolloutStore(join(dir, 'rollouts.sqlite'));
  const res = await trainRL({
    run: runDir, env: opts.family ? { kind: 'task', family: opts.family } : toyEnv, policy, ref, algorithm: ALGORITHMS[config.algo], config, store,
    resume: false, force: opts.force ?? true, checkpointConfig: { kind: 'rl', model: policy.model.config, format: 'chat' },
  });
  return { res, store, dir };
}

const cases: [string, Partial<RLConfig>][] = [
  ['grpo', { algo: 'grpo', loss: 'grpo' }],
  ['dr_grpo', { algo: 'grpo', loss: 'dr_grpo' }],
  ['dapo', { algo: 'grpo', loss: 'dapo', clipHigh: 0.28 }],
  ['grpo with KL and two epochs', { algo: 'grpo', klCoef: 0.05, epochs: 2, minibatches: 2 }],
  ['rloo', { algo: 'rloo' }],
  ['ppo', { algo: 'ppo' }],
  ['ei', { algo: 'ei' }],
];

for (const [name, cfg] of cases) {
  test(`${name} learns the toy task: held-out accuracy rises from < 40% to > 80%`, async () => {
    const { res, store } = await run(cfg);
    const first = res.curve[0].accuracy.overall!, last = res.curve.at(-1)!.accuracy.overall!;
    assert.ok(first < 0.4, `starts near chance: ${first}`);
    assert.ok(last > 0.8, `${name}: held-out ${first} -> ${last}`);
    assert.equal(res.steps, cfg.steps ?? TOY_CONFIG.steps);
    // costs add up and every training rollout was stored
    assert.equal(store.count({ phase: 'train' }), res.costs.samples);
    assert.ok(res.costs.tokensSampled >= res.costs.samples && res.costs.trainFlops > 0 && res.costs.sampleFlops > 0);
    const seeds = [...store.rows({ phase: 'train' })].map((r) => r.seed);
    assert.ok(seeds.every((s) => s < HELDOUT_SEED_BASE), 'training never draws held-out seeds');
    const heldoutPrompts = new Set([...store.rows({ phase: 'eval' })].map((r) => r.prompt));
    assert.ok([...store.rows({ phase: 'train' })].every((r) => !heldoutPrompts.has(r.prompt)), 'no training task shares a held-out prompt');
    store.close();
  });
}

test('advantages: GRPO normalizes per group; Dr. GRPO only centres; RLOO leaves one out', () => {
  const r = [1, 0, 0, 0, 1, 1, 1, 1];
  const g = groupAdvantages(r, 4, true);
  assert.ok(Math.abs(g[0] - 0.75 / Math.sqrt(0.1875)) < 1e-3 && g.slice(4).every((x) => x === 0));
  assert.deepEqual(groupAdvantages(r, 4, false).slice(0, 4), [0.75, -0.25, -0.25, -0.25]);
  assert.deepEqual(leaveOneOutAdvantages(r, 4).slice(0, 4), [1, -1 / 3, -1 / 3, -1 / 3]);
  assert.throws(() => leaveOneOutAdvantages([1], 1), /at least 2/);
});

test("expert iteration keeps the verified rollouts with their group's best reward, once each", () => {
  const t = (group: number, reward: number, ok: boolean, tokens: number[]) => ({ group, reward, ok, tokens, seed: group, difficulty: 1 }) as unknown as Trajectory;
  const trajs = [
    t(0, 0.5, true, [1]), t(0, 1, true, [2]), t(0, 1, true, [2]), t(0, 0, false, [3]), // right after a miss loses to right at once; a duplicate counts once
    t(1, 0.5, true, [4]), t(1, 0.5, true, [5]), t(1, 0, false, [6]), // no first-try success: the recoveries are the best there is
    t(2, 0, false, [7]),
  ];
  assert.deepEqual(acceptedUnique(trajs).map((x) => x.tokens[0]), [2, 4, 5]);
});

test('pre-flight: nothing to reinforce or nothing to learn is a UserError saying what to change; force goes on', async () => {
  const never = { ...firstLetter, verify: () => ({ reward: 0, ok: false, reason: 'wrong' }) };
  const always = { ...firstLetter, verify: () => ({ reward: 1, ok: true, reason: 'correct' }) };
  await assert.rejects(run({ steps: 1 }, { force: false, family: never }), (e: unknown) => e instanceof UserError && /nothing to reinforce.*Lower the difficulty.*--group/.test((e as Error).message));
  await assert.rejects(run({ steps: 1 }, { force: false, family: always }), (e: unknown) => e instanceof UserError && /nothing to learn/.test((e as Error).message));
  const { res } = await run({ steps: 1 }, { force: true, family: never });
  assert.equal(res.steps, 1);
  assert.equal(res.preflight!.passAtG, 0);
});

test('a task space too small to hold training tasks apart from the held-out ones is a clear error', async () => {
  const tiny = { ...firstLetter, generate: (seed: number, d: number) => ({ ...firstLetter.generate(0, d), seed }) };
  await assert.rejects(run({ steps: 1, evalTasks: 8 }, { family: tiny }), (e: unknown) => e instanceof UserError && /held-out/.test((e as Error).message));
});

test("PPO's costs count the forward pass that reads the value head (a third of a training pass), which GRPO does not run; --kl adds the reference's forward to every algorithm's", async () => {
  const one = { steps: 1, evalTasks: 8 };
  const ppo = (await run({ ...one, algo: 'ppo' })).res.costs, grpo = (await run({ ...one, algo: 'grpo' })).res.costs;
  const rlooKl = (await run({ ...one, algo: 'rloo', klCoef: 0.05 })).res.costs, ppoKl = (await run({ ...one, algo: 'ppo', klCoef: 0.05 })).res.costs;
  for (const [name, c, extra] of [['ppo', ppo, 4 / 3], ['grpo', grpo, 1], ['rloo', rlooKl, 4 / 3], ['ppo', ppoKl, 5 / 3]] as const) {
    const B = c.samples, T = c.tokensTrained / B; // one step, one update over the (B, T) batch
    const perToken = toyPolicy(0, name === 'ppo').flops().trainPerToken(T); // the value head's weights count too
    assert.ok(Math.abs(c.trainFlops - extra * c.tokensTrained * perToken) < 1e-6 * c.trainFlops, `${name}: trainFlops ${c.trainFlops}, expected ${extra} x ${c.tokensTrained} x ${perToken}`);
  }
});

test('expert iteration makes eiEpochs passes over the distinct accepted rollouts of each iteration, whatever their number', async () => {
  const { dir } = await run({ algo: 'ei', steps: 6, eiBatch: 3, eiEpochs: 2 });
  const iters = RunDir.open(dir).readMetrics().filter((m) => !m.eval) as unknown as { accepted: number; updates: number }[];
  assert.equal(iters.length, 6);
  assert.ok(iters.some((m) => m.accepted > 3), 'some iteration accepted more than one batch');
  for (const m of iters) assert.equal(m.updates, 2 * Math.ceil(m.accepted / 3), `accepted ${m.accepted}, updates ${m.updates}`);
});

test('--lr-schedule: constant holds the peak after warmup; cosine ends at a tenth of it', async () => {
  const lrs = async (lrSchedule: RLConfig['lrSchedule']): Promise<number[]> => {
    const { dir, store } = await run({ algo: 'grpo', steps: 10, warmup: 2, lr: 1e-3, lrSchedule, evalTasks: 8, checkpointEvery: 0 });
    store.close();
    return (RunDir.open(dir).readMetrics().filter((m) => !m.eval) as unknown as { lr: number }[]).map((m) => m.lr);
  };
  const constant = await lrs('constant'), cosine = await lrs('cosine');
  assert.deepEqual(constant.slice(0, 3), [5e-4, 1e-3, 1e-3]);
  assert.ok(constant.slice(1).every((x) => x === 1e-3), `constant: ${constant}`);
  assert.deepEqual(cosine.slice(0, 3), [5e-4, 1e-3, 1e-3]);
  for (let i = 3; i < cosine.length; i++) assert.ok(cosine[i] < cosine[i - 1], `cosine falls after warmup: ${cosine}`);
  assert.ok(Math.abs(cosine.at(-1)! - 1e-4) < 5e-5, `cosine ends near lr/10: ${cosine.at(-1)}`);
});
