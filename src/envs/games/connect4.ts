/**
 * Connect Four (7 columns x 6 rows) on a bitboard.
 *
 * Bit layout (the classic one, as in Pascal Pons' solver): column c owns bits
 * 7c .. 7c+6; bit 7c+r is row r counted from the bottom. Bit 7c+6 is a
 * sentinel row that is always empty, so shifting a line of stones by
 * 1 (vertical), 7 (horizontal), 6 and 8 (the two diagonals) never wraps from
 * one column into the next. The board needs 49 bits.
 *
 * JavaScript bit operators work on 32 bits, so a 49-bit set is kept as two
 * int32 halves: `lo` holds bits 0..31, `hi` bits 32..48. A 64-bit shift by
 * k < 32 is two or three 32-bit operations:
 *   (p << k).lo = lo << k           (p << k).hi = (hi << k) | (lo >>> (32 - k))
 *   (p >> k).lo = (lo >>> k) | (hi << (32 - k))      (p >> k).hi = hi >>> k
 * We chose halves over BigInt (allocates on every operation, an order of
 * magnitude slower) and over Number arithmetic (AND/OR above 2^32 would need
 * the split anyway). Column 4 straddles the halves (bits 28..34); the formulas
 * above carry across the split, and `possible()` avoids the carry of Pons'
 * `mask + bottom` by using `(mask << 1 | bottom) & ~mask` instead.
 * Transposition keys are exact Numbers: position + mask < 2^50 < 2^53.
 *
 * States are immutable. `cur` is the set of stones of the player to move,
 * `mask` all stones; after a move the old opponent becomes the mover, so
 * play() is `cur' = cur ^ mask`, `mask' = mask | bit`.
 */
import type { Game } from '../types.ts';

export const WIDTH = 7;
export const HEIGHT = 6;
export const CELLS = WIDTH * HEIGHT; // 42

/** A Connect Four position. Treat as read-only. */
export interface C4State {
  readonly curLo: number; // stones of the player to move, bits 0..31
  readonly curHi: number; // ... bits 32..48
  readonly maskLo: number; // all stones, bits 0..31
  readonly maskHi: number; // ... bits 32..48
  readonly moves: number; // stones played so far (player to move = moves % 2)
  readonly result: number | null; // +1 player 0 won, -1 player 1 won, 0 draw, null ongoing
}

// ---------------------------------------------------------------- bit helpers

/** Bit index of column c, row r (row 0 = bottom). */
export function bitIndex(c: number, r: number): number {
  return c * (HEIGHT + 1) + r;
}

function setBit(half: 'lo' | 'hi', b: number): number {
  if (half === 'lo') return b < 32 ? 1 << b : 0;
  return b >= 32 ? 1 << (b - 32) : 0;
}

/** The 49-bit set of cells (c, r) where cells(c, r) holds, as [lo, hi]. r runs over 0..6 (6 = sentinel row). */
export function buildMask(cells: (c: number, r: number) => boolean): [number, number] {
  let lo = 0;
  let hi = 0;
  for (let c = 0; c < WIDTH; c++) {
    for (let r = 0; r <= HEIGHT; r++) {
      if (!cells(c, r)) continue;
      lo |= setBit('lo', bitIndex(c, r));
      hi |= setBit('hi', bitIndex(c, r));
    }
  }
  return [lo, hi];
}

/** One bit at the bottom of every column. */
export const [BOTTOM_LO, BOTTOM_HI] = buildMask((_c, r) => r === 0);
/** Every playable cell (the sentinel row excluded). */
export const [BOARD_LO, BOARD_HI] = buildMask((_c, r) => r < HEIGHT);
/** The cells of each column, as [lo, hi] pairs. */
export const COLUMN_MASKS: readonly (readonly [number, number])[] = Array.from({ length: WIDTH }, (_, col) =>
  buildMask((c, r) => c === col && r < HEIGHT),
);

