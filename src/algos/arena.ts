/**
 * Agents and matches for two-player games: who plays (a scripted player, a
 * network's raw policy, or MCTS over a network), how a match is played
 * (paired openings, all games in lockstep so network agents evaluate one
 * batch per turn), and the solver-labelled positions that accuracy is
 * measured on. Tallies, accuracies and Elo are pure functions in
 * src/measure/.
 *
 * Paired openings: each opening (a few uniformly random first plies) is
 * played twice with colours swapped, so neither side profits from a lucky
 * opening or from moving first, and deterministic agents still meet varied
 * positions. A match from the initial position alone uses the empty opening.
 */
import { readFileSync } from 'node:fs';
import type { Game } from '../envs/types.ts';
import type { Player } from '../envs/games/players.ts';
import { negamax } from '../envs/games/negamax.ts';
import { c4FromString, connect4 } from '../envs/games/connect4.ts';
import { Rng } from '../util/rng.ts';
import type { PVInference } from '../models/pvnet.ts';
import { SearchTree, searchAll, type Evaluation, type Evaluator, type MCTSConfig } from './mcts.ts';

/** Plays moves for many games at once (so network agents batch their evaluations). */
export interface BatchPlayer<S> {
  /** Moves for the games `ids`, whose positions `states` have this player to move. */
  act(ids: readonly number[], states: readonly S[]): Promise<number[]>;
  /** Told every move of game `id`, by either side (MCTS reuses its tree). */
  played(id: number, move: number): void;
}

export interface Agent<S> {
  name: string;
  /** A player for a set of concurrent games; `rng` drives its random choices, `tick` is awaited between slow pieces of work. */
  forGames(rng: Rng, tick: Tick): BatchPlayer<S>;
}

/** Awaited between pieces of work (lets the event loop run; may throw to abandon a match). */
export type Tick = () => Promise<void>;

// ---------------------------------------------------------------- agents

/** A scripted player from src/envs/games/players.ts (ticks every 50 ms: a searching player can take a second a move). */
export function scriptedAgent<S>(game: Game<S>, player: Player<S>): Agent<S> {
  return {
    name: player.name,
    forGames: (rng, tick) => ({
      async act(_ids, states) {
        const out: number[] = [];
        let t0 = performance.now();
        for (const s of states) {
          out.push(player.move(game, s, rng));
          if (performance.now() - t0 > 50) {
            await tick();
            t0 = performance.now();
          }
        }
        return out;
      },
      played() {},
    }),
  };
}

/** A network's policy head alone: temperature 1 samples from it, 0 takes its most likely move. */
export function policyAgent<S>(name: string, evaluator: Evaluator<S>, numActions: number, temperature: number): Agent<S> {
  return {
    name,
    forGames: (rng) => ({
      async act(_ids, states) {
        const { policy } = evaluator.evaluate(states);
        return states.map((_, b) => pickFromRow(policy.subarray(b * numActions, (b + 1) * numActions), temperature, rng));
      },
      played() {},
    }),
  };
}

/** MCTS over an evaluator; plays the most visited move (temperature 0) with the search config given (use noiseFraction 0 to evaluate). */
export function mctsAgent<S>(name: string, game: Game<S>, evaluator: Evaluator<S>, config: MCTSConfig): Agent<S> {
  return {
    name,
    forGames(rng, tick) {
      const trees = new Map<number, SearchTree<S>>();
      return {
        async act(ids, states) {
          const ts = ids.map((id, i) => {
            let t = trees.get(id);
            if (!t) trees.set(id, (t = new SearchTree(game, states[i], config, rng)));
            return t;
          });
          while (!searchAll(ts, evaluator, 32).done) await tick();
          return ts.map((t) => t.pickMove(0));
        },
        played(id, move) {
          trees.get(id)?.advance(move);
        },
      };
    },
  };
}

