/**
 * `flywheel export RUN --kind sft|messages|preference|rollouts [--format
 * jsonl|parquet] [--out FILE]`: a run's rollouts as data post-training tools
 * read (TRL's SFT, conversational and DPO formats; every trajectory for
 * analysis). The rules live in src/runs/export.ts; docs/export.md shows how
 * TRL, DuckDB and pandas read the files.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { UserError } from '../util/errors.ts';
import { choiceArg, floatArg } from './args.ts';
import { levelsArg } from './rl.ts';
import type { ExportKind, ExportFormat, Pairing, Phase, ExportSummary } from '../runs/export.ts';

interface ExportFlags {
  kind: ExportKind;
  format: ExportFormat;
  out?: string;
  force?: boolean;
  phase?: Phase;
  env?: string;
  difficulty?: number[];
  steps?: [number | undefined, number | undefined];
  minReward?: number;
  includeFailures?: boolean;
  dedup?: boolean;
  pairs?: Pairing;
  meta?: boolean;
  root: string;
  json?: boolean;
  quiet?: boolean;
}

// the lists are repeated here (not imported) so `flywheel --help` does not load the export code
const KINDS = ['sft', 'messages', 'preference', 'rollouts'] as const;
const FORMATS = ['jsonl', 'parquet'] as const;

/** 'A:B', 'A:', ':B' or 'A' -> an inclusive step range. */
export function stepsArg(v: string): [number | undefined, number | undefined] {
  const m = /^\s*(\d*)\s*(:?)\s*(\d*)\s*$/.exec(v);
  if (!m || (m[1] === '' && m[3] === '') || (m[2] === '' && m[3] !== '')) throw new InvalidArgumentError(`expected a step range like 10:50, 10: (from 10), :50 (up to 50) or 7, got "${v}"`);
  const a = m[1] === '' ? undefined : Number(m[1]);
  const b = m[2] === '' ? a : m[3] === '' ? undefined : Number(m[3]);
  if (a !== undefined && b !== undefined && b < a) throw new InvalidArgumentError(`empty step range "${v}" (${b} < ${a})`);
  return [a, b];
}

export function register(program: Command): void {
  program
    .command('export')
    .description("Export a run's rollouts as JSONL or Parquet for post-training tools (TRL SFT / conversational / DPO) or analysis")
    .argument('<run>', 'a run directory with a rollouts.sqlite (flywheel train, flywheel eval), or its name under --root')
    .requiredOption('--kind <kind>', 'sft: {prompt, completion} of verified successes | messages: {messages: [...]} chats of verified successes | preference: {prompt, chosen, rejected} pairs from one group | rollouts: every trajectory with rewards, advantages, reasons', choiceArg(KINDS))
    .option('--format <format>', 'jsonl (one JSON object a line) or parquet (typed columns; needs --out)', choiceArg(FORMATS), 'jsonl')
    .option('--out <file>', 'the output file (default for jsonl: stdout)')
    .option('--force', 'replace --out if it exists')
    .option('--phase <phase>', 'train | eval | preflight | all (default: train for sft/messages/preference of an RL run, so its held-out eval tasks stay held out; all otherwise)', choiceArg(['train', 'eval', 'preflight', 'all'] as const))
    .option('--env <id>', 'only this environment id')
    .option('--difficulty <levels>', 'only these difficulty levels, e.g. 2 or 1,3 or 1-4', levelsArg)
    .option('--steps <A:B>', 'only training steps A to B inclusive (A: from A, :B up to B)', stepsArg)
    .option('--min-reward <x>', 'only rollouts with reward >= x (preference: the chosen reply)', floatArg())
    .option('--include-failures', 'sft, messages: every reply, not only verified successes (ok)')
    .option('--dedup', 'sft, messages: drop rows identical to an earlier one')
    .option('--pairs <rule>', 'preference: best-worst (one pair per group: best against worst reply) or all (every pair with a reward gap)', choiceArg(['best-worst', 'all'] as const))
    .option('--meta', 'sft, messages, preference: add env, seed, difficulty, step, phase and reward columns')
    .option('--root <dir>', 'where run names are looked up', 'runs')
    .option('--json', 'print the summary as JSON on stdout (needs --out)')
    .option('--quiet', 'no summary line on stderr')
    .addHelpText('after', `
Examples:
  flywheel export runs/rl --kind sft > sft.jsonl                      # verified successes, the shape flywheel sft and TRL SFTTrainer read
  flywheel export runs/rl --kind messages --dedup --out chats.jsonl    # chats (multi-turn episodes whole)
  flywheel export runs/rl --kind preference --format parquet --out dpo.parquet   # for TRL DPOTrainer
  flywheel export runs/rl --kind rollouts --format parquet --out rollouts.parquet --steps 50:
  flywheel export runs/eval-rl-linear-eq-v1 --kind sft --difficulty 3 --min-reward 1 --out hard.jsonl   # what flywheel eval --checkpoint runs/rl wrote
  flywheel sft --data sft.jsonl --init runs/rl                         # train on the export

Preference pairs come from one group (the replies sampled for one task at one
step); the rule is in docs/export.md. Parquet stores messages as a list of
{role, content} structs; DuckDB: SELECT * FROM 'dpo.parquet'.`)
    .action(async (run: string, flags: ExportFlags) => {
      if (flags.json && !flags.out) throw new UserError('--json prints the summary on stdout, which carries the data without --out; give --out FILE');
      const { exportRollouts } = await import('../runs/export.ts');
      const { onInterrupt, exitCode } = await import('./signals.ts');
      const intr = onInterrupt((s) => process.stderr.write(`\n${s}: stopping the export${flags.out ? '; the partial file is removed' : ''}\n`));
      let summary: ExportSummary;
      try {
        summary = await exportRollouts({
          run: locate(run, flags.root), kind: flags.kind, format: flags.format, out: flags.out, stream: process.stdout, force: flags.force,
          phase: flags.phase, env: flags.env, difficulty: flags.difficulty, fromStep: flags.steps?.[0], toStep: flags.steps?.[1],
          minReward: flags.minReward, includeFailures: flags.includeFailures, dedup: flags.dedup, pairs: flags.pairs, meta: flags.meta,
          shouldStop: () => intr.requested,
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') return; // the reader of stdout went away (| head): not an error
        throw err;
      } finally {
        intr.dispose();
      }
      if (summary.interrupted) {
        process.stderr.write(`interrupted after ${summary.rows} rows${flags.out ? `; ${flags.out} was not written` : ''}\n`);
        process.exitCode = exitCode(intr.signal);
        return;
      }
      if (flags.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      if (!flags.quiet) process.stderr.write(describe(summary) + '\n');
    });
}

/** A run by path, or by name under root. */
function locate(run: string, root: string): string {
  if (existsSync(run)) return run;
  const named = join(root, run);
  if (existsSync(named)) return named;
  throw new UserError(`no run at ${run} (nor ${named}); \`flywheel runs list\` shows the runs under ${root}`);
}

function describe(s: ExportSummary): string {
  const skipped = [
    s.skipped.multiTurn ? `${s.skipped.multiTurn} multi-turn episodes (--kind messages exports them)` : '',
    s.skipped.duplicates ? `${s.skipped.duplicates} duplicates` : '',
    s.skipped.sameReward ? `${s.skipped.sameReward} groups with nothing to prefer` : '',
  ].filter(Boolean);
  return `exported ${s.rows} ${s.kind} rows from ${s.read} rollouts (phase ${s.phase}) to ${s.out ?? 'stdout'}${skipped.length ? `; skipped ${skipped.join(', ')}` : ''}`;
}
