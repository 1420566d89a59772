/**
 * The public environments API: what a user's environment file, or a trainer
 * using flywheel's environments, imports. `import { defineTaskFamily } from
 * 'flywheel'` in an environment file resolves here when the file is loaded by
 * flywheel (see load.ts).
 *
 * The registry (registry.ts) is deliberately not re-exported: it loads every
 * built-in environment (and the code sandbox), which a user's file does not need.
 */
export type {
  DemoOptions,
  DifficultyRange,
  EnvEntry,
  Game,
  Json,
  MultiTurnFamily,
  StepResult,
  Task,
  TaskFamily,
  TextEpisode,
  Verdict,
} from './types.ts';
export { ANSWER_MARKER, CORRECT, extractAnswer, fail, formatAnswer, parseInteger, verifyExact } from './answer.ts';
export { assertDifficulty, defineTaskFamily, perturbAnswer, type TaskSpec } from './define.ts';
export { demonstrate, skillToDemoOptions, skillToPlayerSpec } from './demo.ts';
export {
  assertConformance,
  checkGame,
  checkMultiTurnFamily,
  checkTaskFamily,
  formatReport,
  type Check,
  type ConformanceOptions,
  type ConformanceReport,
} from './conformance.ts';
export { checkEnv, type CheckEnvOptions } from './check.ts';
export { runEpisode, type Act, type EpisodeRun, type Turn } from './multiturn/episode.ts';
export { Rng } from '../util/rng.ts';
