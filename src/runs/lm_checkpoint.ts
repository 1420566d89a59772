/**
 * The GPT checkpoint schema: what config.json, tokenizer.json, rng.json and
 * state.json of a language-model checkpoint hold, with readers that check
 * them, and loading a model for inference from a checkpoint or a run
 * directory.
 *
 *   config.json   { kind, model: GPTConfig, format: 'chat' | 'text', train?: the run's training config }
 *   tokenizer.json  the tokenizer's toJSON()
 *   rng.json      { [stream]: RngState }   (training runs; e.g. { data } for next-token training)
 *   state.json    the algorithm's counters (training runs; e.g. { step, tokens, lastLoss, optStep })
 *
 * An inference checkpoint needs only model.safetensors, config.json and
 * tokenizer.json.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';
import type { RngState } from '../util/rng.ts';
import { GPT, validateGPTConfig, type GPTConfig } from '../models/gpt.ts';
import { tokenizerFromJSON, type Tokenizer } from '../models/tokenizer.ts';
import { validateAgainst, type Checkpoint } from '../nn/checkpoint.ts';
import type { AdamW } from '../nn/optim.ts';
import { loadCheckpoint } from '../nn/checkpoint.ts';
import type { PromptFormat } from '../policy/format.ts';
import { RUN_FILES, RunDir } from './run_dir.ts';

export type LMKind = 'pretrain' | 'sft' | 'rl';

/** config.json of a GPT checkpoint. */
export interface LMCheckpointConfig {
  kind: LMKind; // what made it
  model: GPTConfig;
  format: PromptFormat; // how to prompt it: 'text' for pretrained models, 'chat' after SFT / RL
  train?: object; // the training config of the run that saved it
}

export interface LoadedLM {
  model: GPT;
  tokenizer: Tokenizer;
  config: LMCheckpointConfig;
  dir: string; // the checkpoint directory it came from
}

/** The checkpoint to save for a model (optimizer, rng and state when training). */
export function lmCheckpoint(
  model: GPT, tokenizer: Tokenizer, config: LMCheckpointConfig,
  extra: { opt?: AdamW; rng?: Record<string, RngState>; state?: object } = {},
): Checkpoint {
  return {
    params: new Map(model.params().map(([n, p]) => [n, { shape: [...p.shape], data: p.data }])),
    optimizer: extra.opt ? { m: extra.opt.m, v: extra.opt.v } : null,
    config, tokenizer: tokenizer.toJSON(), rng: extra.rng, state: extra.state,
  };
}

/** A checkpoint directory, or a run directory holding one (its checkpoint/). */
export function resolveModelDir(path: string): string {
  if (RunDir.isRun(path) && !existsSync(join(path, 'checkpoint.json'))) return join(path, RUN_FILES.checkpoint);
  return path;
}

/** Checks config.json of a GPT checkpoint; older checkpoints without "format" get one from their kind. */
export function readLMConfig(raw: unknown, where: string): LMCheckpointConfig {
  const cfg = raw as Partial<LMCheckpointConfig>;
  if (!cfg || typeof cfg !== 'object' || !cfg.model) throw new UserError(`${where}: no "model" section (not a GPT checkpoint)`);
  let model: GPTConfig;
  try {
    model = validateGPTConfig(cfg.model, `${where}: model`);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const kind = (['pretrain', 'sft', 'rl'] as const).find((k) => k === cfg.kind) ?? 'pretrain';
  const format = cfg.format === 'chat' || cfg.format === 'text' ? cfg.format : kind === 'pretrain' ? 'text' : 'chat';
  return { kind, model, format, train: cfg.train };
}

/**
 * A model and its tokenizer from a checkpoint (or run) directory, for
 * sampling, evaluation, serving or --init. With `valueHead` the model gets a
 * scalar value head (PPO): loaded when the checkpoint has one, else freshly
 * initialized from `seed`.
 */
export function loadLM(path: string, opts: { valueHead?: boolean; seed?: number } = {}): LoadedLM {
  const dir = resolveModelDir(path);
  const ck = loadCheckpoint(dir);
  const config = readLMConfig(ck.config, join(dir, 'config.json'));
  if (ck.tokenizer === undefined) throw new UserError(`${dir}: no tokenizer.json (a GPT checkpoint needs one)`);
  const tokenizer = tokenizerFromJSON(ck.tokenizer, join(dir, 'tokenizer.json'));
  if (tokenizer.vocabSize > config.model.vocabSize) {
    throw new UserError(`${dir}: tokenizer.json has ${tokenizer.vocabSize} tokens but model.vocabSize is ${config.model.vocabSize}`);
  }
  const valueHead = opts.valueHead ?? config.model.valueHead;
  const model = new GPT({ ...config.model, valueHead }, opts.seed ?? 0);
  const fresh = valueHead && !ck.params.has('value_head.weight');
  loadWeights(model, ck, dir, fresh ? ['value_head.weight', 'value_head.bias'] : []);
  return { model, tokenizer, config: { ...config, model: model.config }, dir };
}

/** Copies a checkpoint's weights into a model, after checking every name and shape (a mismatch is a UserError naming `where`). */
export function loadWeights(model: GPT, ck: Checkpoint, where: string, keepInit: readonly string[] = []): void {
  const params = model.params().filter(([n]) => !keepInit.includes(n));
  validateAgainst(ck, new Map(params.map(([n, p]) => [n, [...p.shape]])), where);
  for (const [n, p] of params) p.data.set(ck.params.get(n)!.data);
}

/** Restores AdamW's moments and step from a checkpoint saved with lmCheckpoint. */
export function loadOptimizer(opt: AdamW, ck: Checkpoint, optStep: number, where: string): void {
  if (!ck.optimizer) throw new UserError(`${where}: no optimizer.safetensors; this checkpoint cannot resume training`);
  for (const [n] of opt.params) {
    opt.m.get(n)!.set(ck.optimizer.m.get(n)!);
    opt.v.get(n)!.set(ck.optimizer.v.get(n)!);
  }
  opt.step = optStep;
}
