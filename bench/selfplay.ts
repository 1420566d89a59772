/**
 * Self-play speed: the Connect Four policy-value network's inference
 * positions/s at batch 1 and 64, MCTS simulations/s with that network as
 * evaluator (leaves batched across 64 concurrent self-play games, and one
 * tree alone), and where the time of self-play goes.
 *
 *   node --import tsx bench/selfplay.ts [--quick] [--json]
 *
 * The network has the default run's shape (src/algos/alphazero_config.ts)
 * and random weights (speed does not depend on them). Timing: median of
 * repeated runs after a warmup. The time split comes from one self-play
 * slice: network = time inside the inference pass; encoding = the
 * evaluator's encode() and legalMoves() calls; game logic in the tree = the
 * tree's play/legalMoves/result calls, counted, times their cost measured
 * alone; tree operations = the rest (selection, expansion, backup,
 * allocation).
 */
import { parseArgs } from 'node:util';
import { backendInfo, initBackend } from '../src/tensor/backend.ts';
import { connect4, type C4State } from '../src/envs/games/connect4.ts';
import type { Game } from '../src/envs/types.ts';
import { PVInference, PVNet } from '../src/models/pvnet.ts';
import { CONNECT4_DEFAULTS } from '../src/algos/alphazero_config.ts';
import { SearchTree, searchAll, MCTS_DEFAULTS, type Evaluator } from '../src/algos/mcts.ts';
import { netEvaluator } from '../src/algos/arena.ts';
import { Rng } from '../src/util/rng.ts';

export interface SelfPlayBench {
  task: 'selfplay';
  backend: string;
  net: { width: number; blocks: number; params: number; flopsPerPosition: number };
  inference: { batch: number; positionsPerSec: number; gflops: number }[];
  mcts: { games: number; leavesPerTree: number; simulations: number; simsPerSec: number; movesPerSec: number }[];
  split: { network: number; encoding: number; gameLogic: number; tree: number }; // shares of self-play time
  load: [number, number];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const loadavg = async (): Promise<number> => (await import('node:os')).loadavg()[0];

/** Positions/s of the inference pass at batch B. */
function inferenceRate(inf: PVInference, B: number, quick: boolean): number {
  const rng = new Rng(B), inputs = new Float32Array(B * 84).map(() => (rng.bool(0.3) ? 1 : 0)), legal = new Uint8Array(B * 7).fill(1);
  const reps = Math.max(3, Math.ceil((quick ? 5_000 : 40_000) / B));
  for (let i = 0; i < Math.min(reps, 200); i++) inf.run(inputs, legal, B);
  return median([0, 1, 2].map(() => {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) inf.run(inputs, legal, B);
    return (reps * B) / ((performance.now() - t0) / 1000);
  }));
}

/** A game whose play/legalMoves/result calls are counted. */
function counted(game: Game<C4State>): { game: Game<C4State>; calls: { play: number; legal: number; result: number } } {
  const calls = { play: 0, legal: 0, result: 0 };
  return {
    calls,
    game: { ...game, play: (s, m) => (calls.play++, game.play(s, m)), legalMoves: (s) => (calls.legal++, game.legalMoves(s)), result: (s) => (calls.result++, game.result(s)) },
  };
}

/** Plays `plies` moves of `games` concurrent self-play games; returns leaves evaluated, moves and seconds. */
function selfPlaySlice(game: Game<C4State>, ev: Evaluator<C4State>, games: number, leavesPerTree: number, plies: number, sims: number) {
  const rng = new Rng(7), cfg = { ...MCTS_DEFAULTS, simulations: sims, leavesPerTree };
  const trees = Array.from({ length: games }, () => new SearchTree(game, game.initial(), cfg, rng));
  let leaves = 0, moves = 0;
  const t0 = performance.now();
  for (let p = 0; p < plies; p++) {
    const live = trees.filter((t) => t.root.terminalValue === null);
    leaves += searchAll(live, ev).leaves;
    for (const t of live) {
      t.advance(t.pickMove(p < 8 ? 1 : 0));
      moves++;
    }
  }
  return { leaves, moves, seconds: (performance.now() - t0) / 1000 };
}

