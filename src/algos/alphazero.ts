/**
 * AlphaGo's two phases on a small game: imitate a scripted expert, then
 * improve by self-play with MCTS (Silver et al. 2016, "Mastering the game of
 * Go with deep neural networks and tree search"; 2017, AlphaGo Zero; 2018,
 * AlphaZero). The loop, top to bottom:
 *
 *   phase 1 (supervised):
 *     records  <- the teacher against itself (random first plies for variety)
 *     net      <- minimize CE(policy, teacher's move) + MSE(value, outcome)
 *     evaluate the supervised net (raw policy, and MCTS over it = generation 0)
 *   phase 2 (self-play), for iteration in 1..iterations:
 *     games    <- MCTS self-play of the best net (root noise, temperature for the first plies)
 *     buffer   <- (position, visit shares, outcome) of every move
 *     candidate <- trainSteps minibatches from the buffer
 *     every arena.every: candidate vs best; it replaces best at >= threshold (gating)
 *                        and a new generation is evaluated
 *   final: the last generation against every opponent; Elo of everyone
 *
 * Departures, on purpose:
 *   - The network is a residual MLP (src/models/pvnet.ts), not a convnet.
 *   - Phase 1 trains both heads on the teacher's games (AlphaGo trained a
 *     value net on self-play positions separately); phase 2 starts from it,
 *     where AlphaGo Zero started from random weights. Tic-tac-toe needs no
 *     teacher: its test runs phase 2 from scratch (sl.steps = 0).
 *   - Self-play and training alternate in iterations instead of running
 *     concurrently; AdamW at a constant rate instead of SGD with momentum
 *     and a step schedule; positions are mirrored at random when the game
 *     allows (AlphaGo Zero used the 8 board symmetries, AlphaZero none).
 *   - No resignation; every game is played out.
 *   - Matches start from random openings played with both colours (arena.ts).
 *
 * Every random choice is seeded from (seed, phase, step), so a resumed run
 * repeats exactly what the uninterrupted one would have done. A checkpoint
 * is saved after every iteration (and every `slCheckpointEvery` SL steps);
 * an interrupted iteration is abandoned and redone on resume.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Game } from '../envs/types.ts';
import { expertRecords, recordToExamples, type GameRecord } from '../envs/games/players.ts';
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { yieldNow } from '../util/async.ts';
import { backward } from '../tensor/tensor.ts';
import { withPool } from '../tensor/pool.ts';
import { AdamW, clipGradNorm, cosineSchedule } from '../nn/optim.ts';
import type { Checkpoint } from '../nn/checkpoint.ts';
import type { SafeTensor } from '../nn/safetensors.ts';
import { PVInference, PVNet, type PVNetConfig } from '../models/pvnet.ts';
import { RUN_FILES, type RunDir } from '../runs/run_dir.ts';
import { SearchTree, searchAll, type MCTSConfig } from './mcts.ts';
import { ReplayBuffer, boardMirror } from './replay.ts';
import { mctsAgent, netEvaluator, playMatch, randomOpenings, scoresOf, type Tick } from './arena.ts';
import { evaluateNet, finalReport, type NetEval, type SelfPlaySummary } from './alphazero_eval.ts';
import { findGame, type AlphaZeroConfig } from './alphazero_config.ts';
import type { PairResult } from '../measure/elo.ts';

export { defaultConfig, findGame, type AlphaZeroConfig } from './alphazero_config.ts';

const SL_CHECKPOINT_EVERY = 500;

/** Progress for a bar: what runs, how far it is, and rates. */
export interface AZProgress {
  phase: 'expert' | 'sl' | 'selfplay' | 'arena' | 'eval';
  label: string; // what a progress bar shows, e.g. 'self-play 3/40'
  done: number;
  total: number;
  fields: Record<string, string>;
}

