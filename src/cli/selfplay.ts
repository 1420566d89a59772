/**
 * `flywheel selfplay`: flags become the AlphaZeroConfig a library caller
 * passes to runAlphaZero (defaults per game in src/algos/alphazero_config.ts,
 * not restated here). The implementation is imported lazily.
 */
import type { Command } from 'commander';
import { explicitOptions, floatArg, intArg } from './args.ts';

export interface SelfPlayFlags {
  game: string;
  out?: string;
  resume?: boolean;
  force?: boolean;
  teacher?: string;
  slGames?: number;
  slSteps?: number;
  iterations?: number;
  games?: number;
  simulations?: number;
  width?: number;
  blocks?: number;
  lr?: number;
  seed?: number;
  json?: boolean;
  quiet?: boolean;
  given: Set<string>; // flags given on the command line
}

/** Flag (camelCase key) -> where it lands in AlphaZeroConfig. */
export const SELFPLAY_FLAG_PATHS: Record<string, string> = {
  game: 'game', teacher: 'teacher', slGames: 'sl.games', slSteps: 'sl.steps', iterations: 'selfplay.iterations', games: 'selfplay.games',
  simulations: 'selfplay.simulations', width: 'net.width', blocks: 'net.blocks', lr: 'selfplay.lr', seed: 'seed',
};

export function register(program: Command): void {
  program
    .command('selfplay')
    .description("AlphaGo's two phases on a board game: imitate a scripted expert, then surpass it by MCTS self-play; measured against the perfect solver")
    .option('--game <name>', 'connect4 or tictactoe', 'connect4')
    .option('--out <dir>', 'run directory (config.json, metrics.jsonl, games.jsonl, checkpoint/, summary.json, report.html) (default: runs/selfplay-<game>)')
    .option('--resume', "continue the run in --out where it stopped, with the run's own settings (only --iterations may grow)")
    .option('--force', 'start a new run even if --out already holds one')
    .option('--teacher <spec>', "the scripted expert of phase 1: random, greedy, search:D, noisy:E, perfect (default per game)")
    .option('--sl-games <n>', 'expert games to imitate', intArg(1, 10_000_000))
    .option('--sl-steps <n>', 'supervised optimizer steps (0: skip phase 1, self-play from random weights)', intArg(0, 10_000_000))
    .option('--iterations <n>', 'self-play iterations (games, training, gating)', intArg(0, 1_000_000))
    .option('--games <n>', 'self-play games per iteration, played concurrently', intArg(1, 100_000))
    .option('--simulations <n>', 'MCTS simulations per self-play move', intArg(2, 1_000_000))
    .option('--width <n>', 'hidden width of the policy-value network', intArg(1, 8192))
    .option('--blocks <n>', 'residual blocks of the network', intArg(0, 64))
    .option('--lr <x>', 'self-play learning rate', floatArg(0, 1, { minExclusive: true }))
    .option('--seed <n>', 'seed for everything random in the run', intArg(0))
    .option('--quiet', 'no progress bars')
    .option('--json', 'print the summary as JSON on stdout')
    .addHelpText('after', [
      '', 'Examples:',
      '  flywheel selfplay                                   # Connect Four, default settings (~18 min on 2 busy cores)',
      '  flywheel selfplay --game tictactoe --sl-steps 0     # tic-tac-toe from scratch to perfect play (~30 s)',
      '  flywheel selfplay --out runs/c4 --iterations 10 --json',
      '  flywheel selfplay --out runs/c4 --resume            # after Ctrl-C or a crash: continue exactly',
      '  flywheel selfplay --out runs/c4 --resume --iterations 60   # extend a finished run',
      '  flywheel play --checkpoint runs/c4                  # play the agent in the terminal',
      '', 'Writes games.jsonl (every game, moves as 1-based columns), metrics.jsonl, summary.json and report.html into --out.',
      'docs/selfplay.md explains the phases, the measurements and the defaults.',
    ].join('\n'))
    .action(async (flags, cmd: Command) => {
      const { runSelfPlay } = await import('./selfplay_impl.ts');
      await runSelfPlay({ ...flags, given: explicitOptions(cmd) });
    });
}
