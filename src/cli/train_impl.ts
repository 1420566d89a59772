/**
 * Implementations of `flywheel pretrain | sft | sample` (lazily imported by
 * train.ts). A run's resolved settings live in its config.json (src/runs);
 * --resume reads them back, and a flag that contradicts them is an error.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { backendLine, initBackend } from '../tensor/backend.ts';
import { GPT_PRESETS, validateGPTConfig, type GPTConfig } from '../models/gpt.ts';
import { BpeTokenizer, CharTokenizer, readTokenizer, type Tokenizer } from '../models/tokenizer.ts';
import { generate, generateText } from '../models/sample.ts';
import { FILES, resolveCheckpointDir } from '../nn/checkpoint.ts';
import { PRETRAIN_DEFAULTS, SFT_DEFAULTS, trainLM, type LMResult, type TrainConfig } from '../algos/lm.ts';
import { CorpusData, readUtf8, SftData, type DataSource } from '../algos/lm_data.ts';
import { RunDir, reconcile, type GivenSetting } from '../runs/run_dir.ts';
import { loadLM, readLMConfig, resolveModelDir } from '../runs/lm_checkpoint.ts';
import { LocalPolicy } from '../policy/local.ts';
import { exitCode, onInterrupt, resumable } from './signals.ts';
import { flagName } from './args.ts';
import { fmtRate, progressBar } from './progress.ts';
import type { PretrainFlags, SampleFlags, SftFlags, TrainFlags } from './train.ts';

/** config.json of a pretrain or SFT run: everything --resume needs to continue it. */
export interface LMRunConfig {
  model: GPTConfig;
  train: TrainConfig;
  data: { file: string; sha256: string }; // the corpus or SFT data (absolute path), and its hash
  tokenizer: { kind: 'char' | 'bpe'; bpeVocab?: number };
  init?: string; // the checkpoint SFT started from (absolute path)
}

/** The shipped corpus, found relative to the package (not the working directory). */
const DEFAULT_CORPUS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'data', 'corpus.txt');

/** Flag (camelCase key) -> where it lands in LMRunConfig. */
const FLAG_PATHS: Record<string, string> = {
  layers: 'model.nLayer', width: 'model.nEmbd', heads: 'model.nHead', blockSize: 'model.blockSize',
  steps: 'train.steps', batchSize: 'train.batchSize', lr: 'train.lr', warmup: 'train.warmup',
  evalEvery: 'train.evalEvery', checkpointEvery: 'train.checkpointEvery', seed: 'train.seed',
  corpus: 'data.file', data: 'data.file', tokenizer: 'tokenizer.kind', bpeVocab: 'tokenizer.bpeVocab', init: 'init',
};
const PATH_FLAGS = new Set(['corpus', 'data', 'init']);

// ---------------------------------------------------------------- pretrain, sft

export async function runPretrain(flags: PretrainFlags): Promise<void> {
  await initBackend();
  if (flags.resume) {
    const run = RunDir.start(flags.out, 'pretrain', {}, { resume: true, force: flags.force });
    const cfg = resumeConfig(run, flags);
    const tokenizer = runTokenizer(run);
    await train('pretrain', run, cfg, tokenizer, CorpusData.fromFile(cfg.data.file, tokenizer, cfg.model.blockSize), flags, true);
    return;
  }
  const file = resolve(flags.corpus ?? DEFAULT_CORPUS);
  const text = readUtf8(file);
  if (text.length === 0) throw new UserError(`${file}: the corpus is empty`);
  const tokenizer = flags.tokenizer === 'bpe' ? BpeTokenizer.train(text, flags.bpeVocab) : CharTokenizer.fromCorpus(text);
  if (flags.tokenizer === 'bpe' && tokenizer.vocabSize < flags.bpeVocab && !flags.quiet) {
    process.stderr.write(`note: the BPE vocabulary stopped at ${tokenizer.vocabSize} tokens, short of --bpe-vocab ${flags.bpeVocab}: no pair in the corpus occurs twice more\n`);
  }
  const cfg: LMRunConfig = {
    model: modelConfig(flags, tokenizer.vocabSize), train: trainConfig(flags, PRETRAIN_DEFAULTS), data: { file, sha256: sha256(file) },
    tokenizer: { kind: flags.tokenizer, ...(flags.tokenizer === 'bpe' ? { bpeVocab: flags.bpeVocab } : {}) },
  };
  checkMemory(cfg.model, cfg.train.batchSize);
  const data = CorpusData.fromFile(file, tokenizer, cfg.model.blockSize); // bad data fails before the run directory exists
  await train('pretrain', RunDir.start(flags.out, 'pretrain', cfg, { force: flags.force }), cfg, tokenizer, data, flags, false);
}

