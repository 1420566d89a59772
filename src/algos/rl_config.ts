/**
 * The RL config every algorithm reads (each uses the fields it needs; the
 * algorithm files say which), with defaults. Kept apart from the loop so the
 * CLI can show defaults in --help without loading the numerical core.
 */

export const ALGOS = ['grpo', 'rloo', 'ppo', 'ei'] as const;
export type AlgoName = (typeof ALGOS)[number];

export const LR_SCHEDULES = ['constant', 'cosine'] as const;

export const GRPO_LOSSES = ['grpo', 'dr_grpo', 'dapo'] as const;
export type GrpoLoss = (typeof GRPO_LOSSES)[number];

export interface RLConfig {
  algo: AlgoName;
  steps: number; // RL iterations (each: draw tasks, roll out, update)
  prompts: number; // tasks per iteration (P)
  group: number; // completions per task (G)
  temperature: number; // sampling temperature of rollouts
  topP: number; // nucleus threshold of rollouts (1 = off)
  maxTokens: number; // new tokens per reply (0 = the environment's default: 1.5x its reference answers)
  difficulties: number[]; // training difficulties, drawn uniformly ([] = every level of the environment)
  lr: number; // peak AdamW learning rate (after warmup: see lrSchedule)
  warmup: number; // linear warmup iterations
  lrSchedule: 'constant' | 'cosine'; // after warmup: constant, or a cosine down to lr/10 at the last iteration (a calmer end point)
  weightDecay: number; // AdamW decoupled decay (matrices only)
  beta1: number;
  beta2: number;
  gradClip: number; // max global grad norm (0 = off)
  epochs: number; // passes over each iteration's rollouts (>1 reuses them: the clipped ratio matters)
  minibatches: number; // optimizer steps per pass
  loss: GrpoLoss; // grpo: per-sequence mean; dr_grpo: no length or std normalization; dapo: token mean, clip-higher, dynamic sampling
  clipLow: number; // PPO-clip epsilon below 1
  clipHigh: number; // epsilon above 1 (dapo default 0.28; otherwise = clipLow)
  klCoef: number; // KL penalty to the frozen initial policy (0 = none)
  maxDraws: number; // dapo: at most this many task batches per iteration to fill P informative groups
  gamma: number; // ppo: discount over tokens
  lambda: number; // ppo: GAE lambda
  vfCoef: number; // ppo: value-loss weight
  eiEpochs: number; // ei: passes of SFT over each iteration's accepted rollouts
  eiBatch: number; // ei: sequences per SFT step (a pass over n accepted rollouts is ceil(n / eiBatch) steps)
  evalEvery: number; // iterations between held-out evaluations (0 = only at the start and end)
  evalTasks: number; // held-out tasks (a fixed set from a seed range training never draws)
  evalSamples: number; // multi-turn: sampled episodes per held-out task at the first and last evaluation, for recovery on the policy's own distribution (0 = greedy only)
  checkpointEvery: number; // iterations between checkpoints (every run also saves at the end and on Ctrl-C)
  threshold: number; // held-out accuracy that defines sample efficiency (samples and FLOPs to reach it)
  verifyTimeoutMs: number; // a verification that takes longer gets reward 0, reason verifier_timeout
  rolloutCap: number; // training rollouts kept in rollouts.sqlite (oldest dropped past it; 0 = all)
  seed: number; // task order, sampling and init of new heads
}

export const RL_DEFAULTS: RLConfig = {
  algo: 'grpo', steps: 150, prompts: 16, group: 8, temperature: 1, topP: 1, maxTokens: 0, difficulties: [],
  lr: 3e-4, warmup: 20, lrSchedule: 'constant', weightDecay: 0, beta1: 0.9, beta2: 0.95, gradClip: 1,
  epochs: 1, minibatches: 1, loss: 'grpo', clipLow: 0.2, clipHigh: 0.2, klCoef: 0, maxDraws: 4,
  gamma: 1, lambda: 0.95, vfCoef: 0.5, eiEpochs: 1, eiBatch: 32,
  evalEvery: 10, evalTasks: 200, evalSamples: 4, checkpointEvery: 5, threshold: 0.8, verifyTimeoutMs: 10_000, rolloutCap: 0, seed: 0,
};

/** Held-out evaluation tasks use seeds from here up; training draws seeds below it (checked when drawing). */
export const HELDOUT_SEED_BASE = 1_000_000_000;
