/**
 * A run stuck in a user's own code still quits on the second Ctrl-C. JS
 * signal handlers only run when the event loop turns, and a generate() that
 * never returns stops it; the native addon's handler in front of Node's
 * (armSignalExit) ends the process on the second signal anyway. A real
 * `flywheel train` in a child process, real signals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/tensor/backend.ts';
import { loadNativeKernels } from '../../src/tensor/kernels/native.ts';
import { RunDir } from '../../src/runs/run_dir.ts';
import { lmCheckpoint } from '../../src/runs/lm_checkpoint.ts';
import { firstLetterSource, toyPolicy } from '../algos/rl_toy.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'flywheel.js');
const native = loadNativeKernels();

// generate() works for a while (the config check, the held-out tasks), then never returns (in the pre-flight check)
const STUCK = firstLetterSource({ hangAfter: 60 });

test('a second Ctrl-C ends a run whose own generate() hangs, with 130', { skip: native.kernels ? false : `native backend unavailable: ${native.info.reason}`, timeout: 120_000 }, async () => {
  await initBackend();
  const dir = mkdtempSync(join(tmpdir(), 'flywheel-stuck-'));
  try {
    writeFileSync(join(dir, 'stuck.ts'), STUCK);
    const p = toyPolicy(3);
    RunDir.start(join(dir, 'init'), 'sft', {}).saveCheckpoint(lmCheckpoint(p.model, p.tokenizer, { kind: 'sft', model: p.model.config, format: 'chat' }));
    const child = spawn(process.execPath, [BIN, 'train', '--env', join(dir, 'stuck.ts'), '--init', join(dir, 'init'), '--out', join(dir, 'rl'),
      '--steps', '100', '--prompts', '8', '--group', '4', '--difficulty', '1', '--eval-tasks', '8', '--force'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FLYWHEEL_BACKEND: 'native' } });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    let gone = false;
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => ((gone = true), resolve(code))));
    // wait until training has started, then until generate() has had time to hang
    while (!/held-out at step 0/.test(err) && !gone) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!gone, `train ended before it got stuck: ${err}`);
    await new Promise((r) => setTimeout(r, 2000));
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(child.exitCode, null, `the first Ctrl-C asks the (stuck) loop to stop; it cannot, so the process is still there: ${err}`);
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 130, `exit code after the second Ctrl-C: ${code}\n${err}`);
    assert.match(err, /second signal: quitting at once/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
