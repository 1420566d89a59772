/**
 * `flywheel runs list | show NAME | compare NAME NAME...`: the run
 * directories under a root (default runs/), their headline figures, side by
 * side. A NAME is a directory under the root or any path to a run.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../util/errors.ts';
import type { CostedEval } from '../measure/curves.ts';

interface RunsFlags {
  root: string;
  json?: boolean;
}

/** One run's headline figures: the same keys for every kind where they apply. */
export interface RunRow {
  name: string;
  path: string;
  kind: string;
  modified: string; // ISO time of its last metrics line or config
  step: number | null; // the last step logged
  figures: Record<string, number | string | null>;
}

export function register(program: Command): void {
  const runs = program.command('runs').description('list, show and compare run directories');
  const common = (c: Command): Command => c.option('--root <dir>', 'where runs live', 'runs').option('--json', 'print JSON');
  common(runs.command('list').description('every run under --root, newest first'))
    .addHelpText('after', '\nExamples:\n  flywheel runs list\n  flywheel runs list --root /tmp/experiments --json')
    .action(async (flags: RunsFlags) => {
      const rows = await listRuns(flags.root);
      print(flags, rows, () => (rows.length ? listOf(rows) : `no runs under ${flags.root}`));
    });
  common(runs.command('show').argument('<name>', 'a run under --root, or a path').description("one run: its config and headline figures"))
    .addHelpText('after', '\nExamples:\n  flywheel runs show grpo\n  flywheel runs show runs/demo/rl --json')
    .action(async (name: string, flags: RunsFlags) => {
      const row = await readRun(locate(name, flags.root));
      const { RunDir } = await import('../runs/run_dir.ts');
      const config = RunDir.open(row.path).config();
      print(flags, { ...row, config }, () => `${row.name} (${row.kind}), ${row.path}\nlast step: ${row.step ?? '-'}, modified ${row.modified}\n${Object.entries(row.figures).map(([k, v]) => `  ${k}: ${fmt(v, k)}`).join('\n')}\nconfig: ${JSON.stringify(config, null, 2)}`);
    });
  common(runs.command('compare').argument('<names...>', 'runs under --root, or paths').description('headline figures of several runs side by side'))
    .addHelpText('after', '\nExamples:\n  flywheel runs compare grpo ppo rloo ei\n  flywheel runs compare runs/a runs/b --json')
    .action(async (names: string[], flags: RunsFlags) => {
      const rows = await Promise.all(names.map(async (n) => ({ ...(await readRun(locate(n, flags.root))), name: n })));
      print(flags, rows, () => tableOf(rows));
    });
}

function locate(name: string, root: string): string {
  for (const p of [join(root, name), name]) if (existsSync(join(p, 'config.json'))) return p;
  throw new UserError(`no run named ${JSON.stringify(name)} under ${root} (and no run directory at that path); \`flywheel runs list\` shows them`);
}

async function listRuns(root: string): Promise<RunRow[]> {
  if (!existsSync(root)) return [];
  const { RunDir } = await import('../runs/run_dir.ts');
  const out: RunRow[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (!statSync(p).isDirectory()) continue;
      if (RunDir.isRun(p)) out.push(await readRun(p, root));
      if (depth < 2) await walk(p, depth + 1); // demo runs hold sft/ and rl/ runs
    }
  };
  await walk(root, 0);
  return out.sort((a, b) => b.modified.localeCompare(a.modified));
}

