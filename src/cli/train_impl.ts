/** Implementations of `flywheel pretrain | sft | sample` (lazily imported by train.ts). */
import { join, resolve } from 'node:path';
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { backendLine, initBackend } from '../tensor/backend.ts';
import { GPT_PRESETS, validateGPTConfig, type GPTConfig } from '../models/gpt.ts';
import { BpeTokenizer, CharTokenizer, readTokenizer, tokenizerFromJSON, type Tokenizer } from '../models/tokenizer.ts';
import { generateText } from '../models/sample.ts';
import { FILES, loadCheckpoint, resolveCheckpointDir } from '../nn/checkpoint.ts';
import { loadModel, trainLM, TRAIN_DEFAULTS, type LMRun, type TrainConfig } from '../algos/lm.ts';
import { CorpusData, readUtf8, SftData, type DataSource } from '../algos/lm_data.ts';
import { fmtRate, progressBar } from './progress.ts';
import type { TrainFlags } from './train.ts';

function modelConfig(flags: TrainFlags, vocabSize: number): GPTConfig {
  const p = GPT_PRESETS[flags.preset ?? 'small'];
  try {
    return validateGPTConfig({
      vocabSize, blockSize: flags.blockSize, nLayer: flags.layers ?? p.nLayer, nEmbd: flags.width ?? p.nEmbd, nHead: flags.heads ?? p.nHead, valueHead: false,
    }, 'model');
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

function trainConfig(flags: TrainFlags): TrainConfig {
  return {
    ...TRAIN_DEFAULTS, steps: flags.steps, batchSize: flags.batchSize, lr: flags.lr, minLr: flags.lr / 10,
    warmup: Math.min(flags.warmup, flags.steps), evalEvery: flags.evalEvery, checkpointEvery: flags.checkpointEvery, seed: flags.seed,
  };
}

async function train(kind: 'pretrain' | 'sft', flags: TrainFlags, tokenizer: Tokenizer, data: DataSource, initFrom?: string): Promise<void> {
  const backend = await initBackend();
  const model = modelConfig(flags, tokenizer.vocabSize);
  const cfg = trainConfig(flags);
  const log = (s: string): void => { if (!flags.quiet) process.stderr.write(s + '\n'); };
  log(backendLine(backend));
  log(`data: ${data.describe()}`);
  log(`model: ${model.nLayer} layers x ${model.nEmbd} wide, ${model.nHead} heads, context ${model.blockSize}, vocab ${model.vocabSize} (${tokenizer.kind})`);
  const bar = progressBar(kind, cfg.steps, { quiet: flags.quiet });
  let lastVal = '', interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130); // second Ctrl-C: leave now (the last checkpoint is intact)
    interrupted = true;
    bar.log('interrupted: saving a checkpoint after this step (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);
  const run: LMRun = {
    kind, outDir: flags.out, model, train: cfg, tokenizer, data, resume: !!flags.resume, overwrite: !!flags.force, initFrom,
    shouldStop: () => interrupted,
    onStep: (i) => {
      if (i.valLoss !== undefined) lastVal = i.valLoss.toFixed(3);
      bar.update(i.step, { loss: i.loss.toFixed(3), ...(lastVal ? { val: lastVal } : {}), 'tok/s': fmtRate(i.tokensPerSec) });
    },
    onEvent: (m) => bar.log(m),
  };
  let result;
  try {
    result = trainLM(run);
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
  }
  if (interrupted) {
    process.stderr.write(`stopped at step ${result.steps}; continue with: flywheel ${kind} --out ${flags.out} --resume\n`);
    process.exitCode = 130;
    return;
  }
  const rng = new Rng(flags.seed);
  const prompt = kind === 'pretrain' ? 'One morning,' : '';
  const text = flags.sampleTokens > 0 && kind === 'pretrain'
    ? generateText(result.model, result.tokenizer, prompt, flags.sampleTokens, { rng, temperature: 0.8 })
    : '';
  const summary = {
    kind, backend: backend.name, steps: result.steps, firstLoss: result.firstLoss, finalLoss: result.finalLoss, valLoss: result.valLoss,
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

/** The tokenizer of the run being resumed (trainLM loads and checks the rest of the checkpoint). */
function resumedTokenizer(out: string): Tokenizer {
  return readTokenizer(join(resolveCheckpointDir(resolve(out, 'checkpoint')), FILES.tokenizer));
}

export async function runPretrain(flags: TrainFlags & { corpus: string; tokenizer: 'char' | 'bpe'; bpeVocab: number }): Promise<void> {
  let tokenizer: Tokenizer;
  if (flags.resume) {
    tokenizer = resumedTokenizer(flags.out);
  } else {
    const text = readUtf8(flags.corpus);
    if (text.length === 0) throw new UserError(`${flags.corpus}: the corpus is empty`);
    tokenizer = flags.tokenizer === 'bpe' ? BpeTokenizer.train(text, flags.bpeVocab) : CharTokenizer.fromCorpus(text);
  }
  const data = CorpusData.fromFile(flags.corpus, tokenizer, flags.blockSize);
  await train('pretrain', flags, tokenizer, data);
}

export async function runSft(flags: TrainFlags & { data: string; init?: string }): Promise<void> {
  let tokenizer: Tokenizer = CharTokenizer.ascii();
  if (flags.resume) tokenizer = resumedTokenizer(flags.out);
  else if (flags.init) {
    const ck = loadCheckpoint(flags.init);
    tokenizer = tokenizerFromJSON(ck.tokenizer, `${flags.init}/tokenizer.json`);
    const m = (ck.config as { model?: GPTConfig }).model;
    if (m) Object.assign(flags, { layers: m.nLayer, width: m.nEmbd, heads: m.nHead, blockSize: m.blockSize });
  }
  const data = SftData.fromFile(flags.data, tokenizer, flags.blockSize);
  await train('sft', flags, tokenizer, data, flags.init);
}

export async function runSample(flags: {
  checkpoint: string; prompt: string; n: number; maxTokens: number; temperature: number; topK: number; topP: number; stop?: string; seed: number; json?: boolean;
}): Promise<void> {
  await initBackend();
  const { model, tokenizer } = loadModel(flags.checkpoint);
  const rng = new Rng(flags.seed);
  const samples: string[] = [];
  for (let i = 0; i < flags.n; i++) {
    samples.push(generateText(model, tokenizer, flags.prompt, flags.maxTokens, {
      rng, temperature: flags.temperature, topK: flags.topK, topP: flags.topP, stopTokens: [tokenizer.eosId], stopText: flags.stop,
    }));
  }
  if (flags.json) process.stdout.write(JSON.stringify({ prompt: flags.prompt, samples }, null, 2) + '\n');
  else for (const s of samples) process.stdout.write(`${flags.prompt}${s}\n---\n`);
}
