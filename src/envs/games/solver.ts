/**
 * Game solvers: a generic negamax for any Game (exact for small games such as
 * tic-tac-toe, depth-limited with a heuristic otherwise), and a perfect
 * Connect Four solver used as an oracle.
 *
 * The Connect Four solver follows Pascal Pons' "Solving Connect 4" tutorial
 * (blog.gamesolver.org): negamax with alpha-beta on the bitboard of
 * connect4.ts, only "non-losing" moves searched (forced blocks; never under an
 * opponent's winning cell), a transposition table of upper bounds, move
 * ordering by the number of winning cells a move creates (ties: centre
 * first), and a null-window binary search on the score at the root.
 *
 * Score convention (Pons'): from the point of view of the player to move,
 *   score = 22 - (stones the winner has placed when it completes four)
 * positive if the mover wins, negative if it loses, 0 for a draw. So winning
 * with one's 4th stone scores 18, losing to the opponent's last (21st) stone
 * scores -1. In terms of stones played n before the winning move of the side
 * to move: (43 - n) >> 1. Range -18..18.
 *
 * Speed (this machine, tsx): about 1.2M nodes/s; positions with 12 or more
 * stones solve in well under a second, 10 stones in about a second, 8 stones
 * in 5-20 s; the empty board is out of reach. search(s, depth) is a
 * depth-limited version (same pruning and ordering, no table) with a
 * threat-parity heuristic at the horizon, for positions too early to solve.
 *
 * Departures from Pons: no opening book; the table (2^23 entries of 5 bytes,
 * about 40 MB, allocated on first use) is kept across calls. Its entries are
 * bounds that hold for the position itself, so results never depend on what
 * was solved before; only the time does.
 */

import { negamax, type SolveResult } from './negamax.ts';
import * as c4 from './connect4.ts';
import type { C4State } from './connect4.ts';

// Local copies of the bitboard primitives: under tsx, imported bindings can arrive as
// getters, which cost about as much as the search itself in the inner loop.
const { BOARD_HI, BOARD_LO, BOTTOM_HI, BOTTOM_LO, CELLS, COLUMN_MASKS, WIDTH, buildMask, hasFour, popcount32, spotsHi, spotsLo } = c4;

export { negamax, type SolveResult };

// ---------------------------------------------------------------- Connect Four: bit primitives

const MIN_SCORE = -(CELLS >> 1) + 3; // -18: lose to the opponent's 4th stone
const COLUMN_ORDER = [3, 2, 4, 1, 5, 0, 6]; // centre first

/** Cells where the next stone of the player to move lands (one per non-full column). */
function possibleLo(mLo: number): number {
  return ((mLo << 1) | BOTTOM_LO) & ~mLo & BOARD_LO;
}
function possibleHi(mHi: number, mLo: number): number {
  return ((mHi << 1) | (mLo >>> 31) | BOTTOM_HI) & ~mHi & BOARD_HI;
}

/** Whether the player to move can complete four with its next stone. */
function canWinNext(cLo: number, cHi: number, mLo: number, mHi: number): boolean {
  return ((spotsLo(cHi, cLo) & possibleLo(mLo)) | (spotsHi(cHi, cLo) & possibleHi(mHi, mLo))) !== 0;
}

/** Transposition table: key -> (upper bound - MIN_SCORE + 1); 0 means empty. Prime size, 32-bit partial keys (unique by the CRT since size * 2^32 > 2^50). */
class Table {
  private readonly keys: Uint32Array;
  private readonly values: Uint8Array;
  constructor(private readonly size: number) {
    this.keys = new Uint32Array(size);
    this.values = new Uint8Array(size);
  }
  get(key: number): number {
    const i = key % this.size;
    return this.keys[i] === key >>> 0 ? this.values[i] : 0;
  }
  put(key: number, value: number): void {
    const i = key % this.size;
    this.keys[i] = key >>> 0;
    this.values[i] = value;
  }
  clear(): void {
    this.keys.fill(0);
    this.values.fill(0);
  }
}