/** Reads a run's kind, progress and headline figures (summary.json when it finished, else its metrics). */
export async function readRun(path: string, root?: string): Promise<RunRow> {
  const { RunDir, RUN_FILES } = await import('../runs/run_dir.ts');
  const run = RunDir.open(path);
  const metrics = run.readMetrics();
  const summaryFile = run.path(RUN_FILES.summary);
  const summary = existsSync(summaryFile) ? (JSON.parse((await import('node:fs')).readFileSync(summaryFile, 'utf8')) as Record<string, unknown>) : null;
  const last = metrics.at(-1);
  const mtime = statSync(existsSync(run.path(RUN_FILES.metrics)) ? run.path(RUN_FILES.metrics) : run.path(RUN_FILES.config)).mtime.toISOString();
  const figures: RunRow['figures'] = {};
  const evals = metrics.filter((m) => m.eval).map((m) => m.eval as { accuracy: { overall: number | null; easy: number | null; hard: number | null }; samples: number });
  if (run.kind === 'pretrain' || run.kind === 'sft') {
    const losses = metrics.filter((m) => typeof m.loss === 'number');
    const vals = metrics.filter((m) => typeof m.valLoss === 'number');
    figures.loss = (losses.at(-1)?.loss as number) ?? null;
    figures.valLoss = (vals.at(-1)?.valLoss as number) ?? null;
  } else if (run.kind === 'rl') {
    const first = evals[0]?.accuracy, final = evals.at(-1)?.accuracy;
    Object.assign(figures, { start: first?.overall ?? null, overall: final?.overall ?? null, easy: final?.easy ?? null, hard: final?.hard ?? null, samples: evals.at(-1)?.samples ?? null });
    // multi-turn: the episode measures, greedy (recovery = share of first misses that end right)
    type Episodes = { greedy: { firstAttempt: number | null; recovery: number | null }; afterMistake: { recovery: number | null } | null } | null | undefined;
    const e0 = (evals[0] as { episodes?: Episodes } | undefined)?.episodes, e1 = (evals.at(-1) as { episodes?: Episodes } | undefined)?.episodes;
    if (e1) {
      Object.assign(figures, {
        firstAttempt: e1.greedy.firstAttempt, recoveryStart: e0?.greedy.recovery ?? null, recovery: e1.greedy.recovery,
        afterMistakeStart: e0?.afterMistake?.recovery ?? null, afterMistake: e1.afterMistake?.recovery ?? null,
      });
    }
    // samples and FLOPs to first reach the run's threshold, from its held-out curve (runs inside a demo have no summary of their own)
    const threshold = run.config<{ rl?: { threshold?: number } }>().rl?.threshold;
    const { runSampleEfficiency } = await import('../measure/curves.ts');
    const se = typeof threshold === 'number' ? runSampleEfficiency(evals as unknown as CostedEval[], threshold) : null;
    if (typeof threshold === 'number') figures.threshold = threshold;
    figures.toThreshold = se ? se.samples : null;
    figures.flopsToThreshold = se ? se.flops : null;
  } else if (run.kind === 'eval' && summary) {
    const a = summary.accuracy as { overall: number; easy: number | null; hard: number | null };
    Object.assign(figures, { overall: a.overall, easy: a.easy, hard: a.hard, n: summary.n as number });
  } else if (run.kind === 'demo' && summary) {
    for (const phase of ['teacher', 'sft', 'rl']) figures[phase] = (summary[phase] as { overall: number | null })?.overall ?? null;
  } else if (summary) {
    for (const [k, v] of Object.entries(summary)) if (typeof v === 'number' || typeof v === 'string') figures[k] = v;
  }
  const name = root && path.startsWith(root) ? path.slice(root.length).replace(/^[\\/]+/, '') : path;
  return { name, path, kind: run.kind, modified: mtime, step: typeof last?.step === 'number' ? last.step : null, figures };
}

/** Figures that are fractions, shown as percentages. */
const PERCENT = new Set(['threshold', 'start', 'overall', 'easy', 'hard', 'teacher', 'sft', 'rl', 'firstAttempt', 'recoveryStart', 'recovery', 'afterMistakeStart', 'afterMistake']);

function fmt(v: unknown, key = ''): string {
  if (v === null || v === undefined) return '-';
  if (typeof v !== 'number') return String(v);
  if (PERCENT.has(key)) return `${(100 * v).toFixed(1)}%`;
  if (key === 'toThreshold') return String(Math.round(v)); // interpolated between evaluations
  return Math.abs(v) >= 1e6 ? v.toExponential(2) : Number.isInteger(v) ? String(v) : v.toFixed(3);
}

/** Runs side by side: a column per figure that at least one of them has. */
function tableOf(rows: RunRow[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.figures)))].filter((k) => rows.some((r) => r.figures[k] !== null && r.figures[k] !== undefined));
  const head = ['RUN', 'KIND', 'STEP', ...keys.map((k) => k.toUpperCase())];
  return columns([head, ...rows.map((r) => [r.name, r.kind, r.step === null ? '-' : String(r.step), ...keys.map((k) => fmt(r.figures[k], k))])]);
}

/** Runs of every kind, one line each: their figures as name=value (a table with a column per figure would be mostly empty). */
function listOf(rows: RunRow[]): string {
  const figures = (r: RunRow): string => Object.entries(r.figures).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}=${fmt(v, k)}`).join(' ');
  return columns([['RUN', 'KIND', 'STEP', 'MODIFIED', 'FIGURES'], ...rows.map((r) => [r.name, r.kind, r.step === null ? '-' : String(r.step), r.modified.slice(0, 16).replace('T', ' '), figures(r)])]);
}

function columns(all: string[][]): string {
  const w = all[0].map((_, c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r) => r.map((cell, c) => cell.padEnd(w[c])).join('  ').trimEnd()).join('\n');
}

function print(flags: RunsFlags, json: unknown, text: () => string): void {
  process.stdout.write(flags.json ? JSON.stringify(json, null, 2) + '\n' : text() + '\n');
}