export async function runSft(flags: SftFlags): Promise<void> {
  await initBackend();
  if (flags.resume) {
    const run = RunDir.start(flags.out, 'sft', {}, { resume: true, force: flags.force });
    const cfg = resumeConfig(run, flags);
    const tokenizer = runTokenizer(run);
    await train('sft', run, cfg, tokenizer, SftData.fromFile(cfg.data.file, tokenizer, cfg.model.blockSize), flags, true);
    return;
  }
  const file = resolve(flags.data);
  let tokenizer: Tokenizer = CharTokenizer.ascii();
  let model: GPTConfig;
  let init: string | undefined;
  if (flags.init) {
    init = resolve(resolveModelDir(flags.init));
    const dir = resolveCheckpointDir(init);
    tokenizer = readTokenizer(join(dir, FILES.tokenizer));
    model = readLMConfig(JSON.parse(readFileSync(join(dir, FILES.config), 'utf8')), join(dir, FILES.config)).model;
    for (const key of ['layers', 'width', 'heads', 'blockSize'] as const) {
      const path = FLAG_PATHS[key].split('.')[1] as keyof GPTConfig;
      if (flags.given.has(key) && flags[key] !== model[path]) {
        throw new UserError(`${flagName(key)} ${flags[key]} contradicts the model of --init ${flags.init} (${path} = ${model[path]}); a fine-tuned model keeps its shape`);
      }
    }
  } else {
    model = modelConfig(flags, tokenizer.vocabSize);
  }
  const cfg: LMRunConfig = { model, train: trainConfig(flags, SFT_DEFAULTS), data: { file, sha256: sha256(file) }, tokenizer: { kind: tokenizer.kind }, ...(init ? { init } : {}) };
  checkMemory(cfg.model, cfg.train.batchSize);
  const data = SftData.fromFile(file, tokenizer, model.blockSize);
  await train('sft', RunDir.start(flags.out, 'sft', cfg, { force: flags.force }), cfg, tokenizer, data, flags, false);
}

