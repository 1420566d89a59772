/**
 * The solvers against oracles: tic-tac-toe solved from the empty board; the
 * Connect Four solver against an independent brute-force minimax (plain
 * recursion over an array board, sharing no code with src/) on positions
 * near the end of seeded random games, against the same brute force with
 * memoization on mid-game positions, and against published values from
 * Pascal Pons' test sets (blog.gamesolver.org, Test_L1_R1 / Test_L1_R2 /
 * Test_L3_R1; each value below was seen in two independent public copies or
 * is the set's own example).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.ts';
import { tictactoe, tttFromMoves } from '../../src/envs/games/tictactoe.ts';
import { connect4, c4FromMoves, c4FromString } from '../../src/envs/games/connect4.ts';
import { Connect4Solver, negamax, solve } from '../../src/envs/games/solver.ts';
import { WIN } from '../../src/envs/games/negamax.ts';

// ---------------------------------------------------------------- brute force

/** A plain Connect Four board for the brute force: cols[c] lists the owners (0/1) of column c from the bottom. */
type Board = number[][];

function fourAt(b: Board, c: number, r: number, p: number): boolean {
  const at = (x: number, y: number) => x >= 0 && x < 7 && y >= 0 && y < b[x].length && b[x][y] === p;
  for (const [dx, dy] of [[1, 0], [0, 1], [1, 1], [1, -1]]) {
    let n = 1;
    for (let k = 1; at(c + k * dx, r + k * dy); k++) n++;
    for (let k = 1; at(c - k * dx, r - k * dy); k++) n++;
    if (n >= 4) return true;
  }
  return false;
}

/**
 * Exact score for the player to move, by the definition: if the mover can
 * complete four with its k-th stone, 22 - k; the opponent's win is the
 * negation; a full board 0. Every line of play is visited (no pruning);
 * with a memo, each position once.
 */
function bruteScore(b: Board, stones: number, memo?: Map<string, number>): number {
  const key = memo ? b.map((col) => col.join('')).join('|') : '';
  if (memo?.has(key)) return memo.get(key)!;
  const p = stones % 2;
  let best = -Infinity;
  for (let c = 0; c < 7; c++) {
    if (b[c].length === 6) continue;
    b[c].push(p);
    let v: number;
    if (fourAt(b, c, b[c].length - 1, p)) v = 22 - (Math.floor(stones / 2) + 1);
    else if (stones + 1 === 42) v = 0;
    else v = 0 - bruteScore(b, stones + 1, memo);
    b[c].pop();
    if (v > best) best = v;
  }
  memo?.set(key, best);
  return best;
}

/** Per-move scores by brute force (null for a full column). */
function bruteMoves(moves: number[], memo?: Map<string, number>): (number | null)[] {
  const b: Board = Array.from({ length: 7 }, () => []);
  moves.forEach((c, i) => b[c].push(i % 2));
  const n = moves.length;
  return [0, 1, 2, 3, 4, 5, 6].map((c) => {
    if (b[c].length === 6) return null;
    b[c].push(n % 2);
    const v = fourAt(b, c, b[c].length - 1, n % 2) ? 22 - (Math.floor(n / 2) + 1) : n + 1 === 42 ? 0 : 0 - bruteScore(b, n + 1, memo);
    b[c].pop();
    return v;
  });
}

/** Seeded random playouts stopped at `stones` stones, not yet decided. */
function randomPositions(seed: number, count: number, minStones: number, maxStones: number): number[][] {
  const rng = new Rng(seed);
  const out: number[][] = [];
  while (out.length < count) {
    const target = rng.range(minStones, maxStones);
    const moves: number[] = [];
    let s = connect4.initial();
    while (s.result === null && moves.length < target) {
      const m = rng.pick(connect4.legalMoves(s));
      s = connect4.play(s, m);
      moves.push(m);
    }
    if (s.result === null) out.push(moves);
  }
  return out;
}

function checkAgainstBrute(moves: number[], memo?: Map<string, number>): void {
  const perMove = bruteMoves(moves, memo);
  const legal = perMove.filter((v): v is number => v !== null);
  const want = Math.max(...legal);
  const wantBest = perMove.flatMap((v, c) => (v === want ? [c] : []));
  const got = solve(c4FromMoves(moves));
  const where = `moves ${moves.join('')}`;
  assert.equal(got.score, want, `${where}: score`);
  assert.equal(got.value, Math.sign(want), `${where}: value`);
  assert.deepEqual(got.bestMoves, wantBest, `${where}: best moves`);
}

// ---------------------------------------------------------------- tic-tac-toe

