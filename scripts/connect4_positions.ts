/**
 * Makes data/connect4_positions.jsonl, the fixed set of mid-game Connect Four
 * positions that `flywheel selfplay` measures solver-move accuracy and value
 * accuracy on (src/algos/arena.ts reads it).
 *
 *   node --import tsx scripts/connect4_positions.ts [count] > data/connect4_positions.jsonl
 *
 * Positions come from games of two scripted players that mix search:2 with
 * 30% random moves (so the set holds both sound and careless play), one
 * position per game at a uniformly drawn ply in [12, 24] with the game still
 * going. Every legal column is scored by the perfect solver (Pons' score for
 * the mover: > 0 win, 0 draw, < 0 loss; null for a full column). Seeded: the
 * same count gives the same file. About 0.5 s a position on this machine.
 */
import { c4FromMoves, connect4 } from '../src/envs/games/connect4.ts';
import { makePlayer } from '../src/envs/games/players.ts';
import { sharedSolver } from '../src/envs/games/solver.ts';
import { Rng } from '../src/util/rng.ts';

const count = Number(process.argv[2] ?? 400);
const rng = new Rng('connect4-positions');
const search = makePlayer(connect4, 'search:2');
const solver = sharedSolver();
const seen = new Set<string>();
let made = 0;
while (made < count) {
  const target = rng.range(12, 24);
  const moves: number[] = [];
  let s = connect4.initial();
  while (s.result === null && moves.length < target) {
    const m = rng.bool(0.3) ? rng.pick(connect4.legalMoves(s)) : search.move(connect4, s, rng);
    moves.push(m);
    s = connect4.play(s, m);
  }
  const key = moves.map((m) => m + 1).join('');
  if (s.result !== null || seen.has(key)) continue;
  seen.add(key);
  const scores = Array.from({ length: 7 }, (_, c) => {
    if (!connect4.legalMoves(s).includes(c)) return null;
    const t = c4FromMoves([...moves, c]);
    return t.result !== null ? (t.result === 0 ? 0 : (43 - moves.length) >> 1) : -solver.score(t);
  });
  process.stdout.write(JSON.stringify({ moves: key, scores }) + '\n');
  made++;
}
