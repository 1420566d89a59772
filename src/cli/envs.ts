/**
 * `flywheel envs ...`: list, show, sample, verify, demos and check
 * environments. This file only declares the commands and parses flags; each
 * action lazily imports its implementation from ./envs_commands.ts.
 *
 * Every command takes a registry id (see `flywheel envs list`), or a path to
 * the user's own environment file in its place or as --env PATH, and prints
 * JSON with --json.
 */
import { InvalidArgumentError, type Command } from 'commander';

/** Flags shared by the commands, after parsing. */
export interface EnvsFlags {
  env?: string; // --env PATH: a user's environment file
  json?: boolean;
  seed?: number;
  difficulty?: number;
  n?: number;
  skill?: number;
  seeds?: number;
  completion?: string;
  completionFile?: string;
  out?: string;
  force?: boolean;
  quiet?: boolean;
  errorRate?: number;
  hardAccuracy?: number;
  timeout?: number;
}

const ID_ARG = 'environment id (e.g. addsub-v1) or path to a .ts/.js file';
const ENV_FLAG = ['--env <path>', "a user's environment file (.ts or .js), instead of an id"] as const;
const JSON_FLAG = ['--json', 'print JSON instead of text'] as const;
const ERROR_RATE_FLAG = ['--error-rate <r>', 'task families and multi-turn teachers: probability of a slip on a non-hard task (each attempt), in [0, 1] (overrides --skill); games: of a random move', probability] as const;
const HARD_ACCURACY_FLAG = ['--hard-accuracy <a>', 'task families and multi-turn teachers: probability of being right on a hard task (each attempt), in [0, 1] (overrides --skill); else the systematic mistake', probability] as const;

