/**
 * A complete task family in a few lines: the digit sum of a number.
 *
 *   ./flywheel envs check ./examples/my_env.ts     # the conformance suite
 *   ./flywheel envs sample ./examples/my_env.ts    # tasks, answers, demos
 *
 * defineTaskFamily fills in everything not given here: verify (exact match
 * of the final 'Answer:'), solve, mistakes ('slip' and 'systematic'), isHard
 * (the top difficulty) and stat (answer length). See docs/envs.md.
 */
import { defineTaskFamily, parseInteger } from 'flywheel';

export default defineTaskFamily({
  id: 'digit-sum-v1',
  description: 'Add up the digits of a number.',
  difficulty: { min: 1, max: 8, default: 3 }, // how many digits the number has

  generate(rng, digits) {
    const n = rng.range(10 ** (digits - 1), 10 ** digits - 1);
    const sum = [...String(n)].reduce((total, d) => total + Number(d), 0);
    return {
      prompt: `What is the sum of the digits of ${n}? End with "Answer: <number>".`,
      answer: sum,
      meta: { n },
    };
  },

  // accept '07' as 7; anything that is not an integer is malformed
  normalize: (text) => parseInteger(text.replace(/^0+(?=\d)/, ''))?.toString() ?? null,

  // the statistic that should rise with difficulty: how many digits to add
  stat: (task) => String(task.meta.n).length,
});