export interface AZRun {
  run: RunDir;
  config: AlphaZeroConfig;
  resume?: boolean;
  shouldStop?: () => boolean; // polled between games, moves and steps
  onProgress?: (p: AZProgress) => void;
  onEvent?: (message: string) => void;
}

export type AZResult = { interrupted: true; step: string } | { interrupted: false; summary: SelfPlaySummary };

/** state.json of a self-play checkpoint. */
export interface AZState {
  phase: 'sl' | 'sl-eval' | 'selfplay' | 'done';
  slStep: number; // SL optimizer steps taken
  iteration: number; // self-play iterations completed
  generation: number; // accepted networks; the best is generation `generation`
  games: number; // self-play games played
  flops: number; // compute spent making the agent: SL training, self-play inference and training, arena inference
  seconds: number; // wall time of finished work, summed over sessions
  optStep: number;
  expertWritten: boolean; // the expert records are in games.jsonl
  replay: { size: number; next: number; added: number };
  sl: NetEval | null; // the supervised net's evaluation
  evals: NetEval[]; // one per accepted generation
  arenas: { iteration: number; score: number; accepted: boolean; generation: number }[];
  pairs: PairResult[]; // every evaluated match, for the Elo fit
}

class Stopped extends Error {}

/** Runs (or resumes) a self-play run; see the header for the loop. */
export async function runAlphaZero(r: AZRun): Promise<AZResult> {
  const cfg = r.config, game = findGame(cfg.game);
  const netCfg: PVNetConfig = { game: game.id, inputSize: game.encodingShape.reduce((a, b) => a * b, 1), numActions: game.numActions, ...cfg.net };
  const best = new PVNet(netCfg, cfg.seed), candidate = new PVNet(netCfg, cfg.seed);
  const opt = new AdamW(candidate.params(), { lr: cfg.sl.lr, beta1: 0.9, beta2: 0.999, weightDecay: 1e-4 });
  const buffer = new ReplayBuffer(cfg.selfplay.bufferSize, netCfg.inputSize, netCfg.numActions, boardMirror(game));
  let st: AZState = {
    phase: 'sl', slStep: 0, iteration: 0, generation: 0, games: 0, flops: 0, seconds: 0, optStep: 0, expertWritten: false,
    replay: { size: 0, next: 0, added: 0 }, sl: null, evals: [], arenas: [], pairs: [],
  };
  let t0 = performance.now(), base = 0;
  const elapsed = (): number => base + (performance.now() - t0) / 1000;
  const search = { simulations: cfg.eval.simulations, cPuct: cfg.selfplay.cPuct, leavesPerTree: cfg.selfplay.leavesPerTree }; // how `flywheel play` searches
  const save = (): void => r.run.saveCheckpoint(checkpointOf(best, candidate, opt, buffer, { ...st, optStep: opt.step, seconds: elapsed() }, search));
  const gamesFile = r.run.path(RUN_FILES.games);
  const globalStep = (): number => st.slStep + st.iteration;

  if (r.resume) {
    st = restore(r.run.loadCheckpoint(), r.run.checkpointDir, best, candidate, opt, buffer);
    r.run.truncateMetrics(globalStep());
    truncateGames(gamesFile, st.expertWritten ? st.iteration : -1);
    if (st.phase === 'done' && st.iteration < cfg.selfplay.iterations) st.phase = 'selfplay'; // --iterations extended a finished run
    r.onEvent?.(`resumed from ${r.run.checkpointDir}: ${describe(st)}`);
    [base, t0] = [st.seconds, performance.now()];
  } else save(); // a first checkpoint, so even a run killed at once can be resumed
  const tick: Tick = async () => {
    await yieldNow();
    if (r.shouldStop?.()) throw new Stopped();
  };
  const evalCtx = { game, cfg, tick, onProgress: r.onProgress };

  try {
    // ---------------------------------------------------------------- phase 1: imitate the teacher
    if (st.phase === 'sl' && cfg.sl.steps === 0) st.phase = 'sl-eval'; // no imitation: phase 2 starts from random weights
    if (st.phase === 'sl') {
      const expert = await expertBuffer(game, cfg, tick, r.onProgress);
      if (!st.expertWritten) {
        writeGames(gamesFile, expert.records.map((g) => ({ step: 0, kind: 'expert', ...gameLine(game, g.moves, g.players, g.result) })));
        st.expertWritten = true;
      }
      opt.config.lr = cfg.sl.lr;
      while (st.slStep < cfg.sl.steps) {
        const lr = cosineSchedule(st.slStep, { lr: cfg.sl.lr, warmup: Math.min(100, cfg.sl.steps / 10), totalSteps: cfg.sl.steps });
        const m = trainStep(candidate, opt, expert.buffer.sample(cfg.sl.batchSize, new Rng(`${cfg.seed}:sl:${st.slStep}`)), lr, 1);
        st.slStep++;
        st.flops += cfg.sl.batchSize * candidate.flops('train');
        if (st.slStep % 50 === 0 || st.slStep === cfg.sl.steps) {
          r.run.appendMetrics({ step: globalStep(), phase: 'sl', ...m, lr, flops: st.flops });
          r.onProgress?.({ phase: 'sl', label: 'supervised', done: st.slStep, total: cfg.sl.steps, fields: { loss: m.loss.toFixed(3) } });
        }
        if (st.slStep % SL_CHECKPOINT_EVERY === 0 || st.slStep === cfg.sl.steps) save();
        await yieldNow();
        if (r.shouldStop?.()) {
          save();
          return { interrupted: true, step: `SL step ${st.slStep} of ${cfg.sl.steps}` };
        }
      }
      best.copyFrom(candidate);
      st.phase = 'sl-eval';
      save();
    }
    if (st.phase === 'sl-eval') {
      st.sl = await evaluateNet(evalCtx, new PVInference(best), { label: 'gen0', policyLabel: 'sl-policy', iteration: 0, games: 0, flops: st.flops });
      st.pairs.push(...st.sl.pairs);
      st.phase = 'selfplay';
      r.onEvent?.(`supervised: ${oneLine(st.sl, cfg.teacher)}`);
      save();
    }

    // ---------------------------------------------------------------- phase 2: self-play
    const sp = cfg.selfplay;
    opt.config.lr = sp.lr;
    while (st.phase === 'selfplay' && st.iteration < sp.iterations) {
      const it = st.iteration + 1;
      const bestInf = new PVInference(best);
      const progress = (p: Omit<AZProgress, 'label'>): void => r.onProgress?.({ ...p, label: `self-play ${it}/${sp.iterations}` });
      const played = await selfPlayGames(game, bestInf, cfg, new Rng(`${cfg.seed}:selfplay:${it}`), tick, progress);
      for (const p of played.positions) buffer.push(p.input, p.legal, p.policy, p.value);
      st.flops += played.evaluated * best.flops('inference');
      let loss = { loss: NaN, policyLoss: NaN, valueLoss: NaN };
      for (let k = 0; k < sp.trainSteps; k++) {
        loss = trainStep(candidate, opt, buffer.sample(sp.batchSize, new Rng(`${cfg.seed}:train:${it}:${k}`)), sp.lr, 1, sp.valueWeight);
        st.flops += sp.batchSize * candidate.flops('train');
        if (k % 10 === 9) await tick();
      }
      const row: Record<string, unknown> = { phase: 'selfplay', iteration: it, games: st.games + played.records.length, ...loss, simsPerSec: played.simsPerSec, bufferSize: buffer.size };
      let accepted: NetEval | null = null;
      if (it % cfg.arena.every === 0 || it === sp.iterations) {
        const a = await arena(game, candidate, best, cfg, new Rng(`${cfg.seed}:arena:${it}`), tick, st.generation);
        st.flops += a.evaluated * best.flops('inference');
        const ok = a.score >= cfg.arena.threshold;
        row.arenaScore = a.score;
        row.accepted = ok;
        if (ok) {
          best.copyFrom(candidate);
          st.pairs.push({ a: `gen${st.generation + 1}`, b: `gen${st.generation}`, score: a.score * a.games, games: a.games });
          accepted = await evaluateNet(evalCtx, new PVInference(best), { label: `gen${st.generation + 1}`, iteration: it, games: st.games + played.records.length, flops: st.flops });
        }
        st.arenas.push({ iteration: it, score: a.score, accepted: ok, generation: st.generation + (ok ? 1 : 0) });
        r.onEvent?.(`iteration ${it}: arena ${(100 * a.score).toFixed(0)}% -> ${ok ? `accepted as generation ${st.generation + 1}: ${oneLine(accepted!, cfg.teacher)}` : 'rejected'}`);
      }
      // the iteration is complete: commit it
      writeGames(gamesFile, played.records.map((g) => ({ step: it, kind: 'selfplay', ...g })));
      st.games += played.records.length;
      st.iteration = it;
      if (accepted) {
        st.generation++;
        st.evals.push(accepted);
        st.pairs.push(...accepted.pairs);
      }
      r.run.appendMetrics({ step: globalStep(), ...row, generation: st.generation, flops: st.flops, seconds: elapsed() });
      save();
    }
    if (st.phase === 'selfplay') {
      const summary = await finalReport(evalCtx, new PVInference(best), st, elapsed, r.run);
      st.phase = 'done';
      save();
      r.run.writeJson(RUN_FILES.summary, summary);
      return { interrupted: false, summary };
    }
    return { interrupted: false, summary: JSON.parse(readFileSync(r.run.path(RUN_FILES.summary), 'utf8')) as SelfPlaySummary };
  } catch (err) {
    if (!(err instanceof Stopped)) throw err;
    return { interrupted: true, step: st.phase === 'selfplay' ? `self-play iteration ${st.iteration + 1} (discarded; it restarts on resume)` : st.phase };
  }
}

