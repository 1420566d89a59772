/**
 * Rules of the board games: wins in every direction, draws, illegal moves,
 * immutability, encodings, and the Connect Four bitboard held to a naive
 * array implementation (written here, sharing no code) over thousands of
 * seeded random playouts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.ts';
import { tictactoe, tttFromMoves } from '../../src/envs/games/tictactoe.ts';
import { connect4, c4FromMoves, c4FromString } from '../../src/envs/games/connect4.ts';
import { GAMES } from '../../src/envs/games/index.ts';

// ---------------------------------------------------------------- naive Connect Four

/** board[c][r]: 0 / 1 for a stone of player 0 / 1, -1 empty; r = 0 is the bottom. */
class NaiveC4 {
  board: number[][] = Array.from({ length: 7 }, () => Array(6).fill(-1));
  moves = 0;
  result: number | null = null;

  legal(): number[] {
    if (this.result !== null) return [];
    return [0, 1, 2, 3, 4, 5, 6].filter((c) => this.board[c][5] === -1);
  }

  play(c: number): void {
    const r = this.board[c].indexOf(-1);
    const p = this.moves % 2;
    this.board[c][r] = p;
    this.moves++;
    if (this.fourThrough(c, r, p)) this.result = p === 0 ? 1 : -1;
    else if (this.moves === 42) this.result = 0;
  }

  /** Counts stones of p in a line through (c, r) in each of the four directions. */
  fourThrough(c: number, r: number, p: number): boolean {
    for (const [dc, dr] of [[1, 0], [0, 1], [1, 1], [1, -1]]) {
      let n = 1;
      for (const sgn of [1, -1]) {
        let x = c + sgn * dc;
        let y = r + sgn * dr;
        while (x >= 0 && x < 7 && y >= 0 && y < 6 && this.board[x][y] === p) {
          n++;
          x += sgn * dc;
          y += sgn * dr;
        }
      }
      if (n >= 4) return true;
    }
    return false;
  }
}

test('connect4 bitboard agrees with a naive array board on 3000 random playouts', () => {
  const rng = new Rng(2024);
  const results = { '1': 0, '-1': 0, '0': 0 };
  for (let g = 0; g < 3000; g++) {
    const naive = new NaiveC4();
    let s = connect4.initial();
    // Every third game fills columns evenly so that full boards (draws) occur.
    const fill = g % 3 === 0;
    while (naive.result === null) {
      assert.deepEqual(connect4.legalMoves(s), naive.legal(), `game ${g} ply ${naive.moves}`);
      assert.equal(connect4.toMove(s), naive.moves % 2);
      const legal = naive.legal();
      const m = fill ? legal[(naive.moves * 3) % legal.length] : rng.pick(legal);
      naive.play(m);
      s = connect4.play(s, m);
      assert.equal(connect4.result(s), naive.result, `game ${g} after ${naive.moves} moves`);
    }
    assert.deepEqual(connect4.legalMoves(s), []);
    results[String(naive.result) as '1' | '-1' | '0']++;
  }
  assert.ok(results['1'] > 0 && results['-1'] > 0 && results['0'] > 0, `all outcomes occur: ${JSON.stringify(results)}`);
});

test('connect4 wins in a column, a row and both diagonals, for either player', () => {
  const cases: [string, number[], number][] = [
    ['vertical, player 0', [0, 1, 0, 1, 0, 1, 0], 1],
    ['horizontal, player 0', [0, 0, 1, 1, 2, 2, 3], 1],
    ['horizontal, player 1 (right edge)', [0, 6, 0, 5, 1, 4, 0, 3], -1],
    ['diagonal /, player 0', [0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3], 1],
    ['diagonal \\, player 1', [1, 3, 2, 2, 0, 0, 1, 1, 0, 0], -1],
  ];
  for (const [name, moves, want] of cases) {
    const s = c4FromMoves(moves);
    assert.equal(s.result, want, name);
    assert.equal(c4FromMoves(moves.slice(0, -1)).result, null, `${name}: not over one move earlier`);
  }
  // Three in a row plus a gap is not a win.
  assert.equal(c4FromMoves([0, 0, 1, 1, 3, 3]).result, null);
  // Player 0 at the top three cells of column 0 and the bottom of column 1: bits 3, 4, 5 and 7, not a four across the sentinel.
  assert.equal(c4FromMoves([1, 0, 6, 0, 6, 0, 0, 5, 0, 5, 0]).result, null);
});

