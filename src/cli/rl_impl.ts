/**
 * What `flywheel train` and `flywheel eval` do (lazily imported by rl.ts):
 * resolve the environment and the policy, fill in the environment's
 * defaults, and wire them to the RL loop (src/algos/rl.ts) and the run
 * directory (src/runs). `flywheel demo` reuses `startRL`.
 */
import { basename, extname, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { initBackend, backendLine } from '../tensor/backend.ts';
import type { Tokenizer } from '../models/tokenizer.ts';
import type { GPTConfig } from '../models/gpt.ts';
import { LocalPolicy } from '../policy/local.ts';
import { showChars, unknownChars } from '../policy/format.ts';
import { RunDir, reconcile, RUN_FILES, type GivenSetting } from '../runs/run_dir.ts';
import { RolloutStore } from '../runs/rollouts.ts';
import { loadLM, resolveModelDir } from '../runs/lm_checkpoint.ts';
import { ALGORITHMS } from '../algos/algorithms.ts';
import { RL_DEFAULTS, type RLConfig } from '../algos/rl_config.ts';
import { trainRL, type RLResult } from '../algos/rl.ts';
import { evaluate, heldoutTasks, type EpisodeEval, type EvalResult } from '../algos/evaluate.ts';
import type { EpisodeStats } from '../measure/episodes.ts';
import { runSampleEfficiency } from '../measure/curves.ts';
import type { RolloutEnv } from '../algos/rollout.ts';
import { exitCode, onInterrupt, resumable } from './signals.ts';
import { flagName } from './args.ts';
import { fmtRate, progressBar } from './progress.ts';

/** config.json of an RL run. */
export interface RLRunConfig {
  env: string; // registry id, or the absolute path of the user's file
  init: string; // the checkpoint it started from (absolute path)
  model: GPTConfig;
  rl: RLConfig;
}

export interface TrainFlags {
  env?: string;
  algo: RLConfig['algo'];
  init?: string;
  out: string;
  resume?: boolean;
  force?: boolean;
  steps: number;
  prompts: number;
  group: number;
  difficulty?: number[];
  temperature: number;
  topP: number;
  maxTokens?: number;
  lr: number;
  warmup: number;
  lrSchedule: RLConfig['lrSchedule'];
  epochs: number;
  minibatches: number;
  loss: RLConfig['loss'];
  clip: number;
  clipHigh?: number;
  kl: number;
  gradClip: number;
  weightDecay: number;
  maxDraws: number;
  gamma: number;
  lambda: number;
  vfCoef: number;
  eiEpochs: number;
  eiBatch: number;
  evalEvery: number;
  evalTasks: number;
  evalSamples: number;
  checkpointEvery: number;
  threshold: number;
  verifyTimeout: number;
  rolloutCap: number;
  seed: number;
  quiet?: boolean;
  json?: boolean;
  given: Set<string>;
}

/** Flag key -> RLConfig key (where the names differ). */
const RL_KEYS: Record<string, keyof RLConfig> = {
  algo: 'algo', steps: 'steps', prompts: 'prompts', group: 'group', difficulty: 'difficulties', temperature: 'temperature', topP: 'topP',
  maxTokens: 'maxTokens', lr: 'lr', warmup: 'warmup', epochs: 'epochs', minibatches: 'minibatches', loss: 'loss', clip: 'clipLow',
  clipHigh: 'clipHigh', kl: 'klCoef', evalEvery: 'evalEvery', evalTasks: 'evalTasks', evalSamples: 'evalSamples', checkpointEvery: 'checkpointEvery',
  threshold: 'threshold', verifyTimeout: 'verifyTimeoutMs', rolloutCap: 'rolloutCap', seed: 'seed', gradClip: 'gradClip',
  lrSchedule: 'lrSchedule', weightDecay: 'weightDecay', maxDraws: 'maxDraws', gamma: 'gamma', lambda: 'lambda', vfCoef: 'vfCoef', eiEpochs: 'eiEpochs', eiBatch: 'eiBatch',
};

// ---------------------------------------------------------------- environment and policy

/** A single-turn or multi-turn environment by id or file (games go to `flywheel selfplay`). */
export async function rolloutEnv(idOrPath: string): Promise<{ env: RolloutEnv; source: string }> {
  const { resolveEnv } = await import('../envs/registry.ts');
  const { isEnvPath } = await import('../envs/load.ts');
  const entry = await resolveEnv(idOrPath);
  if (entry.kind === 'game') throw new UserError(`${entry.game.id} is a game: train game agents with \`flywheel selfplay --game ...\``);
  if (!isEnvPath(idOrPath)) return { env: entry, source: idOrPath };
  const file = resolve(idOrPath);
  return { env: { ...entry, file }, source: file };
}

export function levels(env: RolloutEnv): number[] {
  const { min, max } = env.family.difficulty;
  return Array.from({ length: max - min + 1 }, (_, i) => min + i);
}

/** Sample tasks of each difficulty: the prompts (first observations) and reference replies. */
export function samples(env: RolloutEnv, difficulties: readonly number[], n = 24): { prompt: string; reply: string }[] {
  const out: { prompt: string; reply: string }[] = [];
  for (const d of difficulties) {
    for (let s = 0; s < n; s++) {
      if (env.kind === 'task') {
        const t = env.family.generate(900_000_000 + s, d);
        out.push({ prompt: t.prompt, reply: env.family.solve(t) });
      } else {
        const obs = env.family.create().reset(900_000_000 + s, d);
        out.push({ prompt: obs, reply: env.family.solve([obs]) });
      }
    }
  }
  return out;
}

/**
 * Fills in the environment's defaults (every difficulty level; maxTokens =
 * 1.5x the longest reference reply, plus 4) and checks that the tokenizer
 * can write the environment's prompts and answers.
 */
export function resolveForEnv(cfg: RLConfig, env: RolloutEnv, tok: Tokenizer, contextLength: number, source: string): RLConfig {
  const difficulties = cfg.difficulties.length ? cfg.difficulties : levels(env);
  const { min, max } = env.family.difficulty;
  for (const d of difficulties) if (d < min || d > max) throw new UserError(`--difficulty ${d} is out of range for ${env.family.id}: ${min}..${max}`);
  const ex = samples(env, difficulties);
  const bad = unknownChars(tok, ex.map((e) => e.prompt + e.reply).join(''));
  if (bad.length) throw new UserError(`the policy's tokenizer cannot write ${source}'s prompts or answers: it lacks ${showChars(bad)} (train the policy on this environment's demonstrations first: \`flywheel envs demos\`, then \`flywheel sft\`)`);
  const longest = Math.max(...ex.map((e) => tok.encode(e.reply).length + 1));
  const maxTokens = cfg.maxTokens || Math.ceil(1.5 * longest) + 4;
  const longestPrompt = Math.max(...ex.map((e) => tok.encode(e.prompt).length + 1));
  if (longestPrompt + 1 >= contextLength) throw new UserError(`${source}'s prompts are up to ${longestPrompt} tokens, which leaves no room to answer in the policy's context of ${contextLength}; use a model with a longer --block-size or lower the difficulty`);
  const clipHigh = cfg.loss === 'dapo' && cfg.clipHigh === cfg.clipLow ? 0.28 : cfg.clipHigh;
  return { ...cfg, difficulties, maxTokens, clipHigh };
}

/** The trainable policy (and, with KL, its frozen copy) from a checkpoint. */
export function policyFrom(init: string, cfg: RLConfig, warn?: (m: string) => void): { policy: LocalPolicy; ref: LocalPolicy | null; model: GPTConfig } {
  const valueHead = cfg.algo === 'ppo';
  const lm = loadLM(init, { valueHead, seed: cfg.seed });
  const policy = new LocalPolicy(lm.model, lm.tokenizer, { name: lm.dir, format: 'chat', warn });
  const ref = cfg.klCoef > 0 ? new LocalPolicy(loadLM(init, { valueHead, seed: cfg.seed }).model, lm.tokenizer, { format: 'chat' }) : null;
  return { policy, ref, model: lm.model.config };
}

// ---------------------------------------------------------------- train

export interface RLSession {
  result: RLResult;
  config: RLRunConfig;
  run: RunDir;
  sampleEfficiency: { samples: number; tokens: number; flops: number } | null;
}

/** Starts (or resumes) an RL run and trains it to the end or to Ctrl-C; used by `train` and `demo`. */
export async function startRL(opts: {
  out: string; resume: boolean; force: boolean; env: RolloutEnv; source: string; init: string; config: RLConfig; quiet?: boolean; label?: string;
  resumeCommand?: string; // what continues the run after an error (default: flywheel train --out <out> --resume)
  flagsGiven?: GivenSetting[]; log: (s: string) => void;
}): Promise<RLSession> {
  let run: RunDir, cfg: RLRunConfig;
  if (opts.resume) {
    run = RunDir.start(opts.out, 'rl', {}, { resume: true, force: opts.force });
    cfg = reconcile<RLRunConfig>(run, opts.flagsGiven ?? [], ['rl.steps']);
    if (cfg.rl.steps !== run.config<RLRunConfig>().rl.steps) run.updateConfig(cfg);
  } else {
    const { policy } = policyFrom(opts.init, opts.config);
    const rl = resolveForEnv(opts.config, opts.env, policy.tokenizer, policy.contextLength, opts.source);
    cfg = { env: opts.source, init: resolve(resolveModelDir(opts.init)), model: policy.model.config, rl };
    run = RunDir.start(opts.out, 'rl', cfg, { force: opts.force });
  }
  opts.log(`config (${run.path(RUN_FILES.config)}): ${Object.entries(cfg.rl).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`).join(' ')}`);
  const { policy, ref } = policyFrom(cfg.init, cfg.rl, (m) => opts.log(`warning: ${m}`));
  const bar = progressBar(opts.label ?? cfg.rl.algo, cfg.rl.steps, { quiet: opts.quiet });
  const stop = onInterrupt(() => bar.log('interrupted: saving a checkpoint after this step (Ctrl-C again to quit at once)'));
  const store = new RolloutStore(run.path(RUN_FILES.rollouts), cfg.rl.rolloutCap);
  const pct = (x: unknown): string => (typeof x === 'number' && Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : '-');
  let result: RLResult;
  try {
    result = await trainRL({
      run, env: opts.env, policy, ref, algorithm: ALGORITHMS[cfg.rl.algo], config: cfg.rl, store, resume: opts.resume, force: opts.force,
      checkpointConfig: { kind: 'rl', model: cfg.model, format: 'chat', train: cfg.rl },
      shouldStop: () => stop.requested,
      onStep: ({ step, metrics: m }) => bar.update(step, {
        reward: (m.reward as number).toFixed(3), 'held-out': pct(m.heldout), 'zero-var': pct(m.zeroVarianceGroups), trunc: pct(m.truncated),
        'verifier-err': pct(m.verifierErrors), 'samples/s': fmtRate((m.drawn as number) / Math.max(1e-9, m.seconds as number)),
      }),
      onEvent: (msg) => bar.log(msg),
      onWarning: (msg) => bar.log(`warning: ${msg}`),
    });
  } catch (err) {
    throw resumable(err, run, opts.resumeCommand ?? `flywheel train --out ${opts.out} --resume`);
  } finally {
    bar.stop();
    stop.dispose();
    store.close();
  }
  const sampleEfficiency = runSampleEfficiency(result.curve, cfg.rl.threshold); // interpolated between evaluations (src/measure/curves.ts)
  if (result.interrupted) {
    process.stderr.write(`stopped at step ${result.steps} of ${cfg.rl.steps}; continue with: flywheel train --out ${opts.out} --resume\n`);
    process.exitCode = exitCode(stop.signal);
  }
  return { result, config: cfg, run, sampleEfficiency };
}

export async function runTrain(flags: TrainFlags): Promise<void> {
  const backend = await initBackend();
  const log = (s: string): void => void (flags.quiet ? undefined : process.stderr.write(s + '\n'));
  log(backendLine(backend));
  let envSource: string, init: string;
  const given: GivenSetting[] = [];
  if (flags.resume) {
    const saved = RunDir.open(flags.out, 'rl').config<RLRunConfig>();
    envSource = saved.env;
    init = saved.init;
    for (const key of flags.given) {
      if (key === 'env') given.push({ flag: '--env', path: 'env', value: (await rolloutEnv(flags.env!)).source });
      else if (key === 'init') given.push({ flag: '--init', path: 'init', value: resolve(resolveModelDir(flags.init!)) });
      else if (RL_KEYS[key]) given.push({ flag: flagName(key), path: `rl.${RL_KEYS[key]}`, value: (flags as unknown as Record<string, unknown>)[key] });
    }
  } else {
    if (!flags.env) throw new UserError('--env is required: an environment id (`flywheel envs list`) or your task family file');
    if (!flags.init) throw new UserError('RL needs a policy to start from: give --init CHECKPOINT (make one with `flywheel envs demos` and `flywheel sft`)');
    envSource = flags.env;
    init = flags.init;
  }
  const { env, source } = await rolloutEnv(envSource);
  const config: RLConfig = {
    ...RL_DEFAULTS, algo: flags.algo, steps: flags.steps, prompts: flags.prompts, group: flags.group, difficulties: flags.difficulty ?? [],
    temperature: flags.temperature, topP: flags.topP, maxTokens: flags.maxTokens ?? 0, lr: flags.lr, warmup: flags.warmup, lrSchedule: flags.lrSchedule, epochs: flags.epochs,
    minibatches: flags.minibatches, loss: flags.loss, clipLow: flags.clip, clipHigh: flags.clipHigh ?? flags.clip, klCoef: flags.kl,
    evalEvery: flags.evalEvery, evalTasks: flags.evalTasks, evalSamples: flags.evalSamples, checkpointEvery: flags.checkpointEvery, threshold: flags.threshold,
    verifyTimeoutMs: flags.verifyTimeout, rolloutCap: flags.rolloutCap, seed: flags.seed, gradClip: flags.gradClip, weightDecay: flags.weightDecay,
    maxDraws: flags.maxDraws, gamma: flags.gamma, lambda: flags.lambda, vfCoef: flags.vfCoef, eiEpochs: flags.eiEpochs, eiBatch: flags.eiBatch,
  };
  if (!flags.resume) {
    // a flag its algorithm never reads would change nothing, silently
    const only: [string, boolean][] = [
      ['loss', config.algo === 'grpo'], ['maxDraws', config.algo === 'grpo' && config.loss === 'dapo'],
      ['gamma', config.algo === 'ppo'], ['lambda', config.algo === 'ppo'], ['vfCoef', config.algo === 'ppo'],
      ['eiEpochs', config.algo === 'ei'], ['eiBatch', config.algo === 'ei'],
      ...(['epochs', 'minibatches', 'clip', 'clipHigh', 'kl'] as const).map((k): [string, boolean] => [k, config.algo !== 'ei']),
    ];
    for (const [key, applies] of only) {
      if (flags.given.has(key) && !applies) {
        const who = key === 'loss' ? '--algo grpo' : key === 'maxDraws' ? '--algo grpo --loss dapo'
          : key.startsWith('ei') ? '--algo ei' : ['gamma', 'lambda', 'vfCoef'].includes(key) ? '--algo ppo' : '--algo grpo, rloo and ppo';
        throw new UserError(`${flagName(key)} applies to ${who} only; this run is --algo ${config.algo}${config.algo === 'grpo' ? ` --loss ${config.loss}` : ''}`);
      }
    }
  }
  if (config.algo === 'rloo' && config.group < 2) throw new UserError('--algo rloo needs --group of at least 2 (the baseline leaves one out)');
  const s = await startRL({ out: flags.out, resume: !!flags.resume, force: !!flags.force, env, source, init, config, quiet: flags.quiet, flagsGiven: given, log });
  if (s.result.interrupted) return;
  const summary = trainSummary(s);
  s.run.writeJson(RUN_FILES.summary, summary);
  if (flags.json) {
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return;
  }
  const pct = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const first = s.result.curve[0], last = s.result.curve.at(-1);
  process.stdout.write(`\n${s.config.rl.algo} on ${s.config.env}: ${s.result.steps} steps, ${s.result.costs.samples} samples\n`);
  process.stdout.write(`held-out accuracy (greedy, ${s.config.rl.evalTasks} tasks): ${pct(first?.accuracy.overall)} -> ${pct(last?.accuracy.overall)}`);
  process.stdout.write(`  (easy ${pct(first?.accuracy.easy)} -> ${pct(last?.accuracy.easy)}, hard ${pct(first?.accuracy.hard)} -> ${pct(last?.accuracy.hard)})\n`);
  if (first?.episodes && last?.episodes) process.stdout.write(episodeLines(first.episodes, last.episodes));
  const se = s.sampleEfficiency;
  process.stdout.write(se ? `reached ${pct(s.config.rl.threshold)} after ${Math.round(se.samples)} samples, ${se.flops.toExponential(2)} FLOPs\n` : `did not reach ${pct(s.config.rl.threshold)} held-out accuracy\n`);
  process.stdout.write(`checkpoint: ${s.result.checkpoint}\n`);
}

/** Multi-turn: first attempt, recovery (with its denominator) and reward, before -> after, greedy, sampled and after the teacher's mistake. */
export function episodeLines(a: EpisodeEval, b: EpisodeEval): string {
  const pct = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const rec = (e: EpisodeStats): string => `${pct(e.recovery)} of ${e.missedFirst}`;
  const line = (label: string, x: EpisodeStats | null, y: EpisodeStats | null): string =>
    x && y ? `  ${label}: first attempt right ${pct(x.firstAttempt)} -> ${pct(y.firstAttempt)}; recovered after a wrong first attempt ${rec(x)} -> ${rec(y)}; mean reward ${x.meanReward?.toFixed(3)} -> ${y.meanReward?.toFixed(3)}\n` : '';
  const mistake = a.afterMistake && b.afterMistake ? `  after the teacher's mistake (greedy): recovered ${rec(a.afterMistake)} -> ${rec(b.afterMistake)} (hard ${pct(a.afterMistake.hardRecovery)} -> ${pct(b.afterMistake.hardRecovery)})\n` : '';
  return `held-out episodes:\n${line('greedy', a.greedy, b.greedy)}${line(`sampled (${a.sampled ? Math.round(a.sampled.n / a.greedy.n) : 0} a task)`, a.sampled, b.sampled)}${mistake}`;
}

