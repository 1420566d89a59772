/** Every built-in single-turn task family, in registry order. */
import type { TaskFamily } from '../types.ts';
import { addsub } from './addsub.ts';
import { multiplication } from './multiplication.ts';
import { countdown } from './countdown.ts';
import { modular } from './modular.ts';
import { linearEq } from './linear_eq.ts';
import { baseConvert } from './base_convert.ts';
import { sorting } from './sorting.ts';
import { stringTransform } from './string_transform.ts';
import { countParity } from './count_parity.ts';
import { boolExpr } from './bool_expr.ts';
import { shortestPath } from './shortest_path.ts';
import { sudoku4 } from './sudoku4.ts';

export const TASK_FAMILIES: readonly TaskFamily[] = [
  addsub,
  multiplication,
  countdown,
  modular,
  linearEq,
  baseConvert,
  sorting,
  stringTransform,
  countParity,
  boolExpr,
  shortestPath,
  sudoku4,
];