/** Whether bit b is set in (hi, lo). */
export function testBit(hi: number, lo: number, b: number): boolean {
  return (b < 32 ? (lo >>> b) & 1 : (hi >>> (b - 32)) & 1) === 1;
}

/** Four in a row along shift s (1, 6, 7 or 8) in the stone set (hi, lo). */
function fourAlong(hi: number, lo: number, s: number): boolean {
  const mLo = lo & ((lo >>> s) | (hi << (32 - s))); // p & (p >> s)
  const mHi = hi & (hi >>> s);
  const t = 2 * s;
  return ((mLo & ((mLo >>> t) | (mHi << (32 - t)))) | (mHi & (mHi >>> t))) !== 0; // m & (m >> 2s)
}

/** True when the stone set contains four in a row in any direction. */
export function hasFour(hi: number, lo: number): boolean {
  return fourAlong(hi, lo, 1) || fourAlong(hi, lo, 7) || fourAlong(hi, lo, 6) || fourAlong(hi, lo, 8);
}

/** Number of set bits in a 32-bit int. */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Low half of the set of cells where one more stone would complete four for stones (hi, lo). Unmasked. */
export function spotsLo(hi: number, lo: number): number {
  return ((lo << 1) & (lo << 2) & (lo << 3)) | lineLo(hi, lo, 6) | lineLo(hi, lo, 7) | lineLo(hi, lo, 8); // vertical: three stones below
}

/** High half of the same set as spotsLo. Unmasked. */
export function spotsHi(hi: number, lo: number): number {
  const v = ((hi << 1) | (lo >>> 31)) & ((hi << 2) | (lo >>> 30)) & ((hi << 3) | (lo >>> 29));
  return v | lineHi(hi, lo, 6) | lineHi(hi, lo, 7) | lineHi(hi, lo, 8);
}

/** Low half of the cells completing four along shift s (6, 7 or 8): x_xx, xx_x, xxx_ and _xxx patterns. */
function lineLo(hi: number, lo: number, s: number): number {
  const l1 = lo << s; // (p << s).lo
  const l2 = lo << (2 * s);
  const l3 = lo << (3 * s);
  const r1 = (lo >>> s) | (hi << (32 - s)); // (p >> s).lo
  const r2 = (lo >>> (2 * s)) | (hi << (32 - 2 * s));
  const r3 = (lo >>> (3 * s)) | (hi << (32 - 3 * s));
  return (l1 & l2 & (l3 | r1)) | (r1 & r2 & (l1 | r3));
}

/** High half of the same, along shift s. */
function lineHi(hi: number, lo: number, s: number): number {
  const l1 = (hi << s) | (lo >>> (32 - s)); // (p << s).hi
  const l2 = (hi << (2 * s)) | (lo >>> (32 - 2 * s));
  const l3 = (hi << (3 * s)) | (lo >>> (32 - 3 * s));
  const r1 = hi >>> s; // (p >> s).hi
  const r2 = hi >>> (2 * s);
  const r3 = hi >>> (3 * s);
  return (l1 & l2 & (l3 | r1)) | (r1 & r2 & (l1 | r3));
}

/** Exact numeric key: position + mask (unique per position; < 2^50). */
export function numericKey(s: C4State): number {
  return (s.curHi + s.maskHi) * 4294967296 + (s.curLo >>> 0) + (s.maskLo >>> 0);
}

/** Height of column c (number of stones in it). */
export function columnHeight(s: C4State, c: number): number {
  const [lo, hi] = COLUMN_MASKS[c];
  return popcount32(s.maskLo & lo) + popcount32(s.maskHi & hi);
}

// ---------------------------------------------------------------- the game

const EMPTY: C4State = { curLo: 0, curHi: 0, maskLo: 0, maskHi: 0, moves: 0, result: null };

function checkMove(s: C4State, move: number): void {
  if (!Number.isInteger(move) || move < 0 || move >= WIDTH) throw new RangeError(`connect4: move must be a column in 0..6, got ${move}`);
  if (s.result !== null) throw new RangeError(`connect4: game is over (result ${s.result}), cannot play column ${move}`);
  if (columnHeight(s, move) >= HEIGHT) throw new RangeError(`connect4: column ${move} is full`);
}