/** Smallest prime >= n (trial division; called once per table). */
function nextPrime(n: number): number {
  for (let p = n; ; p++) {
    let prime = p > 1;
    for (let d = 2; d * d <= p && prime; d++) if (p % d === 0) prime = false;
    if (prime) return p;
  }
}

const COL_LO = Int32Array.from(COLUMN_MASKS, (m) => m[0]);
const COL_HI = Int32Array.from(COLUMN_MASKS, (m) => m[1]);

// ---------------------------------------------------------------- Connect Four: the solver

/**
 * A perfect Connect Four solver with its own transposition table. Positions
 * are passed as the five numbers of a C4State (mover's stones, all stones,
 * stones played), so the search allocates nothing.
 */
export class Connect4Solver {
  /** Nodes visited since construction (diagnostics only; it depends on the table's history). */
  nodes = 0;
  private readonly table: Table;
  // (43, 7): the ordered candidate moves of the node with `moves` stones played, as single-bit sets, and their ordering scores.
  private readonly candLo = new Int32Array(43 * WIDTH);
  private readonly candHi = new Int32Array(43 * WIDTH);
  private readonly candScore = new Int32Array(43 * WIDTH);

  /** tableSize: number of entries (5 bytes each); rounded up to a prime. Must exceed 2^18 for exact keys. */
  constructor(tableSize = 1 << 23) {
    if (!(tableSize > 1 << 18)) throw new RangeError(`Connect4Solver: tableSize must exceed 2^18, got ${tableSize}`);
    this.table = new Table(nextPrime(tableSize));
  }

  /** Forgets every stored bound (results are the same either way; only speed changes). */
  reset(): void {
    this.table.clear();
  }

  /** The exact score of s for the player to move (convention in the header). */
  score(s: C4State): number {
    if (s.result !== null) return s.result === 0 ? 0 : -((CELLS + 2 - s.moves) >> 1); // the previous mover completed four
    return this.rootScore(s.curLo, s.curHi, s.maskLo, s.maskHi, s.moves) || 0; // never -0
  }

  /** Value, exact score, and every column that keeps the exact score. */
  solve(s: C4State): SolveResult {
    const score = this.score(s);
    const bestMoves: number[] = [];
    if (s.result === null) {
      for (let c = 0; c < WIDTH; c++) {
        const bLo = possibleLo(s.maskLo) & COL_LO[c];
        const bHi = possibleHi(s.maskHi, s.maskLo) & COL_HI[c];
        if ((bLo | bHi) === 0) continue; // full column
        if (this.moveAchieves(s, bLo, bHi, score)) bestMoves.push(c);
      }
    }
    return { value: score > 0 ? 1 : score < 0 ? -1 : 0, score, bestMoves };
  }

  /** Whether playing the stone (bLo, bHi) in s scores `target` (the position's exact score) for the mover. */
  private moveAchieves(s: C4State, bLo: number, bHi: number, target: number): boolean {
    const moverLo = s.curLo | bLo;
    const moverHi = s.curHi | bHi;
    const n = s.moves;
    if (hasFour(moverHi, moverLo)) return target === (CELLS + 1 - n) >> 1; // immediate win
    if (n + 1 === CELLS) return target === 0; // fills the board: draw
    // The child (opponent to move) scores >= -target always; the move is best iff it scores <= -target.
    const cLo = s.curLo ^ s.maskLo;
    const cHi = s.curHi ^ s.maskHi;
    const mLo = s.maskLo | bLo;
    const mHi = s.maskHi | bHi;
    if (canWinNext(cLo, cHi, mLo, mHi)) return (CELLS + 1 - (n + 1)) >> 1 <= -target;
    return this.negamax(cLo, cHi, mLo, mHi, n + 1, -target, -target + 1) <= -target;
  }

