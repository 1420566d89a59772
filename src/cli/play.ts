/**
 * `flywheel play`: a person against a self-play agent in the terminal, or
 * the agent's analysis of given positions as JSON. The implementation is
 * imported lazily.
 */
import type { Command } from 'commander';
import { choiceArg, intArg } from './args.ts';

export interface PlayFlags {
  game: string;
  checkpoint: string;
  moves?: string;
  positions?: string;
  color: string;
  simulations?: number;
  seed: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('play')
    .description('Play a self-play agent in the terminal, or analyse positions (--moves, --positions) as JSON')
    .requiredOption('--checkpoint <dir>', 'a self-play run directory or its checkpoint/')
    .option('--game <name>', 'connect4 or tictactoe', 'connect4')
    .option('--moves <string>', 'analyse the position after these moves: 1-based columns (Connect Four) or cells (tic-tac-toe), e.g. 4453')
    .option('--positions <file>', 'analyse one move string a line; prints a JSON array in file order')
    .option('--color <who>', 'interactive play: first (you move first) or second', choiceArg(['first', 'second'] as const), 'first')
    .option('--simulations <n>', "MCTS simulations per move (default: the run's evaluation setting)", intArg(1, 10_000_000))
    .option('--seed <n>', 'seed for tie-breaking', intArg(0), 0)
    .option('--json', 'print the analysis as JSON (implied by --moves and --positions)')
    .addHelpText('after', [
      '', 'Examples:',
      '  flywheel play --checkpoint runs/selfplay-connect4                 # you move first',
      '  flywheel play --checkpoint runs/selfplay-connect4 --color second',
      '  flywheel play --checkpoint runs/selfplay-connect4 --moves 4453 --json',
      '  flywheel play --checkpoint runs/selfplay-connect4 --positions test_L2_R1.txt > answers.json',
      '', 'An analysis is {"move", "policy", "value", "visits"}: the agent\'s move (1-based), the network\'s prior per move,',
      "its value for the player to move (-1 loss .. 1 win), and MCTS visit counts per move.",
    ].join('\n'))
    .action(async (flags: PlayFlags) => {
      const { runPlay } = await import('./play_impl.ts');
      await runPlay(flags);
    });
}
