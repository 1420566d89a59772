/**
 * Scripted players, graded in strength, a match loop, and expert game
 * records for supervised learning.
 *
 * Player specs (makePlayer):
 *   'random'    a uniformly random legal move
 *   'greedy'    one ply: win at once if possible; else avoid every move that
 *               lets the opponent win at once (this includes blocking its
 *               threat); else random
 *   'search:D'  generic alpha-beta to depth D plies (negamax.ts) with a simple
 *               heuristic at the horizon (Connect Four: connect4Heuristic of
 *               solver.ts, threats by row parity and centre stones; others: 0)
 *   'perfect'   a best move by exact solve (generic negamax for small games
 *               such as tic-tac-toe, memoized per player). Connect Four
 *               positions with fewer than C4_EXACT_FROM stones are too slow to
 *               solve (seconds to minutes without an opening book), so there
 *               it plays the best move of a depth-C4_FALLBACK_DEPTH search of
 *               the fast solver (exact wins and losses inside the horizon, a
 *               threat-parity heuristic beyond). So it is perfect from 12
 *               stones on, strong before; a move costs up to ~1.5 s at 12-15
 *               stones, ~0.1-0.3 s before, milliseconds late in the game.
 *               Connect Four is a first-player win, so as the second player
 *               even a truly perfect player loses to accurate play.
 *   'noisy:E'   'perfect', except with probability E a random legal move
 * Ties between equally good moves are broken with the rng, so games vary.
 */
import type { Game } from '../types.ts';
import type { Rng } from '../../util/rng.ts';
import { UserError } from '../../util/errors.ts';
import { negamax } from './negamax.ts';
import { connect4, type C4State } from './connect4.ts';
import { connect4Heuristic, sharedSolver } from './solver.ts';

export interface Player<S> {
  name: string;
  move(game: Game<S>, s: S, rng: Rng): number;
}

/** One finished game. result: +1 player 0 won, -1 player 1 won, 0 draw. */
export interface GameRecord {
  game: string; // game id
  players: [string, string]; // names of player 0 and player 1
  moves: number[]; // every move, in order, from the initial position
  result: number;
}

/** Connect Four positions with at least this many stones are solved exactly by 'perfect' and 'noisy:E'. */
export const C4_EXACT_FROM = 12;
/** Search depth (plies) of the fast solver's depth-limited search used before C4_EXACT_FROM stones. */
export const C4_FALLBACK_DEPTH = 10;

const VALID_SPECS = "'random', 'greedy', 'search:D' (D an integer >= 1), 'noisy:E' (E in [0, 1]), 'perfect'";