  /** Pons' root: immediate win, else a null-window binary search between the score bounds. */
  private rootScore(cLo: number, cHi: number, mLo: number, mHi: number, n: number): number {
    if (canWinNext(cLo, cHi, mLo, mHi)) return (CELLS + 1 - n) >> 1;
    let min = -((CELLS - n) >> 1);
    let max = (CELLS + 1 - n) >> 1;
    while (min < max) {
      let med = min + ((max - min) >> 1);
      if (med <= 0 && Math.trunc(min / 2) < med) med = Math.trunc(min / 2); // probe near 0 first: most positions are close games
      else if (med >= 0 && Math.trunc(max / 2) > med) med = Math.trunc(max / 2);
      const r = this.negamax(cLo, cHi, mLo, mHi, n, med, med + 1);
      if (r <= med) max = r;
      else min = r;
    }
    return min;
  }

  /**
   * Fail-soft-ish negamax of Pons: returns the exact score if it lies in
   * (alpha, beta), an upper bound <= alpha, or a lower bound >= beta.
   * Precondition: the mover cannot win with its next stone.
   */
  private negamax(cLo: number, cHi: number, mLo: number, mHi: number, n: number, alpha: number, beta: number): number {
    this.nodes++;
    const oLo = cLo ^ mLo; // opponent's stones
    const oHi = cHi ^ mHi;
    const pLo = possibleLo(mLo);
    const pHi = possibleHi(mHi, mLo);
    const owLo = spotsLo(oHi, oLo) & BOARD_LO & ~mLo; // opponent's winning cells
    const owHi = spotsHi(oHi, oLo) & BOARD_HI & ~mHi;
    let nLo = pLo;
    let nHi = pHi;
    const fLo = pLo & owLo; // forced: must block these
    const fHi = pHi & owHi;
    if ((fLo | fHi) !== 0) {
      if (popcount32(fLo) + popcount32(fHi) > 1) return -((CELLS - n) >> 1); // two threats: lost
      nLo = fLo;
      nHi = fHi;
    }
    nLo &= ~((owLo >>> 1) | (owHi << 31)); // never play just below an opponent's winning cell
    nHi &= ~(owHi >>> 1);
    if ((nLo | nHi) === 0) return -((CELLS - n) >> 1);
    if (n >= CELLS - 2) return 0; // neither side can win any more
    const min = -((CELLS - 2 - n) >> 1); // the opponent cannot win with its next stone
    if (alpha < min) {
      alpha = min;
      if (alpha >= beta) return alpha;
    }
    let max = (CELLS - 1 - n) >> 1; // we cannot win with our next stone
    const key = (cHi + mHi) * 4294967296 + (cLo >>> 0) + (mLo >>> 0);
    const stored = this.table.get(key);
    if (stored !== 0) max = stored + MIN_SCORE - 1;
    if (beta > max) {
      beta = max;
      if (alpha >= beta) return beta;
    }
    const count = this.orderMoves(cLo, cHi, mLo, mHi, nLo, nHi, n);
    const base = n * WIDTH;
    for (let i = 0; i < count; i++) {
      const bLo = this.candLo[base + i];
      const bHi = this.candHi[base + i];
      const score = -this.negamax(oLo, oHi, mLo | bLo, mHi | bHi, n + 1, -beta, -alpha);
      if (score >= beta) return score;
      if (score > alpha) alpha = score;
    }
    this.table.put(key, alpha - MIN_SCORE + 1); // an upper bound of the score
    return alpha;
  }