// ---------------------------------------------------------------- phase 1: expert data

/** The teacher's games (deterministic from the seed) and a buffer of their positions, only the teacher's own moves. */
async function expertBuffer(game: Game<unknown>, cfg: AlphaZeroConfig, tick: Tick, onProgress: AZRun['onProgress']): Promise<{ records: GameRecord[]; buffer: ReplayBuffer }> {
  const rng = new Rng(`${cfg.seed}:expert`), records: GameRecord[] = [];
  while (records.length < cfg.sl.games) {
    records.push(...expertRecords(game, cfg.teacher, Math.min(50, cfg.sl.games - records.length), rng, { openingPlies: cfg.sl.openingPlies }));
    onProgress?.({ phase: 'expert', label: `expert games (${cfg.teacher})`, done: records.length, total: cfg.sl.games, fields: {} });
    await tick();
  }
  const examples = records.flatMap((g) => recordToExamples(game, g, cfg.sl.openingPlies));
  const A = game.numActions, buffer = new ReplayBuffer(Math.max(1, examples.length), examples[0]?.input.length ?? 1, A, boardMirror(game));
  const onehot = new Float32Array(A);
  for (const e of examples) {
    onehot.fill(0);
    onehot[e.move] = 1;
    buffer.push(e.input, e.legal, onehot, e.outcome);
  }
  return { records, buffer };
}

