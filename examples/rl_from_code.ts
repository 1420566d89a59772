/**
 * The RL loop from code, through `import ... from 'flywheel'` only: a task
 * family written here, a tiny GPT, GRPO against the family's verifier, and
 * the held-out accuracy curve. The same loop `flywheel train` runs, minus
 * the CLI (no SFT init: the task is easy enough that a random model is
 * sometimes right, which is all RL needs).
 *
 *   node --import tsx examples/rl_from_code.ts [OUT_DIR] [STEPS]
 */
import {
  ALGORITHMS, CharTokenizer, GPT, LocalPolicy, RL_DEFAULTS, RolloutStore, RUN_FILES, RunDir, defineTaskFamily, tensor, trainRL,
  type RLConfig, type RolloutEnv,
} from 'flywheel';

// the task: three letters from "abcd"; the answer is the last one
const lastLetter = defineTaskFamily({
  id: 'last-letter-v1',
  description: 'Say the last of three letters.',
  difficulty: { min: 1, max: 1, default: 1 },
  generate(rng) {
    const s = Array.from({ length: 3 }, () => 'abcd'[rng.int(4)]).join('');
    return { prompt: s, answer: s[2], meta: {} };
  },
  verify: (task, reply) => (reply.startsWith(task.answer) ? { reward: 1, ok: true, reason: 'correct' } : { reward: 0, ok: false, reason: 'wrong' }),
  solve: (task) => task.answer,
});

const out = process.argv[2] ?? 'runs/rl-from-code';
const steps = Number(process.argv[3] ?? 60);

await tensor.initBackend();
const tokenizer = new CharTokenizer('abcd\n');
const model = new GPT({ vocabSize: tokenizer.vocabSize, blockSize: 12, nLayer: 1, nEmbd: 32, nHead: 2, valueHead: false }, 0);
const policy = new LocalPolicy(model, tokenizer);
const env: RolloutEnv = { kind: 'task', family: lastLetter };
const config: RLConfig = {
  ...RL_DEFAULTS, algo: 'grpo', steps, prompts: 8, group: 8, maxTokens: 2, difficulties: [1], lr: 3e-3, warmup: 1,
  evalEvery: 20, evalTasks: 32, checkpointEvery: 20,
};

const run = RunDir.start(out, 'rl', { env: lastLetter.id, rl: config }, { force: true });
const store = new RolloutStore(run.path(RUN_FILES.rollouts));
try {
  const result = await trainRL({
    run, env, policy, ref: null, algorithm: ALGORITHMS[config.algo], config, store, resume: false, force: true,
    checkpointConfig: { kind: 'rl', model: model.config, format: 'chat' },
    onEvent: (message) => console.error(message),
  });
  const curve = result.curve.map((p) => ({ step: p.step, samples: p.samples, accuracy: p.accuracy.overall }));
  console.log(JSON.stringify({ curve, checkpoint: result.checkpoint, rollouts: store.count() }));
} finally {
  store.close();
}
