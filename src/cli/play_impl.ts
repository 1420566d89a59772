/**
 * Implementation of `flywheel play` (lazily imported by play.ts): load a
 * self-play network, then either analyse positions given as 1-based move
 * strings (--moves, --positions: JSON) or play a person in the terminal.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Game } from '../envs/types.ts';
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { initBackend } from '../tensor/backend.ts';
import { loadCheckpoint } from '../nn/checkpoint.ts';
import { PVInference, pvnetFromCheckpoint } from '../models/pvnet.ts';
import { resolveModelDir } from '../runs/lm_checkpoint.ts';
import { findGame } from '../algos/alphazero_config.ts';
import { netEvaluator } from '../algos/arena.ts';
import { SearchTree, searchAll, MCTS_DEFAULTS, type Evaluator, type MCTSConfig } from '../algos/mcts.ts';
import type { PlayFlags } from './play.ts';

/** The agent's view of one position. */
export interface Analysis {
  moves: string; // the position, as given
  move: number; // the agent's move (most visited), 1-based
  policy: number[]; // the network's prior per move (index 0 = move 1; 0 for illegal moves)
  value: number; // the network's value for the player to move, -1 (lost) .. 1 (won)
  visits: number[]; // MCTS visit counts per move
  search_value: number; // the search's mean value of the position for the player to move
}

export async function runPlay(flags: PlayFlags): Promise<void> {
  const game = findGame(flags.game);
  if (flags.moves !== undefined && flags.positions !== undefined) throw new UserError('give --moves or --positions, not both');
  // parse the positions before loading anything: bad input fails fast
  const positions = flags.positions !== undefined ? readPositions(game, flags.positions) : flags.moves !== undefined ? [parseMoves(game, flags.moves, '--moves')] : null;
  await initBackend();
  const dir = resolveModelDir(flags.checkpoint);
  const ck = loadCheckpoint(dir);
  const net = pvnetFromCheckpoint(ck, dir, game.id);
  const search = (ck.config as { search?: Partial<MCTSConfig> }).search ?? {};
  const mcts: MCTSConfig = { ...MCTS_DEFAULTS, ...search, simulations: flags.simulations ?? search.simulations ?? 200, noiseFraction: 0 };
  const ev = netEvaluator(game, new PVInference(net));
  const rng = new Rng(flags.seed);
  if (positions) {
    const out = analyse(game, ev, mcts, positions, rng);
    process.stdout.write(JSON.stringify(flags.positions !== undefined ? out : out[0], null, flags.positions !== undefined ? undefined : 2) + '\n');
    return;
  }
  await interactive(game, ev, mcts, flags.color === 'second', rng);
}

/** The analyses of many positions, searched together. */
export function analyse<S>(game: Game<S>, ev: Evaluator<S>, mcts: MCTSConfig, positions: readonly { moves: string; state: S }[], rng: Rng): Analysis[] {
  const A = game.numActions;
  const trees = positions.map((p) => new SearchTree(game, p.state, mcts, rng));
  const prior = ev.evaluate(positions.map((p) => p.state));
  searchAll(trees, ev);
  const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;
  return positions.map((p, i) => ({
    moves: p.moves,
    move: trees[i].pickMove(0) + 1,
    policy: Array.from(prior.policy.subarray(i * A, (i + 1) * A), r4),
    value: r4(prior.value[i]),
    visits: Array.from(trees[i].visitCounts()),
    search_value: r4(trees[i].rootValue()),
  }));
}

/**
 * A position from 1-based moves ('4453': columns 4, 4, 5, 3). Every problem is
 * a UserError naming the character or move: not a move, illegal there, or
 * played after the game ended; a finished position has nothing to analyse.
 */
export function parseMoves<S>(game: Game<S>, text: string, where: string): { moves: string; state: S } {
  const moves = text.trim();
  let s = game.initial();
  [...moves].forEach((ch, i) => {
    const m = Number(ch) - 1;
    if (!/^[1-9]$/.test(ch) || m >= game.numActions) throw new UserError(`${where} "${moves}": character ${i + 1} ('${ch}') is not a move; moves are digits 1..${game.numActions}`);
    if (game.result(s) !== null) throw new UserError(`${where} "${moves}": move ${i + 1} ('${ch}') comes after the game ended (${resultWords(game.result(s)!)} after move ${i})`);
    if (!game.legalMoves(s).includes(m)) throw new UserError(`${where} "${moves}": move ${i + 1} ('${ch}') is illegal there (${game.id.startsWith('connect4') ? `column ${ch} is full` : `cell ${ch} is taken`})`);
    s = game.play(s, m);
  });
  if (game.result(s) !== null) throw new UserError(`${where} "${moves}": the game is over (${resultWords(game.result(s)!)}); there is no move to analyse`);
  return { moves, state: s };
}

function readPositions<S>(game: Game<S>, file: string): { moves: string; state: S }[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  // lines of Pons' test sets carry the expected score after the moves: keep the first field
  return text.split('\n').flatMap((line, i) => (line.trim() === '' ? [] : [parseMoves(game, line.trim().split(/\s+/)[0], `${file}:${i + 1}`)]));
}

function resultWords(r: number): string {
  return r > 0 ? 'the first player won' : r < 0 ? 'the second player won' : 'a draw';
}

// ---------------------------------------------------------------- a person against the agent

/** Board with 1-based move numbers (the games render 0-based ones). */
function show<S>(game: Game<S>, s: S): string {
  return game.render(s).replace(/\d/g, (d) => String(Number(d) + 1));
}

async function interactive<S>(game: Game<S>, ev: Evaluator<S>, mcts: MCTSConfig, agentFirst: boolean, rng: Rng): Promise<void> {
  const rl = createInterface({ input: process.stdin });
  const lines = rl[Symbol.asyncIterator](); // buffers lines typed (or piped) while the agent thinks
  const ask = async (q: string): Promise<string> => {
    process.stderr.write(q);
    const r = await lines.next();
    return r.done ? 'q' : r.value;
  };
  const say = (line: string): void => void process.stderr.write(line + '\n');
  const tree = new SearchTree(game, game.initial(), mcts, rng);
  say(`You are ${agentFirst ? 'second (O)' : 'first (X)'}. Moves are 1..${game.numActions}; q quits.`);
  try {
    while (game.result(tree.root.state) === null) {
      const s = tree.root.state;
      say('\n' + show(game, s));
      let move: number;
      if ((game.toMove(s) === 0) === agentFirst) {
        searchAll([tree], ev);
        move = tree.pickMove(0);
        const visits = Array.from(tree.visitCounts()).map((v, a) => (v > 0 ? `${a + 1}:${v}` : '')).filter(Boolean).join(' ');
        say(`agent plays ${move + 1}   (its value ${tree.rootValue().toFixed(2)} for itself; visits ${visits})`);
      } else {
        const answer = (await ask('your move: ')).trim();
        if (answer === 'q' || answer === '') return;
        const m = Number(answer) - 1;
        if (!Number.isInteger(m) || !game.legalMoves(s).includes(m)) {
          say(`'${answer}' is not a legal move here; legal: ${game.legalMoves(s).map((x) => x + 1).join(' ')}`);
          continue;
        }
        move = m;
      }
      tree.advance(move);
    }
    const r = game.result(tree.root.state)!;
    say('\n' + show(game, tree.root.state));
    say(r === 0 ? 'Draw.' : (r > 0) !== agentFirst ? 'You win.' : 'The agent wins.');
  } finally {
    rl.close();
  }
}