test('tic-tac-toe: the empty board is a draw with every opening move; known positions', () => {
  const empty = negamax(tictactoe, tictactoe.initial());
  assert.equal(empty.value, 0);
  assert.equal(empty.score, 0);
  assert.deepEqual(empty.bestMoves, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  // After X takes a corner, O's only drawing reply is the centre.
  assert.deepEqual(negamax(tictactoe, tttFromMoves([0])), { value: 0, score: 0, bestMoves: [4] });
  // X centre, O edge: X wins.
  assert.equal(negamax(tictactoe, tttFromMoves([4, 1])).value, 1);
  // X to move with two in the top row: completing it (ply 1, score WIN - 1) beats every slower win.
  assert.deepEqual(negamax(tictactoe, tttFromMoves([0, 3, 1, 4])), { value: 1, score: WIN - 1, bestMoves: [2] });
  // O to move against X's double threat (0-3-6 and 2-4-6): every move loses at ply 2.
  assert.deepEqual(negamax(tictactoe, tttFromMoves([4, 1, 0, 8, 6])), { value: -1, score: -(WIN - 2), bestMoves: [2, 3, 5, 7] });
  // A finished game has no moves; depth limits are checked.
  assert.deepEqual(negamax(tictactoe, tttFromMoves([0, 3, 1, 4, 2])).bestMoves, []);
  assert.throws(() => negamax(tictactoe, tictactoe.initial(), { depth: 0 }), RangeError);
});

// ---------------------------------------------------------------- Connect Four

test('connect4 solver agrees with brute-force minimax on 32 positions near the end of random games', () => {
  const positions = randomPositions(31, 32, 30, 34);
  const values = new Set<number>();
  for (const moves of positions) {
    checkAgainstBrute(moves);
    values.add(Math.sign(solve(c4FromMoves(moves)).score));
  }
  assert.deepEqual([...values].sort(), [-1, 0, 1], 'the set covers wins, draws and losses');
});

test('connect4 solver agrees with memoized brute force on mid-game positions (22-26 stones)', () => {
  for (const moves of randomPositions(7, 4, 22, 26)) checkAgainstBrute(moves, new Map());
});

test('connect4 solver matches published scores of Pons test positions (12-14 stones and end games)', () => {
  // [1-based column sequence, score for the player to move]; best columns (1-based) where the source gives one.
  const published: [string, number, number?][] = [
    ['2252576253462244111563365343671351441', -1], // Test_L3_R1
    ['7422341735647741166133573473242566', 1], // Test_L3_R1
    ['43745416472735', -13, 6],
    ['51756773145177', -10, 2],
    ['165746146225', -11, 7],
    ['1562527227511', 13, 4],
    ['74642572132', 15, 3],
    ['17516442226766', 8],
    ['42434653771434', 9],
    ['43623536647361', 11],
    ['427631264721', 10],
    ['243335424257', 12],
    ['335662333565', -2], // Test_L1_R2
    ['157564142155', -5], // Test_L1_R2
  ];
  const solver = new Connect4Solver(1 << 20);
  for (const [seq, score, best] of published) {
    const r = solver.solve(c4FromString(seq));
    assert.equal(r.score, score, seq);
    assert.equal(r.value, Math.sign(score), seq);
    if (best !== undefined) assert.ok(r.bestMoves.includes(best - 1), `${seq}: best ${best} in ${r.bestMoves.map((c) => c + 1)}`);
  }
});

test('connect4 solver: finished games, immediate wins, forced losses; results do not depend on the table', () => {
  const won = c4FromMoves([0, 1, 0, 1, 0, 1, 0]); // player 0 won with its 4th stone
  assert.deepEqual(solve(won), { value: -1, score: -18, bestMoves: [] });
  const threat = c4FromMoves([0, 1, 0, 1, 0, 1]); // player 0 to move, wins in column 0 with its 4th stone
  assert.deepEqual(solve(threat), { value: 1, score: 18, bestMoves: [0] });
  // A fresh solver, a tiny-table solver and the shared one agree on a set of positions.
  const tiny = new Connect4Solver((1 << 18) + 1);
  for (const moves of randomPositions(99, 6, 16, 24)) {
    const s = c4FromMoves(moves);
    assert.deepEqual(tiny.solve(s), new Connect4Solver(1 << 19).solve(s), moves.join(''));
    assert.deepEqual(tiny.solve(s), solve(s), moves.join(''));
  }
  assert.throws(() => new Connect4Solver(1000), RangeError);
});

test('connect4 depth-limited search: proven results are exact, and it finds short wins', () => {
  const solver = new Connect4Solver(1 << 19);
  let proven = 0;
  let short = 0;
  for (const moves of randomPositions(5, 16, 20, 30)) {
    const s = c4FromMoves(moves);
    const exact = solver.solve(s);
    const deep = solver.search(s, 8);
    // A proven score (|score| >= 1) is exact; otherwise it is the heuristic, inside (-1, 1).
    if (Math.abs(deep.score) >= 1) {
      assert.equal(deep.score, exact.score, moves.join(''));
      assert.deepEqual(deep.bestMoves, exact.bestMoves, moves.join(''));
      proven++;
    } else assert.ok(Math.abs(deep.score) < 1, `${moves.join('')}: heuristic ${deep.score}`);
    // A win within the horizon (plies to the winning stone <= 8) is found.
    const plies = 2 * (((43 - s.moves) >> 1) - exact.score) + 1;
    if (exact.score > 0 && plies <= 8) {
      assert.equal(deep.score, exact.score, moves.join(''));
      short++;
    }
  }
  assert.ok(proven >= 3 && short >= 2, `cases exercised: proven ${proven}, short wins ${short}`);
  assert.throws(() => solver.search(connect4.initial(), 0), RangeError);
});