/** A commander parser for an integer in [min, max]. */
function int(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer${max === Number.MAX_SAFE_INTEGER ? ` >= ${min}` : ` in [${min}, ${max}]`}.`);
    }
    return n;
  };
}

function probability(value: string): number {
  const x = Number(value);
  if (value.trim() === '' || !(x >= 0 && x <= 1)) throw new InvalidArgumentError('expected a number in [0, 1].');
  return x;
}

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

async function run(name: 'list' | 'show' | 'sample' | 'verify' | 'demos' | 'check', id: string | undefined, flags: EnvsFlags): Promise<void> {
  const impl = await import('./envs_commands.ts');
  await impl[name](id, flags);
}

export function register(program: Command): void {
  const envs = program
    .command('envs')
    .description('environments: list, inspect, sample, grade completions, write demonstrations, run the conformance suite')
    .addHelpText(
      'after',
      examples(
        'flywheel envs list',
        'flywheel envs sample addsub-v1 --n 3 --skill 0.8',
        'flywheel envs check ./examples/my_env.ts',
      ),
    );

  envs
    .command('list')
    .description('list every registered environment: id, kind, difficulty range, description')
    .option(...JSON_FLAG)
    .addHelpText('after', examples('flywheel envs list', 'flywheel envs list --json'))
    .action((flags: EnvsFlags) => run('list', undefined, flags));

  envs
    .command('show')
    .description('describe one environment: difficulty range, error kinds, an example at each difficulty')
    .argument('[id]', ID_ARG)
    .option(...ENV_FLAG)
    .option('--seed <n>', 'seed of the examples', int(0), 0)
    .option(...JSON_FLAG)
    .addHelpText('after', examples('flywheel envs show countdown-v1', 'flywheel envs show ./examples/my_env.ts --json'))
    .action((id: string | undefined, flags: EnvsFlags) => run('show', id, flags));

  envs
    .command('sample')
    .description(
      'generate tasks with the reference answer and a demonstrator\'s answer and verdict ' +
        '(multi-turn: a transcript of the family\'s teacher, or of its reference policy if it has none; games: a game between players of that skill)',
    )
    .argument('[id]', ID_ARG)
    .option(...ENV_FLAG)
    .option('--difficulty <d>', "difficulty level (default: the environment's default)", int(-1_000_000))
    .option('--n <n>', 'how many samples', int(1, 10_000), 3)
    .option('--seed <s>', 'seed of the first sample; the others use seed + 1, seed + 2, ...', int(0), 0)
    .option('--skill <s>', "demonstrator skill in [0, 1] (1 = perfect; see skillToDemoOptions)", probability)
    .option(...ERROR_RATE_FLAG)
    .option(...HARD_ACCURACY_FLAG)
    .option(...JSON_FLAG)
    .addHelpText(
      'after',
      examples(
        'flywheel envs sample addsub-v1',
        'flywheel envs sample countdown-v1 --difficulty 4 --n 5 --skill 0.5 --json',
        'flywheel envs sample retry-arith-v1 --difficulty 1 --hard-accuracy 0.3 --n 6   # "wrong, try again", and a second attempt',
        'flywheel envs sample tictactoe-v1 --skill 1',
      ),
    )
    .action((id: string | undefined, flags: EnvsFlags) => run('sample', id, flags));

  envs
    .command('verify')
    .description('grade a completion for the task with the given seed and difficulty (task families only)')
    .argument('[id]', ID_ARG)
    .option(...ENV_FLAG)
    .requiredOption('--seed <s>', 'seed of the task', int(0))
    .option('--difficulty <d>', "difficulty level (default: the environment's default)", int(-1_000_000))
    .option('--completion <text>', 'the completion to grade')
    .option('--completion-file <file>', 'read the completion from a file (- for stdin)')
    .option(...JSON_FLAG)
    .addHelpText(
      'after',
      examples("flywheel envs verify addsub-v1 --seed 3 --completion 'Answer: 42'", 'echo "Answer: 42" | flywheel envs verify addsub-v1 --seed 3 --completion-file -'),
    )
    .action((id: string | undefined, flags: EnvsFlags) => run('verify', id, flags));

  envs
    .command('demos')
    .description(
      'write demonstrations as JSONL for SFT: {"prompt","completion",env,seed,difficulty,ok,reward} per task ' +
        '(multi-turn: chat "messages" of the family\'s teacher, or of its reference policy if it has none; games: game records from players of that skill)',
    )
    .argument('[id]', ID_ARG)
    .option(...ENV_FLAG)
    .requiredOption('--n <n>', 'how many demonstrations', int(1))
    .option('--skill <s>', 'demonstrator skill in [0, 1] (default 1 = perfect): slips on (1 - skill) / 2 of easy tasks, right on `skill` of hard ones', probability)
    .option(...ERROR_RATE_FLAG)
    .option(...HARD_ACCURACY_FLAG)
    .requiredOption('--out <file>', 'output .jsonl file (written atomically; /dev/stdout and FIFOs are written through)')
    .option('--force', 'overwrite --out if it exists')
    .option('--quiet', 'no progress bar')
    .option('--seed <s>', 'seed of the first demonstration; the others use seed + 1, ...', int(0), 0)
    .option('--difficulty <d>', 'difficulty level (default: cycle through every level)', int(-1_000_000))
    .option(...JSON_FLAG)
    .addHelpText('after', examples(
        'flywheel envs demos addsub-v1 --n 10000 --skill 0.9 --out data/addsub.jsonl',
        'flywheel envs demos ./my_env.ts --n 20000 --hard-accuracy 0.3 --error-rate 0.02 --out data/mine.jsonl   # right on 30% of hard tasks, slips on 2% of the rest',
        'flywheel envs demos retry-arith-v1 --n 20000 --difficulty 1 --hard-accuracy 0.3 --error-rate 0.05 --out data/retry.jsonl   # misses, "wrong, try again", retries',
        'flywheel envs demos sort-v1 --n 5 --skill 0.5 --out /dev/stdout --quiet | head -2',
        'flywheel envs demos connect4-v1 --n 200 --skill 0.8 --out data/c4.jsonl --force',
      ))
    .action((id: string | undefined, flags: EnvsFlags) => run('demos', id, flags));

  envs
    .command('check')
    .description('run the conformance suite on one environment, and generate its tasks again in a fresh process (same tasks? returns in time?); exits 1 if any check fails')
    .argument('[id]', ID_ARG)
    .option(...ENV_FLAG)
    .option('--seeds <n>', 'seeds per difficulty (lower it for slow verifiers)', int(1, 1000), 6)
    .option('--timeout <seconds>', 'time limit for generating in a fresh process (default 30) and for each verify (default 10)', int(1, 3600))
    .option(...JSON_FLAG)
    .addHelpText('after', examples('flywheel envs check addsub-v1', 'flywheel envs check ./examples/my_env.ts', 'flywheel envs check --env ./my_env.ts --json'))
    .action((id: string | undefined, flags: EnvsFlags) => run('check', id, flags));
}
