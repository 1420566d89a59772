/** `flywheel demo`: teacher -> SFT -> RL in one command (src/cli/demo_impl.ts has the plan). */
import type { Command } from 'commander';
import { intArg } from './args.ts';

export function register(program: Command): void {
  program
    .command('demo')
    .description('The whole loop in one command: imitate a flawed teacher (SFT), then surpass it by RL against the verifier; prints a table and writes report.html')
    .option('--out <dir>', 'run directory (teacher.jsonl, sft/, rl/, summary.json, report.html)', 'runs/demo')
    .option('--seed <n>', 'seed of the demonstrations, the model init and the RL run', intArg(0), 0)
    .option('--plan <file>', 'a JSON file overriding parts of the plan (see DEMO in src/cli/demo_impl.ts), e.g. {"rl": {"steps": 400}}')
    .option('--resume', 'continue an interrupted demo where it stopped')
    .option('--force', 'replace the demo in --out')
    .option('--quiet', 'no progress bars')
    .option('--json', 'print the summary as JSON on stdout')
    .addHelpText('after', [
      '', 'Examples:',
      '  flywheel demo                          # ~2 minutes on a laptop CPU',
      '  flywheel demo --seed 1 --out runs/demo-1',
      '  flywheel demo --json | jq .rl',
      '', 'Afterwards: flywheel sample --checkpoint runs/demo/rl --prompt "solve 3x+7=-8" --temperature 0',
    ].join('\n'))
    .action(async (flags) => {
      const { runDemo } = await import('./demo_impl.ts');
      await runDemo(flags);
    });
}
