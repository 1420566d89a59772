/**
 * The RL loop every algorithm runs in (GRPO, RLOO, PPO, expert iteration:
 * each a file whose `step` is one iteration of its paper's pseudo-code):
 *
 *   held-out set <- evalTasks tasks from seeds training never draws
 *   if new: evaluate(held-out); pre-flight (pass@G on training tasks: is there anything to learn?)
 *   for step in [start, steps):
 *     out     <- algorithm.step(policy, fresh training tasks, this step's sampling seed)
 *     costs   += samples, tokens sampled / trained, sampling / training FLOPs
 *     store the rollouts; log metrics (reward, zero-variance groups, truncation, verifier errors, entropy, KL, ...)
 *     every evalEvery: evaluate(held-out)    every checkpointEvery, at the end, on Ctrl-C: checkpoint
 *
 * Exact resume, even after kill -9 at any moment: a checkpoint holds the
 * weights, AdamW moments, the task-draw rng and cursor, the cost counters
 * and (with KL) the frozen reference; every sampling seed derives from
 * (seed, step). Resuming deletes the rollouts and metrics of steps after
 * the checkpoint and replays them bit for bit.
 */
import { Rng, type RngState } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { yieldNow } from '../util/async.ts';
import { AdamW, cosineSchedule } from '../nn/optim.ts';
import type { SafeTensor } from '../nn/safetensors.ts';
import type { RunDir } from '../runs/run_dir.ts';
import type { RolloutRow, RolloutStore } from '../runs/rollouts.ts';
import type { SamplingParams, TrainablePolicy } from '../policy/types.ts';
import { accuracyOf, asEpisodes, evaluate, heldoutTasks, type Accuracy, type EpisodeEval, type EvalResult } from './evaluate.ts';
import { HELDOUT_SEED_BASE, type RLConfig } from './rl_config.ts';
import { rollout, type RolloutEnv, type TaskRef, type Trajectory } from './rollout.ts';

/** What an algorithm's step is given. */
export interface StepContext {
  step: number; // 0-based iteration
  config: RLConfig;
  env: RolloutEnv;
  policy: TrainablePolicy;
  ref: TrainablePolicy | null; // the frozen initial policy (klCoef > 0)
  opt: AdamW;
  lr: number; // this iteration's learning rate
  sampling: SamplingParams; // this iteration's rollout sampling (seed derived from the step)
  drawTasks(n: number): TaskRef[]; // fresh training tasks (never held-out ones)
}

/** What it returns. */
export interface StepOutput {
  trajectories: Trajectory[]; // everything sampled this iteration
  advantages: (number | null)[]; // per trajectory, what the update used (null: not trained on)
  trainTokens: number; // tokens through forward + backward (B x T per update, summed)
  trainFlops: number; // FLOPs of those passes
  stats: Record<string, number>; // loss, kl, clipFrac, entropy, gradNorm, and the algorithm's own
}

export interface RLAlgorithm {
  readonly name: string;
  step(ctx: StepContext): Promise<StepOutput>;
}

/** Cost counters, for curves against samples, tokens and FLOPs. */
export interface Costs {
  samples: number; // training completions drawn and verified
  tokensSampled: number; // action tokens sampled for training
  tokensTrained: number; // tokens through the training forward and backward passes
  sampleFlops: number; // FLOPs of sampling training rollouts (prefill + decode)
  trainFlops: number; // FLOPs of the updates
  evalSamples: number; // completions drawn for held-out evaluation (not in the budget above)
}

export interface RLState {
  step: number;
  seedCursor: number; // next training task seed
  optStep: number;
  costs: Costs;
}

export interface EvalPoint extends Costs {
  step: number;
  accuracy: Accuracy;
  meanReward: number;
  recovery: number | null; // multi-turn: share of greedy episodes recovered after a wrong first attempt
  episodes?: EpisodeEval | null; // multi-turn: first attempt, recovery, reward (greedy; sampled at the first and last evaluation; after the teacher's mistake)
}

