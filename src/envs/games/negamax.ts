/**
 * Generic negamax with alpha-beta for any two-player Game: an exact solver for
 * small games (tic-tac-toe from the empty board), and, with a depth limit and
 * a heuristic, the engine of the scripted 'search:D' players.
 *
 * No transposition table and no move ordering: it stays generic and short.
 * Connect Four has its own fast solver in solver.ts.
 */
import type { Game } from '../types.ts';

/** Outcome of a solve, from the point of view of the player to move. */
export interface SolveResult {
  value: -1 | 0 | 1; // game-theoretic value (for depth-limited search: 0 also means "not proven")
  score: number; // finer score, larger is better for the mover (convention per solver, see its header)
  bestMoves: number[]; // every move that achieves `score`, ascending
}

/** Scores of the generic negamax: a win found at ply p from the root scores WIN - p. */
export const WIN = 1000;

export interface NegamaxOptions<S> {
  depth?: number; // plies to look ahead; default Infinity (an exact solve; only for small games)
  heuristic?: (s: S) => number; // value of a non-final horizon position for its mover, in (-1, 1); default 0
}

/**
 * Generic alpha-beta negamax over any Game. Each root move is searched with a
 * full window, so bestMoves lists every move of the best score. Scores: a win
 * at ply p from the root is WIN - p (faster wins score higher, slower losses
 * lose less), a draw 0, a horizon position its heuristic. With a finite depth,
 * value is 0 unless a win or loss is proven within the horizon.
 */
export function negamax<S>(game: Game<S>, s: S, opts: NegamaxOptions<S> = {}): SolveResult {
  const depth = opts.depth ?? Infinity;
  const heuristic = opts.heuristic ?? (() => 0);
  if (!(depth >= 1)) throw new RangeError(`negamax: depth must be >= 1, got ${depth}`);
  const r = game.result(s);
  if (r !== null) return { value: sign(moverValue(game, s, r)), score: moverValue(game, s, r) * WIN, bestMoves: [] };
  let best = -Infinity;
  let bestMoves: number[] = [];
  for (const m of game.legalMoves(s)) {
    const v = -alphaBeta(game, game.play(s, m), depth - 1, 1, -Infinity, Infinity, heuristic);
    if (v > best) {
      best = v;
      bestMoves = [m];
    } else if (v === best) bestMoves.push(m);
  }
  return { value: best >= 1 ? 1 : best <= -1 ? -1 : 0, score: best || 0, bestMoves: bestMoves.sort((a, b) => a - b) };
}

function moverValue<S>(game: Game<S>, s: S, result: number): number {
  return game.toMove(s) === 0 ? result : -result;
}

function sign(x: number): -1 | 0 | 1 {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}

function alphaBeta<S>(game: Game<S>, s: S, depth: number, ply: number, alpha: number, beta: number, h: (s: S) => number): number {
  const r = game.result(s);
  if (r !== null) return moverValue(game, s, r) * (WIN - ply); // a draw is 0
  if (depth <= 0) return h(s);
  let best = -Infinity;
  for (const m of game.legalMoves(s)) {
    const v = -alphaBeta(game, game.play(s, m), depth - 1, ply + 1, -beta, -alpha, h);
    if (v > best) best = v;
    if (v > alpha) alpha = v;
    if (alpha >= beta) break;
  }
  return best;
}

