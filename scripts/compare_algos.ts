/**
 * Every RL algorithm from one SFT init, on one budget, side by side.
 *
 *   npx tsx scripts/compare_algos.ts                                   # 3 families x 6 arms, seed 0
 *   npx tsx scripts/compare_algos.ts --seeds 0,1 --families sort-v1 --arms grpo,ppo
 *
 * For each task family and seed:
 *   1. envs demos  a flawed teacher: right on easy tasks; on hard ones right
 *                  30% of the time, else the family's systematic mistake
 *   2. sft         a tiny GPT imitates it, once; every arm starts from it
 *   3. train       each arm (grpo, dr_grpo, dapo, rloo, ppo, ei) with the same
 *                  seed and the same budget of sampled completions
 * then one table per family: greedy held-out accuracy before and after
 * (overall, easy, hard), its mean over the last 40% of the budget (one
 * evaluation of 200 tasks moves by a few points), samples and FLOPs until
 * held-out accuracy closed half the gap from the SFT start to 100%, the mean
 * training reward of the last 10 iterations, and seconds; above them, a
 * headline over the seeds.
 *
 * Equal budget means equal completions sampled for training. Every arm but
 * DAPO samples P x G a step, so it runs budget / (P G) steps. DAPO's dynamic
 * sampling draws up to maxDraws batches a step until P groups carry signal,
 * so its steps are not known in advance: the script runs it in pieces
 * (`train --resume --steps N`, exact by design) until its samples reach the
 * budget, overshooting by at most one step. FLOPs are reported beside
 * samples: they are not equal (PPO's value pass, EI's SFT steps).
 *
 * Everything runs through the CLI (bin/flywheel.js) in child processes, as
 * a user runs it, FLYWHEEL_THREADS=1 each (unless set) and --jobs at a time.
 * Re-running continues: a finished step is not redone (--fresh starts over).
 * <out>/results.json holds every figure; <out>/results.md the tables.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { sampleEfficiency } from '../src/measure/curves.ts';
import { RL_DEFAULTS } from '../src/algos/rl_config.ts';

const BIN = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'bin', 'flywheel.js');

/** What each family needs; everything else is shared (PLAN). */
export interface FamilyPlan {
  difficulty: number; // the one difficulty trained and held out
  blockSize: number; // the model's context: prompt + reply + format tokens must fit
}

export const FAMILIES: Record<string, FamilyPlan> = {
  'linear-eq-v1': { difficulty: 2, blockSize: 32 }, // hard: negative solutions; blind spot: drops the minus sign
  'sort-v1': { difficulty: 2, blockSize: 48 }, // hard: a duplicated value; blind spot: collapses duplicates
  'addsub-v1': { difficulty: 2, blockSize: 32 }, // hard: a carry or borrow; blind spot: drops every carry
};

export const PLAN = {
  teacher: { errorRate: 0, hardAccuracy: 0.3 },
  demos: 40_000,
  sft: { preset: 'tiny', steps: 4000, lr: 3e-3 },
  rl: { prompts: 16, group: 8, budget: 32_000, evalEvery: 10 }, // budget: training completions sampled (the demo's 250 steps)
};

/** The arms: `train` flags on top of the shared defaults. */
export const ARMS: Record<string, string[]> = {
  grpo: ['--algo', 'grpo'],
  dr_grpo: ['--algo', 'grpo', '--loss', 'dr_grpo'],
  dapo: ['--algo', 'grpo', '--loss', 'dapo'],
  rloo: ['--algo', 'rloo'],
  ppo: ['--algo', 'ppo'],
  ei: ['--algo', 'ei'],
};

/** One arm's figures on one family and seed. */
export interface Row {
  family: string;
  seed: number;
  arm: string;
  steps: number;
  samples: number; // training completions sampled
  start: Acc; // greedy held-out accuracy of the SFT init
  end: Acc; // ... after the budget
  late: number; // mean held-out accuracy over the evaluations in the last 40% of the budget (steadier than one evaluation)
  threshold: number; // half the gap from start.overall to 1
  toThreshold: { samples: number; flops: number } | null; // when held-out accuracy first reached it (interpolated)
  sampleFlops: number;
  trainFlops: number;
  finalReward: number; // mean training reward over the last 10 iterations
  trainSeconds: number; // the iterations' own time (no process start, no held-out evaluations)
  wallSeconds: number; // every `train` process of the arm, start to exit
  load: number; // mean 1-minute load average at the end of each process (the machine is shared)
  commit: string | null; // the checkout that ran it
}

export interface Acc {
  overall: number;
  easy: number | null;
  hard: number | null;
}

// ---------------------------------------------------------------- reading a run