export interface RLRun {
  run: RunDir;
  env: RolloutEnv;
  policy: TrainablePolicy;
  ref: TrainablePolicy | null;
  algorithm: RLAlgorithm;
  config: RLConfig; // maxTokens and difficulties resolved
  store: RolloutStore;
  resume: boolean;
  force?: boolean; // go on even when the pre-flight check says there is nothing to learn
  checkpointConfig: object; // config.json of the checkpoints (model, format, ...)
  shouldStop?: () => boolean;
  onStep?: (info: { step: number; steps: number; metrics: Record<string, unknown> }) => void;
  onEvent?: (message: string) => void;
  onWarning?: (message: string) => void;
}

export interface RLResult {
  steps: number;
  interrupted: boolean;
  curve: EvalPoint[]; // held-out accuracy over the run
  final: EvalResult | null; // the last held-out evaluation of this session
  costs: Costs;
  checkpoint: string;
  preflight: { passAtG: number; accuracy: number } | null;
}

/** Thresholds of the warnings shown during a run. */
const WARN = { truncated: 0.5, zeroVariance: 0.9, verifierErrors: 0.05 };

export async function trainRL(r: RLRun): Promise<RLResult> {
  const cfg = r.config;
  const { policy } = r;
  // the CLI fills these from the environment (resolveForEnv); a library caller sets them
  if (!(cfg.maxTokens >= 1)) throw new UserError(`config.maxTokens must be at least 1 (new tokens a reply may take), got ${cfg.maxTokens}`);
  if (!cfg.difficulties.length) throw new UserError('config.difficulties is empty: give the difficulty levels to train (and evaluate) on');
  const opt = new AdamW(policy.params(), { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });
  const taskRng = new Rng(`tasks:${cfg.seed}`);
  let state: RLState = { step: 0, seedCursor: 0, optStep: 0, costs: { samples: 0, tokensSampled: 0, tokensTrained: 0, sampleFlops: 0, trainFlops: 0, evalSamples: 0 } };
  const heldout = heldoutTasks(cfg.evalTasks, cfg.difficulties);
  const heldoutPrompts = new Set(heldout.map((t) => promptOf(r.env, t)));

  let preflight: RLResult['preflight'] = null;
  if (r.resume) {
    const ck = r.run.loadCheckpoint();
    restore(r, opt, ck, taskRng, (s) => (state = s));
    r.run.truncateMetrics(state.step);
    const dropped = r.store.deleteAfter(state.step);
    r.onEvent?.(`resumed from ${r.run.checkpointDir} at step ${state.step}${dropped ? ` (replaying ${dropped} rollouts of later steps)` : ''}`);
  }

  /** Fresh training tasks: sequential seeds below the held-out range, difficulties drawn uniformly, held-out prompts skipped. */
  let skipped = 0;
  const drawTasks = (n: number): TaskRef[] => {
    const out: TaskRef[] = [];
    let inARow = 0;
    while (out.length < n) {
      const ref = { seed: state.seedCursor++, difficulty: taskRng.pick(cfg.difficulties) };
      if (ref.seed >= HELDOUT_SEED_BASE) throw new Error('trainRL: training seeds reached the held-out range');
      if (heldoutPrompts.has(promptOf(r.env, ref))) {
        skipped++;
        if (++inARow >= 1000) {
          throw new UserError(`${r.env.family.id}: 1000 training tasks in a row had a held-out prompt: the task space is too small to keep ${cfg.evalTasks} held-out tasks apart; lower --eval-tasks or raise the difficulty`);
        }
        continue;
      }
      inARow = 0;
      out.push(ref);
    }
    return out;
  };

  const curve: EvalPoint[] = r.run.readMetrics().filter((m) => m.eval).map((m) => m.eval as EvalPoint);
  let final: EvalResult | null = null;
  /** Greedy on the held-out set; multi-turn: also after the teacher's mistake, and (first and last) sampled. */
  const runEval = async (endpoint: boolean): Promise<void> => {
    const multi = r.env.kind === 'multiturn', k = multi && endpoint ? (cfg.evalSamples ?? 0) : 0;
    final = await evaluate(r.env, policy, heldout, { maxTokens: cfg.maxTokens, k, temperature: cfg.temperature, seed: cfg.seed + 7, verifyTimeoutMs: cfg.verifyTimeoutMs, afterMistake: multi });
    state.costs.evalSamples += final.n * (1 + k + (final.episodes?.afterMistake ? 1 : 0));
    const point: EvalPoint = { step: state.step, ...state.costs, accuracy: final.accuracy, meanReward: final.meanReward, recovery: recoveryRate(final.greedy), episodes: final.episodes };
    curve.push(point);
    r.run.appendMetrics({ step: state.step, eval: point });
    r.onEvent?.(evalLine(point));
    r.store.insert(rows(final.greedy, state.step, 'eval', null, { temperature: 0, max_tokens: cfg.maxTokens }));
  };

  if (!r.resume) {
    await runEval(true);
    preflight = await preflightCheck(r, drawTasks, state);
  }

  let interrupted = false;
  const warned = new Set<string>();
  const flops = policy.flops();
  const sampleFlops = (t: Trajectory): number => flops.sampleSequence(t.promptTokens, t.tokens.length - t.promptTokens); // multi-turn: a lower bound (each turn prefills again)
  while (state.step < cfg.steps) {
    const t0 = performance.now();
    const lr = cfg.lrSchedule === 'cosine' // runs saved before lrSchedule existed have none: constant
      ? cosineSchedule(state.step, { lr: cfg.lr, warmup: cfg.warmup, totalSteps: cfg.steps })
      : cfg.lr * Math.min(1, (state.step + 1) / Math.max(1, cfg.warmup));
    const sampling: SamplingParams = { maxTokens: cfg.maxTokens, temperature: cfg.temperature, topP: cfg.topP, seed: cfg.seed * 1_000_003 + state.step };
    const out = await r.algorithm.step({ step: state.step, config: cfg, env: r.env, policy, ref: r.ref, opt, lr, sampling, drawTasks });

    const trajs = out.trajectories, c = state.costs;
    c.samples += trajs.length;
    c.tokensSampled += trajs.reduce((a, t) => a + t.actionTokens, 0);
    c.sampleFlops += trajs.reduce((a, t) => a + sampleFlops(t), 0);
    c.tokensTrained += out.trainTokens;
    c.trainFlops += out.trainFlops;
    state.step++;
    state.optStep = opt.step;
    r.store.insert(rows(trajs, state.step, 'train', out.advantages, { temperature: cfg.temperature, top_p: cfg.topP, max_tokens: cfg.maxTokens, seed: sampling.seed }));
    const metrics = { step: state.step, ...stepMetrics(trajs, cfg.group), ...out.stats, lr, ...c, seconds: (performance.now() - t0) / 1000 };
    r.run.appendMetrics(metrics);
    warnings(r, metrics, warned);

    await yieldNow(); // a Ctrl-C arrives here
    interrupted = r.shouldStop?.() ?? false;
    const last = state.step === cfg.steps || interrupted;
    if ((cfg.evalEvery > 0 && state.step % cfg.evalEvery === 0) || last) await runEval(last);
    r.onStep?.({ step: state.step, steps: cfg.steps, metrics: { ...metrics, heldout: curve.at(-1)?.accuracy.overall } });
    if ((cfg.checkpointEvery > 0 && state.step % cfg.checkpointEvery === 0) || last) {
      save(r, opt, taskRng, state);
      if (last) r.onEvent?.(`checkpoint saved: ${r.run.checkpointDir} (step ${state.step})`); // routine saves go unannounced
    }
    if (interrupted) break;
  }
  if (skipped > 0) r.onEvent?.(`skipped ${skipped} training tasks whose prompt is in the held-out set`);
  return { steps: state.step, interrupted: interrupted && state.step < cfg.steps, curve, final, costs: state.costs, checkpoint: r.run.checkpointDir, preflight };
}