test('connect4 draw on a full board, illegal moves throw RangeError, full columns', () => {
  // Fill columns in pairs 0,1 / 2,3 / 4,5 in a pattern with no four, then 6.
  const draw = '121212' + '212121' + '343434' + '434343' + '565656' + '656565' + '777777';
  const s = c4FromString(draw);
  assert.equal(s.moves, 42);
  assert.equal(s.result, 0);
  assert.deepEqual(connect4.legalMoves(s), []);
  assert.throws(() => connect4.play(s, 0), RangeError);

  const t = c4FromMoves([2, 2, 2, 2, 2, 3, 2]); // column 2 full: X O X O X X, no four
  assert.equal(t.result, null);
  assert.ok(!connect4.legalMoves(t).includes(2));
  assert.throws(() => connect4.play(t, 2), (e: Error) => e instanceof RangeError && /column 2 is full/.test(e.message));
  for (const bad of [-1, 7, 0.5, NaN]) assert.throws(() => connect4.play(t, bad), RangeError);
  const won = c4FromMoves([0, 1, 0, 1, 0, 1, 0]);
  assert.throws(() => connect4.play(won, 3), (e: Error) => e instanceof RangeError && /over/.test(e.message));
});

test('connect4 states are immutable; encode is from the mover; render shows the board; keys are unique', () => {
  const s = c4FromMoves([3, 3, 4]); // X at d1, e1; O at d2; O to move
  const before = connect4.key(s);
  connect4.play(s, 0);
  assert.equal(connect4.key(s), before);
  const e = connect4.encode(s);
  assert.equal(e.length, 2 * 6 * 7);
  // Row 0 of the encoding is the top row: the bottom row is row 5.
  assert.equal(e[0 * 42 + 4 * 7 + 3], 1, 'O (to move) owns d2 in plane 0');
  assert.equal(e[1 * 42 + 5 * 7 + 3], 1, 'X owns d1 in plane 1');
  assert.equal(e[1 * 42 + 5 * 7 + 4], 1, 'X owns e1 in plane 1');
  assert.equal(e.reduce((a, b) => a + b, 0), 3);
  const text = connect4.render(s);
  const lines = text.split('\n');
  assert.equal(lines[lines.length - 1].trim(), '0 1 2 3 4 5 6');
  assert.equal(lines[5], '|. . . X X . .|');
  assert.equal(lines[4], '|. . . O . . .|');
  // Keys: distinct over all positions of many playouts (compared by board text + mover).
  const seen = new Map<string, string>();
  const rng = new Rng(5);
  for (let g = 0; g < 200; g++) {
    let t = connect4.initial();
    while (t.result === null) {
      const sig = connect4.render(t) + t.moves % 2;
      const k = connect4.key(t);
      assert.equal(seen.get(k) ?? sig, sig, `key ${k} shared by two positions`);
      seen.set(k, sig);
      t = connect4.play(t, rng.pick(connect4.legalMoves(t)));
    }
  }
  assert.ok(seen.size > 2000);
});

test('tic-tac-toe rules: rows, columns, diagonals, draw, illegal moves, encoding', () => {
  assert.equal(tttFromMoves([0, 3, 1, 4, 2]).result, 1); // top row
  assert.equal(tttFromMoves([0, 1, 3, 2, 6]).result, 1); // left column
  assert.equal(tttFromMoves([1, 0, 2, 4, 3, 8]).result, -1); // main diagonal for O
  assert.equal(tttFromMoves([0, 2, 1, 4, 3, 6]).result, -1); // anti-diagonal for O
  const draw = tttFromMoves([0, 1, 2, 4, 3, 5, 7, 6, 8]);
  assert.equal(draw.result, 0);
  assert.deepEqual(tictactoe.legalMoves(draw), []);
  const s = tttFromMoves([4]);
  assert.throws(() => tictactoe.play(s, 4), RangeError);
  assert.throws(() => tictactoe.play(s, 9), RangeError);
  assert.throws(() => tictactoe.play(tttFromMoves([0, 3, 1, 4, 2]), 5), RangeError);
  assert.equal(tictactoe.toMove(s), 1);
  const e = tictactoe.encode(s); // O to move: X's centre stone is in the 'theirs' plane
  assert.deepEqual([...e].map((v, i) => (v ? i : -1)).filter((i) => i >= 0), [9 + 4]);
  assert.match(tictactoe.render(s), /X/);
  assert.equal(tictactoe.key(s), '....X....');
});

test('registry list holds both games with distinct versioned ids', () => {
  assert.deepEqual(GAMES.map((g) => g.id), ['tictactoe-v1', 'connect4-v1']);
  for (const g of GAMES) assert.equal(g.encode(g.initial()).length, g.encodingShape.reduce((a, b) => a * b, 1));
});
