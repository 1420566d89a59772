/**
 * Tic-tac-toe: the smallest real game, solvable from the empty board in
 * milliseconds, so tests of self-play, MCTS and the solver run fast.
 *
 * Cells are numbered 0..8 row by row from the top left; a move is a cell.
 * Player 0 plays X and moves first. States are immutable.
 */
import type { Game } from '../types.ts';

/** A tic-tac-toe position. Treat as read-only. */
export interface TTTState {
  readonly cells: readonly number[]; // 9 cells: -1 empty, 0 player 0 (X), 1 player 1 (O)
  readonly moves: number; // stones played (player to move = moves % 2)
  readonly result: number | null; // +1 player 0 won, -1 player 1 won, 0 draw, null ongoing
}

/** The eight winning lines. */
export const LINES: readonly (readonly [number, number, number])[] = [
  [0, 1, 2], [3, 4, 5], [6, 7, 8], // rows
  [0, 3, 6], [1, 4, 7], [2, 5, 8], // columns
  [0, 4, 8], [2, 4, 6], // diagonals
];

const EMPTY: TTTState = { cells: Array(9).fill(-1), moves: 0, result: null };

function winner(cells: readonly number[]): number {
  for (const [a, b, c] of LINES) {
    if (cells[a] >= 0 && cells[a] === cells[b] && cells[a] === cells[c]) return cells[a];
  }
  return -1;
}

export const tictactoe: Game<TTTState> = {
  id: 'tictactoe-v1',
  description: 'Tic-tac-toe on a 3x3 board; a move is a cell 0..8 (row by row); three in a row wins',
  numActions: 9,
  encodingShape: [2, 3, 3],
  initial: () => EMPTY,
  toMove: (s) => (s.moves % 2) as 0 | 1,
  legalMoves(s) {
    if (s.result !== null) return [];
    const out: number[] = [];
    for (let i = 0; i < 9; i++) if (s.cells[i] < 0) out.push(i);
    return out;
  },
  play(s, move) {
    if (!Number.isInteger(move) || move < 0 || move >= 9) throw new RangeError(`tictactoe: move must be a cell in 0..8, got ${move}`);
    if (s.result !== null) throw new RangeError(`tictactoe: game is over (result ${s.result}), cannot play cell ${move}`);
    if (s.cells[move] >= 0) throw new RangeError(`tictactoe: cell ${move} is taken`);
    const cells = s.cells.slice();
    cells[move] = s.moves % 2;
    const moves = s.moves + 1;
    const w = winner(cells);
    const result = w === 0 ? 1 : w === 1 ? -1 : moves === 9 ? 0 : null;
    return { cells, moves, result };
  },
  result: (s) => s.result,
  /** Planes [mine, theirs] for the player to move; index plane*9 + cell. */
  encode(s) {
    const out = new Float32Array(18); // (2, 3, 3)
    const me = s.moves % 2;
    for (let i = 0; i < 9; i++) {
      if (s.cells[i] < 0) continue;
      out[(s.cells[i] === me ? 0 : 9) + i] = 1;
    }
    return out;
  },
  render(s) {
    const ch = (i: number) => (s.cells[i] < 0 ? String(i) : 'XO'[s.cells[i]]);
    return [0, 3, 6].map((r) => ` ${ch(r)} | ${ch(r + 1)} | ${ch(r + 2)}`).join('\n---+---+---\n');
  },
  key: (s) => s.cells.map((c) => (c < 0 ? '.' : 'XO'[c])).join(''),
};

/** The position after playing the given cells from the empty board. */
export function tttFromMoves(moves: readonly number[]): TTTState {
  let s = EMPTY;
  for (const m of moves) s = tictactoe.play(s, m);
  return s;
}