// ---------------------------------------------------------------- pre-flight

/**
 * Samples the policy on training tasks before RL starts. With pass@G near 0
 * there is nothing to reinforce (every group's rewards are equal); near 1
 * there is nothing to learn. Either is a UserError unless forced.
 */
async function preflightCheck(r: RLRun, drawTasks: (n: number) => TaskRef[], state: RLState): Promise<{ passAtG: number; accuracy: number }> {
  const cfg = r.config;
  const tasks = drawTasks(Math.min(32, cfg.prompts * 2));
  const trajs = await rollout(r.env, r.policy, tasks, {
    group: cfg.group, sampling: { maxTokens: cfg.maxTokens, temperature: cfg.temperature, topP: cfg.topP, seed: cfg.seed * 1_000_003 - 1 }, verifyTimeoutMs: cfg.verifyTimeoutMs,
  });
  state.costs.evalSamples += trajs.length;
  r.store.insert(rows(trajs, 0, 'preflight', null, { temperature: cfg.temperature, max_tokens: cfg.maxTokens }));
  let solved = 0;
  for (let g = 0; g < tasks.length; g++) if (trajs.slice(g * cfg.group, (g + 1) * cfg.group).some((t) => t.ok)) solved++;
  const passAtG = solved / tasks.length, accuracy = trajs.filter((t) => t.ok).length / trajs.length;
  const truncated = trajs.filter((t) => t.finish === 'length').length / trajs.length;
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  r.onEvent?.(`pre-flight: on ${tasks.length} training tasks, ${pct(accuracy)} of samples verify, pass@${cfg.group} ${pct(passAtG)}, ${pct(truncated)} truncated`);
  const say = (msg: string): void => {
    if (!r.force) throw new UserError(`${msg} (pass --force to train anyway)`);
    r.onWarning?.(msg);
  };
  if (passAtG < 0.05) {
    const why = truncated > 0.5 ? `; ${pct(truncated)} of completions hit --max-tokens ${cfg.maxTokens}: raise it` : '';
    say(`pre-flight: the policy solves almost no training task (pass@${cfg.group} = ${pct(passAtG)}): there is nothing to reinforce${why}. Lower the difficulty, train the policy more with SFT first, or raise --group`);
  } else if (accuracy > 0.98) {
    say(`pre-flight: the policy already solves ${pct(accuracy)} of training samples: there is nothing to learn. Raise the difficulty or choose another environment`);
  }
  return { passAtG, accuracy };
}

