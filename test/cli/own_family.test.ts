/**
 * Nothing is tuned to the built-ins: a task family written here and nowhere
 * else in the repository goes through the documented path with every
 * default: `envs demos FILE --hard-accuracy 0.3 --error-rate 0.02`, `sft`,
 * then `train --env FILE --algo grpo --init ...`. The student imitates the
 * teacher's blind spot after SFT and RL lifts hard-case accuracy far above
 * the teacher's 30%.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'flywheel.js');
const tmp = mkdtempSync(join(tmpdir(), 'flywheel-own-'));
const family = join(tmp, 'larger.ts');
writeFileSync(family, `
import { defineTaskFamily, formatAnswer } from 'flywheel';

// Which of two two-digit numbers is larger? Hard cases share the tens digit;
// the teacher's blind spot compares only the tens digits and, on a tie, says the first.
export default defineTaskFamily({
  id: 'larger-v1',
  description: 'Say the larger of two two-digit numbers.',
  difficulty: { min: 1, max: 2 },
  generate(rng, level) {
    const a = rng.range(10, 99);
    let b = level === 2 ? Math.floor(a / 10) * 10 + rng.int(10) : rng.range(10, 99);
    while (b === a || (level === 1 && Math.floor(b / 10) === Math.floor(a / 10))) b = level === 2 ? Math.floor(a / 10) * 10 + rng.int(10) : rng.range(10, 99);
    return { prompt: \`larger of \${a} and \${b}\`, answer: Math.max(a, b), meta: { a, b } };
  },
  mistake: (task, kind, rng) => formatAnswer(String(kind === 'systematic' ? task.meta.a : Math.min(task.meta.a, task.meta.b))),
});
`);

function fw(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 900_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test("a user's own family: demos, sft and train with their defaults; RL lifts hard cases far above the teacher's 30%", () => {
  const demos = join(tmp, 'demos.jsonl');
  const d = fw('envs', 'demos', family, '--n', '4000', '--hard-accuracy', '0.3', '--error-rate', '0.02', '--out', demos, '--json');
  assert.equal(d.code, 0, d.err);
  const sft = join(tmp, 'sft');
  const s = fw('sft', '--data', demos, '--out', sft, '--quiet', '--json');
  assert.equal(s.code, 0, s.err);
  const rl = join(tmp, 'rl');
  const r = fw('train', '--env', family, '--algo', 'grpo', '--init', sft, '--out', rl, '--quiet', '--json');
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(r.out);
  const start = res.heldout[0], end = res.final;
  assert.ok(start.hard < 0.45, `after SFT the student shares the blind spot: hard ${start.hard}`);
  assert.ok(end.hard > 0.7, `RL lifts hard cases far above the teacher's 30%: ${start.hard} -> ${end.hard}`);
  assert.ok(end.easy > 0.8, `and keeps the easy ones: ${end.easy}`);
});
