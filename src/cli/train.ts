/**
 * `flywheel pretrain`, `flywheel sft` and `flywheel sample`: flags become the
 * same config objects a library caller passes to trainLM / LocalPolicy.
 * Defaults come from src/algos/lm.ts (PRETRAIN_DEFAULTS, SFT_DEFAULTS), not
 * restated here.
 */
import type { Command } from 'commander';
import { PRETRAIN_DEFAULTS, SFT_DEFAULTS, type TrainConfig } from '../algos/lm_config.ts';
import { choiceArg, explicitOptions, floatArg, intArg } from './args.ts';

export interface ModelFlags {
  preset: 'tiny' | 'small' | 'medium';
  layers?: number;
  width?: number;
  heads?: number;
  blockSize: number;
}

export interface TrainFlags extends ModelFlags {
  out: string;
  resume?: boolean;
  force?: boolean;
  steps: number;
  batchSize: number;
  lr: number;
  warmup: number;
  evalEvery: number;
  checkpointEvery: number;
  seed: number;
  json?: boolean;
  quiet?: boolean;
  given: Set<string>; // the flags given on the command line (the rest are defaults)
}

export interface PretrainFlags extends TrainFlags {
  corpus?: string;
  tokenizer: 'char' | 'bpe';
  bpeVocab: number;
  sampleTokens: number;
}

export interface SftFlags extends TrainFlags {
  data: string;
  init?: string;
}

export interface SampleFlags {
  checkpoint: string;
  prompt: string;
  format?: 'chat' | 'text';
  n: number;
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  stop?: string;
  seed: number;
  json?: boolean;
}

function trainOptions(cmd: Command, d: TrainConfig & { out: string; blockSize: number }): Command {
  return cmd
    .option('--out <dir>', 'run directory (config.json, metrics.jsonl, checkpoint/)', d.out)
    .option('--resume', "continue the run in --out exactly where it stopped, with the run's own settings (only --steps may change, to extend it)")
    .option('--force', 'start a new run even if --out already holds one (replaces its checkpoint and metrics)')
    .option('--preset <name>', 'model size: tiny (2 layers x 64), small (4 x 128), medium (6 x 256)', choiceArg(['tiny', 'small', 'medium'] as const), 'small')
    .option('--layers <n>', 'transformer blocks (overrides the preset)', intArg(1, 64))
    .option('--width <n>', 'embedding width C (overrides the preset)', intArg(1, 8192))
    .option('--heads <n>', 'attention heads (overrides the preset)', intArg(1, 256))
    .option('--block-size <n>', 'context length in tokens', intArg(2, 65536), d.blockSize)
    .option('--steps <n>', 'optimizer steps', intArg(1, 10_000_000), d.steps)
    .option('--batch-size <n>', 'sequences per step', intArg(1, 65536), d.batchSize)
    .option('--lr <x>', 'peak learning rate (warmup, then cosine decay to 10%)', floatArg(0, 1, { minExclusive: true }), d.lr)
    .option('--warmup <n>', 'warmup steps', intArg(0), d.warmup)
    .option('--eval-every <n>', 'steps between held-out evaluations (0 = only at the end)', intArg(0), d.evalEvery)
    .option('--checkpoint-every <n>', 'steps between checkpoints (0 = only at the end)', intArg(0), d.checkpointEvery)
    .option('--seed <n>', 'seed for init and data order', intArg(0), d.seed)
    .option('--quiet', 'no progress bar')
    .option('--json', 'print the result as JSON on stdout');
}