// ---------------------------------------------------------------- metrics and warnings

/** One line for the terminal: a held-out evaluation, and what it cost to get there. */
function evalLine(p: EvalPoint): string {
  const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
  const parts = [p.accuracy.easy !== null && p.accuracy.hard !== null ? `easy ${pct(p.accuracy.easy)}, hard ${pct(p.accuracy.hard)}` : '', p.recovery !== null ? `recovered ${pct(p.recovery)} of first misses` : ''].filter(Boolean);
  return `held-out at step ${p.step}: ${pct(p.accuracy.overall)}${parts.length ? ` (${parts.join('; ')})` : ''} after ${p.samples.toLocaleString('en-US')} samples`;
}

/** Multi-turn: the share of episodes that ended right after a wrong (or unparsed) first attempt; null when none missed first (or single turn). */
export function recoveryRate(trajs: readonly Trajectory[]): number | null {
  const episodes = trajs.filter((t) => t.messages !== null);
  return episodes.length ? asEpisodes(episodes).recovery : null;
}

/** What one iteration's rollouts say. */
export function stepMetrics(trajs: readonly Trajectory[], G: number): Record<string, number> {
  const n = Math.max(1, trajs.length);
  let zeroVar = 0, allWrong = 0, groups = 0;
  for (let i = 0; i + G <= trajs.length; i += G) {
    groups++;
    const rs = trajs.slice(i, i + G).map((t) => t.reward);
    if (rs.every((x) => x === rs[0])) zeroVar++;
    if (rs.every((x) => x === 0)) allWrong++;
  }
  const reasons = trajs.map((t) => t.reason);
  const acc = accuracyOf(trajs);
  return {
    drawn: trajs.length,
    reward: trajs.reduce((a, t) => a + t.reward, 0) / n,
    accuracy: acc.overall ?? 0,
    hardAccuracy: acc.hard ?? NaN,
    zeroVarianceGroups: groups ? zeroVar / groups : 0,
    allWrongGroups: groups ? allWrong / groups : 0,
    truncated: trajs.filter((t) => t.finish === 'length').length / n,
    verifierErrors: reasons.filter((x) => x === 'verifier_error' || x === 'verifier_timeout').length / n,
    responseLength: trajs.reduce((a, t) => a + t.actionTokens, 0) / n,
    recovered: recoveryRate(trajs) ?? NaN,
  };
}

