/**
 * flywheel's programmatic API: what the CLI calls, a library user calls.
 * `import { ... } from 'flywheel'`.
 */
export * from './envs/index.ts';
export { Rng, type RngState } from './util/rng.ts';
export { UserError } from './util/errors.ts';
export * as tensor from './tensor/index.ts';
export { GPT, GPT_PRESETS, validateGPTConfig, type GPTConfig } from './models/gpt.ts';
export { sample, scoreTokens, generate, generateText, type Generation, type SampleOptions, type SampleResult } from './models/sample.ts';
export { KVCache } from './models/kv_cache.ts';
export { CharTokenizer, BpeTokenizer, tokenizerFromJSON, type Tokenizer } from './models/tokenizer.ts';
export { AdamW, clipGradNorm, cosineSchedule } from './nn/optim.ts';
export { saveCheckpoint, loadCheckpoint } from './nn/checkpoint.ts';
export { trainLM, trainStep, TRAIN_DEFAULTS, PRETRAIN_DEFAULTS, SFT_DEFAULTS, type TrainConfig, type LMRun, type LMResult } from './algos/lm.ts';
export { CorpusData, SftData } from './algos/lm_data.ts';
export { RunDir, reconcile, RUN_FILES, RUN_KINDS, type RunKind, type MetricRow, type GivenSetting } from './runs/run_dir.ts';
export { loadLM, lmCheckpoint, resolveModelDir, type LoadedLM, type LMCheckpointConfig } from './runs/lm_checkpoint.ts';
export { exportRollouts, EXPORT_KINDS, EXPORT_FORMATS, type ExportOptions, type ExportSummary, type ExportKind, type ExportFormat } from './runs/export.ts';
export { LocalPolicy, type LocalPolicyOptions } from './policy/local.ts';
export { OpenAIPolicy, type OpenAIPolicyOptions, type Usage as OpenAIUsage } from './policy/openai.ts';
export { encodeChat, encodeExample, encodePrompt, encodeReply, decodeReply, type Message, type PromptFormat } from './policy/format.ts';
export type { Completion, Policy, SamplingParams, TokenPolicy, TrainablePolicy, TokenSample, TokenBatch, PolicyForward } from './policy/types.ts';
// the RL loop: one shared loop (trainRL) over an algorithm (ALGORITHMS.grpo | rloo | ppo | ei), rollouts and held-out evaluation
export { trainRL, type RLRun, type RLResult, type RLAlgorithm, type StepContext, type StepOutput, type EvalPoint } from './algos/rl.ts';
export { ALGORITHMS } from './algos/algorithms.ts';
export { RL_DEFAULTS, ALGOS, GRPO_LOSSES, HELDOUT_SEED_BASE, type RLConfig, type AlgoName, type GrpoLoss } from './algos/rl_config.ts';
export { rollout, type RolloutEnv, type RolloutOptions, type Trajectory, type TaskRef as RolloutTask } from './algos/rollout.ts';
export { evaluate, heldoutTasks, type EvalOptions, type EvalResult } from './algos/evaluate.ts';
export { groupAdvantages } from './algos/grpo.ts';
export { leaveOneOutAdvantages } from './algos/rloo.ts';
export { gae } from './algos/ppo.ts';
export { pgUpdate, nllUpdate, type PGItem, type PGLossConfig, type UpdateStats } from './algos/pg.ts';
export { RolloutStore } from './runs/rollouts.ts';
// measurement (pure functions over numbers) and self-contained HTML reports (pure: they return strings)
export { passAtK, meanPassAtK, passAtKs, type PassCount } from './measure/passk.ts';
export { modelFlops, CostMeter, costsBetween, totalFlops, zeroCosts, type Costs, type FlopsModel, type ModelFlops } from './measure/flops.ts';
export { accuracyOf, wilson, type Accuracy, type Graded, type Interval } from './measure/accuracy.ts';
export { firstCrossing, sampleEfficiency, ema, movingAverage, groupStats, type CurvePoint, type GroupStats } from './measure/curves.ts';
export { entropy, klDivergence, klEstimate, logSumExp, mean, std, percentile } from './measure/stats.ts';
export { fitPowerLaw, powerLaw, type PowerLawFit } from './measure/scaling.ts';
export { lineChart, barChart, type LineChart, type BarChart } from './report/charts.ts';
export { htmlPage, table, grid, formatCell, type Page, type Cell } from './report/html.ts';
export { formatSI, formatPercent } from './report/svg.ts';
export { EnvClient, EnvServerError, type EnvClientOptions } from './server/env_client.ts';
export type { EnvInfo, SessionView, TaskView, EpisodeView, GameView, StepResponse, TaskRef, VerifyItem } from './server/env_schema.ts';
// self-play on board games: the policy-value network, MCTS, the AlphaZero loop, game statistics and Elo
export { PVNet, PVInference, pvnetFromCheckpoint, type PVNetConfig, type PVBatch } from './models/pvnet.ts';
export { SearchTree, searchAll, rolloutEvaluator, MCTS_DEFAULTS, type Evaluator, type Evaluation, type MCTSConfig } from './algos/mcts.ts';
export { runAlphaZero, defaultConfig, findGame, type AlphaZeroConfig, type AZRun, type AZResult } from './algos/alphazero.ts';
export { mctsAgent, policyAgent, scriptedAgent, netEvaluator, playMatch, randomOpenings, labelledPositions, type Agent } from './algos/arena.ts';
export type { SelfPlaySummary } from './algos/alphazero_eval.ts';
export { fitElo, expectedScore, type PairResult, type EloFit } from './measure/elo.ts';
export { tally, solverAccuracy, valueAccuracy, type Tally } from './measure/games.ts';
