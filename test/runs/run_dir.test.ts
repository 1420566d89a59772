/**
 * The run-directory rules: what counts as a run, the refusals, force that
 * never mixes a new config with an old checkpoint, metrics truncation on
 * resume, flags reconciled with the saved config.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDir, reconcile } from '../../src/runs/run_dir.ts';
import { UserError } from '../../src/util/errors.ts';

const tmp = mkdtempSync(join(tmpdir(), 'flywheel-runs-'));
const isUserError = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message);
const ck = (step: number) => ({
  params: new Map([['w', { shape: [2], data: Float32Array.of(step, step) }]]), optimizer: null, config: { step }, state: { step },
});

test('a new run writes config.json with its kind; reopening reads it back', () => {
  const dir = join(tmp, 'a');
  const run = RunDir.start(dir, 'sft', { train: { steps: 5 } });
  assert.equal(run.kind, 'sft');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), { kind: 'sft', version: 1, train: { steps: 5 } });
  const again = RunDir.open(dir, 'sft');
  assert.deepEqual(again.config(), { train: { steps: 5 } });
  assert.throws(() => RunDir.open(dir, 'pretrain'), isUserError(/holds a sft run, not a pretrain run/));
  assert.ok(RunDir.isRun(dir));
});

test('refusals: an existing run without --force, a directory of other data even with --force, a file', () => {
  const dir = join(tmp, 'b');
  RunDir.start(dir, 'pretrain', {});
  assert.throws(() => RunDir.start(dir, 'pretrain', {}), isUserError(/already holds a pretrain run; continue it with --resume/));
  const data = join(tmp, 'data');
  mkdirSync(data);
  writeFileSync(join(data, 'config.json'), '{"lr": 1}');
  writeFileSync(join(data, 'notes.txt'), 'mine');
  for (const force of [false, true]) {
    assert.throws(() => RunDir.start(data, 'pretrain', {}, { force }), isUserError(/is not a flywheel run directory/));
  }
  assert.equal(readFileSync(join(data, 'config.json'), 'utf8'), '{"lr": 1}', 'untouched');
  const file = join(tmp, 'file');
  writeFileSync(file, 'x');
  assert.throws(() => RunDir.start(file, 'pretrain', {}), isUserError(/is a file, not a directory/));
  assert.throws(() => RunDir.start(join(tmp, 'nope'), 'pretrain', {}, { resume: true }), isUserError(/no such run directory/));
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  RunDir.start(empty, 'rl', {}); // an empty directory is fine
});

test('--force replaces only what a run wrote; killed midway it never pairs a new config with an old checkpoint', () => {
  const dir = join(tmp, 'c');
  const old = RunDir.start(dir, 'pretrain', { lr: 1 });
  old.saveCheckpoint(ck(7));
  old.appendMetrics({ step: 7, loss: 1 });
  writeFileSync(join(dir, 'mine.txt'), 'keep');
  const fresh = RunDir.start(dir, 'pretrain', { lr: 2 }, { force: true });
  assert.equal(fresh.hasCheckpoint(), false);
  assert.deepEqual(fresh.readMetrics(), []);
  assert.equal(readFileSync(join(dir, 'mine.txt'), 'utf8'), 'keep');
  assert.deepEqual(RunDir.open(dir).config(), { lr: 2 });
  // A crash after the new config was staged but before it was renamed in leaves the old config alone.
  fresh.saveCheckpoint(ck(3));
  writeFileSync(join(dir, 'config.json.new'), JSON.stringify({ kind: 'pretrain', version: 1, lr: 3 }));
  assert.deepEqual(RunDir.open(dir).config(), { lr: 2 });
});

test('a checkpoint left only as checkpoint.old-* (a save killed mid-swap) is found, and a fresh run is refused', () => {
  const dir = join(tmp, 'd');
  const run = RunDir.start(dir, 'sft', {});
  run.saveCheckpoint(ck(4));
  renameSync(join(dir, 'checkpoint'), join(dir, 'checkpoint.old-1-0'));
  const again = RunDir.open(dir);
  assert.ok(again.hasCheckpoint());
  assert.equal((again.loadCheckpoint().state as { step: number }).step, 4);
  assert.throws(() => RunDir.start(dir, 'sft', {}), isUserError(/already holds/));
  assert.ok(existsSync(join(dir, 'checkpoint.old-1-0')));
  again.saveCheckpoint(ck(5)); // the next save swaps in and removes the leftover
  assert.ok(!existsSync(join(dir, 'checkpoint.old-1-0')));
  assert.equal((RunDir.open(dir).loadCheckpoint().state as { step: number }).step, 5);
});

test('truncateMetrics keeps steps up to the checkpoint and drops a line cut short by a crash', () => {
  const run = RunDir.start(join(tmp, 'e'), 'rl', {});
  for (let s = 1; s <= 6; s++) run.appendMetrics({ step: s, x: s * 2 });
  appendFileSync(run.path('metrics.jsonl'), '{"step": 7, "x"');
  assert.deepEqual(run.readMetrics().map((r) => r.step), [1, 2, 3, 4, 5, 6]);
  run.truncateMetrics(4);
  assert.deepEqual(run.readMetrics().map((r) => r.step), [1, 2, 3, 4]);
  assert.equal(readFileSync(run.path('metrics.jsonl'), 'utf8').split('\n').length, 5);
  assert.throws(() => run.loadCheckpoint(), isUserError(/no checkpoint yet/));
});

test('reconcile: agreeing flags pass, --steps may grow, anything else names the flag, both values and the file', () => {
  const run = RunDir.start(join(tmp, 'f'), 'pretrain', { model: { nLayer: 2 }, train: { steps: 100 }, data: { corpus: '/x.txt' } });
  const out = reconcile<{ train: { steps: number } }>(run, [
    { flag: '--layers', path: 'model.nLayer', value: 2 },
    { flag: '--steps', path: 'train.steps', value: 300 },
  ], ['train.steps']);
  assert.equal(out.train.steps, 300);
  assert.throws(() => reconcile(run, [{ flag: '--layers', path: 'model.nLayer', value: 4 }]), isUserError(/--layers 4 contradicts this run's model.nLayer = 2 \(.*config.json\)/));
  assert.throws(() => reconcile(run, [{ flag: '--steps', path: 'train.steps', value: 50 }], ['train.steps']), isUserError(/may only grow, from 100/));
  assert.throws(() => reconcile(run, [{ flag: '--corpus', path: 'data.corpus', value: '/y.txt' }]), isUserError(/--corpus "\/y.txt" contradicts/));
});

test('a run directory under missing parents is made level by level; one that cannot be made (/proc) is a clear error, not a hang', () => {
  const deep = join(tmp, 'a', 'b', 'c');
  RunDir.start(deep, 'sft', { x: 1 }).saveCheckpoint(ck(1));
  assert.ok(existsSync(join(deep, 'checkpoint', 'checkpoint.json')));
  if (existsSync('/proc/self')) {
    // Node 20's recursive mkdirSync never returns here; makeDirs throws procfs's ENOENT
    assert.throws(() => RunDir.start('/proc/flywheel-test/run', 'sft', {}), isUserError(/\/proc\/flywheel-test\/run: cannot write the run directory/));
  }
});
