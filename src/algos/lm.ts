/**
 * Next-token training, shared by pretraining (self-supervised, a corpus) and
 * SFT (imitation, prompt/completion pairs): they differ only in the data
 * source. The loop, top to bottom:
 *
 *   for step in [start, steps):
 *     batch   <- data.trainBatch(B, T, rng)           (seeded; rng is checkpointed)
 *     loss    <- mean cross-entropy of model(batch)    (masked to loss tokens)
 *     grads   <- backward(loss); clip to gradClip
 *     params  <- AdamW(lr = warmup+cosine(step))
 *     every evalEvery: held-out loss; every checkpointEvery: save
 *
 * A run directory holds config.json (resolved config), metrics.jsonl (one
 * line per logged step) and checkpoint/ (the latest, saved atomically).
 * Resuming restores model, optimizer moments, step and the data rng, so
 * training 2N steps equals N steps + resume + N steps, bit for bit.
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, type RngState } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { backward, noGrad } from '../tensor/tensor.ts';
import { withPool } from '../tensor/pool.ts';
import { GPT, validateGPTConfig, type GPTConfig } from '../models/gpt.ts';
import { tokenizerFromJSON, type Tokenizer } from '../models/tokenizer.ts';
import { AdamW, clipGradNorm, cosineSchedule } from '../nn/optim.ts';
import { loadCheckpoint, saveCheckpoint, validateAgainst, type Checkpoint } from '../nn/checkpoint.ts';
import type { Batch, DataSource } from './lm_data.ts';

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

export interface StepInfo {
  step: number; // steps completed
  steps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number; // loss-bearing tokens so far
  tokensPerSec: number; // input tokens per second over this session
  valLoss?: number; // set on evaluation steps
}

export interface LMRun {
  kind: 'pretrain' | 'sft';
  outDir: string; // run directory
  model: GPTConfig;
  train: TrainConfig;
  tokenizer: Tokenizer;
  data: DataSource;
  resume: boolean; // continue from outDir/checkpoint
  overwrite?: boolean; // start fresh even if outDir already holds a run (its checkpoint and metrics are replaced)
  until?: number; // stop (and checkpoint) after this step; the lr schedule still spans train.steps
  shouldStop?: () => boolean; // polled every step (e.g. Ctrl-C): checkpoint and return early
  initFrom?: string; // start from another checkpoint's weights (e.g. SFT on a pretrained model)
  onStep?: (info: StepInfo) => void; // progress (the CLI draws a bar)
  onEvent?: (message: string) => void; // one-line notes (resumed, checkpoint saved)
}

export interface LMResult {
  model: GPT;
  tokenizer: Tokenizer;
  steps: number;
  finalLoss: number;
  valLoss: number | null;
  firstLoss: number | null; // loss of the first step of this session
  tokens: number;
  checkpoint: string;
}

interface TrainState {
  step: number;
  tokens: number;
  lastLoss: number;
}

export function checkpointDir(outDir: string): string {
  return join(outDir, 'checkpoint');
}

/** Trains a GPT on next-token loss; see the file header for the loop. */
export function trainLM(run: LMRun): LMResult {
  const cfg = run.train, T = run.model.blockSize, ckDir = checkpointDir(run.outDir);
  const model = new GPT(run.model, cfg.seed);
  let tokenizer = run.tokenizer;
  const rng = new Rng(`data:${cfg.seed}`);
  let state: TrainState = { step: 0, tokens: 0, lastLoss: NaN };
  const opt = new AdamW(model.params(), { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });

  if (!run.resume && !run.overwrite && existsSync(ckDir)) {
    throw new UserError(`${run.outDir} already holds a run (${ckDir}); continue it with --resume, or start over with --force, or choose another --out`);
  }
  if (run.resume) {
    if (!existsSync(ckDir)) throw new UserError(`--resume: no checkpoint in ${ckDir}`);
    const ck = loadCheckpoint(ckDir);
    const saved = ck.config as { model: GPTConfig; train: TrainConfig };
    for (const k of Object.keys(run.model) as (keyof GPTConfig)[]) {
      if (saved.model?.[k] !== run.model[k]) throw new UserError(`${ckDir}/config.json: model.${k} is ${JSON.stringify(saved.model?.[k])}, but this run asks for ${JSON.stringify(run.model[k])}`);
    }
    loadWeights(model, ck, ckDir);
    if (ck.optimizer) for (const [n] of model.params()) {
      opt.m.get(n)!.set(ck.optimizer.m.get(n)!);
      opt.v.get(n)!.set(ck.optimizer.v.get(n)!);
    }
    const st = ck.state as TrainState & { optStep: number };
    opt.step = st.optStep;
    state = { step: st.step, tokens: st.tokens, lastLoss: st.lastLoss };
    rng.setState((ck.rng as { data: RngState }).data);
    tokenizer = tokenizerFromJSON(ck.tokenizer, `${ckDir}/tokenizer.json`);
    run.onEvent?.(`resumed from ${ckDir} at step ${state.step}`);
  } else if (run.initFrom) {
    loadWeights(model, loadCheckpoint(run.initFrom), run.initFrom);
    run.onEvent?.(`initialized weights from ${run.initFrom}`);
  }

  mkdirSync(run.outDir, { recursive: true });
  writeFileSync(join(run.outDir, 'config.json'), JSON.stringify({ kind: run.kind, model: run.model, train: cfg, data: run.data.describe() }, null, 2) + '\n');
  const metricsFile = join(run.outDir, 'metrics.jsonl');
  if (!run.resume) writeFileSync(metricsFile, ''); // a fresh run starts a fresh log
  const valBatches = run.data.valBatches(Math.min(cfg.batchSize, 32), T, cfg.evalBatches);
  const evaluate = (): number | null => (valBatches.length ? withPool(() => noGrad(() => {
    let s = 0;
    for (const b of valBatches) s += model.loss(b.ids, b.targets, b.B, b.T).item();
    return s / valBatches.length;
  })) : null);

  const save = (): void => {
    saveCheckpoint(ckDir, {
      params: new Map(model.params().map(([n, p]) => [n, { shape: [...p.shape], data: p.data }])),
      optimizer: { m: opt.m, v: opt.v },
      config: { kind: run.kind, model: run.model, train: cfg },
      tokenizer: tokenizer.toJSON(),
      rng: { data: rng.getState() },
      state: { ...state, optStep: opt.step },
    });
  };

  const t0 = performance.now();
  let sessionTokens = 0, firstLoss: number | null = null, valLoss: number | null = null;
  const stopAt = Math.min(cfg.steps, run.until ?? cfg.steps);
  while (state.step < stopAt) {
    const batch = run.data.trainBatch(cfg.batchSize, T, rng);
    const lr = cosineSchedule(state.step, { lr: cfg.lr, minLr: cfg.minLr, warmup: cfg.warmup, totalSteps: cfg.steps });
    const { loss: lossValue, gradNorm } = trainStep(model, opt, batch, lr, cfg.gradClip);

    state.step++;
    state.tokens += batch.tokens;
    state.lastLoss = lossValue;
    firstLoss ??= state.lastLoss;
    sessionTokens += batch.B * batch.T;
    const info: StepInfo = {
      step: state.step, steps: cfg.steps, loss: state.lastLoss, lr, gradNorm, tokens: state.tokens,
      tokensPerSec: sessionTokens / ((performance.now() - t0) / 1000),
    };
    const interrupted = run.shouldStop?.() ?? false;
    const last = state.step === stopAt || interrupted;
    if ((cfg.evalEvery > 0 && state.step % cfg.evalEvery === 0) || last) {
      valLoss = evaluate();
      if (valLoss !== null) info.valLoss = valLoss;
    }
    if (state.step % cfg.logEvery === 0 || info.valLoss !== undefined || last) {
      appendFileSync(metricsFile, JSON.stringify({ step: info.step, loss: info.loss, valLoss: info.valLoss, lr, gradNorm, tokens: info.tokens }) + '\n');
    }
    run.onStep?.(info);
    if ((cfg.checkpointEvery > 0 && state.step % cfg.checkpointEvery === 0) || last) {
      save();
      run.onEvent?.(`checkpoint saved: ${ckDir} (step ${state.step})`);
    }
    if (interrupted) break;
  }
  if (firstLoss === null) valLoss = evaluate(); // resumed a finished run: nothing trained, still report
  return { model, tokenizer, steps: state.step, finalLoss: state.lastLoss, valLoss, firstLoss, tokens: state.tokens, checkpoint: ckDir };
}

