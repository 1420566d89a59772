/**
 * The configuration of a self-play run (src/algos/alphazero.ts), with the
 * defaults for each built-in game. Every field is written to the run's
 * config.json as resolved, so a run says exactly what ran.
 */
import type { Game } from '../envs/types.ts';
import { GAMES } from '../envs/games/index.ts';
import { UserError } from '../util/errors.ts';

export interface AlphaZeroConfig {
  game: string; // game id ('connect4-v1', 'tictactoe-v1')
  seed: number; // seeds init, expert games, self-play, training batches and matches
  net: {
    width: number; // hidden width of the residual MLP
    blocks: number; // residual blocks
    valueHidden: number; // hidden width of the value head
  };
  teacher: string; // the scripted expert of phase 1 (a players.ts spec, e.g. 'search:2')
  sl: {
    games: number; // expert games recorded (the teacher against itself)
    openingPlies: number; // random plies opening each expert game, for variety (not trained on)
    steps: number; // optimizer steps
    batchSize: number;
    lr: number; // peak learning rate (cosine decay to a tenth)
  };
  selfplay: {
    iterations: number; // iterations of: play games, train, maybe gate
    games: number; // self-play games per iteration, played concurrently
    simulations: number; // MCTS root visits per move
    temperatureMoves: number; // plies drawn from visit counts (temperature 1); argmax after
    cPuct: number; // PUCT exploration constant
    dirichletAlpha: number; // root noise concentration
    noiseFraction: number; // root noise weight eps
    leavesPerTree: number; // leaves per tree per network batch (virtual loss)
    bufferSize: number; // replay buffer capacity (positions)
    trainSteps: number; // optimizer steps per iteration
    batchSize: number;
    lr: number; // constant learning rate
    valueWeight: number; // weight of the value loss beside the policy loss
  };
  arena: {
    every: number; // iterations between gating matches
    openings: number; // random openings, each played with both colours
    openingPlies: number; // plies per opening
    simulations: number; // MCTS root visits per move in the match
    threshold: number; // score the candidate needs to replace the best network (AlphaGo Zero: 0.55)
  };
  eval: {
    openings: number; // random openings per opponent, each played with both colours
    openingPlies: number;
    simulations: number; // MCTS root visits per move of the evaluated agent
    opponents: string[]; // scripted opponents of every evaluation (each accepted network), besides the teacher
    finalOpponents: string[]; // further opponents of the MCTS agent's final evaluation (slow ones)
    anchors: Record<string, number>; // fixed Elo ratings of scripted players (scripts/calibrate_anchors.ts)
    drawBand: number; // |value| below this predicts a draw (value accuracy)
    policyTemperature: number; // how the raw policy plays matches: 0 its most likely move, 1 a sample
  };
}

/** Connect Four: 18 minutes on the shared 2-core machine at load 13-17 (docs/selfplay.md). */
export const CONNECT4_DEFAULTS: AlphaZeroConfig = {
  game: 'connect4-v1',
  seed: 0,
  net: { width: 512, blocks: 1, valueHidden: 64 },
  teacher: 'search:2',
  sl: { games: 20_000, openingPlies: 2, steps: 10_000, batchSize: 256, lr: 2e-3 },
  selfplay: {
    iterations: 40, games: 64, simulations: 100, temperatureMoves: 8, cPuct: 1.5, dirichletAlpha: 1.0, noiseFraction: 0.25,
    leavesPerTree: 4, bufferSize: 60_000, trainSteps: 60, batchSize: 256, lr: 3e-4, valueWeight: 1,
  },
  arena: { every: 4, openings: 20, openingPlies: 2, simulations: 50, threshold: 0.55 },
  eval: {
    openings: 40, openingPlies: 2, simulations: 200, opponents: ['greedy', 'search:4'], finalOpponents: ['random', 'noisy:0.3', 'perfect'],
    // scripts/calibrate_anchors.ts connect4 30 random greedy search:2 search:4 noisy:0.3 perfect (60 games a pair; ±50-65 Elo)
    anchors: { random: 0, greedy: 325, 'noisy:0.3': 437, 'search:2': 713, 'search:4': 734, perfect: 1024 },
    drawBand: 1 / 3, policyTemperature: 0,
  },
};

/** Tic-tac-toe: seconds; reaches perfect play from scratch (no teacher games needed, but phase 1 runs on a few). */
export const TICTACTOE_DEFAULTS: AlphaZeroConfig = {
  game: 'tictactoe-v1',
  seed: 0,
  net: { width: 64, blocks: 1, valueHidden: 32 },
  teacher: 'greedy',
  sl: { games: 200, openingPlies: 1, steps: 200, batchSize: 64, lr: 3e-3 },
  selfplay: {
    iterations: 12, games: 32, simulations: 50, temperatureMoves: 4, cPuct: 1.5, dirichletAlpha: 1.0, noiseFraction: 0.25,
    leavesPerTree: 4, bufferSize: 8_000, trainSteps: 40, batchSize: 128, lr: 3e-3, valueWeight: 1,
  },
  arena: { every: 2, openings: 9, openingPlies: 1, simulations: 30, threshold: 0.55 },
  eval: { openings: 9, openingPlies: 1, simulations: 50, opponents: ['random', 'greedy', 'perfect'], finalOpponents: [], anchors: { random: 0 }, drawBand: 1 / 3, policyTemperature: 0 },
};

/** The built-in game with this id or short name ('connect4' for 'connect4-v1'); a UserError listing the games otherwise. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function findGame(name: string): Game<any> {
  const g = GAMES.find((x) => x.id === name || x.id === `${name}-v1`);
  if (!g) throw new UserError(`unknown game '${name}'; choose one of ${GAMES.map((x) => x.id.replace(/-v1$/, '')).join(', ')}`);
  return g;
}

/** The defaults for a game. */
export function defaultConfig(gameId: string): AlphaZeroConfig {
  const game = findGame(gameId);
  return structuredClone(game.id === CONNECT4_DEFAULTS.game ? CONNECT4_DEFAULTS : TICTACTOE_DEFAULTS);
}
