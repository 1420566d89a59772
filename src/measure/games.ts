/**
 * Game statistics as pure functions over numbers: win/draw/loss tallies and
 * scores, solver-move accuracy and value accuracy. Who played and how the
 * positions were labelled is the caller's business (src/algos/arena.ts).
 */

/** Win/draw/loss counts of a series of games from one side, and its score (win 1, draw 0.5). */
export interface Tally {
  games: number;
  wins: number;
  draws: number;
  losses: number;
  score: number; // (wins + draws / 2) / games, in [0, 1]; NaN for no games
  stderr: number; // standard error of score over games (each game's score a sample)
}

/** Tallies per-game scores (1 win, 0.5 draw, 0 loss). */
export function tally(scores: readonly number[]): Tally {
  let wins = 0, draws = 0, losses = 0;
  for (const s of scores) {
    if (s === 1) wins++;
    else if (s === 0.5) draws++;
    else if (s === 0) losses++;
    else throw new RangeError(`tally: a game's score must be 0, 0.5 or 1, got ${s}`);
  }
  const n = scores.length, score = n > 0 ? (wins + draws / 2) / n : NaN;
  let ss = 0;
  for (const s of scores) ss += (s - score) ** 2;
  const stderr = n > 1 ? Math.sqrt(ss / (n - 1) / n) : NaN;
  return { games: n, wins, draws, losses, score, stderr };
}

/**
 * Solver-move accuracy: the share of positions where the chosen move keeps
 * the game-theoretic value. Positions where every legal move keeps it (a
 * lost position, or one with no wrong move) say nothing and are left out.
 * chosen[i] is the move played in position i; keeps[i] the value-keeping
 * moves there; legal[i] its legal moves.
 */
export function solverAccuracy(chosen: readonly number[], keeps: readonly (readonly number[])[], legal: readonly (readonly number[])[]): { accuracy: number; positions: number } {
  if (chosen.length !== keeps.length || keeps.length !== legal.length) throw new RangeError(`solverAccuracy: ${chosen.length} moves, ${keeps.length} labels, ${legal.length} move lists`);
  let right = 0, counted = 0;
  for (let i = 0; i < chosen.length; i++) {
    if (keeps[i].length === legal[i].length) continue;
    counted++;
    if (keeps[i].includes(chosen[i])) right++;
  }
  return { accuracy: counted > 0 ? right / counted : NaN, positions: counted };
}

/** The value class of a prediction in [-1, 1]: win above drawBand, loss below -drawBand, draw between. */
export function valueClass(v: number, drawBand: number): -1 | 0 | 1 {
  return v > drawBand ? 1 : v < -drawBand ? -1 : 0;
}

/**
 * Value accuracy: the share of positions where the predicted value's class
 * (valueClass) matches the exact value (-1 loss, 0 draw, +1 win).
 */
export function valueAccuracy(predicted: readonly number[] | Float32Array, truth: readonly number[], drawBand = 1 / 3): number {
  if (predicted.length !== truth.length) throw new RangeError(`valueAccuracy: ${predicted.length} predictions for ${truth.length} labels`);
  if (truth.length === 0) return NaN;
  let right = 0;
  for (let i = 0; i < truth.length; i++) if (valueClass(predicted[i], drawBand) === truth[i]) right++;
  return right / truth.length;
}
