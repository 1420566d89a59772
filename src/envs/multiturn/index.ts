/** Every built-in multi-turn text environment, in registry order. */
import type { MultiTurnFamily } from '../types.ts';
import { guessNumber } from './guess_number.ts';
import { retryArith } from './retry_arith.ts';
import { calcTool } from './calc_tool.ts';

export const MULTITURN_FAMILIES: readonly MultiTurnFamily[] = [guessNumber, retryArith, calcTool];