function trainSummary(s: RLSession): object {
  return {
    algo: s.config.rl.algo, env: s.config.env, steps: s.result.steps, checkpoint: s.result.checkpoint, run: s.run.dir,
    heldout: s.result.curve.map((p) => ({ step: p.step, samples: p.samples, flops: p.sampleFlops + p.trainFlops, tokens: p.tokensSampled + p.tokensTrained, recovery: p.recovery, ...p.accuracy, ...(p.episodes ? { episodes: p.episodes } : {}) })),
    final: s.result.curve.at(-1)?.accuracy ?? null, sampleEfficiency: s.sampleEfficiency, threshold: s.config.rl.threshold,
    costs: s.result.costs, preflight: s.result.preflight,
  };
}

// ---------------------------------------------------------------- eval

/**
 * Where `flywheel eval` writes without --out: runs/eval-<what>-<env>, <what>
 * the checkpoint's run name (or the endpoint's model), <env> the environment
 * id (or the file's name), so evaluating another checkpoint or environment
 * never collides with an earlier evaluation.
 */
export function defaultEvalOut(flags: { checkpoint?: string; model?: string; env?: string; resume?: boolean }): string {
  const what = flags.checkpoint !== undefined ? checkpointName(flags.checkpoint) : (flags.model ?? process.env.OPENAI_MODEL);
  if (what === undefined || flags.env === undefined) {
    if (flags.resume) throw new UserError('--resume needs --out DIR (or --model and --env, which name the default directory runs/eval-<model>-<env>)');
    return 'runs/eval'; // a flag is missing: the command's own checks name it
  }
  const env = /[\\/]/.test(flags.env) || /\.[cm]?[jt]s$/.test(flags.env) ? basename(flags.env, extname(flags.env)) : flags.env;
  const slug = (x: string): string => x.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'x';
  return `runs/eval-${slug(what)}-${slug(env)}`;
}

