/** Every built-in two-player game, in registry order. */
import type { Game } from '../types.ts';
import { tictactoe } from './tictactoe.ts';
import { connect4 } from './connect4.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const GAMES: readonly Game<any>[] = [tictactoe, connect4];
