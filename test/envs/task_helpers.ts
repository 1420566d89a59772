/** Helpers shared by the task-family test files. */
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.ts';
import type { Task, TaskFamily, Verdict } from '../../src/envs/types.ts';

/** Every difficulty level of a family, easiest first. */
export function levels(f: TaskFamily): number[] {
  const out: number[] = [];
  for (let d = f.difficulty.min; d <= f.difficulty.max; d++) out.push(d);
  return out;
}

/** The families' verify() is synchronous; this narrows the interface's union. */
export function check(f: TaskFamily, task: Task, completion: string): Verdict {
  const v = f.verify(task, completion);
  assert.ok(!(v instanceof Promise), `${f.id}: verify returned a promise`);
  return v as Verdict;
}

/** 1 MB of seeded random code units from the BMP's first 0x3000 (letters, symbols, CJK, controls). */
export function noise(seed: string): string {
  const rng = new Rng(seed);
  let s = '';
  for (let i = 0; i < 1 << 20; i++) s += String.fromCharCode(rng.int(0x3000));
  return s;
}