  /**
   * Depth-limited search for positions too early to solve exactly: the same
   * pruning and ordering, no table, and at the horizon a heuristic in (-1, 1),
   * so proven wins and losses (|score| >= 1, exact) always dominate it.
   */
  search(s: C4State, depth: number): SolveResult {
    if (!(Number.isInteger(depth) && depth >= 1)) throw new RangeError(`Connect4Solver.search: depth must be an integer >= 1, got ${depth}`);
    if (s.result !== null) return { value: s.result === 0 ? 0 : -1, score: this.score(s), bestMoves: [] };
    const n = s.moves;
    let best = -Infinity;
    let bestMoves: number[] = [];
    for (let c = 0; c < WIDTH; c++) {
      const bLo = possibleLo(s.maskLo) & COL_LO[c];
      const bHi = possibleHi(s.maskHi, s.maskLo) & COL_HI[c];
      if ((bLo | bHi) === 0) continue;
      const cLo = s.curLo ^ s.maskLo;
      const cHi = s.curHi ^ s.maskHi;
      const mLo = s.maskLo | bLo;
      const mHi = s.maskHi | bHi;
      let v: number;
      if (hasFour(s.curHi | bHi, s.curLo | bLo)) v = (CELLS + 1 - n) >> 1;
      else if (n + 1 === CELLS) v = 0;
      else if (canWinNext(cLo, cHi, mLo, mHi)) v = -((CELLS - n) >> 1);
      else v = -this.limited(cLo, cHi, mLo, mHi, n + 1, depth - 1, -Infinity, -(best - 1e-9)); // fails low cheaply if worse than best
      if (v > best) {
        best = v;
        bestMoves = [c];
      } else if (v === best) bestMoves.push(c);
    }
    return { value: best >= 1 ? 1 : best <= -1 ? -1 : 0, score: best || 0, bestMoves };
  }

  /** negamax() with a depth limit and no table. Same precondition. */
  private limited(cLo: number, cHi: number, mLo: number, mHi: number, n: number, depth: number, alpha: number, beta: number): number {
    this.nodes++;
    const oLo = cLo ^ mLo;
    const oHi = cHi ^ mHi;
    const pLo = possibleLo(mLo);
    const pHi = possibleHi(mHi, mLo);
    const owLo = spotsLo(oHi, oLo) & BOARD_LO & ~mLo;
    const owHi = spotsHi(oHi, oLo) & BOARD_HI & ~mHi;
    let nLo = pLo;
    let nHi = pHi;
    const fLo = pLo & owLo;
    const fHi = pHi & owHi;
    if ((fLo | fHi) !== 0) {
      if (popcount32(fLo) + popcount32(fHi) > 1) return -((CELLS - n) >> 1);
      nLo = fLo;
      nHi = fHi;
    }
    nLo &= ~((owLo >>> 1) | (owHi << 31));
    nHi &= ~(owHi >>> 1);
    if ((nLo | nHi) === 0) return -((CELLS - n) >> 1);
    if (n >= CELLS - 2) return 0;
    if (depth <= 0) return heuristicBits(cLo, cHi, oLo, oHi, mLo, mHi, owLo, owHi, n);
    const count = this.orderMoves(cLo, cHi, mLo, mHi, nLo, nHi, n);
    const base = n * WIDTH;
    let best = -Infinity;
    for (let i = 0; i < count; i++) {
      const bLo = this.candLo[base + i];
      const bHi = this.candHi[base + i];
      const v = -this.limited(oLo, oHi, mLo | bLo, mHi | bHi, n + 1, depth - 1, -beta, -alpha);
      if (v > best) best = v;
      if (v > alpha) alpha = v;
      if (alpha >= beta) break;
    }
    return best;
  }

  /** Fills the candidate buffer of ply n with the moves in (nLo, nHi), best first; returns how many. */
  private orderMoves(cLo: number, cHi: number, mLo: number, mHi: number, nLo: number, nHi: number, n: number): number {
    const base = n * WIDTH;
    let count = 0;
    for (let k = 0; k < WIDTH; k++) {
      const col = COLUMN_ORDER[k];
      const bLo = nLo & COL_LO[col];
      const bHi = nHi & COL_HI[col];
      if ((bLo | bHi) === 0) continue;
      // Ordering score: winning cells the mover owns after the move.
      const sLo = cLo | bLo;
      const sHi = cHi | bHi;
      const score = popcount32(spotsLo(sHi, sLo) & BOARD_LO & ~(mLo | bLo)) + popcount32(spotsHi(sHi, sLo) & BOARD_HI & ~(mHi | bHi));
      let j = count++;
      for (; j > 0 && this.candScore[base + j - 1] < score; j--) {
        this.candLo[base + j] = this.candLo[base + j - 1];
        this.candHi[base + j] = this.candHi[base + j - 1];
        this.candScore[base + j] = this.candScore[base + j - 1];
      }
      this.candLo[base + j] = bLo;
      this.candHi[base + j] = bHi;
      this.candScore[base + j] = score;
    }
    return count;
  }
}