interface Summary {
  steps: number;
  heldout: { step: number; samples: number; flops: number; tokens: number; overall: number; easy: number | null; hard: number | null }[];
  costs: { samples: number; sampleFlops: number; trainFlops: number };
}

/** Half the gap from the start to perfect: the level an algorithm must reach to count as having learned. */
export function halfGap(start: number): number {
  return start + (1 - start) / 2;
}

/** The table row of a finished `train` run, from its summary.json and metrics.jsonl. */
export function rowOf(dir: string, meta: { family: string; seed: number; arm: string; wallSeconds: number; load: number; commit: string | null }): Row {
  const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  const iters = lines.filter((m) => !('eval' in m));
  const last = iters.slice(-10);
  const first = s.heldout[0], end = s.heldout.at(-1)!;
  const acc = (p: typeof first): Acc => ({ overall: p.overall, easy: p.easy, hard: p.hard });
  const threshold = halfGap(first.overall);
  const late = s.heldout.filter((p) => p.samples >= 0.6 * s.costs.samples).map((p) => p.overall);
  const hit = sampleEfficiency(s.heldout.map((p) => ({ samples: p.samples, flops: p.flops, tokens: p.tokens, accuracy: p.overall })), threshold);
  return {
    ...meta, steps: s.steps, samples: s.costs.samples, start: acc(first), end: acc(end), late: late.reduce((a, b) => a + b, 0) / late.length, threshold,
    toThreshold: hit && { samples: hit.samples, flops: hit.flops }, sampleFlops: s.costs.sampleFlops, trainFlops: s.costs.trainFlops,
    finalReward: last.reduce((a, m) => a + m.reward, 0) / Math.max(1, last.length),
    trainSeconds: iters.reduce((a, m) => a + m.seconds, 0), wallSeconds: meta.wallSeconds, load: meta.load, commit: meta.commit,
  };
}

/**
 * The next `--steps` of an arm that has run `steps` steps and drawn `samples`
 * completions, each step drawing at most `perStepMax`: as many steps as
 * cannot overshoot the budget, and at least one; null once the budget is met.
 */
export function nextSteps(steps: number, samples: number, budget: number, perStepMax: number): number | null {
  if (samples >= budget) return null;
  return steps + Math.max(1, Math.floor((budget - samples) / perStepMax));
}

// ---------------------------------------------------------------- tables

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : (100 * x).toFixed(1));
const sci = (x: number): string => x.toExponential(1).replace('e+', 'e');
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The headline: per family and arm, over the seeds, the mean held-out
 * accuracy after the budget (lowest and highest in brackets), the mean of
 * the late evaluations, the mean samples and FLOPs to half the gap (over the
 * seeds that got there), and the training FLOPs of the whole budget over
 * GRPO's on the same family and seed.
 */
export function headline(rows: readonly Row[]): string {
  const out = [
    '| family | arm | held-out after | late mean | samples, FLOPs to half the gap | train FLOPs / grpo\'s |',
    '|---|---|---|---|---|---|',
  ];
  for (const family of [...new Set(rows.map((r) => r.family))]) {
    for (const arm of [...new Set(rows.map((r) => r.arm))]) {
      const mine = rows.filter((r) => r.arm === arm && r.family === family);
      if (mine.length === 0) continue;
      const ends = mine.map((r) => r.end.overall);
      const hit = mine.filter((r) => r.toThreshold).map((r) => r.toThreshold!);
      const reached = hit.length ? `${(mean(hit.map((h) => h.samples)) / 1000).toFixed(1)}k, ${sci(mean(hit.map((h) => h.flops)))}` : 'never';
      const ratios = mine.flatMap((r) => rows.filter((g) => g.arm === 'grpo' && g.family === family && g.seed === r.seed).map((g) => r.trainFlops / g.trainFlops));
      out.push(`| ${family} | ${arm} | ${pct(mean(ends))} (${pct(Math.min(...ends))}–${pct(Math.max(...ends))}) | ${pct(mean(mine.map((r) => r.late)))} | ${reached}${hit.length < mine.length ? ` (${hit.length} of ${mine.length} seeds)` : ''} | ${ratios.length ? mean(ratios).toFixed(2) : '–'} |`);
    }
  }
  return out.join('\n') + '\n';
}

