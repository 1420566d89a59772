/**
 * AlphaZero on tic-tac-toe: self-play from random weights reaches perfect
 * play (it never loses to the perfect solver, moving first or second, from
 * the empty board or any opening), and a run stopped mid-iteration and
 * resumed ends bit for bit where the uninterrupted run does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/util/rng.ts';
import { initBackend } from '../../src/tensor/backend.ts';
import { tictactoe } from '../../src/envs/games/tictactoe.ts';
import { makePlayer } from '../../src/envs/games/players.ts';
import { loadCheckpoint } from '../../src/nn/checkpoint.ts';
import { PVInference, pvnetFromCheckpoint } from '../../src/models/pvnet.ts';
import { RunDir } from '../../src/runs/run_dir.ts';
import { defaultConfig, runAlphaZero, type AlphaZeroConfig } from '../../src/algos/alphazero.ts';
import { mctsAgent, netEvaluator, playMatch, scoresOf, scriptedAgent } from '../../src/algos/arena.ts';
import { MCTS_DEFAULTS } from '../../src/algos/mcts.ts';

await initBackend();
const tmp = mkdtempSync(join(tmpdir(), 'alphazero-'));
const noTick = async (): Promise<void> => {};

test('tic-tac-toe: self-play from scratch never loses to the perfect solver, from either side', async () => {
  const cfg = defaultConfig('tictactoe');
  cfg.sl.steps = 0; // no teacher: random weights, then self-play only
  cfg.selfplay.iterations = 20;
  const run = RunDir.start(join(tmp, 'ttt'), 'selfplay', cfg);
  const r = await runAlphaZero({ run, config: cfg });
  assert.ok(!r.interrupted);
  const s = r.summary;
  assert.equal(s.opponents.perfect.final!.losses, 0, `lost to perfect from the paired openings: ${JSON.stringify(s.opponents.perfect.final)}`);
  assert.ok(s.final.solver_accuracy > 0.95, `solver accuracy ${s.final.solver_accuracy}`);
  assert.ok(s.final.solver_accuracy > s.sl.mcts.solver_accuracy, 'self-play improved on the untrained network');
  // from the empty board: the solver breaks ties at random, so 20 games a colour are 20 different games
  const ck = loadCheckpoint(run.checkpointDir);
  const ev = netEvaluator(tictactoe, new PVInference(pvnetFromCheckpoint(ck, run.checkpointDir, tictactoe.id)));
  const agent = mctsAgent('agent', tictactoe, ev, { ...MCTS_DEFAULTS, simulations: cfg.eval.simulations, noiseFraction: 0 });
  const perfect = scriptedAgent(tictactoe, makePlayer(tictactoe, 'perfect'));
  const games = await playMatch(tictactoe, agent, perfect, Array.from({ length: 20 }, () => []), new Rng(1), noTick);
  assert.ok(scoresOf(games, 'agent').every((x) => x >= 0.5), `lost from the empty board: ${games.filter((g) => (g.first === 'agent' ? g.result : -g.result) < 0).map((g) => g.moves.join('')).join(', ')}`);
});

/** A small, fast run: 4 iterations of 8 games. */
function tiny(): AlphaZeroConfig {
  const cfg = defaultConfig('tictactoe');
  Object.assign(cfg.net, { width: 16, valueHidden: 8 });
  Object.assign(cfg.sl, { games: 20, steps: 30 });
  Object.assign(cfg.selfplay, { iterations: 4, games: 8, simulations: 16, trainSteps: 5, batchSize: 32, bufferSize: 300 });
  Object.assign(cfg.arena, { every: 2, openings: 3 });
  Object.assign(cfg.eval, { openings: 3, simulations: 16, opponents: ['random'], finalOpponents: [] });
  return cfg;
}

test('a run stopped mid-iteration and resumed equals the uninterrupted run, bit for bit', async () => {
  const cfg = tiny();
  const whole = RunDir.start(join(tmp, 'whole'), 'selfplay', cfg);
  const a = await runAlphaZero({ run: whole, config: cfg });
  assert.ok(!a.interrupted);

  const parts = RunDir.start(join(tmp, 'parts'), 'selfplay', cfg);
  let polls = 0;
  const first = await runAlphaZero({ run: parts, config: cfg, shouldStop: () => JSON.stringify(loadState(parts)).includes('"iteration":2') && ++polls > 3 });
  assert.ok(first.interrupted, 'stopped');
  assert.equal(loadState(parts).iteration, 2, 'the last checkpoint is the end of iteration 2');
  const b = await runAlphaZero({ run: RunDir.open(join(tmp, 'parts'), 'selfplay'), config: cfg, resume: true });
  assert.ok(!b.interrupted);

  const bytes = (run: RunDir, f: string) => readFileSync(join(run.checkpointDir, f));
  assert.deepEqual(bytes(parts, 'model.safetensors'), bytes(whole, 'model.safetensors'));
  assert.deepEqual(bytes(parts, 'extra.safetensors'), bytes(whole, 'extra.safetensors'));
  assert.equal(readFileSync(parts.path('games.jsonl'), 'utf8'), readFileSync(whole.path('games.jsonl'), 'utf8'));
  const metrics = (run: RunDir) => run.readMetrics().map(({ seconds: _s, simsPerSec: _r, ...rest }) => rest);
  assert.deepEqual(metrics(parts), metrics(whole));
  const { seconds: _a, checkpoint: _c, ...sa } = a.summary;
  const { seconds: _b, checkpoint: _d, ...sb } = b.summary;
  assert.deepEqual(sb, sa);
});

function loadState(run: RunDir): { iteration: number } {
  return JSON.parse(readFileSync(join(run.checkpointDir, 'state.json'), 'utf8'));
}
