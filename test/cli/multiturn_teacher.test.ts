// The multi-turn acceptance path, as a user runs it: a retry family of their
// own (written only here) with a flawed teacher, `envs demos --hard-accuracy
// 0.2`, `sft`, then `train` with every algorithm from the same SFT model.
// The teacher's blind spot (say the second letter when the first two differ)
// repeats after "no", so its imitator, asked again after that mistake,
// repeats it (recovery 0% greedy); every algorithm must lift that recovery
// far up, and the episode reward with it, without buying it by missing the
// first attempt on purpose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fw } from './fw.ts';

const FAMILY = `
import { Rng } from 'flywheel';

const LETTERS = 'abcdef';
const REWARDS = [1, 0.5]; // by attempt

export default {
  id: 'retry-letter-v1',
  description: 'Say the first of three letters; "no" gives one more try for half the reward.',
  difficulty: { min: 1, max: 1, default: 1 },
  maxTurns: REWARDS.length,
  create() {
    let answer = '', attempts = 0, done = true;
    return {
      reset(seed, difficulty = 1) {
        if (difficulty !== 1) throw new RangeError('retry-letter-v1: difficulty must be 1, got ' + difficulty);
        const rng = new Rng('retry-letter:' + seed);
        const s = Array.from({ length: 3 }, () => LETTERS[rng.int(LETTERS.length)]).join('');
        [answer, attempts, done] = [s[0], 0, false];
        return s;
      },
      step(action) {
        if (done) return { observation: '', reward: 0, done: true, info: { reason: 'episode_over' } };
        const attempt = ++attempts, right = action.trim() === answer;
        done = right || attempt >= REWARDS.length;
        return { observation: done ? '' : 'no', reward: right ? REWARDS[attempt - 1] : 0, done, info: { reason: right ? 'correct' : 'wrong', attempt } };
      },
    };
  },
  solve: (t) => t[0][0],
  isHard: (first) => first[0] !== first[1],
  // the blind spot: when the first two letters differ, the second one, unless right (hardAccuracy); afresh at every attempt
  demonstrate(t, rng, teacher) {
    const s = t[0], u = rng.float();
    if (s[0] !== s[1]) return u < teacher.hardAccuracy ? s[0] : s[1];
    return u < teacher.errorRate ? LETTERS.replace(s[0], '')[rng.int(LETTERS.length - 1)] : s[0];
  },
};
`;

function ok(r: ReturnType<typeof fw>, what: string): string {
  assert.equal(r.code, 0, `${what}\n${r.err}`);
  return r.out;
}

interface Stats { firstAttempt: number | null; recovery: number | null; hardRecovery: number | null; missedFirst: number; meanReward: number }

test('a multi-turn teacher with a blind spot -> sft -> grpo, rloo, ppo and ei each lift recovery after that mistake and the episode reward', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flywheel-multiturn-'));
  try {
    const family = join(dir, 'retry_letter.ts');
    writeFileSync(family, FAMILY);
    const demos = JSON.parse(ok(fw('envs', 'demos', family, '--n', '4000', '--hard-accuracy', '0.2', '--error-rate', '0.05', '--out', join(dir, 'demos.jsonl'), '--quiet', '--json'), 'demos'));
    assert.equal(demos.teacher, 'demonstrate');
    assert.ok(demos.episodes.recovery < 0.3, `the teacher recovers from ${demos.episodes.recovery} of its misses`);
    ok(fw('sft', '--data', join(dir, 'demos.jsonl'), '--preset', 'tiny', '--block-size', '16', '--steps', '400', '--out', join(dir, 'sft'), '--quiet'), 'sft');

    const measured = new Map<string, { before: { greedy: Stats; afterMistake: Stats }; after: { greedy: Stats; afterMistake: Stats } }>();
    for (const algo of ['grpo', 'rloo', 'ppo', 'ei']) {
      const args = ['train', '--env', family, '--algo', algo, '--init', join(dir, 'sft'), '--out', join(dir, algo), '--steps', '60', '--eval-tasks', '40', '--eval-every', '0', '--quiet', '--json'];
      const curve = JSON.parse(ok(fw(...args), algo)).heldout as { episodes: { greedy: Stats; sampled: Stats; afterMistake: Stats } }[];
      const before = curve[0].episodes, after = curve.at(-1)!.episodes;
      const say = `${algo}: ${JSON.stringify({ before, after })}`;
      // the SFT model repeats the teacher's mistake when told "no"
      assert.ok(before.afterMistake.hardRecovery! < 0.2 && before.greedy.recovery! < 0.2, say);
      assert.ok(after.afterMistake.hardRecovery! >= 0.7, `${algo} recovers after the teacher's mistake: ${before.afterMistake.hardRecovery} -> ${after.afterMistake.hardRecovery}\n${say}`);
      assert.ok(after.greedy.meanReward >= before.greedy.meanReward + 0.3, `${algo} mean episode reward ${before.greedy.meanReward} -> ${after.greedy.meanReward}`);
      assert.ok(after.sampled.meanReward >= before.sampled.meanReward + 0.2, `${algo} sampled reward ${before.sampled.meanReward} -> ${after.sampled.meanReward}`);
      assert.ok(after.greedy.firstAttempt! >= before.greedy.firstAttempt!, `${algo} must not buy recovery by missing first: ${before.greedy.firstAttempt} -> ${after.greedy.firstAttempt}`);
      measured.set(algo, { before, after });
    }
    // runs compare puts the episode measures side by side
    const rows = JSON.parse(ok(fw('runs', 'compare', 'grpo', 'rloo', 'ppo', 'ei', '--root', dir, '--json'), 'runs compare')) as { name: string; figures: Record<string, number | null> }[];
    for (const { name, figures } of rows) {
      const { before, after } = measured.get(name)!;
      assert.deepEqual([figures.recoveryStart, figures.recovery, figures.afterMistakeStart, figures.afterMistake, figures.firstAttempt],
        [before.greedy.recovery, after.greedy.recovery, before.afterMistake.recovery, after.afterMistake.recovery, after.greedy.firstAttempt], name);
    }
    assert.match(fw('runs', 'compare', 'grpo', 'ei', '--root', dir).out, /AFTERMISTAKE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