/** Warns (once each per session) when a share crosses its threshold. */
function warnings(r: RLRun, m: Record<string, number>, seen: Set<string>): void {
  const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
  const once = (key: string, msg: string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    r.onWarning?.(msg);
  };
  if (m.truncated > WARN.truncated) once('truncated', `${pct(m.truncated)} of completions were cut off at --max-tokens ${r.config.maxTokens}${m.truncated === 1 ? ': every reward is 0' : ''}; raise --max-tokens`);
  if (m.allWrongGroups > WARN.zeroVariance) once('allwrong', `${pct(m.allWrongGroups)} of groups have no correct sample: no learning signal; lower the difficulty, train more with SFT first, or raise --group`);
  else if (m.zeroVarianceGroups > WARN.zeroVariance && m.reward < 0.9) once('zerovar', `${pct(m.zeroVarianceGroups)} of groups have the same reward for every sample: little learning signal; raise --group or --temperature`);
  if (m.verifierErrors > WARN.verifierErrors) once('verifier', `${pct(m.verifierErrors)} of verifications failed (verifier_error / verifier_timeout): check the environment's verify`);
}

// ---------------------------------------------------------------- rows, checkpoints

function rows(trajs: readonly Trajectory[], step: number, phase: RolloutRow['phase'], adv: readonly (number | null)[] | null, sampling: object): RolloutRow[] {
  return trajs.map((t, i) => ({
    step, phase, env: t.env, seed: t.seed, difficulty: t.difficulty, hard: t.hard, group: t.group, prompt: t.prompt, completion: t.completion,
    messages: t.messages, reward: t.reward, ok: t.ok, reason: t.reason, advantage: adv?.[i] ?? null, finish: t.finish, turns: t.turns,
    promptTokens: t.promptTokens, completionTokens: t.actionTokens, tokens: t.tokens, actionMask: t.mask, logprobs: t.logprobs, sampling,
  }));
}

function promptOf(env: RolloutEnv, t: TaskRef): string {
  return env.kind === 'task' ? env.family.generate(t.seed, t.difficulty).prompt : env.family.create().reset(t.seed, t.difficulty);
}

function save(r: RLRun, opt: AdamW, taskRng: Rng, state: RLState): void {
  const params = new Map(r.policy.params().map(([n, p]) => [n, { shape: [...p.shape], data: p.data }]));
  const extra = r.ref ? new Map<string, SafeTensor>(r.ref.params().map(([n, p]) => [`ref.${n}`, { dtype: 'F32', shape: [...p.shape], data: p.data }])) : undefined;
  r.run.saveCheckpoint({
    params, optimizer: { m: opt.m, v: opt.v }, config: r.checkpointConfig, tokenizer: r.policy.tokenizer.toJSON(),
    rng: { tasks: taskRng.getState() }, state: { ...state }, extra,
  });
}

function restore(r: RLRun, opt: AdamW, ck: ReturnType<RunDir['loadCheckpoint']>, taskRng: Rng, set: (s: RLState) => void): void {
  const where = r.run.checkpointDir;
  for (const [n, p] of r.policy.params()) {
    const saved = ck.params.get(n);
    if (!saved || saved.data.length !== p.data.length) throw new UserError(`${where}: parameter ${n} is missing or has another shape; this checkpoint is not of this run's model`);
    p.data.set(saved.data);
  }
  if (!ck.optimizer) throw new UserError(`${where}: no optimizer state; this checkpoint cannot resume an RL run`);
  for (const [n] of opt.params) (opt.m.get(n)!.set(ck.optimizer.m.get(n)!), opt.v.get(n)!.set(ck.optimizer.v.get(n)!));
  if (r.ref) {
    for (const [n, p] of r.ref.params()) {
      const saved = ck.extra?.get(`ref.${n}`);
      if (!saved) throw new UserError(`${where}: the frozen reference model (ref.${n}) is missing`);
      p.data.set(saved.data as Float32Array);
    }
  }
  const st = ck.state as RLState | undefined;
  if (!st || !Number.isInteger(st.step) || !st.costs) throw new UserError(`${where}/state.json: not the state of an RL run`);
  opt.step = st.optStep;
  taskRng.setState((ck.rng as { tasks: RngState }).tasks);
  set(structuredClone(st));
}
