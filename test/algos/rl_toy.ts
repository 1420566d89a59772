/**
 * A tiny environment and policy for RL tests: the prompt is three letters
 * from "abcd", the answer is the first one, and a reply is right when it
 * starts with it. A randomly initialised GPT over the 5-character vocabulary
 * gets it right about 1 time in 8, so every algorithm has something to
 * reinforce, and learning is visible within a few dozen steps.
 */
import { defineTaskFamily } from '../../src/envs/define.ts';
import { GPT } from '../../src/models/gpt.ts';
import { CharTokenizer } from '../../src/models/tokenizer.ts';
import { LocalPolicy } from '../../src/policy/local.ts';
import { RL_DEFAULTS, type RLConfig } from '../../src/algos/rl_config.ts';
import type { RolloutEnv } from '../../src/algos/rollout.ts';

/**
 * The toy family as a user's file (train --env FILE). With `hangAfter`, its
 * generate() never returns from that call on: a run stuck in a user's code.
 */
export function firstLetterSource(opts: { hangAfter?: number } = {}): string {
  return `
import { defineTaskFamily } from 'flywheel';
let calls = 0;
export default defineTaskFamily({
  id: 'first-letter-v1',
  description: 'Say the first of three letters.',
  difficulty: { min: 1, max: 2, default: 1 },
  generate(rng, d) {
    if (++calls > ${opts.hangAfter ?? Infinity}) for (;;) {}
    const s = Array.from({ length: 3 }, () => 'abcd'[rng.int(4)]).join('');
    return { prompt: s, answer: s[0], meta: {} };
  },
  verify: (task, completion) => (completion.startsWith(task.answer)
    ? { reward: 1, ok: true, reason: 'correct' }
    : { reward: 0, ok: false, reason: 'wrong' }),
  solve: (task) => task.answer,
  isHard: (task) => task.prompt[0] !== task.prompt[1],
});
`;
}

export const FIRST_LETTER_SOURCE = firstLetterSource();

export const firstLetter = defineTaskFamily({
  id: 'first-letter-v1',
  description: 'Say the first of three letters.',
  difficulty: { min: 1, max: 2, default: 1 },
  generate(rng) {
    const s = Array.from({ length: 3 }, () => 'abcd'[rng.int(4)]).join('');
    return { prompt: s, answer: s[0], meta: {} };
  },
  verify: (task, completion) => (completion.startsWith(task.answer) ? { reward: 1, ok: true, reason: 'correct' } : { reward: 0, ok: false, reason: 'wrong' }),
  solve: (task) => task.answer,
  isHard: (task) => task.prompt[0] !== task.prompt[1],
});

export const toyEnv: RolloutEnv = { kind: 'task', family: firstLetter };
export const toyTokenizer = new CharTokenizer('abcd\n');

export function toyPolicy(seed = 0, valueHead = false): LocalPolicy {
  const model = new GPT({ vocabSize: toyTokenizer.vocabSize, blockSize: 12, nLayer: 1, nEmbd: 32, nHead: 2, valueHead }, seed);
  return new LocalPolicy(model, toyTokenizer);
}

export const TOY_CONFIG: RLConfig = {
  ...RL_DEFAULTS, steps: 60, prompts: 8, group: 8, maxTokens: 2, difficulties: [1, 2], lr: 3e-3, warmup: 1,
  evalEvery: 0, evalTasks: 32, checkpointEvery: 10, eiEpochs: 1, eiBatch: 16,
};
