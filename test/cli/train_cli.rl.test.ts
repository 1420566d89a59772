/**
 * `flywheel train` as a user runs it, on a user's own environment file:
 * a run killed with SIGKILL at several moments and resumed each time ends
 * with the same metrics and the same weights, bit for bit, as a run that was
 * never interrupted; `eval` and `runs` read what it wrote; bad input is a
 * clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/tensor/backend.ts';
import { RunDir } from '../../src/runs/run_dir.ts';
import { lmCheckpoint } from '../../src/runs/lm_checkpoint.ts';
import { FIRST_LETTER_SOURCE, toyPolicy } from '../algos/rl_toy.ts';

await initBackend();
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'flywheel.js');
const tmp = mkdtempSync(join(tmpdir(), 'flywheel-train-cli-'));
const envFile = join(tmp, 'first_letter.ts');
writeFileSync(envFile, FIRST_LETTER_SOURCE);
const init = join(tmp, 'init');
const p = toyPolicy(5);
RunDir.start(init, 'sft', {}).saveCheckpoint(lmCheckpoint(p.model, p.tokenizer, { kind: 'sft', model: p.model.config, format: 'chat' }));

const ARGS = ['--env', envFile, '--init', init, '--steps', '14', '--prompts', '8', '--group', '8', '--lr', '3e-3', '--warmup', '1',
  '--eval-every', '5', '--eval-tasks', '16', '--checkpoint-every', '1', '--threshold', '0.2', '--quiet'];

function fw(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** metrics.jsonl without wall-clock fields. */
function metrics(dir: string): object[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const { seconds: _s, ...rest } = JSON.parse(l);
    return rest;
  });
}

/** Starts the run (or resumes it) and SIGKILLs it once `lines` metrics lines exist; resolves when it is gone. */
async function killAt(out: string, lines: number, resume: boolean): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'train', ...(resume ? ['--out', out, '--resume', '--quiet'] : [...ARGS, '--out', out])], { stdio: 'ignore' });
  const file = join(out, 'metrics.jsonl');
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let done = false;
  void exited.then(() => (done = true));
  while (!done && !(existsSync(file) && readFileSync(file, 'utf8').split('\n').length > lines)) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  await exited;
}

test('kill -9 at several points, resume each time: metrics and final weights equal an uninterrupted run, bit for bit', async () => {
  const straight = join(tmp, 'straight');
  const r = fw('train', ...ARGS, '--out', straight, '--json');
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out);
  assert.equal(summary.checkpoint, join(straight, 'checkpoint'));
  assert.ok(summary.heldout.length >= 3, 'a held-out accuracy curve');

  const killed = join(tmp, 'killed');
  await killAt(killed, 4, false);
  await killAt(killed, 8, true);
  await killAt(killed, 12, true);
  const fin = fw('train', '--out', killed, '--resume', '--quiet', '--json');
  assert.equal(fin.code, 0, fin.err);
  assert.deepEqual(metrics(killed), metrics(straight));
  const weights = (d: string): Buffer => readFileSync(join(d, 'checkpoint', 'model.safetensors'));
  assert.ok(weights(killed).equals(weights(straight)), 'final weights differ');
  const a = JSON.parse(fin.out), b = summary;
  assert.deepEqual(a.final, b.final);
  assert.deepEqual(a.costs, b.costs);

  // eval and runs read the result
  const ev = fw('eval', '--checkpoint', straight, '--env', envFile, '--n', '16', '--k', '4', '--out', join(tmp, 'ev'), '--json');
  assert.equal(ev.code, 0, ev.err);
  const e = JSON.parse(ev.out);
  assert.equal(e.accuracy.overall, b.final.overall, 'eval of the checkpoint agrees with the run\'s last held-out evaluation');
  for (const k of ["1", "2", "3", "4"]) assert.ok(e.pass_at_k[k] >= e.pass_at_k["1"] - 1e-12 && e.pass_at_k[k] <= 1);
  assert.equal(typeof e.n, 'number');
  const list = fw('runs', 'list', '--root', tmp, '--json');
  assert.equal(list.code, 0, list.err);
  assert.deepEqual(JSON.parse(list.out).map((x: { name: string }) => x.name).sort(), ['ev', 'init', 'killed', 'straight']);
  assert.match(fw('runs', 'list', '--root', tmp).out, /\nstraight\s+rl\s+14\s.*start=\S+% overall=\S+%/);
  const cmp = JSON.parse(fw('runs', 'compare', 'straight', 'killed', '--root', tmp, '--json').out) as { figures: Record<string, unknown> }[];
  assert.deepEqual(cmp[0].figures, cmp[1].figures, 'the resumed run reads the same as the straight one');
  assert.ok(b.sampleEfficiency, `the toy run reaches the threshold: ${JSON.stringify(b.heldout.map((p: { overall: number }) => p.overall))}`);
  assert.equal(cmp[0].figures.toThreshold, b.sampleEfficiency.samples, 'samples to the threshold, from the metrics, as the summary has it');
  assert.equal(cmp[0].figures.overall, b.final.overall);
});