// ---------------------------------------------------------------- phase 2: self-play games

interface Position {
  input: Float32Array;
  legal: number[];
  policy: Float32Array;
  value: number;
}

/** One iteration's games, all at once: MCTS with root noise for both sides; visit shares and outcomes as targets. */
async function selfPlayGames(game: Game<unknown>, net: PVInference, cfg: AlphaZeroConfig, rng: Rng, tick: Tick, onProgress: (p: Omit<AZProgress, 'label'>) => void) {
  const sp = cfg.selfplay, ev = netEvaluator(game, net);
  const mcts: MCTSConfig = { simulations: sp.simulations, cPuct: sp.cPuct, dirichletAlpha: sp.dirichletAlpha, noiseFraction: sp.noiseFraction, leavesPerTree: sp.leavesPerTree, virtualLoss: 1 };
  const trees = Array.from({ length: sp.games }, () => new SearchTree(game, game.initial(), mcts, rng));
  const history: { input: Float32Array; legal: number[]; policy: Float32Array; player: 0 | 1 }[][] = trees.map(() => []);
  const moves: number[][] = trees.map(() => []);
  const t0 = performance.now();
  let live = trees.map((_, i) => i), finished = 0;
  while (live.length > 0) {
    const ts = live.map((i) => trees[i]);
    while (!searchAll(ts, ev, 32).done) await tick();
    for (const i of live) {
      const t = trees[i], s = t.root.state, visits = t.visitCounts();
      const total = visits.reduce((a, b) => a + b, 0);
      history[i].push({ input: game.encode(s), legal: game.legalMoves(s), policy: visits.map((v) => v / total), player: game.toMove(s) });
      const m = t.pickMove(moves[i].length < sp.temperatureMoves ? 1 : 0);
      moves[i].push(m);
      t.advance(m);
    }
    live = live.filter((i) => trees[i].root.terminalValue === null);
    finished = sp.games - live.length;
    const secs = (performance.now() - t0) / 1000;
    onProgress({ phase: 'selfplay', done: finished, total: sp.games, fields: { 'sims/s': fmt(ev.positions / secs) } });
    await tick();
  }
  const positions: Position[] = [], records: ReturnType<typeof gameLine>[] = [];
  trees.forEach((t, i) => {
    const result = game.result(t.root.state)!;
    for (const h of history[i]) positions.push({ input: h.input, legal: h.legal, policy: h.policy, value: h.player === 0 ? result : -result });
    records.push(gameLine(game, moves[i], ['self', 'self'], result));
  });
  return { positions, records, evaluated: ev.positions, simsPerSec: ev.positions / ((performance.now() - t0) / 1000) };
}