export async function benchSelfPlay(quick: boolean): Promise<SelfPlayBench> {
  await initBackend();
  const load0 = await loadavg();
  const d = CONNECT4_DEFAULTS, sims = d.selfplay.simulations;
  const net = new PVNet({ game: connect4.id, inputSize: 84, numActions: 7, ...d.net }, 0);
  const inf = new PVInference(net);
  const inference = [1, 64].map((batch) => {
    const rate = inferenceRate(inf, batch, quick);
    return { batch, positionsPerSec: rate, gflops: (rate * net.flops('inference')) / 1e9 };
  });

  const plies = quick ? 6 : 16;
  const mcts: SelfPlayBench['mcts'] = [];
  for (const [games, lpt] of [[d.selfplay.games, d.selfplay.leavesPerTree], [1, 8]] as const) {
    const runs = [0, 1, 2].map(() => selfPlaySlice(connect4, netEvaluator(connect4, inf), games, lpt, games === 1 ? 4 * plies : plies, sims));
    const best = runs.map((r) => r.leaves / r.seconds);
    const i = best.indexOf(median(best));
    mcts.push({ games, leavesPerTree: lpt, simulations: sims, simsPerSec: best[i], movesPerSec: runs[i].moves / runs[i].seconds });
  }

  // where the time goes: one timed slice with the pieces measured
  let netMs = 0, encMs = 0;
  const { game, calls } = counted(connect4);
  const I = 84, A = 7, inputs = new Float32Array(4096 * I), legal = new Uint8Array(4096 * A);
  const timedEv: Evaluator<C4State> = {
    evaluate(states) {
      const t0 = performance.now();
      legal.fill(0, 0, states.length * A);
      states.forEach((s, b) => {
        inputs.set(connect4.encode(s), b * I);
        for (const m of connect4.legalMoves(s)) legal[b * A + m] = 1;
      });
      const t1 = performance.now();
      const out = inf.run(inputs, legal, states.length);
      netMs += performance.now() - t1;
      encMs += t1 - t0;
      return out;
    },
  };
  const slice = selfPlaySlice(game, timedEv, d.selfplay.games, d.selfplay.leavesPerTree, plies, sims);
  const total = slice.seconds * 1000;
  const gameMs = calls.play * perCall(() => connect4.play(sampleState, 3)) + calls.legal * perCall(() => connect4.legalMoves(sampleState)) + calls.result * perCall(() => connect4.result(sampleState));
  const split = { network: netMs / total, encoding: encMs / total, gameLogic: gameMs / total, tree: Math.max(0, 1 - (netMs + encMs + gameMs) / total) };
  return {
    task: 'selfplay', backend: backendInfo()!.name,
    net: { width: d.net.width, blocks: d.net.blocks, params: net.numParams(), flopsPerPosition: net.flops('inference') },
    inference, mcts, split, load: [load0, await loadavg()],
  };
}

const sampleState = [3, 3, 2, 4, 2, 1].reduce((s, m) => connect4.play(s, m), connect4.initial());

/** Milliseconds per call of fn, measured over many calls. */
function perCall(fn: () => unknown): number {
  const n = 200_000, t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return (performance.now() - t0) / n;
}

/** The lines bench/main.ts prints. */
export function formatSelfPlay(r: SelfPlayBench): string[] {
  const k = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  return [
    `self-play (Connect Four, ${r.backend}): network ${r.net.width} wide x ${r.net.blocks} blocks, ${r.net.params} params, ${(r.net.flopsPerPosition / 1e6).toFixed(2)} MFLOP a position; load ${r.load.map((x) => x.toFixed(1)).join('->')}`,
    ...r.inference.map((i) => `  inference, batch ${String(i.batch).padStart(2)}: ${k(i.positionsPerSec)} positions/s (${i.gflops.toFixed(1)} GFLOP/s)`),
    ...r.mcts.map((m) => `  MCTS, ${m.games} game${m.games > 1 ? 's' : ''} x ${m.leavesPerTree} leaves a round, ${m.simulations} simulations a move: ${k(m.simsPerSec)} simulations/s, ${m.movesPerSec.toFixed(0)} moves/s`),
    `  self-play time: network ${pct(r.split.network)}, encoding positions ${pct(r.split.encoding)}, game logic in the tree ${pct(r.split.gameLogic)}, tree operations ${pct(r.split.tree)}`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false } } });
  const r = await benchSelfPlay(values.quick);
  console.log(values.json ? JSON.stringify(r) : formatSelfPlay(r).join('\n'));
}
