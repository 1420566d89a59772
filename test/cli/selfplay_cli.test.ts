/**
 * `flywheel selfplay` and `flywheel play` as a user runs them (real child
 * processes, real signals): the JSON summary, kill -9 then --resume ending
 * exactly where an uninterrupted run ends, Ctrl-C saying how to resume,
 * position analysis in file order, and every bad input a one-line error
 * that writes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveCheckpoint } from '../../src/nn/checkpoint.ts';
import { BIN, fw, userError } from './fw.ts';

const tmp = mkdtempSync(join(tmpdir(), 'flywheel-selfplay-'));
const TINY = ['--game', 'tictactoe', '--sl-games', '20', '--sl-steps', '30', '--games', '8', '--simulations', '16', '--width', '16', '--blocks', '1', '--quiet'];

/** Starts a run, waits until its checkpoint has `iteration` iterations, then sends `signal`. */
async function interrupt(out: string, iterations: number, iteration: number, signal: NodeJS.Signals): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [BIN, 'selfplay', ...TINY, '--iterations', String(iterations), '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const state = join(out, 'checkpoint', 'state.json');
  const reached = (): boolean => {
    try {
      return JSON.parse(readFileSync(state, 'utf8')).iteration >= iteration;
    } catch {
      return false; // not written yet, or being swapped in
    }
  };
  while (!reached()) await new Promise((r) => setTimeout(r, 20));
  child.kill(signal);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? -1 : null))));
  return { code, err };
}

test('selfplay --json prints the summary; play analyses positions from --moves and --positions', () => {
  const out = join(tmp, 'json');
  const r = fw('selfplay', ...TINY, '--iterations', '2', '--out', out, '--json');
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out);
  for (const part of [s.sl, s.final]) {
    for (const k of ['vs_teacher', 'solver_accuracy', 'value_accuracy']) assert.ok(part[k] >= 0 && part[k] <= 1, `${k} = ${part[k]}`);
  }
  assert.ok(typeof s.elo.ratings.gen0 === 'number' && s.elo.ratings.random === 0);
  assert.ok(s.seconds > 0 && existsSync(join(s.checkpoint, 'model.safetensors')));
  const report = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(report, /Supervised model vs self-play model vs the teacher/);
  assert.match(report, /data-series="accepted generations"/, 'the Elo curve');
  assert.doesNotMatch(report, /<script|(src|href)="https?:/, 'self-contained');
  assert.ok(s.teacher_solver_accuracy >= 0 && s.teacher_solver_accuracy <= 1);
  assert.ok(readFileSync(join(out, 'games.jsonl'), 'utf8').split('\n').some((l) => /"kind":"selfplay".*"moves":"[1-9]{5,9}"/.test(l)), 'replayable move strings');

  const one = fw('play', '--game', 'tictactoe', '--checkpoint', out, '--moves', '15', '--simulations', '20');
  assert.equal(one.code, 0, one.err);
  const a = JSON.parse(one.out);
  assert.ok([2, 3, 4, 6, 7, 8, 9].includes(a.move), `a legal 1-based move: ${a.move}`);
  assert.equal(a.policy.length, 9);
  assert.equal(a.policy[0] + a.policy[4], 0, 'no prior on taken cells');
  assert.ok(a.value >= -1 && a.value <= 1 && a.visits.reduce((x: number, y: number) => x + y, 0) > 0);
  const file = join(tmp, 'positions.txt');
  writeFileSync(file, '5\n19 0\n\n1234\n');
  const many = fw('play', '--game', 'tictactoe', '--checkpoint', out, '--positions', file, '--simulations', '20');
  assert.equal(many.code, 0, many.err);
  assert.deepEqual(JSON.parse(many.out).map((x: { moves: string }) => x.moves), ['5', '19', '1234'], 'file order, blank lines skipped, trailing fields ignored');
});

test('kill -9 mid-run, then --resume, ends exactly where the uninterrupted run ends', async () => {
  const whole = join(tmp, 'whole'), killed = join(tmp, 'killed');
  const w = fw('selfplay', ...TINY, '--iterations', '5', '--out', whole);
  assert.equal(w.code, 0, w.err);
  await interrupt(killed, 5, 2, 'SIGKILL');
  const r = fw('selfplay', '--out', killed, '--resume', '--quiet', '--json');
  assert.equal(r.code, 0, r.err);
  for (const f of ['model.safetensors', 'extra.safetensors']) {
    assert.deepEqual(readFileSync(join(killed, 'checkpoint', f)), readFileSync(join(whole, 'checkpoint', f)), f);
  }
  assert.equal(readFileSync(join(killed, 'games.jsonl'), 'utf8'), readFileSync(join(whole, 'games.jsonl'), 'utf8'));
  userError(fw('selfplay', '--out', killed, '--resume', '--simulations', '99'), /--simulations 99 contradicts this run's selfplay.simulations = 16/);
});

test('Ctrl-C stops a run, says how to resume and exits 130', async () => {
  const out = join(tmp, 'ctrlc');
  const r = await interrupt(out, 50, 1, 'SIGINT');
  assert.equal(r.code, 130, r.err);
  assert.match(r.err, new RegExp(`continue with: flywheel selfplay --out ${out} --resume`));
});

test('bad input: unknown game, bad teacher, existing run, GPT or other-game checkpoint, bad move strings', () => {
  userError(fw('selfplay', '--game', 'chess', '--out', join(tmp, 'b1')), /unknown game 'chess'; choose one of tictactoe, connect4/);
  userError(fw('selfplay', '--game', 'tictactoe', '--teacher', 'search:x', '--out', join(tmp, 'b2')), /player spec "search:x" needs an integer depth/);
  for (const d of ['b1', 'b2']) assert.ok(!existsSync(join(tmp, d)), `nothing written for ${d}`);
  const ttt = join(tmp, 'json'); // made by the first test
  userError(fw('selfplay', ...TINY, '--out', ttt), /already holds a selfplay run; continue it with --resume, start over with --force/);

  const gpt = join(tmp, 'gpt');
  saveCheckpoint(gpt, { params: new Map([['transformer.wte.weight', { shape: [2, 2], data: new Float32Array(4) }]]), optimizer: null, config: { kind: 'pretrain', model: { vocabSize: 2 } } });
  userError(fw('play', '--checkpoint', gpt, '--moves', '4'), /this is a GPT checkpoint \("pretrain"\), not a policy-value network/);
  userError(fw('play', '--checkpoint', ttt, '--moves', '4'), /this network plays tictactoe-v1, not connect4-v1/);
  userError(fw('play', '--checkpoint', ttt, '--moves', '44a3'), /--moves "44a3": character 3 \('a'\) is not a move; moves are digits 1\.\.7/);
  userError(fw('play', '--checkpoint', ttt, '--moves', '4444444'), /--moves "4444444": move 7 \('4'\) is illegal there \(column 4 is full\)/);
  userError(fw('play', '--game', 'tictactoe', '--checkpoint', ttt, '--moves', '12457'), /--moves "12457": the game is over \(the first player won\)/);
  userError(fw('play', '--game', 'tictactoe', '--checkpoint', ttt, '--moves', '124578'), /move 6 \('8'\) comes after the game ended/);
  const bad = join(tmp, 'bad.txt');
  writeFileSync(bad, '5\n55\n');
  userError(fw('play', '--game', 'tictactoe', '--checkpoint', ttt, '--positions', bad), /bad\.txt:2 "55": move 2 \('5'\) is illegal there/);
});
