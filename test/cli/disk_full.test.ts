/**
 * A disk that fills up in the middle of `flywheel train`: the run stops with
 * a clear message (no stack trace) that says how to continue, the last
 * checkpoint and the rollout database stay readable, and once there is room
 * again `--resume` ends exactly where an uninterrupted run ends, bit for bit.
 *
 * The full disk is real: a 600 KiB tmpfs mounted in a private mount
 * namespace (`unshare -m`, so nothing outside the test sees it). That needs
 * root; elsewhere the test is skipped and says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initBackend } from '../../src/tensor/backend.ts';
import { RunDir } from '../../src/runs/run_dir.ts';
import { lmCheckpoint } from '../../src/runs/lm_checkpoint.ts';
import { FIRST_LETTER_SOURCE, toyPolicy } from '../algos/rl_toy.ts';
import { BIN, fw } from './fw.ts';

await initBackend();
const tmp = mkdtempSync(join(tmpdir(), 'flywheel-disk-full-'));
const envFile = join(tmp, 'first_letter.ts');
writeFileSync(envFile, FIRST_LETTER_SOURCE);
const init = join(tmp, 'init');
const p = toyPolicy(5);
RunDir.start(init, 'sft', {}).saveCheckpoint(lmCheckpoint(p.model, p.tokenizer, { kind: 'sft', model: p.model.config, format: 'chat' }));
const ARGS = ['train', '--env', envFile, '--init', init, '--steps', '12', '--prompts', '8', '--group', '8', '--lr', '3e-3', '--warmup', '1',
  '--eval-every', '5', '--eval-tasks', '16', '--checkpoint-every', '1', '--quiet'];

/** Whether this process may mount a tmpfs in a private mount namespace. */
function canMount(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (mount in a private namespace)';
  const probe = join(tmp, 'probe');
  mkdirSync(probe);
  const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs '${probe}'`], { encoding: 'utf8' });
  return r.status === 0 ? null : `unshare -m / mount -t tmpfs failed here: ${(r.stderr || r.error?.message || '').trim()}`;
}

const metrics = (dir: string): object[] => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
  const { seconds: _s, ...rest } = JSON.parse(l);
  return rest;
});

test('the disk fills up mid-run: a clear error, an intact checkpoint and database, and --resume elsewhere ends bit for bit where an uninterrupted run ends', (t) => {
  const why = canMount();
  if (why) return t.skip(why);

  const straight = join(tmp, 'straight');
  const s = fw(...ARGS, '--out', straight);
  assert.equal(s.code, 0, s.err);

  // the run on a 600 KiB disk; what it left is copied out before the namespace (and its tmpfs) goes away
  const mnt = join(tmp, 'mnt'), full = join(tmp, 'full');
  mkdirSync(mnt);
  const cmd = [
    `mount -t tmpfs -o size=600k tmpfs '${mnt}' || exit 99`,
    `'${process.execPath}' '${BIN}' ${ARGS.map((a) => `'${a}'`).join(' ')} --out '${mnt}/run'; rc=$?`,
    `cp -a '${mnt}/run' '${full}'; exit $rc`,
  ].join('\n');
  const r = spawnSync('unshare', ['-m', 'sh', '-c', cmd], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 1, `exit code (stderr: ${r.stderr})`);
  assert.match(r.stderr, /ENOSPC: no space left on device/);
  assert.match(r.stderr, new RegExp(`${mnt}/run`), 'names the run directory');
  assert.match(r.stderr, new RegExp(`continue with: flywheel train --out ${mnt}/run --resume`));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');

  // what the full disk left behind is readable: the checkpoint loads, the database passes SQLite's own check
  const run = RunDir.open(full, 'rl');
  const state = run.loadCheckpoint().state as { step: number };
  assert.ok(state.step >= 1 && state.step < 12, `the run stopped partway (checkpoint at step ${state.step})`);
  const db = new Database(join(full, 'rollouts.sqlite'), { readonly: true });
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  const stored = db.prepare("select count(*) as n, max(step) as last from rollouts where phase = 'train'").get() as { n: number; last: number };
  db.close();
  assert.ok(stored.n > 0 && stored.last >= state.step, 'the rollouts up to the checkpoint are there');

  // with room again, --resume ends where the uninterrupted run ended
  const resumed = fw('train', '--out', full, '--resume', '--quiet');
  assert.equal(resumed.code, 0, resumed.err);
  assert.deepEqual(metrics(full), metrics(straight));
  assert.ok(readFileSync(join(full, 'checkpoint', 'model.safetensors')).equals(readFileSync(join(straight, 'checkpoint', 'model.safetensors'))), 'final weights differ');
});