/** Rows 1, 3, 5 counted from 1 at the bottom (0-based r = 0, 2, 4): the first player's good threat rows. */
const [ODD_ROWS_LO, ODD_ROWS_HI] = buildMask((_c, r) => r < 6 && r % 2 === 0);
/** Rows 2, 4, 6: the second player's good threat rows. */
const [EVEN_ROWS_LO, EVEN_ROWS_HI] = buildMask((_c, r) => r < 6 && r % 2 === 1);

const W_GOOD = 0.2; // per threat on its owner's good parity row (on top of W_THREAT)
const W_THREAT = 0.1; // per threat
const W_CENTRE = 0.03; // per centre stone

/**
 * Horizon heuristic for the mover, in (-1, 1). Open winning cells ("threats")
 * count for their owner; a threat on the owner's good parity row (odd rows
 * for the first player, even rows for the second, counting 1 from the
 * bottom) counts W_GOOD more, since those decide Connect Four endgames by
 * zugzwang. Centre stones count a little. owLo/owHi: the opponent's open
 * winning cells, already computed.
 */
function heuristicBits(cLo: number, cHi: number, oLo: number, oHi: number, mLo: number, mHi: number, owLo: number, owHi: number, n: number): number {
  const myLo = spotsLo(cHi, cLo) & BOARD_LO & ~mLo;
  const myHi = spotsHi(cHi, cLo) & BOARD_HI & ~mHi;
  const first = n % 2 === 0; // the mover is the first player
  const goodLo = first ? ODD_ROWS_LO : EVEN_ROWS_LO;
  const goodHi = first ? ODD_ROWS_HI : EVEN_ROWS_HI;
  const myGood = popcount32(myLo & goodLo) + popcount32(myHi & goodHi);
  const myAll = popcount32(myLo) + popcount32(myHi);
  const theirGood = popcount32(owLo & ~goodLo) + popcount32(owHi & ~goodHi);
  const theirAll = popcount32(owLo) + popcount32(owHi);
  const centre = popcount32(cLo & COL_LO[3]) + popcount32(cHi & COL_HI[3]) - popcount32(oLo & COL_LO[3]) - popcount32(oHi & COL_HI[3]);
  const x = W_GOOD * (myGood - theirGood) + W_THREAT * (myAll - theirAll) + W_CENTRE * centre;
  return x / (1 + Math.abs(x));
}

/** The same heuristic on a state (for the generic search players). */
export function connect4Heuristic(s: C4State): number {
  const oLo = s.curLo ^ s.maskLo;
  const oHi = s.curHi ^ s.maskHi;
  const owLo = spotsLo(oHi, oLo) & BOARD_LO & ~s.maskLo;
  const owHi = spotsHi(oHi, oLo) & BOARD_HI & ~s.maskHi;
  return heuristicBits(s.curLo, s.curHi, oLo, oHi, s.maskLo, s.maskHi, owLo, owHi, s.moves);
}

let shared: Connect4Solver | null = null;

/** The process-wide solver (its table is allocated on first use). */
export function sharedSolver(): Connect4Solver {
  shared ??= new Connect4Solver();
  return shared;
}

/** Solves a Connect Four position exactly (value and score for the player to move). Fast from ~12 stones on. */
export function solve(s: C4State): SolveResult {
  return sharedSolver().solve(s);
}
