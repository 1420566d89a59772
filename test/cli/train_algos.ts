// Issue 7's acceptance: `flywheel train` with each algorithm improves
// held-out accuracy on a built-in task family from an SFT init. Shared by
// one test file per family (so the test runner puts them on both cores):
// a flawed teacher (`envs demos --error-rate 0 --hard-accuracy 0.3`: right on
// easy tasks, on hard ones right 30% of the time, else the family's
// systematic mistake), one small SFT, then every algorithm from it with the
// train defaults, fewer iterations and 100 held-out tasks. The full-size
// measurement is scripts/compare_algos.ts (docs/rl.md).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './fw.ts';

/** Every algorithm `train` offers, with the GRPO loss variants. */
const ARMS: [string, string[]][] = [
  ['grpo', ['--algo', 'grpo']],
  ['dr_grpo', ['--algo', 'grpo', '--loss', 'dr_grpo']],
  ['dapo', ['--algo', 'grpo', '--loss', 'dapo']],
  ['rloo', ['--algo', 'rloo']],
  ['ppo', ['--algo', 'ppo']],
  ['ei', ['--algo', 'ei']],
];

export interface FamilySettings {
  family: string;
  difficulty: number;
  blockSize: number; // the model's context (prompt, reply and format tokens)
  sftSteps: number; // enough to imitate the teacher, blind spot included
  rlSteps: number;
}

interface Point {
  overall: number;
  easy: number | null;
  hard: number | null;
}

/** `flywheel ...args` to completion; single-threaded, so the numbers do not depend on the machine's cores. */
function flywheel(cwd: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 600_000, env: { ...process.env, FLYWHEEL_THREADS: '1' } });
  assert.equal(r.status, 0, `flywheel ${args.join(' ')}\n${r.stderr}`);
  return r.stdout;
}

export function everyAlgorithmImproves(s: FamilySettings): void {
  const dir = mkdtempSync(join(tmpdir(), `flywheel-algos-${s.family}-`));
  const d = String(s.difficulty);
  const starts: Point[] = [];

  before(() => {
    flywheel(dir, 'envs', 'demos', s.family, '--n', '10000', '--difficulty', d, '--error-rate', '0', '--hard-accuracy', '0.3', '--out', 'demos.jsonl', '--quiet', '--json');
    flywheel(dir, 'sft', '--data', 'demos.jsonl', '--preset', 'tiny', '--block-size', String(s.blockSize), '--steps', String(s.sftSteps), '--lr', '3e-3', '--out', 'sft', '--quiet', '--json');
  });

  for (const [arm, flags] of ARMS) {
    test(`${s.family}: train ${flags.join(' ')} from the SFT init lifts held-out accuracy, and hard cases past the teacher's 30%`, (t) => {
      const r = JSON.parse(flywheel(dir, 'train', ...flags, '--env', s.family, '--difficulty', d, '--init', 'sft', '--out', arm,
        '--steps', String(s.rlSteps), '--eval-every', '0', '--eval-tasks', '100', '--quiet', '--json'));
      const curve = r.heldout as Point[];
      const start = curve[0], end = curve[curve.length - 1];
      const say = `${arm}: held-out ${start.overall} -> ${end.overall}, hard ${start.hard} -> ${end.hard}`;
      t.diagnostic(say);
      starts.push(start);
      assert.deepEqual(start, starts[0], 'every algorithm starts from the same SFT model on the same held-out tasks');
      assert.ok(start.hard! < 0.35, `the SFT model imitates the teacher's blind spot (${say})`);
      assert.ok(end.overall >= start.overall + 0.15, say);
      assert.ok(end.hard! >= 0.5, say);
    });
  }
}
