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
 * The run directory (src/runs: config.json, metrics.jsonl, checkpoint/) is
 * made by the caller; this loop only appends metrics and saves checkpoints.
 * Resuming restores model, optimizer moments, step and the data rng, and
 * truncates metrics to the checkpoint's step, so training 2N steps equals N
 * steps + resume + N steps, bit for bit, even after kill -9.
 *
 * The loop is cooperative: it yields to the event loop after every step, so
 * Ctrl-C handlers (and servers sharing the process) run while it trains.
 */
import { Rng, type RngState } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { yieldNow } from '../util/async.ts';
import { backward, noGrad } from '../tensor/tensor.ts';
import { withPool } from '../tensor/pool.ts';
import { GPT, type GPTConfig } from '../models/gpt.ts';
import type { Tokenizer } from '../models/tokenizer.ts';
import { AdamW, clipGradNorm, cosineSchedule } from '../nn/optim.ts';
import { loadCheckpoint } from '../nn/checkpoint.ts';
import type { RunDir } from '../runs/run_dir.ts';
import { lmCheckpoint, loadOptimizer, loadWeights, readLMConfig, resolveModelDir } from '../runs/lm_checkpoint.ts';
import type { Batch, DataSource } from './lm_data.ts';
import type { TrainConfig } from './lm_config.ts';

export { PRETRAIN_DEFAULTS, SFT_DEFAULTS, TRAIN_DEFAULTS, type TrainConfig } from './lm_config.ts';

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
  run: RunDir; // where metrics and checkpoints go (config.json is the caller's: RunDir.start)
  model: GPTConfig;
  train: TrainConfig;
  tokenizer: Tokenizer;
  data: DataSource;
  resume?: boolean; // continue from the run's checkpoint
  init?: string; // start from another checkpoint's weights (SFT on a pretrained model); ignored on resume
  until?: number; // stop (and checkpoint) after this step; the lr schedule still spans train.steps
  shouldStop?: () => boolean; // polled every step (e.g. Ctrl-C): checkpoint and return early
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
  positions: number; // positions run forward and backward (B x T of every batch; SFT batches are as long as their longest example)
  checkpoint: string;
  interrupted: boolean; // stopped by shouldStop before train.steps
}

/** state.json of a next-token training checkpoint. */
export interface LMState {
  step: number; // optimizer steps taken
  tokens: number; // loss-bearing tokens seen
  positions: number; // positions run forward and backward
  lastLoss: number;
  optStep: number; // AdamW's step counter (bias correction)
}

