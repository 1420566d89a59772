/**
 * The training commands as a user runs them (subprocesses): pretraining
 * lowers the loss and prints a sample; user mistakes are one clear line on
 * stderr, exit 1, and leave no checkpoint behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fw, fwEnv, userError } from './fw.ts';

const tmp = mkdtempSync(join(tmpdir(), 'flywheel-cli-'));

test('pretrain on a small corpus: loss falls, a checkpoint and a sample come out (--json)', () => {
  const out = join(tmp, 'run');
  const r = fw('pretrain', '--preset', 'tiny', '--steps', '40', '--block-size', '32', '--batch-size', '16', '--lr', '0.01', '--warmup', '5',
    '--eval-every', '20', '--out', out, '--sample-tokens', '40', '--json');
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(r.out);
  assert.ok(res.finalLoss < res.firstLoss - 1, `loss ${res.firstLoss} -> ${res.finalLoss}`);
  assert.equal(res.steps, 40);
  assert.ok(typeof res.sample === 'string' && res.sample.length > 12);
  assert.ok(existsSync(join(out, 'checkpoint', 'model.safetensors')));
  const s = fw('sample', '--checkpoint', join(out, 'checkpoint'), '--prompt', 'One', '--max-tokens', '20', '--json', '--seed', '1');
  assert.equal(s.code, 0, s.err);
  const again = fw('sample', '--checkpoint', join(out, 'checkpoint'), '--prompt', 'One', '--max-tokens', '20', '--json', '--seed', '1');
  assert.deepEqual(JSON.parse(s.out).samples, JSON.parse(again.out).samples);
});

test('pretrain user mistakes: missing, non-UTF-8 or too-short corpus, bad numbers', () => {
  userError(fw('pretrain', '--corpus', join(tmp, 'none.txt'), '--out', join(tmp, 'x1')), /none\.txt: no such file/);
  const latin1 = join(tmp, 'latin1.txt');
  writeFileSync(latin1, Buffer.from('caf\xe9\n', 'latin1'));
  userError(fw('pretrain', '--corpus', latin1, '--out', join(tmp, 'x2')), /latin1\.txt:1: not valid UTF-8/);
  const short = join(tmp, 'short.txt');
  writeFileSync(short, 'hello world');
  userError(fw('pretrain', '--corpus', short, '--out', join(tmp, 'x3')), /short\.txt: the corpus has \d+ tokens/);
  userError(fw('pretrain', '--steps', 'ten'), /expected a whole number/);
  userError(fw('pretrain', '--width', '30', '--heads', '4', '--out', join(tmp, 'x4')), /not divisible/);
  for (const d of ['x1', 'x2', 'x3', 'x4']) assert.ok(!existsSync(join(tmp, d, 'checkpoint')), `no checkpoint in ${d}`);
  userError(fw('sample', '--checkpoint', join(tmp, 'x1')), /x1/);
});

test('sft user mistakes name the file, line and field; nothing is written', () => {
  const bad = join(tmp, 'bad.jsonl');
  writeFileSync(bad, '{"prompt":"1+1","completion":"2"}\n{"prompt":"2+2"}\n');
  userError(fw('sft', '--data', bad, '--out', join(tmp, 's1')), /bad\.jsonl:2: field "completion" is missing/);
  assert.ok(!existsSync(join(tmp, 's1', 'checkpoint')));
  userError(fw('sft', '--out', join(tmp, 's2')), /--data/);
});

test('doctor reports the backend it runs on; FLYWHEEL_BACKEND forces one, and a bad value is a clear error', () => {
  const r = fwEnv({ FLYWHEEL_BACKEND: 'js' }, 'doctor', '--json');
  assert.equal(r.code, 0, r.err);
  const d = JSON.parse(r.out);
  assert.equal(d.backend, 'js');
  assert.equal(d.forced, true);
  assert.equal(d.matmul.kernels, 'js', 'doctor must time the active kernels');
  assert.ok(d.matmul.gflops > 0);
  userError(fwEnv({ FLYWHEEL_BACKEND: 'gpu' }, 'doctor'), /FLYWHEEL_BACKEND=gpu is not a backend/);
});