/**
 * One optimizer step on a batch: loss, backward, clip, AdamW. Runs in a pooled
 * scope, so activations and gradients are recycled and only numbers escape.
 * gradNorm is the norm before clipping (NaN when gradClip is 0: not computed).
 */
export function trainStep(model: GPT, opt: AdamW, batch: Batch, lr: number, gradClip: number): { loss: number; gradNorm: number } {
  return withPool(() => {
    const loss = model.loss(batch.ids, batch.targets, batch.B, batch.T);
    backward(loss);
    const gradNorm = gradClip > 0 ? clipGradNorm(opt.params, gradClip) : NaN;
    opt.update(lr);
    opt.zeroGrad();
    return { loss: loss.item(), gradNorm };
  });
}

/** Loads a trained model and its tokenizer from a checkpoint directory (for sampling). */
export function loadModel(dir: string): { model: GPT; tokenizer: Tokenizer; config: { kind: string; model: GPTConfig; train: TrainConfig } } {
  const ck = loadCheckpoint(dir);
  const config = ck.config as { kind: string; model: GPTConfig; train: TrainConfig };
  if (!config?.model) throw new UserError(`${dir}/config.json: no "model" section`);
  let model: GPT;
  try {
    model = new GPT(validateGPTConfig(config.model, `${dir}/config.json: model`), 0);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  loadWeights(model, ck, dir);
  return { model, tokenizer: tokenizerFromJSON(ck.tokenizer, `${dir}/tokenizer.json`), config };
}

/** Copies a checkpoint's weights into a model, after checking every name and shape (a mismatch is a UserError naming `where`). */
function loadWeights(model: GPT, ck: Checkpoint, where: string): void {
  validateAgainst(ck, new Map(model.params().map(([n, p]) => [n, [...p.shape]])), where);
  for (const [n, p] of model.params()) p.data.set(ck.params.get(n)!.data);
}
