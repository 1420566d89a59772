/**
 * sudoku4-v1: complete a 4x4 sudoku (digits 1-4, 2x2 boxes).
 *
 *   prompt  `sudoku 1.3./..1./.1../2..1`    (rows separated by '/', '.' = blank)
 *   answer  `1234341243212143`              (the 16 digits, rows concatenated)
 *
 * Every row, column and 2x2 box of the answer holds 1, 2, 3 and 4 once, and
 * the givens are kept. Spaces and slashes in the answer are ignored, so
 * `1234/3412/4321/2143` is read the same. The verifier checks the constraints
 * rather than comparing with the reference solution, so any valid completion
 * is accepted (generated puzzles have exactly one anyway: givens are removed
 * one by one, in random order, only while the solution stays unique).
 *
 * Difficulty is the number of blanks: 4, 6, 8, 10, 11, 12 (a 4x4 sudoku needs
 * at least 4 givens).
 *
 * Hard cases: puzzles where the demonstrator's systematic blind spot goes
 * wrong: it forgets the 2x2 box rule. It fills naked singles (a blank with one
 * candidate left, by row and column only); when none is left it writes the
 * smallest such candidate into the first blank, never backtracking. (With the
 * box rule, naked singles alone solve every generated puzzle.) About 0% of the
 * puzzles at level 1 and 40% at level 6 are hard.
 *
 * Verdict reasons: correct | no_answer | malformed (not 16 digits 1-4, ignoring
 * whitespace and slashes) | givens_changed | constraint_violated.
 */
import type { Task, TaskFamily, Verdict } from '../types.ts';
import { CORRECT, extractAnswer, fail, formatAnswer } from '../answer.ts';
import { Rng } from '../../util/rng.ts';
import { defineTaskFamily, type DrawnTask } from '../define.ts';

const ID = 'sudoku4-v1';

/** Blanks per difficulty level (index = level - 1). */
const BLANKS: readonly number[] = [4, 6, 8, 10, 11, 12];

/** A grid: 16 cells row by row, 0 = blank. */
type Grid = number[];

/** For each cell, the other cells sharing its row, column or box. */
const PEERS: readonly (readonly number[])[] = Array.from({ length: 16 }, (_, i) => {
  const [r, c] = [Math.floor(i / 4), i % 4];
  const peers: number[] = [];
  for (let j = 0; j < 16; j++) {
    const [r2, c2] = [Math.floor(j / 4), j % 4];
    const sameBox = Math.floor(r / 2) === Math.floor(r2 / 2) && Math.floor(c / 2) === Math.floor(c2 / 2);
    if (j !== i && (r === r2 || c === c2 || sameBox)) peers.push(j);
  }
  return peers;
});

/** For each cell, the other cells sharing its row or column (the blind spot's view). */
const ROW_COL_PEERS: readonly (readonly number[])[] = PEERS.map((peers, i) =>
  peers.filter((j) => Math.floor(j / 4) === Math.floor(i / 4) || j % 4 === i % 4),
);

/** The 12 units (4 rows, 4 columns, 4 boxes) as lists of cell indices. */
const UNITS: readonly (readonly number[])[] = [
  ...[0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => 4 * r + c)),
  ...[0, 1, 2, 3].map((c) => [0, 1, 2, 3].map((r) => 4 * r + c)),
  ...[0, 2, 8, 10].map((tl) => [tl, tl + 1, tl + 4, tl + 5]),
];


/** The puzzle from the task's meta: 16 characters, '1'-'4' or '.'. */
function puzzleOf(task: Task): Grid {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  return [...(task.meta.puzzle as string)].map((c) => (c === '.' ? 0 : Number(c)));
}

function candidates(g: Grid, i: number, peers = PEERS): number[] {
  const used = new Set(peers[i].map((j) => g[j]));
  return [1, 2, 3, 4].filter((d) => !used.has(d));
}

/**
 * Backtracking over blanks in order, trying digits in `order(cell)`'s order.
 * Calls `found` with each solution; stops when it returns true.
 */
function search(g: Grid, found: (solution: Grid) => boolean, order: (cands: number[]) => number[] = (c) => c): boolean {
  const i = g.indexOf(0);
  if (i < 0) return found([...g]);
  for (const d of order(candidates(g, i))) {
    g[i] = d;
    const stop = search(g, found, order);
    g[i] = 0;
    if (stop) return true;
  }
  return false;
}

/** The number of solutions, counting no further than `limit`. */
function countSolutions(g: Grid, limit: number): number {
  let n = 0;
  search([...g], () => ++n >= limit);
  return n;
}

/** The reference solver: the first solution by backtracking, or null. */
export function solveGrid(puzzle: Grid): Grid | null {
  let solution: Grid | null = null;
  search([...puzzle], (s) => {
    solution = s;
    return true;
  });
  return solution;
}

/** The blind spot: no box rule; naked singles, else the smallest candidate in the first blank (or 1). */
function blindSpot(puzzle: Grid): Grid {
  const g = [...puzzle];
  const cands = (i: number): number[] => candidates(g, i, ROW_COL_PEERS);
  for (let blank = g.indexOf(0); blank >= 0; blank = g.indexOf(0)) {
    const single = g.findIndex((d, i) => d === 0 && cands(i).length === 1);
    if (single >= 0) g[single] = cands(single)[0];
    else g[blank] = cands(blank)[0] ?? 1;
  }
  return g;
}

