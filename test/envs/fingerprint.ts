/**
 * Fingerprints of every built-in task family and multi-turn environment: a
 * sha256 per environment over what it generates for seeds 0..SEEDS-1 at
 * every difficulty (the task as JSON, the reference solution, a mistake of
 * every error kind, isHard and stat; for multi-turn, the reference
 * episode's transcript and rewards).
 *
 * The golden file test/envs/golden/fingerprints.json was written by this
 * module from the code before the task families were moved onto the shared
 * seeding helper (see tasks_fingerprint.test.ts), so the test holds the
 * refactored code to the old task distribution bit for bit. Regenerate it
 * only on purpose (a new version id), with:
 *
 *   node --import tsx test/envs/fingerprint.ts > test/envs/golden/fingerprints.json
 */
import { createHash } from 'node:crypto';
import { Rng } from '../../src/util/rng.ts';
import type { MultiTurnFamily, TaskFamily } from '../../src/envs/types.ts';

export const SEEDS = 20;

function levels(d: { min: number; max: number }): number[] {
  return Array.from({ length: d.max - d.min + 1 }, (_, i) => d.min + i);
}

export function taskFingerprint(f: TaskFamily): string {
  const h = createHash('sha256');
  for (const d of levels(f.difficulty))
    for (let seed = 0; seed < SEEDS; seed++) {
      const t = f.generate(seed, d);
      const mistakes = f.errorKinds.map((kind) => f.mistake(t, kind, new Rng(seed)));
      h.update(JSON.stringify([t, f.solve(t), mistakes, f.isHard(t), f.stat(t)]));
      h.update('\n');
    }
  return h.digest('hex');
}

export function episodeFingerprint(f: MultiTurnFamily): string {
  const h = createHash('sha256');
  for (const d of levels(f.difficulty))
    for (let seed = 0; seed < SEEDS; seed++) {
      const ep = f.create();
      const transcript = [ep.reset(seed, d)];
      const steps: unknown[] = [];
      for (let turn = 0; turn < f.maxTurns; turn++) {
        const action = f.solve(transcript);
        const r = ep.step(action);
        transcript.push(action);
        steps.push(r);
        if (r.done) break;
        transcript.push(r.observation);
      }
      h.update(JSON.stringify([transcript, steps]));
      h.update('\n');
    }
  return h.digest('hex');
}

/** id -> fingerprint for every registered task family and multi-turn environment (games generate nothing). */
export async function fingerprints(): Promise<Record<string, string>> {
  const { listEnvs } = await import('../../src/envs/registry.ts');
  const out: Record<string, string> = {};
  for (const e of listEnvs()) {
    if (e.kind === 'task') out[e.family.id] = taskFingerprint(e.family);
    else if (e.kind === 'multiturn') out[e.family.id] = episodeFingerprint(e.family);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await fingerprints(), null, 2)}\n`);
}
