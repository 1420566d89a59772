/**
 * `flywheel train` (RL against an environment's verifier) and `flywheel eval`
 * (verified accuracy and pass@k). Flags become an RLConfig (defaults from
 * src/algos/rl_config.ts); the implementation is imported lazily.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { ALGOS, GRPO_LOSSES, LR_SCHEDULES, RL_DEFAULTS as D } from '../algos/rl_config.ts';
import { UserError } from '../util/errors.ts';
import { choiceArg, explicitOptions, floatArg, intArg } from './args.ts';

/** '2' or '1,2,3' or '1-4' -> [levels] */
export function levelsArg(v: string): number[] {
  const out: number[] = [];
  for (const part of v.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`expected difficulty levels like 2, 1,3 or 1-4, got "${v}"`);
    const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new InvalidArgumentError(`empty range "${part}"`);
    for (let d = a; d <= b; d++) out.push(d);
  }
  return [...new Set(out)];
}

export function register(program: Command): void {
  program
    .command('train')
    .description('Improve a policy by RL against an environment\'s verifier (GRPO, RLOO, PPO or expert iteration)')
    .option('--env <id|file>', 'environment id (`flywheel envs list`) or your task family file (.ts/.js); required unless --resume')
    .option('--algo <name>', `${ALGOS.join(' | ')}: GRPO (group-normalized advantages), RLOO (leave-one-out baseline), PPO (value head + GAE), ei (expert iteration: SFT on verified samples)`, choiceArg(ALGOS), D.algo)
    .option('--init <checkpoint>', 'the policy to start from: a checkpoint or run directory (e.g. an SFT run)')
    .option('--out <dir>', 'run directory (config.json, metrics.jsonl, rollouts.sqlite, checkpoint/)', 'runs/rl')
    .option('--resume', 'continue the run in --out exactly where it stopped (only --steps may change)')
    .option('--force', 'replace the run in --out; also go on when the pre-flight check finds nothing to learn')
    .option('--steps <n>', 'RL iterations', intArg(1, 10_000_000), D.steps)
    .option('--prompts <n>', 'tasks per iteration (P)', intArg(1, 4096), D.prompts)
    .option('--group <n>', 'completions per task (G)', intArg(1, 1024), D.group)
    .option('--difficulty <levels>', 'training (and held-out) difficulties, e.g. 2 or 1-3 (default: every level of the environment)', levelsArg)
    .option('--temperature <x>', 'sampling temperature of rollouts', floatArg(0, 10, { minExclusive: true }), D.temperature)
    .option('--top-p <x>', 'nucleus threshold of rollouts (1 = off)', floatArg(0, 1, { minExclusive: true }), D.topP)
    .option('--max-tokens <n>', "new tokens per reply (default: 1.5x the environment's reference answers)", intArg(1, 100_000))
    .option('--lr <x>', 'AdamW peak learning rate (linear warmup, then --lr-schedule)', floatArg(0, 1, { minExclusive: true }), D.lr)
    .option('--warmup <n>', 'warmup iterations', intArg(0), D.warmup)
    .option('--lr-schedule <name>', 'after warmup: constant, or cosine (down to lr/10 at the last iteration)', choiceArg(LR_SCHEDULES), D.lrSchedule)
    .option('--epochs <n>', 'passes over each iteration\'s rollouts', intArg(1, 100), D.epochs)
    .option('--minibatches <n>', 'optimizer steps per pass', intArg(1, 1024), D.minibatches)
    .option('--loss <variant>', 'GRPO loss: grpo (per-sequence mean), dr_grpo (no length/std normalization), dapo (token mean, clip-higher, dynamic sampling)', choiceArg(GRPO_LOSSES), D.loss)
    .option('--clip <eps>', 'PPO-clip epsilon', floatArg(0, 10, { minExclusive: true }), D.clipLow)
    .option('--clip-high <eps>', 'upper clip epsilon (default: --clip; dapo: 0.28)', floatArg(0, 10, { minExclusive: true }))
    .option('--kl <beta>', 'KL penalty to the initial policy (0 = none)', floatArg(0, 100), D.klCoef)
    .option('--grad-clip <x>', 'max global gradient norm (0 = off)', floatArg(0, 1e6), D.gradClip)
    .option('--weight-decay <x>', 'AdamW decoupled weight decay on matrices', floatArg(0, 10), D.weightDecay)
    .option('--max-draws <n>', 'dapo: at most this many task batches an iteration to fill --prompts groups that are neither all right nor all wrong', intArg(1, 1000), D.maxDraws)
    .option('--gamma <x>', 'ppo: discount over tokens', floatArg(0, 1), D.gamma)
    .option('--lambda <x>', 'ppo: GAE lambda (1 = Monte Carlo returns less the value, 0 = one-step TD)', floatArg(0, 1), D.lambda)
    .option('--vf-coef <x>', 'ppo: weight of the value loss', floatArg(0, 100, { minExclusive: true }), D.vfCoef)
    .option('--ei-epochs <n>', 'ei: SFT passes over each iteration\'s verified rollouts', intArg(1, 100), D.eiEpochs)
    .option('--ei-batch <n>', 'ei: sequences per SFT step', intArg(1, 4096), D.eiBatch)
    .option('--eval-every <n>', 'iterations between held-out evaluations (0 = only at the start and end)', intArg(0), D.evalEvery)
    .option('--eval-tasks <n>', 'held-out tasks (seeds training never draws)', intArg(1, 100_000), D.evalTasks)
    .option('--eval-samples <n>', 'multi-turn: sampled episodes per held-out task at the first and last evaluation (recovery on the policy\'s own distribution; 0 = greedy only)', intArg(0, 1024), D.evalSamples)
    .option('--checkpoint-every <n>', 'iterations between checkpoints', intArg(0), D.checkpointEvery)
    .option('--threshold <x>', 'held-out accuracy that defines sample efficiency', floatArg(0, 1), D.threshold)
    .option('--verify-timeout <ms>', 'a verification taking longer gets reward 0 (verifier_timeout)', intArg(1, 3_600_000), D.verifyTimeoutMs)
    .option('--rollout-cap <n>', 'training rollouts kept in rollouts.sqlite (0 = all)', intArg(0), D.rolloutCap)
    .option('--seed <n>', 'seed of task order and sampling', intArg(0), D.seed)
    .option('--quiet', 'no progress bar')
    .option('--json', 'print the summary as JSON on stdout')
    .addHelpText('after', [
      '', 'Examples:',
      '  flywheel envs demos linear-eq-v1 --n 20000 --skill 0.3 --difficulty 2 --out demos.jsonl',
      '  flywheel sft --data demos.jsonl --preset tiny --block-size 32 --steps 3000 --out runs/sft',
      '  flywheel train --env linear-eq-v1 --difficulty 2 --init runs/sft --out runs/grpo',
      '  flywheel train --env linear-eq-v1 --difficulty 2 --init runs/sft --algo ppo --out runs/ppo',
      '  flywheel train --env ./my_env.ts --init runs/sft-mine --loss dapo --out runs/mine',
      '  flywheel train --out runs/grpo --resume             # after Ctrl-C or kill -9',
      '', 'Before training, a pre-flight check samples the policy on training tasks: when it solves almost none',
      '(pass@G ~ 0: nothing to reinforce) or almost all of them, it stops and says what to change (--force goes on).',
      'The resolved config (with the environment\'s defaults filled in) is printed and saved to <out>/config.json.',
    ].join('\n'))
    .action(async (flags, cmd: Command) => {
      const { runTrain } = await import('./rl_impl.ts');
      await runTrain({ ...flags, given: explicitOptions(cmd) });
    });

  program
    .command('eval')
    .description('Verified accuracy of a checkpoint or of a model behind an OpenAI-compatible endpoint: greedy and sampled, pass@1..k, by difficulty and by reason')
    .option('--checkpoint <dir>', 'a checkpoint or run directory (or give --endpoint)')
    .option('--endpoint <url>', 'an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (default $OPENAI_BASE_URL); needs --model')
    .option('--model <name>', 'the model name the endpoint serves (GET /v1/models)')
    .option('--api-key <key>', 'bearer key for the endpoint (default $OPENAI_API_KEY)')
    .option('--api <kind>', 'chat (/v1/chat/completions) or completions (/v1/completions)', choiceArg(['chat', 'completions'] as const), 'chat')
    .option('--env <id|file>', 'environment id or your task family file (required unless --resume)')
    .option('--n <n>', 'tasks (held-out seeds, the same set `train` evaluates on); with --difficulty-sweep, tasks per difficulty', intArg(1, 1_000_000), 200)
    .option('--k <n>', 'sampled completions per task for pass@k (0 = greedy only)', intArg(0, 1024), 8)
    .option('--difficulty <levels>', 'difficulties to cycle through (default: every level)', levelsArg)
    .option('--difficulty-sweep', 'endpoint: --n tasks at every difficulty, and name the band where the pass rate is 10%-90% (where RL learns)')
    .option('--temperature <x>', 'temperature of the sampled completions', floatArg(0, 10, { minExclusive: true }), 1)
    .option('--max-tokens <n>', "new tokens per reply (default: 1.5x the environment's reference answers)", intArg(1, 100_000))
    .option('--concurrency <n>', 'endpoint: requests in flight at once', intArg(1, 1024), 8)
    .option('--timeout <seconds>', 'endpoint: per-request timeout (a request is retried after it)', floatArg(0, 86_400, { minExclusive: true }), 120)
    .option('--retries <n>', 'endpoint: retries per request on 429, 5xx, timeouts and cut-off answers (exponential backoff, Retry-After honoured)', intArg(0, 100), 6)
    .option('--stream', 'endpoint: read answers as SSE streams')
    .option('--no-logprobs', 'endpoint: do not ask for per-token logprobs')
    .option('--price-input <usd>', 'endpoint: USD per million prompt tokens, for the cost in metrics', floatArg(0))
    .option('--price-output <usd>', 'endpoint: USD per million completion tokens', floatArg(0))
    .option('--out <dir>', 'run directory for the rollouts (rollouts.sqlite) and summary (default: runs/eval-<checkpoint or model>-<env>; a checkpoint\'s own earlier evaluation there is replaced)')
    .option('--resume', 'endpoint: continue the evaluation in --out, asking only for what is not stored yet')
    .option('--force', 'replace the run in --out')
    .option('--seed <n>', 'sampling seed', intArg(0), 0)
    .option('--quiet', 'no progress messages on stderr')
    .option('--json', 'print the summary as JSON on stdout')
    .addHelpText('after', [
      '', 'Examples:',
      '  flywheel eval --checkpoint runs/grpo --env linear-eq-v1 --difficulty 2',
      '  flywheel eval --checkpoint runs/sft --env ./my_env.ts --n 500 --k 16 --json',
      '  flywheel eval --endpoint http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-0.5B-Instruct --env addsub-v1 --n 100 --k 8',
      '  OPENAI_API_KEY=sk-... flywheel eval --endpoint https://api.openai.com/v1 --model gpt-4o-mini --env countdown-v1 \\',
      '      --difficulty-sweep --n 20 --k 4 --price-input 0.15 --price-output 0.6 --out runs/sweep',
      '  flywheel eval --out runs/sweep --resume              # after an endpoint failure, Ctrl-C or kill -9',
      '  flywheel serve runs/sft --port 8000 &  flywheel eval --endpoint http://127.0.0.1:8000/v1 --model sft --env addsub-v1',
      '', 'Endpoint evaluations store each finished task at once; --resume skips what is stored, so nothing collected is lost.',
    ].join('\n'))
    .action(async (flags) => {
      if (flags.checkpoint !== undefined && flags.endpoint !== undefined) throw new UserError('give --checkpoint or --endpoint, not both');
      const { defaultEvalOut } = await import('./rl_impl.ts');
      const byDefault = flags.out === undefined;
      if (byDefault) flags.out = defaultEvalOut(flags);
      if (flags.endpoint !== undefined || flags.resume || (flags.checkpoint === undefined && process.env.OPENAI_BASE_URL)) {
        const { runEndpointEval } = await import('./eval_endpoint.ts');
        return runEndpointEval(flags);
      }
      if (flags.checkpoint === undefined) throw new UserError('give --checkpoint DIR (a flywheel model) or --endpoint URL --model NAME (an OpenAI-compatible server)');
      if (flags.env === undefined) throw new UserError('--env is required: an environment id (`flywheel envs list`) or your task family file');
      if (flags.difficultySweep) throw new UserError('--difficulty-sweep is for --endpoint evaluations (serve the checkpoint with `flywheel serve` to sweep it)');
      const { runEval } = await import('./rl_impl.ts');
      await runEval({ ...flags, replaceOwn: byDefault });
    });
}