/** A random full grid: the first solution of the empty grid, trying digits in shuffled order. */
function randomFullGrid(rng: Rng): Grid {
  let solution: Grid = [];
  const stopAtFirst = (s: Grid): boolean => {
    solution = s;
    return true;
  };
  search(new Array(16).fill(0), stopAtFirst, (c) => rng.shuffle(c));
  return solution;
}

const show = (g: Grid): string => g.map((d) => (d === 0 ? '.' : String(d))).join('');

function drawTask(rng: Rng, difficulty: number): DrawnTask {
  const blanks = BLANKS[difficulty - 1];
  for (let attempt = 0; attempt < 1000; attempt++) {
    const solution = randomFullGrid(rng);
    const puzzle = [...solution];
    let removed = 0;
    for (const i of rng.shuffle([...Array(16).keys()])) {
      if (removed === blanks) break;
      puzzle[i] = 0;
      if (countSolutions(puzzle, 2) === 1) removed++;
      else puzzle[i] = solution[i];
    }
    if (removed < blanks) continue;
    const rows = show(puzzle).match(/.{4}/g)!;
    return {
      prompt: `sudoku ${rows.join('/')}`,
      answer: solution.join(''),
      meta: { puzzle: show(puzzle) },
    };
  }
  throw new Error(`${ID}: no puzzle with ${blanks} blanks after 1000 attempts`);
}

function verify(task: Task, completion: string): Verdict {
  const puzzle = puzzleOf(task);
  const got = extractAnswer(completion);
  if (!got.ok) return fail('no_answer');
  const text = got.text.replace(/[\s/]+/g, '');
  if (!/^[1-4]{16}$/.test(text)) return fail('malformed', `not 16 digits 1-4: ${JSON.stringify(text.slice(0, 40))}`);
  const g = [...text].map(Number);
  const changed = puzzle.findIndex((d, i) => d !== 0 && g[i] !== d);
  if (changed >= 0) return fail('givens_changed', `cell ${changed + 1} is given as ${puzzle[changed]}, got ${g[changed]}`);
  const broken = UNITS.findIndex((unit) => new Set(unit.map((i) => g[i])).size !== 4);
  if (broken >= 0) return fail('constraint_violated', `${['row', 'column', 'box'][Math.floor(broken / 4)]} ${(broken % 4) + 1} repeats a digit`);
  return CORRECT;
}

function solve(task: Task): string {
  const solution = solveGrid(puzzleOf(task));
  if (solution === null) throw new Error(`${ID}: puzzle ${task.meta.puzzle} has no solution`);
  return formatAnswer(solution.join(''));
}

/** Swaps the values of two blanks sharing a unit; they differ, so the other units through them now repeat a digit. */
function swapInUnit(puzzle: Grid, solution: Grid, pick: (n: number) => number): Grid | null {
  const pairs: [number, number][] = [];
  for (const unit of UNITS) {
    for (const i of unit) for (const j of unit) if (i < j && puzzle[i] === 0 && puzzle[j] === 0) pairs.push([i, j]);
  }
  if (pairs.length === 0) return null;
  const [i, j] = pairs[pick(pairs.length)];
  const g = [...solution];
  [g[i], g[j]] = [g[j], g[i]];
  return g;
}

const ERROR_KINDS = ['typo', 'swap', 'systematic'] as const;

function mistake(task: Task, kind: string, rng: Rng): string {
  const puzzle = puzzleOf(task);
  const solution = solveGrid(puzzle)!;
  const blanks = [...puzzle.keys()].filter((i) => puzzle[i] === 0);
  const typo = (i: number, shift: number): Grid => solution.map((d, j) => (j === i ? ((d - 1 + shift) % 4) + 1 : d));
  let wrong: Grid | null;
  if (kind === 'typo') wrong = typo(rng.pick(blanks), 1 + rng.int(3));
  else if (kind === 'swap') wrong = swapInUnit(puzzle, solution, (n) => rng.int(n));
  else if (kind === 'systematic') wrong = blindSpot(puzzle);
  else throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}; expected one of ${ERROR_KINDS.join(', ')}`);
  // No two blanks share a unit, or the blind spot is right (an easy puzzle): slip on the first blank instead.
  if (wrong === null || wrong.every((d, i) => d === solution[i])) wrong = typo(blanks[0], 1);
  return formatAnswer(wrong.join(''));
}

export const sudoku4: TaskFamily = defineTaskFamily({
  id: ID,
  description: 'Complete a 4x4 sudoku (digits 1-4, 2x2 boxes); answer the 16 digits row by row.',
  difficulty: { min: 1, max: BLANKS.length, default: 2 },
  generate: drawTask,
  verify,
  solve,
  errorKinds: ERROR_KINDS,
  mistake,
  isHard(task: Task): boolean {
    const puzzle = puzzleOf(task);
    const solution = solveGrid(puzzle);
    return blindSpot(puzzle).some((d, i) => d !== solution![i]);
  },
  /** The number of blanks. */
  stat(task: Task): number {
    return puzzleOf(task).filter((d) => d === 0).length;
  },
});