function play(s: C4State, move: number): C4State {
  checkMove(s, move);
  const b = bitIndex(move, columnHeight(s, move));
  const bitLo = setBit('lo', b);
  const bitHi = setBit('hi', b);
  const moverLo = s.curLo | bitLo;
  const moverHi = s.curHi | bitHi;
  const moves = s.moves + 1;
  let result: number | null = null;
  if (hasFour(moverHi, moverLo)) result = s.moves % 2 === 0 ? 1 : -1;
  else if (moves === CELLS) result = 0;
  return {
    curLo: s.curLo ^ s.maskLo, // the opponent becomes the mover
    curHi: s.curHi ^ s.maskHi,
    maskLo: s.maskLo | bitLo,
    maskHi: s.maskHi | bitHi,
    moves,
    result,
  };
}

/** Owner of cell (c, r): 0 or 1 for a stone of player 0/1, -1 if empty. */
export function cellOwner(s: C4State, c: number, r: number): number {
  const b = bitIndex(c, r);
  if (!testBit(s.maskHi, s.maskLo, b)) return -1;
  const mine = testBit(s.curHi, s.curLo, b); // stone of the player to move
  return mine ? s.moves % 2 : 1 - (s.moves % 2);
}

export const connect4: Game<C4State> = {
  id: 'connect4-v1',
  description: 'Connect Four, 7 columns x 6 rows; a move is a column 0..6; four in a row wins',
  numActions: WIDTH,
  encodingShape: [2, HEIGHT, WIDTH],
  initial: () => EMPTY,
  toMove: (s) => (s.moves % 2) as 0 | 1,
  legalMoves(s) {
    if (s.result !== null) return [];
    const out: number[] = [];
    for (let c = 0; c < WIDTH; c++) if (columnHeight(s, c) < HEIGHT) out.push(c);
    return out;
  },
  play,
  result: (s) => s.result,
  /** Planes [mine, theirs] for the player to move; row 0 is the TOP row (as rendered). Index plane*42 + row*7 + col. */
  encode(s) {
    const out = new Float32Array(2 * CELLS); // (2, 6, 7)
    const me = s.moves % 2;
    for (let c = 0; c < WIDTH; c++) {
      for (let r = 0; r < HEIGHT; r++) {
        const owner = cellOwner(s, c, r);
        if (owner < 0) continue;
        const plane = owner === me ? 0 : 1;
        out[plane * CELLS + (HEIGHT - 1 - r) * WIDTH + c] = 1;
      }
    }
    return out;
  },
  /** X is player 0 (moves first), O is player 1; column numbers below. */
  render(s) {
    const lines: string[] = [];
    for (let r = HEIGHT - 1; r >= 0; r--) {
      const row: string[] = [];
      for (let c = 0; c < WIDTH; c++) row.push('XO'[cellOwner(s, c, r)] ?? '.');
      lines.push('|' + row.join(' ') + '|');
    }
    lines.push('+' + '-'.repeat(2 * WIDTH - 1) + '+');
    lines.push(' ' + Array.from({ length: WIDTH }, (_, c) => String(c)).join(' '));
    return lines.join('\n');
  },
  key: (s) => numericKey(s).toString(36),
};

/** The position after playing the given columns (0-based) from the empty board. */
export function c4FromMoves(moves: readonly number[]): C4State {
  let s = EMPTY;
  for (const m of moves) s = play(s, m);
  return s;
}

/** Parses the usual 1-based column string ('4453...', as in Pons' test sets) into a position. */
export function c4FromString(seq: string): C4State {
  return c4FromMoves([...seq].map((ch) => {
    const c = Number(ch) - 1;
    if (!Number.isInteger(c) || c < 0 || c >= WIDTH) throw new RangeError(`connect4: bad column '${ch}' in '${seq}' (expected digits 1..7)`);
    return c;
  }));
}
