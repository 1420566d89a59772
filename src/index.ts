/**
 * flywheel's programmatic API: what the CLI calls, a library user calls.
 * `import { ... } from 'flywheel'`.
 */
export * from './envs/index.ts';
export { Rng, type RngState } from './util/rng.ts';
export { UserError } from './util/errors.ts';
export * as tensor from './tensor/index.ts';
export { GPT, GPT_PRESETS, validateGPTConfig, type GPTConfig } from './models/gpt.ts';
export { sample, scoreTokens, generateText, type SampleOptions, type SampleResult } from './models/sample.ts';
export { CharTokenizer, BpeTokenizer, tokenizerFromJSON, type Tokenizer } from './models/tokenizer.ts';
export { AdamW, clipGradNorm, cosineSchedule } from './nn/optim.ts';
export { saveCheckpoint, loadCheckpoint } from './nn/checkpoint.ts';
export { trainLM, loadModel, TRAIN_DEFAULTS, type TrainConfig, type LMRun, type LMResult } from './algos/lm.ts';
export { CorpusData, SftData } from './algos/lm_data.ts';