test('train user mistakes: an unknown environment, a game, a tokenizer that cannot write the prompts, an existing run, a bad flag', () => {
  const fail = (r: ReturnType<typeof fw>, re: RegExp): void => {
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, re);
    assert.doesNotMatch(r.err, /\n\s+at /);
  };
  fail(fw('train', '--env', 'nope-v1', '--init', init, '--out', join(tmp, 'x1')), /unknown environment "nope-v1"/);
  fail(fw('train', '--env', 'connect4-v1', '--init', init, '--out', join(tmp, 'x2')), /is a game: train game agents with `flywheel selfplay/);
  fail(fw('train', '--env', 'addsub-v1', '--init', init, '--out', join(tmp, 'x3')), /tokenizer cannot write addsub-v1's prompts or answers: it lacks .*"\+"/);
  fail(fw('train', '--env', envFile, '--out', join(tmp, 'x4')), /--init CHECKPOINT/);
  fail(fw('train', '--env', envFile, '--init', init, '--algo', 'sac'), /argument 'sac' is invalid/);
  fail(fw('train', '--env', envFile, '--init', init, '--difficulty', '7', '--out', join(tmp, 'x5')), /--difficulty 7 is out of range/);
  fail(fw('train', '--env', envFile, '--init', init, '--algo', 'grpo', '--gamma', '0.9', '--out', join(tmp, 'x6')), /--gamma applies to --algo ppo only; this run is --algo grpo/);
  fail(fw('train', '--env', envFile, '--init', init, '--algo', 'ei', '--epochs', '2', '--out', join(tmp, 'x7')), /--epochs applies to --algo grpo, rloo and ppo only; this run is --algo ei/);
  for (const d of ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7']) assert.ok(!existsSync(join(tmp, d, 'checkpoint')), `nothing written to ${d}`);
});

test('the algorithms\' own settings are flags, saved in the resolved config', () => {
  const ppo = join(tmp, 'ppo-flags');
  const r = fw('train', '--env', envFile, '--init', init, '--algo', 'ppo', '--steps', '1', '--prompts', '4', '--group', '2', '--eval-tasks', '4', '--force',
    '--gamma', '0.9', '--lambda', '0.8', '--vf-coef', '0.25', '--grad-clip', '0.5', '--difficulty', '1', '--out', ppo, '--quiet');
  assert.equal(r.code, 0, r.err);
  const rl = JSON.parse(readFileSync(join(ppo, 'config.json'), 'utf8')).rl;
  assert.deepEqual([rl.gamma, rl.lambda, rl.vfCoef, rl.gradClip], [0.9, 0.8, 0.25, 0.5]);
  // eval says when it measures more levels than the run trained on
  const evAll = fw('eval', '--checkpoint', ppo, '--env', envFile, '--n', '4', '--k', '1', '--out', join(tmp, 'ev-ppo-all'));
  assert.equal(evAll.code, 0, evAll.err);
  assert.match(evAll.err, /trained by RL on difficulty 1 of this environment; evaluating every level \(1,2\); --difficulty 1 measures/);
  const evOne = fw('eval', '--checkpoint', ppo, '--env', envFile, '--n', '4', '--k', '1', '--difficulty', '1', '--out', join(tmp, 'ev-ppo-1'));
  assert.equal(evOne.code, 0, evOne.err);
  assert.doesNotMatch(evOne.err, /trained by RL/);
  const ei = join(tmp, 'ei-flags');
  const e = fw('train', '--env', envFile, '--init', init, '--algo', 'ei', '--steps', '1', '--prompts', '4', '--group', '2', '--eval-tasks', '4', '--force',
    '--ei-epochs', '3', '--ei-batch', '5', '--out', ei, '--quiet');
  assert.equal(e.code, 0, e.err);
  const eiRl = JSON.parse(readFileSync(join(ei, 'config.json'), 'utf8')).rl;
  assert.deepEqual([eiRl.eiEpochs, eiRl.eiBatch], [3, 5]);
});

test('eval without --out writes runs/eval-<checkpoint>-<env> in the working directory and replaces its own earlier checkpoint evaluation there', () => {
  const cwd = mkdtempSync(join(tmp, 'cwd-'));
  const inCwd = (...args: string[]): ReturnType<typeof fw> => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, cwd });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const evalArgs = ['eval', '--checkpoint', init, '--env', envFile, '--n', '8', '--k', '2'];
  const first = inCwd(...evalArgs, '--json');
  assert.equal(first.code, 0, first.err);
  const dir = join(cwd, 'runs', 'eval-init-first_letter');
  const summary = readFileSync(join(dir, 'summary.json'), 'utf8');
  assert.deepEqual(JSON.parse(summary).accuracy, JSON.parse(first.out).accuracy);
  const again = inCwd(...evalArgs);
  assert.equal(again.code, 0, `a second evaluation of the same checkpoint is not refused: ${again.err}`);
  assert.match(again.out, /rollouts and summary: runs\/eval-init-first_letter/);
  assert.equal(readFileSync(join(dir, 'summary.json'), 'utf8'), summary, 'the same evaluation, the same summary');
  // a directory holding another kind of run is still refused, --out or not
  RunDir.start(join(cwd, 'runs', 'eval-init-first_letter'), 'sft', {}, { force: true });
  const refused = inCwd(...evalArgs);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /already holds a sft run/);
});
