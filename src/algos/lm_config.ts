/**
 * The next-token training config and its defaults, apart from the loop so
 * the CLI can show defaults in --help without loading the numerical core.
 */
export interface TrainConfig {
  steps: number; // total optimizer steps
  batchSize: number; // sequences per step (B)
  lr: number; // peak learning rate
  minLr: number; // floor of the cosine decay
  warmup: number; // linear warmup steps
  weightDecay: number; // AdamW decoupled decay (matrices only)
  beta1: number; // AdamW first moment
  beta2: number; // AdamW second moment
  gradClip: number; // max global grad norm (0 = off)
  evalEvery: number; // steps between held-out evaluations (0 = only at the end)
  evalBatches: number; // held-out batches per evaluation
  checkpointEvery: number; // steps between checkpoints (0 = only at the end)
  logEvery: number; // steps between metrics lines
  seed: number; // model init and data order
}

export const TRAIN_DEFAULTS: TrainConfig = {
  steps: 500, batchSize: 32, lr: 1e-3, minLr: 1e-4, warmup: 50, weightDecay: 0.1, beta1: 0.9, beta2: 0.95,
  gradClip: 1.0, evalEvery: 100, evalBatches: 8, checkpointEvery: 100, logEvery: 10, seed: 0,
};

/** The defaults of `flywheel pretrain` and `flywheel sft` where they differ from TRAIN_DEFAULTS. */
export const PRETRAIN_DEFAULTS: TrainConfig = { ...TRAIN_DEFAULTS, steps: 600, lr: 2e-3, minLr: 2e-4 };
export const SFT_DEFAULTS: TrainConfig = { ...TRAIN_DEFAULTS };