/** The gating match: candidate against best, MCTS without noise on both sides. */
async function arena(game: Game<unknown>, candidate: PVNet, best: PVNet, cfg: AlphaZeroConfig, rng: Rng, tick: Tick, generation: number) {
  const a = cfg.arena;
  const mcts: MCTSConfig = { simulations: a.simulations, cPuct: cfg.selfplay.cPuct, dirichletAlpha: 1, noiseFraction: 0, leavesPerTree: cfg.selfplay.leavesPerTree, virtualLoss: 1 };
  const evC = netEvaluator(game, new PVInference(candidate)), evB = netEvaluator(game, new PVInference(best));
  const openings = randomOpenings(game, a.openingPlies, a.openings, rng);
  const games = await playMatch(game, mctsAgent('candidate', game, evC, mcts), mctsAgent(`gen${generation}`, game, evB, mcts), openings, rng, tick);
  const scores = scoresOf(games, 'candidate');
  return { score: scores.reduce((x, y) => x + y, 0) / scores.length, games: scores.length, evaluated: evC.positions + evB.positions };
}

// ---------------------------------------------------------------- training

/** One AdamW step on a batch (pooled buffers; only numbers escape). */
export function trainStep(net: PVNet, opt: AdamW, batch: ReturnType<ReplayBuffer['sample']>, lr: number, gradClip: number, valueWeight = 1): { loss: number; policyLoss: number; valueLoss: number } {
  return withPool(() => {
    const { loss, policyLoss, valueLoss } = net.loss(batch, valueWeight);
    backward(loss);
    if (gradClip > 0) clipGradNorm(opt.params, gradClip);
    opt.update(lr);
    opt.zeroGrad();
    return { loss: loss.item(), policyLoss, valueLoss };
  });
}