/** A checkpoint's name: its run directory's (runs/grpo/checkpoint -> grpo). */
function checkpointName(path: string): string {
  const abs = resolve(path);
  return basename(abs) === RUN_FILES.checkpoint ? basename(resolve(abs, '..')) : basename(abs);
}

/** Whether `dir` holds an earlier evaluation of a checkpoint (cheap to redo; an endpoint's is not). */
function holdsCheckpointEval(dir: string): boolean {
  if (!RunDir.isRun(dir)) return false;
  const run = RunDir.open(dir);
  return run.kind === 'eval' && typeof run.config().checkpoint === 'string';
}

export interface EvalFlags {
  checkpoint: string;
  env: string;
  n: number;
  k: number;
  difficulty?: number[];
  temperature: number;
  maxTokens?: number;
  out: string;
  replaceOwn?: boolean; // --out was not given: an earlier checkpoint evaluation there is replaced
  force?: boolean;
  seed: number;
  json?: boolean;
}

/** The difficulties an RL run trained the checkpoint in `dir` on, when that run was on the environment `source`; else null. */
function trainedLevels(dir: string, source: string): number[] | null {
  const runDir = resolve(dir, '..');
  if (!RunDir.isRun(runDir)) return null;
  const run = RunDir.open(runDir);
  if (run.kind !== 'rl') return null;
  const cfg = run.config<Partial<RLRunConfig>>();
  return cfg.env === source && Array.isArray(cfg.rl?.difficulties) ? cfg.rl.difficulties : null;
}

