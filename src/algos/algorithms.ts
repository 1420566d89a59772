/** The RL algorithms by name; a missing one is a compile error (satisfies). */
import type { AlgoName } from './rl_config.ts';
import type { RLAlgorithm } from './rl.ts';
import { grpo } from './grpo.ts';
import { rloo } from './rloo.ts';
import { ppo } from './ppo.ts';
import { expertIteration } from './expert_iteration.ts';

export const ALGORITHMS = { grpo, rloo, ppo, ei: expertIteration } as const satisfies Record<AlgoName, RLAlgorithm>;