// ---------------------------------------------------------------- checkpoints and records

/** model.safetensors holds the best network (the agent); extra holds the candidate, its AdamW moments and the replay buffer. */
function checkpointOf(best: PVNet, candidate: PVNet, opt: AdamW, buffer: ReplayBuffer, st: AZState, search: object): Checkpoint {
  const extra = new Map<string, SafeTensor>();
  for (const [n, p] of candidate.params()) {
    extra.set(`candidate.${n}`, { dtype: 'F32', shape: [...p.shape], data: p.data });
    extra.set(`adam.m.${n}`, { dtype: 'F32', shape: [...p.shape], data: opt.m.get(n)! });
    extra.set(`adam.v.${n}`, { dtype: 'F32', shape: [...p.shape], data: opt.v.get(n)! });
  }
  const { tensors, counters } = buffer.toTensors('replay');
  for (const [n, t] of tensors) extra.set(n, t);
  return best.toCheckpoint({ optimizer: null, state: { ...st, replay: counters }, extra }, { search });
}

function restore(ck: Checkpoint, where: string, best: PVNet, candidate: PVNet, opt: AdamW, buffer: ReplayBuffer): AZState {
  best.loadWeights(ck, where);
  const st = ck.state as AZState | undefined;
  const extra = ck.extra ?? new Map();
  if (!st || typeof st.phase !== 'string' || !Number.isInteger(st.iteration)) throw new UserError(`${where}/state.json: not a self-play state (no phase / iteration)`);
  for (const [n, p] of candidate.params()) {
    for (const [key, dst] of [[`candidate.${n}`, p.data], [`adam.m.${n}`, opt.m.get(n)!], [`adam.v.${n}`, opt.v.get(n)!]] as const) {
      const t = extra.get(key);
      if (!t || t.data.length !== dst.length) throw new UserError(`${where}/extra.safetensors: missing or wrong-sized tensor "${key}"; start the run over with --force`);
      dst.set(t.data as Float32Array);
    }
  }
  opt.step = st.optStep;
  if (!buffer.load(extra, 'replay', st.replay)) throw new UserError(`${where}/extra.safetensors: the replay buffer does not match this run's config; start the run over with --force`);
  return st;
}

/** A game record as a line of games.jsonl: 1-based move string (Connect Four's usual notation), PGN-style result. */
export function gameLine(game: Game<unknown>, moves: readonly number[], players: readonly string[], result: number) {
  return {
    game: game.id, first: players[0], second: players[1],
    moves: moves.map((m) => (game.numActions <= 9 ? String(m + 1) : `${m + 1} `)).join('').trim(),
    result: result > 0 ? '1-0' : result < 0 ? '0-1' : '1/2-1/2',
  };
}

function writeGames(file: string, lines: object[]): void {
  if (lines.length > 0) appendFileSync(file, lines.map((l) => JSON.stringify(l) + '\n').join(''));
}

/** Keeps the games.jsonl lines of steps <= step (all dropped for step < 0), and drops a line cut short by a crash. */
function truncateGames(file: string, step: number): void {
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8').split('\n').filter((line) => {
    try {
      return line !== '' && step >= 0 && JSON.parse(line).step <= step;
    } catch {
      return false;
    }
  });
  writeFileSync(file, kept.map((l) => l + '\n').join(''));
}

function describe(st: AZState): string {
  return st.phase === 'sl' ? `SL step ${st.slStep}` : `iteration ${st.iteration}, generation ${st.generation}, ${st.games} self-play games (${st.phase})`;
}

function oneLine(e: NetEval, teacher: string): string {
  return `vs ${teacher} ${pct(e.mcts.vs_teacher)} (raw policy ${pct(e.policy.vs_teacher)}), solver accuracy ${pct(e.mcts.solver_accuracy)}, value accuracy ${pct(e.value_accuracy)}`;
}

const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
const fmt = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