async function train(kind: 'pretrain' | 'sft', run: RunDir, cfg: LMRunConfig, tokenizer: Tokenizer, data: DataSource, flags: TrainFlags, resume: boolean): Promise<void> {
  const log = (s: string): void => {
    if (!flags.quiet) process.stderr.write(s + '\n');
  };
  log(backendLine((await initBackend())));
  log(`data: ${data.describe()}`);
  const m = cfg.model;
  log(`model: ${m.nLayer} layers x ${m.nEmbd} wide, ${m.nHead} heads, context ${m.blockSize}, vocab ${m.vocabSize} (${tokenizer.kind})`);
  const bar = progressBar(kind, cfg.train.steps, { quiet: flags.quiet });
  const stop = onInterrupt(() => bar.log('interrupted: saving a checkpoint after this step (Ctrl-C again to quit at once)'));
  let lastVal = '';
  let result: LMResult;
  try {
    result = await trainLM({
      kind, run, model: cfg.model, train: cfg.train, tokenizer, data, resume, init: cfg.init,
      shouldStop: () => stop.requested,
      onStep: (i) => {
        if (i.valLoss !== undefined) lastVal = i.valLoss.toFixed(3);
        bar.update(i.step, { loss: i.loss.toFixed(3), ...(lastVal ? { val: lastVal } : {}), 'tok/s': fmtRate(i.tokensPerSec) });
      },
      onEvent: (msg) => bar.log(msg),
    });
  } catch (err) {
    throw resumable(err, run, `flywheel ${kind} --out ${flags.out} --resume`);
  } finally {
    bar.stop();
    stop.dispose();
  }
  if (result.interrupted) {
    process.stderr.write(`stopped at step ${result.steps} of ${cfg.train.steps}; continue with: flywheel ${kind} --out ${flags.out} --resume\n`);
    process.exitCode = exitCode(stop.signal);
    return;
  }
  const sampleTokens = kind === 'pretrain' ? (flags as PretrainFlags).sampleTokens : 0;
  const prompt = 'One morning,';
  const text = sampleTokens > 0 ? generateText(result.model, result.tokenizer, prompt, sampleTokens, { rng: new Rng(cfg.train.seed), temperature: 0.8 }) : '';
  const summary = {
    kind, backend: (await initBackend()).name, steps: result.steps, firstLoss: result.firstLoss, finalLoss: result.finalLoss, valLoss: result.valLoss,
    tokens: result.tokens, checkpoint: result.checkpoint, params: result.model.numParams(), sample: text ? prompt + text : undefined,
  };
  if (flags.json) {
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return;
  }
  const f = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(3));
  process.stdout.write(`\n${kind}: ${result.steps} steps, loss ${f(result.firstLoss)} -> ${f(result.finalLoss)}, held-out ${f(result.valLoss)}\n`);
  process.stdout.write(`checkpoint: ${result.checkpoint}\n`);
  if (text) process.stdout.write(`\nsample (temperature 0.8):\n${prompt}${text}\n`);
}

// ---------------------------------------------------------------- resume and config

/** The run's saved config, with the flags given now checked against it (only --steps may grow). */
function resumeConfig(run: RunDir, flags: TrainFlags): LMRunConfig {
  const saved = run.config<Partial<LMRunConfig>>();
  if (typeof saved.data?.file !== 'string' || !saved.model || !saved.train) {
    throw new UserError(`${run.path('config.json')}: this run was made by an older flywheel and does not record its data file; start it over with --force`);
  }
  const given: GivenSetting[] = [];
  for (const key of flags.given) {
    if (key === 'preset') {
      const p = GPT_PRESETS[flags.preset];
      const fromPreset = { layers: p.nLayer, width: p.nEmbd, heads: p.nHead };
      for (const [k, v] of Object.entries(fromPreset)) if (!flags.given.has(k)) given.push({ flag: `--preset ${flags.preset}: ${flagName(k)}`, path: FLAG_PATHS[k], value: v });
      continue;
    }
    const path = FLAG_PATHS[key];
    if (!path) continue; // not a setting of the run (--out, --quiet, --json, --sample-tokens)
    const value = (flags as unknown as Record<string, unknown>)[key];
    given.push({ flag: flagName(key), path, value: PATH_FLAGS.has(key) ? resolve(key === 'init' ? resolveModelDir(String(value)) : String(value)) : value });
  }
  const cfg = reconcile<LMRunConfig>(run, given, ['train.steps']);
  if (cfg.train.steps !== saved.train.steps) run.updateConfig(cfg);
  const now = sha256(cfg.data.file);
  if (now !== cfg.data.sha256) throw new UserError(`${cfg.data.file} has changed since this run started (its sha256 differs from config.json's); an exact resume needs the same data`);
  return cfg;
}

/** The tokenizer a run trains with: the one in its checkpoint. */
function runTokenizer(run: RunDir): Tokenizer {
  if (!run.hasCheckpoint()) throw new UserError(`${run.dir}: this run has no checkpoint yet (it stopped before its first save); start it over with --force`);
  return readTokenizer(join(resolveCheckpointDir(run.checkpointDir), FILES.tokenizer));
}