export function register(program: Command): void {
  trainOptions(
    program
      .command('pretrain')
      .description('Pretrain a GPT on a text corpus (next-token prediction), then print a sample')
      .option('--corpus <file>', 'UTF-8 text file to learn from (default: the corpus shipped in data/corpus.txt)')
      .option('--tokenizer <kind>', 'char (one token per character) or bpe (byte-level BPE trained on the corpus)', choiceArg(['char', 'bpe'] as const), 'char')
      .option('--bpe-vocab <n>', 'vocabulary size when --tokenizer bpe', intArg(260, 65535), 512)
      .option('--sample-tokens <n>', 'tokens of text to sample at the end (0 = none)', intArg(0, 100_000), 240)
      .addHelpText('after', [
        '', 'Examples:',
        '  flywheel pretrain                                   # small GPT on the shipped corpus (~1 min)',
        '  flywheel pretrain --preset tiny --steps 200 --out runs/tiny',
        '  flywheel pretrain --steps 2000 --preset medium --out runs/big',
        '  flywheel pretrain --out runs/big --resume            # after Ctrl-C: continue exactly',
        '  flywheel pretrain --out runs/big --resume --steps 4000   # extend a finished run',
      ].join('\n')),
    { ...PRETRAIN_DEFAULTS, out: 'runs/pretrain', blockSize: 64 },
  ).action(async (flags, cmd: Command) => {
    const { runPretrain } = await import('./train_impl.ts');
    await runPretrain({ ...flags, given: explicitOptions(cmd) });
  });

  trainOptions(
    program
      .command('sft')
      .description('Supervised fine-tuning on prompt/completion pairs or chats (loss on the completion / assistant turns only)')
      .requiredOption('--data <file>', 'JSONL, one {"prompt", "completion"} or {"messages": [{"role", "content"}, ...]} per line (what `envs demos` writes)')
      .option('--init <checkpoint>', 'start from these weights and tokenizer (a checkpoint or run directory, e.g. runs/pretrain)')
      .addHelpText('after', [
        '', 'Examples:',
        '  flywheel envs demos addsub-v1 --n 5000 --skill 1 --out /tmp/add.jsonl',
        '  flywheel sft --data /tmp/add.jsonl --out runs/sft-add --steps 800',
        '  flywheel sft --data /tmp/add.jsonl --init runs/pretrain --out runs/sft-add2',
        '  flywheel sft --data /tmp/add.jsonl --init runs/pretrain --out runs/sft-add2 --resume   # the same command, plus --resume',
        '', 'The model reads the prompt and a newline, then learns the completion and an end token.',
      ].join('\n')),
    { ...SFT_DEFAULTS, out: 'runs/sft', blockSize: 64 },
  ).action(async (flags, cmd: Command) => {
    const { runSft } = await import('./train_impl.ts');
    await runSft({ ...flags, given: explicitOptions(cmd) });
  });

  program
    .command('sample')
    .description('Generate text from a trained checkpoint')
    .requiredOption('--checkpoint <dir>', 'a checkpoint directory or a run directory (e.g. runs/pretrain)')
    .option('--prompt <text>', 'the prompt (SFT / RL models) or the text to continue (pretrained models)', '')
    .option('--format <kind>', "chat: the prompt format fine-tuned models learned (prompt + newline); text: raw continuation (default: what the checkpoint was trained with)", choiceArg(['chat', 'text'] as const))
    .option('--n <n>', 'number of samples', intArg(1, 10_000), 1)
    .option('--max-tokens <n>', 'new tokens per sample', intArg(1, 1_000_000), 200)
    .option('--temperature <x>', 'sampling temperature (0 = greedy)', floatArg(0, 10), 0.8)
    .option('--top-k <n>', 'keep the k most likely tokens (0 = off)', intArg(0), 0)
    .option('--top-p <x>', 'nucleus sampling threshold (1 = off)', floatArg(0, 1, { minExclusive: true }), 1)
    .option('--stop <text>', 'stop when this text is generated')
    .option('--seed <n>', 'sampling seed', intArg(0), 0)
    .option('--json', 'print the samples as JSON on stdout (with token ids and per-token log-probs)')
    .addHelpText('after', [
      '', 'Examples:',
      "  flywheel sample --checkpoint runs/pretrain --prompt 'One morning,'",
      "  flywheel sample --checkpoint runs/sft-add --prompt 'add 12+34' --temperature 0",
      "  flywheel sample --checkpoint runs/sft-add --prompt 'add 12+34' --n 4 --json",
      '', 'A fine-tuned model answers the prompt as in training (prompt + newline, reply ends at the end token);',
      'a pretrained model continues the text. docs/sampling.md has the details.',
    ].join('\n'))
    .action(async (flags: SampleFlags) => {
      const { runSample } = await import('./train_impl.ts');
      await runSample(flags);
    });
}