/** Trains a GPT on next-token loss; see the file header for the loop. */
export async function trainLM(r: LMRun): Promise<LMResult> {
  const cfg = r.train, T = r.model.blockSize;
  const model = new GPT(r.model, cfg.seed);
  const rng = new Rng(`data:${cfg.seed}`);
  let state: LMState = { step: 0, tokens: 0, positions: 0, lastLoss: NaN, optStep: 0 };
  const opt = new AdamW(model.params(), { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });

  if (r.resume) {
    const ck = r.run.loadCheckpoint(), where = r.run.checkpointDir;
    const saved = readLMConfig(ck.config, `${where}/config.json`).model;
    for (const k of Object.keys(r.model) as (keyof GPTConfig)[]) {
      if (saved[k] !== r.model[k]) throw new UserError(`${where}/config.json: model.${k} is ${JSON.stringify(saved[k])}, but this run asks for ${JSON.stringify(r.model[k])}`);
    }
    if (JSON.stringify(ck.tokenizer) !== JSON.stringify(r.tokenizer.toJSON())) throw new UserError(`${where}/tokenizer.json: differs from the tokenizer this run was given`);
    loadWeights(model, ck, where);
    state = readState(ck.state, `${where}/state.json`, cfg.batchSize * T);
    loadOptimizer(opt, ck, state.optStep, where);
    rng.setState(readRng(ck.rng, `${where}/rng.json`).data);
    r.run.truncateMetrics(state.step);
    r.onEvent?.(`resumed from ${where} at step ${state.step}`);
  } else if (r.init) {
    const dir = resolveModelDir(r.init);
    loadWeights(model, loadCheckpoint(dir), dir);
    r.onEvent?.(`initialized weights from ${dir}`);
  }

  const valBatches = r.data.valBatches(Math.min(cfg.batchSize, 32), T, cfg.evalBatches);
  const evaluate = (): number | null => (valBatches.length ? withPool(() => noGrad(() => {
    let s = 0;
    for (const b of valBatches) s += model.loss(b.ids, b.targets, b.B, b.T).item();
    return s / valBatches.length;
  })) : null);
  const save = (): void => {
    const config = { kind: r.kind, model: r.model, format: r.kind === 'pretrain' ? 'text' : 'chat', train: cfg } as const;
    r.run.saveCheckpoint(lmCheckpoint(model, r.tokenizer, config, { opt, rng: { data: rng.getState() }, state: { ...state, optStep: opt.step } }));
  };

  const t0 = performance.now();
  const startPositions = state.positions; // this session's throughput counts from here
  let firstLoss: number | null = null, valLoss: number | null = null, interrupted = false;
  const stopAt = Math.min(cfg.steps, r.until ?? cfg.steps);
  while (state.step < stopAt) {
    const batch = r.data.trainBatch(cfg.batchSize, T, rng);
    const lr = cosineSchedule(state.step, { lr: cfg.lr, minLr: cfg.minLr, warmup: cfg.warmup, totalSteps: cfg.steps });
    const { loss, gradNorm } = trainStep(model, opt, batch, lr, cfg.gradClip);

    state = { step: state.step + 1, tokens: state.tokens + batch.tokens, positions: state.positions + batch.B * batch.T, lastLoss: loss, optStep: opt.step };
    firstLoss ??= loss;
    const info: StepInfo = {
      step: state.step, steps: cfg.steps, loss, lr, gradNorm, tokens: state.tokens,
      tokensPerSec: (state.positions - startPositions) / ((performance.now() - t0) / 1000),
    };
    await yieldNow(); // let a Ctrl-C arrive before deciding whether this is the last step
    interrupted = r.shouldStop?.() ?? false;
    const last = state.step === stopAt || interrupted;
    if ((cfg.evalEvery > 0 && state.step % cfg.evalEvery === 0) || last) {
      valLoss = evaluate();
      if (valLoss !== null) info.valLoss = valLoss;
    }
    if (state.step % cfg.logEvery === 0 || info.valLoss !== undefined || last) {
      r.run.appendMetrics({ step: info.step, loss: info.loss, valLoss: info.valLoss, lr, gradNorm, tokens: info.tokens });
    }
    r.onStep?.(info);
    if ((cfg.checkpointEvery > 0 && state.step % cfg.checkpointEvery === 0) || last) {
      save();
      if (last) r.onEvent?.(`checkpoint saved: ${r.run.checkpointDir} (step ${state.step})`); // routine saves go unannounced
    }
    if (interrupted) break;
  }
  if (firstLoss === null) valLoss = evaluate(); // resumed a finished run: nothing trained, still report
  return {
    model, tokenizer: r.tokenizer, steps: state.step, finalLoss: state.lastLoss, valLoss, firstLoss, tokens: state.tokens, positions: state.positions,
    checkpoint: r.run.checkpointDir, interrupted: interrupted && state.step < cfg.steps,
  };
}

/** state.json, checked; a checkpoint from before `positions` was kept ran every batch at full length, `perStep` positions a step. */
function readState(raw: unknown, where: string, perStep: number): LMState {
  const s = raw as Partial<LMState> | undefined;
  for (const k of ['step', 'tokens', 'optStep'] as const) {
    if (!Number.isInteger(s?.[k]) || s![k]! < 0) throw new UserError(`${where}: "${k}" must be a non-negative integer, got ${JSON.stringify(s?.[k])}`);
  }
  const positions = Number.isInteger(s!.positions) && s!.positions! >= 0 ? s!.positions! : s!.step! * perStep;
  return { step: s!.step!, tokens: s!.tokens!, positions, lastLoss: typeof s!.lastLoss === 'number' ? s!.lastLoss : NaN, optStep: s!.optStep! };
}

function readRng(raw: unknown, where: string): { data: RngState } {
  const data = (raw as { data?: RngState } | undefined)?.data;
  if (!data || !Array.isArray(data.s) || data.s.length !== 4) throw new UserError(`${where}: no "data" generator state`);
  return { data };
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