export async function runEval(flags: EvalFlags): Promise<void> {
  await initBackend();
  const { env, source } = await rolloutEnv(flags.env);
  const lm = loadLM(flags.checkpoint);
  const policy = new LocalPolicy(lm.model, lm.tokenizer, { name: lm.dir, format: 'chat', warn: (m) => process.stderr.write(`warning: ${m}\n`) });
  const rl = resolveForEnv({ ...RL_DEFAULTS, difficulties: flags.difficulty ?? [], maxTokens: flags.maxTokens ?? 0 }, env, lm.tokenizer, policy.contextLength, source);
  const config = { checkpoint: lm.dir, env: source, n: flags.n, k: flags.k, difficulties: rl.difficulties, maxTokens: rl.maxTokens, temperature: flags.temperature, seed: flags.seed };
  if (!flags.difficulty) {
    const trained = trainedLevels(lm.dir, source);
    if (trained && trained.join() !== rl.difficulties.join()) {
      process.stderr.write(`note: this checkpoint was trained by RL on difficulty ${trained.join(',')} of this environment; evaluating every level (${rl.difficulties.join(',')}); --difficulty ${trained.join(',')} measures its training distribution\n`);
    }
  }
  const run = RunDir.start(flags.out, 'eval', config, { force: flags.force || (flags.replaceOwn && holdsCheckpointEval(flags.out)) });
  const res = await evaluate(env, policy, heldoutTasks(flags.n, rl.difficulties), { maxTokens: rl.maxTokens, k: flags.k, temperature: flags.temperature, seed: flags.seed, afterMistake: true });
  const store = new RolloutStore(run.path(RUN_FILES.rollouts));
  try {
    store.insert([...res.greedy, ...res.sampled].map((t, i) => ({
      step: 0, phase: 'eval' as const, env: t.env, seed: t.seed, difficulty: t.difficulty, hard: t.hard, group: t.group, prompt: t.prompt, completion: t.completion,
      messages: t.messages, reward: t.reward, ok: t.ok, reason: t.reason, finish: t.finish, turns: t.turns, promptTokens: t.promptTokens,
      completionTokens: t.actionTokens, tokens: t.tokens, actionMask: t.mask, logprobs: t.logprobs,
      sampling: i < res.greedy.length ? { temperature: 0, max_tokens: rl.maxTokens } : { temperature: flags.temperature, max_tokens: rl.maxTokens, seed: flags.seed + 1 },
    })));
  } finally {
    store.close();
  }
  const summary = evalSummary(res, config);
  run.writeJson(RUN_FILES.summary, summary);
  if (flags.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else process.stdout.write(formatEval(summary) + `rollouts and summary: ${flags.out}\n`);
}

export function evalSummary(res: EvalResult, config: object): {
  accuracy: { overall: number | null; easy: number | null; hard: number | null; by_difficulty: Record<string, number> };
  sampled: { overall: number | null; easy: number | null; hard: number | null } | null;
  pass_at_k: Record<string, number | null>; n: number; reasons: Record<string, number>; mean_reward: number; episodes?: EpisodeEval; config: object;
} {
  const a = res.accuracy, s = res.sampledAccuracy;
  return {
    accuracy: { overall: a.overall, easy: a.easy, hard: a.hard, by_difficulty: a.byDifficulty },
    sampled: s ? { overall: s.overall, easy: s.easy, hard: s.hard } : null,
    pass_at_k: res.passAtK, n: res.n, reasons: res.reasons, mean_reward: res.meanReward, ...(res.episodes ? { episodes: res.episodes } : {}), config,
  };
}

function formatEval(s: ReturnType<typeof evalSummary>): string {
  const pct = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const lines = [
    `tasks: ${s.n}`,
    `greedy accuracy: ${pct(s.accuracy.overall)} (easy ${pct(s.accuracy.easy)}, hard ${pct(s.accuracy.hard)})`,
    `by difficulty: ${Object.entries(s.accuracy.by_difficulty).map(([d, v]) => `${d}: ${pct(v)}`).join(', ')}`,
  ];
  if (s.sampled) lines.push(`sampled accuracy: ${pct(s.sampled.overall)} (easy ${pct(s.sampled.easy)}, hard ${pct(s.sampled.hard)})`);
  if (Object.keys(s.pass_at_k).length) lines.push(`pass@k: ${Object.entries(s.pass_at_k).map(([k, v]) => `@${k} ${pct(v)}`).join(', ')}`);
  lines.push(`reasons (greedy): ${Object.entries(s.reasons).map(([r, n]) => `${r} ${n}`).join(', ')}`);
  const e = s.episodes;
  if (e) {
    const rec = (x: EpisodeStats): string => `recovered after a wrong first attempt ${pct(x.recovery)} of ${x.missedFirst}`;
    const line = (label: string, x: EpisodeStats): string => `episodes (${label}): first attempt right ${pct(x.firstAttempt)}; ${rec(x)}; mean reward ${x.meanReward?.toFixed(3)}`;
    lines.push(line('greedy', e.greedy));
    if (e.sampled) lines.push(line('sampled', e.sampled));
    if (e.afterMistake) lines.push(`episodes after the teacher's mistake (greedy): ${rec(e.afterMistake)} (hard ${pct(e.afterMistake.hardRecovery)} of ${e.afterMistake.hardMissedFirst})`);
  }
  return lines.join('\n') + '\n';
}