/** Draws an index from a probability row (temperature 1), or takes its largest entry (temperature 0; first on ties). */
export function pickFromRow(row: Float32Array, temperature: number, rng: Rng): number {
  if (temperature <= 0) {
    let best = 0;
    for (let a = 1; a < row.length; a++) if (row[a] > row[best]) best = a;
    return best;
  }
  const w = Array.from(row, (p) => (p > 0 ? Math.pow(p, 1 / temperature) : 0));
  let u = rng.float() * w.reduce((x, y) => x + y, 0), last = 0;
  for (let a = 0; a < w.length; a++) {
    if (w[a] === 0) continue;
    last = a;
    u -= w[a];
    if (u < 0) return a;
  }
  return last;
}

/** A network as an Evaluator: encodes the positions into one batch and runs the fast inference pass. */
export function netEvaluator<S>(game: Game<S>, net: PVInference): Evaluator<S> & { positions: number } {
  const I = net.config.inputSize, A = game.numActions;
  let inputs = new Float32Array(0), legal = new Uint8Array(0);
  const ev = {
    positions: 0, // positions evaluated so far (for FLOP accounting)
    evaluate(states: readonly S[]): Evaluation {
      const B = states.length;
      if (inputs.length < B * I) [inputs, legal] = [new Float32Array(2 * B * I), new Uint8Array(2 * B * A)];
      legal.fill(0, 0, B * A);
      for (let b = 0; b < B; b++) {
        inputs.set(game.encode(states[b]), b * I);
        for (const m of game.legalMoves(states[b])) legal[b * A + m] = 1;
      }
      ev.positions += B;
      return net.run(inputs, legal, B);
    },
  };
  return ev;
}

// ---------------------------------------------------------------- matches

/** One game of a match: the opening, the moves after it, and the result (+1 the first mover won). */
export interface MatchGame {
  first: string; // name of the agent that moved first
  second: string;
  moves: number[]; // every move, opening included
  opening: number; // how many of the moves were the random opening
  result: number; // +1 first mover won, -1 second mover won, 0 draw
}

/** `count` distinct openings of `plies` uniformly random moves that do not end the game (fewer if the game has fewer). */
export function randomOpenings<S>(game: Game<S>, plies: number, count: number, rng: Rng): number[][] {
  if (plies === 0) return [[]];
  const seen = new Set<string>(), out: number[][] = [];
  for (let tries = 0; out.length < count && tries < 20 * count; tries++) {
    let s = game.initial();
    const moves: number[] = [];
    while (moves.length < plies && game.result(s) === null) {
      const m = rng.pick(game.legalMoves(s));
      moves.push(m);
      s = game.play(s, m);
    }
    if (game.result(s) !== null || seen.has(moves.join(','))) continue;
    seen.add(moves.join(','));
    out.push(moves);
  }
  return out;
}

/**
 * Plays every opening twice, a moving first and then b, all games at once.
 * Returns the games (a's score in a game: result when a moved first, -result otherwise).
 */
export async function playMatch<S>(game: Game<S>, a: Agent<S>, b: Agent<S>, openings: readonly number[][], rng: Rng, tick: Tick): Promise<MatchGame[]> {
  const pa = a.forGames(rng.fork(), tick), pb = b.forGames(rng.fork(), tick);
  const n = 2 * openings.length;
  const first = (g: number): BatchPlayer<S> => (g % 2 === 0 ? pa : pb); // even games: a moves first
  const states: S[] = [], moves: number[][] = [];
  for (let g = 0; g < n; g++) {
    let s = game.initial();
    for (const m of openings[g >> 1]) s = game.play(s, m);
    states.push(s);
    moves.push([...openings[g >> 1]]);
    for (const m of openings[g >> 1]) [pa, pb].forEach((p) => p.played(g, m));
  }
  for (;;) {
    const live = states.map((_, g) => g).filter((g) => game.result(states[g]) === null);
    if (live.length === 0) break;
    for (const p of [pa, pb]) {
      const ids = live.filter((g) => game.result(states[g]) === null && (game.toMove(states[g]) === 0) === (first(g) === p));
      if (ids.length === 0) continue;
      const chosen = await p.act(ids, ids.map((g) => states[g]));
      ids.forEach((g, i) => {
        states[g] = game.play(states[g], chosen[i]); // throws on an illegal move: a bug in the agent
        moves[g].push(chosen[i]);
        pa.played(g, chosen[i]);
        pb.played(g, chosen[i]);
      });
      await tick();
    }
  }
  return states.map((s, g) => ({
    first: g % 2 === 0 ? a.name : b.name, second: g % 2 === 0 ? b.name : a.name,
    moves: moves[g], opening: openings[g >> 1].length, result: game.result(s)!,
  }));
}

