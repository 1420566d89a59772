/**
 * `flywheel pretrain`, `flywheel sft` and `flywheel sample`: flags become the
 * same config objects a library caller passes to trainLM / sample.
 */
import type { Command } from 'commander';
import { choiceArg, floatArg, intArg } from './args.ts';

export interface ModelFlags {
  preset?: 'tiny' | 'small' | 'medium';
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
  sampleTokens: number;
}

function trainOptions(cmd: Command, defaults: { out: string; steps: number; lr: number; blockSize: number }): Command {
  return cmd
    .option('--out <dir>', 'run directory (config.json, metrics.jsonl, checkpoint/)', defaults.out)
    .option('--resume', 'continue the run in --out from its checkpoint (exactly where it stopped)')
    .option('--force', 'start a new run even if --out already holds one (replaces its checkpoint and metrics)')
    .option('--preset <name>', 'model size: tiny (2x64), small (4x128), medium (6x256)', choiceArg(['tiny', 'small', 'medium'] as const))
    .option('--layers <n>', 'transformer blocks (overrides the preset)', intArg(1))
    .option('--width <n>', 'embedding width C (overrides the preset)', intArg(1))
    .option('--heads <n>', 'attention heads (overrides the preset)', intArg(1))
    .option('--block-size <n>', 'context length in tokens', intArg(2), defaults.blockSize)
    .option('--steps <n>', 'optimizer steps', intArg(1), defaults.steps)
    .option('--batch-size <n>', 'sequences per step', intArg(1), 32)
    .option('--lr <x>', 'peak learning rate (warmup, then cosine decay to 10%)', floatArg(0, 1), defaults.lr)
    .option('--warmup <n>', 'warmup steps', intArg(0), 50)
    .option('--eval-every <n>', 'steps between held-out evaluations', intArg(0), 100)
    .option('--checkpoint-every <n>', 'steps between checkpoints', intArg(0), 100)
    .option('--seed <n>', 'seed for init and data order', intArg(0), 0)
    .option('--sample-tokens <n>', 'tokens of text to sample at the end (0 = none)', intArg(0), 240)
    .option('--quiet', 'no progress bar')
    .option('--json', 'print the result as JSON on stdout');
}

export function register(program: Command): void {
  trainOptions(
    program
      .command('pretrain')
      .description('Pretrain a GPT on a text corpus (next-token prediction), then print a sample')
      .option('--corpus <file>', 'UTF-8 text file to learn from', 'data/corpus.txt')
      .option('--tokenizer <kind>', 'char (one token per character) or bpe (byte-level BPE trained on the corpus)', choiceArg(['char', 'bpe'] as const), 'char')
      .option('--bpe-vocab <n>', 'vocabulary size when --tokenizer bpe', intArg(260), 512)
      .addHelpText('after', '\nExamples:\n  flywheel pretrain                       # small GPT on the shipped corpus\n  flywheel pretrain --steps 2000 --preset medium --out runs/big\n  flywheel pretrain --out runs/big --resume --steps 4000'),
    { out: 'runs/pretrain', steps: 600, lr: 2e-3, blockSize: 64 },
  ).action(async (flags) => {
    const { runPretrain } = await import('./train_impl.ts');
    await runPretrain(flags);
  });

  trainOptions(
    program
      .command('sft')
      .description('Supervised fine-tuning on prompt/completion pairs (loss on completion tokens only)')
      .requiredOption('--data <file>', 'JSONL, one {"prompt": ..., "completion": ...} per line')
      .option('--init <checkpoint>', 'start from these weights and tokenizer (e.g. runs/pretrain/checkpoint)')
      .addHelpText('after', '\nExamples:\n  flywheel envs demos addsub-v1 --n 5000 --skill 1 --out /tmp/add.jsonl\n  flywheel sft --data /tmp/add.jsonl --out runs/sft-add --steps 800'),
    { out: 'runs/sft', steps: 500, lr: 1e-3, blockSize: 64 },
  ).action(async (flags) => {
    const { runSft } = await import('./train_impl.ts');
    await runSft(flags);
  });

  program
    .command('sample')
    .description('Generate text from a trained checkpoint')
    .requiredOption('--checkpoint <dir>', 'checkpoint directory (e.g. runs/pretrain/checkpoint)')
    .option('--prompt <text>', 'text to continue', '')
    .option('--n <n>', 'number of samples', intArg(1), 1)
    .option('--max-tokens <n>', 'new tokens per sample', intArg(1), 200)
    .option('--temperature <x>', 'sampling temperature (0 = greedy)', floatArg(0, 10), 0.8)
    .option('--top-k <n>', 'keep the k most likely tokens (0 = off)', intArg(0), 0)
    .option('--top-p <x>', 'nucleus sampling threshold (1 = off)', floatArg(0, 1), 1)
    .option('--stop <text>', 'stop when this text is generated')
    .option('--seed <n>', 'sampling seed', intArg(0), 0)
    .option('--json', 'print the samples as JSON on stdout')
    .action(async (flags) => {
      const { runSample } = await import('./train_impl.ts');
      await runSample(flags);
    });
}