/** One markdown table per family; a cell holds each seed's figure, separated by ' / '. */
export function markdown(rows: readonly Row[]): string {
  const out: string[] = [];
  for (const family of [...new Set(rows.map((r) => r.family))]) {
    const fam = rows.filter((r) => r.family === family);
    const seeds = [...new Set(fam.map((r) => r.seed))].sort((a, b) => a - b);
    const starts = seeds.map((s) => fam.find((r) => r.seed === s)!);
    out.push(`### ${family} (seed${seeds.length > 1 ? 's' : ''} ${seeds.join(' / ')})`, '');
    out.push(`SFT init, greedy held-out accuracy: ${starts.map((r) => `${pct(r.start.overall)}% (easy ${pct(r.start.easy)}, hard ${pct(r.start.hard)})`).join(' / ')}; half the gap to 100%: ${starts.map((r) => pct(r.threshold) + '%').join(' / ')}`, '');
    out.push('| arm | held-out after | late mean | easy | hard | samples to half the gap | FLOPs to half the gap | final reward | samples | FLOPs (sample + train) | train s | wall s | load |');
    out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const arm of [...new Set(fam.map((r) => r.arm))]) {
      const cells = seeds.map((s) => fam.find((r) => r.seed === s && r.arm === arm));
      const col = (f: (r: Row) => string): string => cells.map((r) => (r ? f(r) : '–')).join(' / ');
      out.push(`| ${arm} | ${[
        col((r) => pct(r.end.overall)), col((r) => pct(r.late)), col((r) => pct(r.end.easy)), col((r) => pct(r.end.hard)),
        col((r) => (r.toThreshold ? String(Math.round(r.toThreshold.samples)) : 'never')), col((r) => (r.toThreshold ? sci(r.toThreshold.flops) : 'never')),
        col((r) => r.finalReward.toFixed(3)), col((r) => String(r.samples)), col((r) => `${sci(r.sampleFlops)} + ${sci(r.trainFlops)}`),
        col((r) => r.trainSeconds.toFixed(0)), col((r) => r.wallSeconds.toFixed(0)), col((r) => r.load.toFixed(1)),
      ].join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

// ---------------------------------------------------------------- running

interface Options {
  families: string[];
  seeds: number[];
  arms: string[];
  budget: number;
  jobs: number;
  out: string;
  fresh: boolean;
}

/** `flywheel ...args` in a child process; stdout returned, stderr appended to `log`. */
function flywheel(args: string[], log: string): Promise<{ stdout: string; seconds: number; load: number }> {
  const t0 = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { FLYWHEEL_THREADS: '1', ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const err = createWriteStream(log, { flags: 'a' });
    err.write(`$ flywheel ${args.join(' ')}\n`);
    child.stderr.pipe(err);
    child.on('error', fail);
    child.on('close', (code) => {
      err.end();
      if (code === 0) done({ stdout, seconds: (performance.now() - t0) / 1000, load: loadavg()[0] });
      else fail(new Error(`flywheel ${args.join(' ')} exited with ${code}; see ${log}`));
    });
  });
}

/** At most n of the returned function's tasks run at once. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    while (running >= n) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

async function pipeline(o: Options, family: string, seed: number, limit: ReturnType<typeof limiter>, say: (s: string) => void): Promise<Row[]> {
  const plan = FAMILIES[family];
  const dir = join(o.out, family, `seed${seed}`);
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'log.txt');
  const demos = join(dir, 'demos.jsonl'), sft = join(dir, 'sft');
  const d = String(plan.difficulty);
  if (!existsSync(demos)) {
    await limit(() => flywheel(['envs', 'demos', family, '--n', String(PLAN.demos), '--difficulty', d, '--seed', String(seed * PLAN.demos),
      '--error-rate', String(PLAN.teacher.errorRate), '--hard-accuracy', String(PLAN.teacher.hardAccuracy), '--out', demos, '--quiet', '--json'], log));
  }
  if (!existsSync(join(sft, 'checkpoint', 'checkpoint.json')) || JSON.parse(readFileSync(join(sft, 'checkpoint', 'state.json'), 'utf8')).step !== PLAN.sft.steps) {
    const r = await limit(() => flywheel(['sft', '--data', demos, '--preset', PLAN.sft.preset, '--block-size', String(plan.blockSize), '--steps', String(PLAN.sft.steps),
      '--lr', String(PLAN.sft.lr), '--seed', String(seed), '--out', sft, '--force', '--quiet', '--json'], log));
    say(`${family} seed ${seed}: sft done in ${r.seconds.toFixed(0)} s`);
  }
  const perStep = PLAN.rl.prompts * PLAN.rl.group;
  return Promise.all(o.arms.map((arm) => limit(async () => {
    const out = join(dir, arm);
    const timing = join(out, 'timing.json');
    const summary = join(out, 'summary.json');
    const t = existsSync(timing) ? (JSON.parse(readFileSync(timing, 'utf8')) as { seconds: number; loads: number[]; commit?: string | null }) : { seconds: 0, loads: [] };
    const common = ['--env', family, '--difficulty', d, '--init', sft, '--prompts', String(PLAN.rl.prompts), '--group', String(PLAN.rl.group),
      '--eval-every', String(PLAN.rl.evalEvery), '--seed', String(seed), '--out', out, '--quiet', '--json'];
    // DAPO draws at most maxDraws batches a step (RL_DEFAULTS.maxDraws, recorded in config.json); the others exactly one
    const perStepMax = (): number => {
      const rl = (JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { rl: { loss: string; maxDraws: number } }).rl;
      return perStep * (rl.loss === 'dapo' ? rl.maxDraws : 1);
    };
    for (;;) {
      const done = existsSync(summary) ? (JSON.parse(readFileSync(summary, 'utf8')) as Summary) : null;
      let args: string[];
      if (!done) {
        args = ['train', ...ARMS[arm], ...common, '--steps', String(nextSteps(0, 0, o.budget, perStep * (arm === 'dapo' ? RL_DEFAULTS.maxDraws : 1))), '--force'];
        t.seconds = 0;
        t.loads = [];
        t.commit = commit();
      } else {
        const next = nextSteps(done.steps, done.costs.samples, o.budget, perStepMax());
        if (next === null) break;
        args = ['train', '--out', out, '--resume', '--steps', String(next), '--quiet', '--json'];
      }
      const r = await flywheel(args, log);
      t.seconds += r.seconds;
      t.loads.push(r.load);
      writeFileSync(timing, JSON.stringify(t) + '\n');
    }
    const row = rowOf(out, { family, seed, arm, wallSeconds: t.seconds, load: t.loads.reduce((a, b) => a + b, 0) / Math.max(1, t.loads.length), commit: t.commit ?? null });
    say(`${family} seed ${seed} ${arm}: ${pct(row.start.overall)}% -> ${pct(row.end.overall)}% (hard ${pct(row.start.hard)} -> ${pct(row.end.hard)}), ${row.samples} samples, ${row.wallSeconds.toFixed(0)} s`);
    return row;
  })));
}

/** The checkout's commit (and whether it has changes), recorded with each run. */
function commit(): string | null {
  try {
    const git = (...a: string[]): string => execFileSync('git', a, { cwd: join(BIN, '..', '..'), encoding: 'utf8' }).trim();
    return git('rev-parse', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? ' (with uncommitted changes)' : '');
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      families: { type: 'string', default: Object.keys(FAMILIES).join(',') },
      seeds: { type: 'string', default: '0' },
      arms: { type: 'string', default: Object.keys(ARMS).join(',') },
      budget: { type: 'string', default: String(PLAN.rl.budget) },
      jobs: { type: 'string', default: '2' },
      out: { type: 'string', default: 'runs/compare' },
      fresh: { type: 'boolean', default: false },
    },
  });
  const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);
  const o: Options = {
    families: list(values.families), seeds: list(values.seeds).map(Number), arms: list(values.arms),
    budget: Number(values.budget), jobs: Number(values.jobs), out: resolve(values.out), fresh: values.fresh,
  };
  for (const f of o.families) if (!FAMILIES[f]) throw new Error(`--families: no plan for ${f} (known: ${Object.keys(FAMILIES).join(', ')})`);
  for (const a of o.arms) if (!ARMS[a]) throw new Error(`--arms: unknown arm ${a} (known: ${Object.keys(ARMS).join(', ')})`);
  if (!o.seeds.every((s) => Number.isInteger(s) && s >= 0)) throw new Error(`--seeds: whole numbers >= 0, got ${values.seeds}`);
  if (!(o.budget > 0 && o.jobs >= 1)) throw new Error('--budget and --jobs must be positive');
  if (o.fresh) for (const f of o.families) for (const s of o.seeds) rmSync(join(o.out, f, `seed${s}`), { recursive: true, force: true });

  const t0 = performance.now();
  const say = (s: string): void => void process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}\n`);
  const limit = limiter(o.jobs);
  const rows = (await Promise.all(o.families.flatMap((f) => o.seeds.map((s) => pipeline(o, f, s, limit, say))))).flat();
  const file = join(o.out, 'results.json');
  const old = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[] }).rows : [];
  const key = (r: Row): string => `${r.family}:${r.seed}:${r.arm}`;
  const fresh = new Set(rows.map(key));
  const all = [...old.filter((r) => !fresh.has(key(r))), ...rows]; // other families and seeds from earlier invocations stay
  all.sort((a, b) => a.family.localeCompare(b.family) || a.seed - b.seed || Object.keys(ARMS).indexOf(a.arm) - Object.keys(ARMS).indexOf(b.arm));
  writeFileSync(file, JSON.stringify({ plan: { PLAN, FAMILIES, ARMS, budget: o.budget }, rows: all }, null, 1) + '\n');
  const md = `${headline(all)}\n${markdown(all)}`;
  writeFileSync(join(o.out, 'results.md'), md);
  process.stdout.write(md + `\n${((performance.now() - t0) / 1000).toFixed(0)} s with ${o.jobs} jobs at a time; ${file}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