/** a's score in each game of a match from playMatch: 1 win, 0.5 draw, 0 loss. */
export function scoresOf(games: readonly MatchGame[], a: string): number[] {
  return games.map((g) => ((g.first === a ? g.result : -g.result) + 1) / 2);
}

// ---------------------------------------------------------------- solver-labelled positions

/** A position with its exact value and, for every legal move, whether it keeps that value. */
export interface LabelledPosition<S> {
  state: S;
  key: string; // moves from the initial position (Connect Four: 1-based columns, e.g. '4453')
  value: -1 | 0 | 1; // game-theoretic value for the player to move
  keeps: number[]; // legal moves after which the mover still has `value`
  legal: number[];
}

/**
 * The fixed position set accuracy is measured on. Connect Four: the file
 * data/connect4_positions.jsonl (mid-game positions solved by the perfect
 * solver; scripts/connect4_positions.ts made it). Tic-tac-toe and other small
 * games: every `step`-th of the positions reachable from the initial one
 * (depth-first order), solved by negamax, `step` chosen so at most 500 remain.
 */
export function labelledPositions<S>(game: Game<S>): LabelledPosition<S>[] {
  let cached = labelled.get(game.id);
  if (!cached) labelled.set(game.id, (cached = game.id === connect4.id ? connect4Positions() : solveAll(game)));
  return cached as LabelledPosition<S>[];
}

const labelled = new Map<string, LabelledPosition<unknown>[]>();

function solveAll<S>(game: Game<S>): LabelledPosition<S>[] {
  const out: LabelledPosition<S>[] = [], seen = new Set<string>();
  const walk = (s: S, path: number[]): void => {
    if (game.result(s) !== null || seen.has(game.key(s))) return;
    seen.add(game.key(s));
    if (path.length > 0) out.push(labelByChildren(game, s, path.join(''), (t) => negamax(game, t).value));
    for (const m of game.legalMoves(s)) walk(game.play(s, m), [...path, m]);
  };
  walk(game.initial(), []);
  const step = Math.ceil(out.length / 500);
  return out.filter((_, i) => i % step === 0);
}

/** Labels a position from its children's exact values (childValue: value for the child's player to move). */
function labelByChildren<S>(game: Game<S>, s: S, key: string, childValue: (t: S) => number): LabelledPosition<S> {
  const legal = game.legalMoves(s), me = game.toMove(s);
  const vals = legal.map((m) => {
    const t = game.play(s, m), r = game.result(t);
    if (r !== null) return me === 0 ? r : -r;
    return game.toMove(t) === me ? childValue(t) : -childValue(t);
  });
  const value = Math.max(...vals) as -1 | 0 | 1;
  return { state: s, key, value, keeps: legal.filter((_, i) => vals[i] === value), legal };
}

export const CONNECT4_POSITIONS = new URL('../../data/connect4_positions.jsonl', import.meta.url);

/** One line of data/connect4_positions.jsonl: 1-based moves, and the Pons score of each column for the mover (null: full). */
export interface Connect4PositionLine {
  moves: string;
  scores: (number | null)[];
}

function connect4Positions(): LabelledPosition<unknown>[] {
  return readFileSync(CONNECT4_POSITIONS, 'utf8').split('\n').filter(Boolean).map((line) => {
    const { moves, scores } = JSON.parse(line) as Connect4PositionLine;
    const legal = scores.flatMap((v, c) => (v === null ? [] : [c]));
    const sign = (x: number): -1 | 0 | 1 => (x > 0 ? 1 : x < 0 ? -1 : 0);
    const value = sign(Math.max(...legal.map((c) => scores[c]!)));
    return { state: c4FromString(moves), key: moves, value, keeps: legal.filter((c) => sign(scores[c]!) === value), legal };
  });
}