function modelConfig(flags: TrainFlags, vocabSize: number): GPTConfig {
  const p = GPT_PRESETS[flags.preset];
  try {
    return validateGPTConfig({
      vocabSize, blockSize: flags.blockSize, nLayer: flags.layers ?? p.nLayer, nEmbd: flags.width ?? p.nEmbd, nHead: flags.heads ?? p.nHead, valueHead: false,
    }, 'model');
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

/** The run's training config: the command's defaults (src/algos/lm_config.ts) under the flags. */
function trainConfig(flags: TrainFlags, defaults: TrainConfig): TrainConfig {
  return {
    ...defaults, steps: flags.steps, batchSize: flags.batchSize, lr: flags.lr, minLr: flags.lr / 10,
    warmup: Math.min(flags.warmup, flags.steps), evalEvery: flags.evalEvery, checkpointEvery: flags.checkpointEvery, seed: flags.seed,
  };
}

/**
 * Refuses a model whose training step would not fit in memory, before
 * anything is allocated: parameters with grads and AdamW moments, plus the
 * activations a step keeps for backward (per layer about 20 floats per
 * token and channel, and the (T, T) attention matrix of every head).
 */
function checkMemory(m: GPTConfig, B: number): void {
  const C = m.nEmbd, T = m.blockSize, L = m.nLayer;
  const params = m.vocabSize * C + T * C + L * 12 * C * C;
  const bytes = 4 * (4 * params + L * B * T * (20 * C + m.nHead * T) + 2 * B * T * m.vocabSize);
  const budget = 0.75 * totalmem();
  if (bytes > budget) {
    const gib = (x: number): string => (x / 2 ** 30).toFixed(1);
    throw new UserError(`this model would need about ${gib(bytes)} GiB to train at batch ${B} and context ${T} (this machine has ${gib(totalmem())} GiB); lower --block-size, --batch-size or the model size`);
  }
}

function sha256(file: string): string {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch (err) {
    throw new UserError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

// ---------------------------------------------------------------- sample

export async function runSample(flags: SampleFlags): Promise<void> {
  await initBackend();
  const { model, tokenizer, config, dir } = loadLM(flags.checkpoint);
  const format = flags.format ?? config.format;
  const warn = (msg: string): void => void process.stderr.write(`warning: ${msg}\n`);
  const params = { maxTokens: flags.maxTokens, temperature: flags.temperature, topK: flags.topK, topP: flags.topP, seed: flags.seed, stop: flags.stop ? [flags.stop] : undefined };
  let samples: { text: string; tokens?: number[]; logprobs?: number[]; finish?: string }[];
  if (format === 'chat') {
    const policy = new LocalPolicy(model, tokenizer, { name: dir, format, warn });
    const [outs] = await policy.complete([[{ role: 'user', content: flags.prompt }]], { ...params, n: flags.n });
    samples = outs.map((c) => ({ text: c.text, tokens: c.tokens ?? undefined, logprobs: c.logprobs ?? undefined, finish: c.finish }));
  } else {
    new LocalPolicy(model, tokenizer, { format, warn }).encode([{ role: 'user', content: flags.prompt }]); // warns about unknown characters
    const rng = new Rng(flags.seed);
    samples = Array.from({ length: flags.n }, () => generate(model, tokenizer, flags.prompt, flags.maxTokens, {
      rng, temperature: flags.temperature, topK: flags.topK, topP: flags.topP, stopTokens: [tokenizer.eosId], stopText: flags.stop,
    }));
  }
  if (flags.json) process.stdout.write(JSON.stringify({ checkpoint: dir, prompt: flags.prompt, format, samples }, null, 2) + '\n');
  else for (const s of samples) process.stdout.write(`${format === 'text' ? flags.prompt : ''}${s.text}\n---\n`);
}