/** Plays one game to the end; p0 moves first. Throws if a player returns an illegal move. */
export function playGame<S>(game: Game<S>, p0: Player<S>, p1: Player<S>, rng: Rng): GameRecord {
  let s = game.initial();
  const moves: number[] = [];
  const players = [p0, p1];
  for (let r = game.result(s); r === null; r = game.result(s)) {
    const p = players[game.toMove(s)];
    const m = p.move(game, s, rng);
    if (!game.legalMoves(s).includes(m)) throw new Error(`playGame: player '${p.name}' chose illegal move ${m} at ply ${moves.length} of ${game.id}`);
    s = game.play(s, m);
    moves.push(m);
  }
  return { game: game.id, players: [p0.name, p1.name], moves, result: game.result(s) as number };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function makePlayer(game: Game<any>, spec: string): Player<any> {
  const [kind, arg, ...rest] = spec.split(':');
  const bad = (why: string) => new UserError(`player spec ${JSON.stringify(spec)} ${why}; valid specs: ${VALID_SPECS}`);
  if (rest.length > 0) throw bad('has too many parts');
  if (kind === 'random' || kind === 'greedy' || kind === 'perfect') {
    if (arg !== undefined) throw bad('takes no argument');
    if (kind === 'random') return { name: spec, move: (g, s, rng) => rng.pick(g.legalMoves(s)) };
    if (kind === 'greedy') return { name: spec, move: greedyMove };
    const best = perfectMoves(game);
    return { name: spec, move: (_g, s, rng) => rng.pick(best(s)) };
  }
  if (kind === 'search') {
    const depth = Number(arg);
    if (arg === undefined || arg === '' || !Number.isInteger(depth) || depth < 1) throw bad('needs an integer depth >= 1');
    const heuristic = game.id === connect4.id ? connect4Heuristic : () => 0;
    return { name: spec, move: (g, s, rng) => rng.pick(negamax(g, s, { depth, heuristic }).bestMoves) };
  }
  if (kind === 'noisy') {
    const eps = Number(arg);
    if (arg === undefined || arg === '' || !(eps >= 0 && eps <= 1)) throw bad('needs a probability E in [0, 1]');
    const best = perfectMoves(game);
    return { name: spec, move: (g, s, rng) => (rng.bool(eps) ? rng.pick(g.legalMoves(s)) : rng.pick(best(s))) };
  }
  throw bad('is unknown');
}

/** Win now if possible; else a move after which the opponent cannot win at once; else any move. */
function greedyMove<S>(game: Game<S>, s: S, rng: Rng): number {
  const legal = game.legalMoves(s);
  const me = game.toMove(s) === 0 ? 1 : -1; // result sign of a win for the mover
  const wins = legal.filter((m) => game.result(game.play(s, m)) === me);
  if (wins.length > 0) return rng.pick(wins);
  const safe = legal.filter((m) => {
    const t = game.play(s, m);
    return game.result(t) !== null || !game.legalMoves(t).some((r) => game.result(game.play(t, r)) === -me);
  });
  return rng.pick(safe.length > 0 ? safe : legal);
}

/** The best moves of a position for 'perfect' play (see the header), memoized per player for small games. */
function perfectMoves<S>(game: Game<S>): (s: S) => number[] {
  if (game.id === connect4.id) {
    return (s) => {
      const c = s as unknown as C4State;
      const solver = sharedSolver();
      return (c.moves >= C4_EXACT_FROM ? solver.solve(c) : solver.search(c, C4_FALLBACK_DEPTH)).bestMoves;
    };
  }
  const memo = new Map<string, number[]>();
  return (s) => {
    const k = game.key(s);
    let best = memo.get(k);
    if (!best) memo.set(k, (best = negamax(game, s).bestMoves));
    return best;
  };
}

// ---------------------------------------------------------------- expert records

export interface ExpertOptions {
  openingPlies?: number; // this many uniformly random moves open each game, for variety (default 0)
}

/**
 * n self-play games of the given player spec against itself. With
 * openingPlies > 0 the first moves are random (pass fromPly to
 * recordToExamples to train only on the expert's moves). Games that end
 * inside the random opening are replayed with fresh draws.
 */
export function expertRecords<S>(game: Game<S>, spec: string, n: number, rng: Rng, opts: ExpertOptions = {}): GameRecord[] {
  const opening = opts.openingPlies ?? 0;
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`expertRecords: n must be a non-negative integer, got ${n}`);
  if (!(Number.isInteger(opening) && opening >= 0)) throw new RangeError(`expertRecords: openingPlies must be a non-negative integer, got ${opening}`);
  const expert = makePlayer(game, spec) as Player<S>;
  const out: GameRecord[] = [];
  let failures = 0;
  while (out.length < n) {
    let plies = 0;
    const p: Player<S> = { name: spec, move: (g, s, r) => (plies++ < opening ? r.pick(g.legalMoves(s)) : expert.move(g, s, r)) };
    const record = playGame(game, p, p, rng);
    if (record.moves.length > opening) out.push(record);
    else if (++failures > 1000 + 10 * n) throw new RangeError(`expertRecords: games keep ending within ${opening} random opening plies; lower openingPlies`);
  }
  return out;
}

/** One supervised example: a position, the move played there, and how the game ended for the mover. */
export interface GameExample {
  input: Float32Array; // game.encode(position): from the mover's perspective, shape game.encodingShape
  legal: number[]; // the legal moves there (for masking a policy)
  move: number; // the move played
  outcome: number; // final result from the mover's perspective: +1 won, -1 lost, 0 draw
  ply: number; // index of the move in the record
}

/** Replays a record into per-move examples, from ply fromPly on (default 0). Throws on a record of another game or with an illegal move. */
export function recordToExamples<S>(game: Game<S>, record: GameRecord, fromPly = 0): GameExample[] {
  if (record.game !== game.id) throw new Error(`recordToExamples: record is of game '${record.game}', not '${game.id}'`);
  const out: GameExample[] = [];
  let s = game.initial();
  for (const [ply, move] of record.moves.entries()) {
    const sign = game.toMove(s) === 0 ? 1 : -1;
    if (ply >= fromPly) out.push({ input: game.encode(s), legal: game.legalMoves(s), move, outcome: sign * record.result, ply });
    s = game.play(s, move); // throws RangeError on an illegal move
  }
  if (game.result(s) !== record.result) throw new Error(`recordToExamples: replay ends with result ${game.result(s)}, record says ${record.result}`);
  return out;
}
