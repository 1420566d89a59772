/**
 * Rollouts: G completions per task, sampled in one batch, each verified and
 * recorded as a trajectory of tokens with the mask of what the policy wrote.
 *
 *   single turn   tokens = prompt ++ reply              mask 0.. | 1..
 *   multi-turn    tokens = obs0 ++ act1 ++ obs1 ++ act2 ...   mask 0 on
 *                 observations (injected by the environment), 1 on actions;
 *                 all live episodes take their next turn in one sampling
 *                 call; the episode's total reward is the trajectory's.
 *
 * The tokens are the sampled ones, exactly (never re-encoded from text), and
 * logprobs are the sampler's, so a policy-gradient ratio starts at 1.
 *
 * Verification never throws (src/envs/verifier.ts): an exception in a
 * verifier is reward 0 with reason 'verifier_error', no verdict within
 * verifyTimeoutMs is 'verifier_timeout', and a verdict that is not
 * { reward in [0, 1], ok, reason } is 'verifier_error' too. A family loaded
 * from a user's file (env.file) verifies in a worker thread, so even a
 * synchronous infinite loop in its verify() times out and the run goes on.
 */
import type { MultiTurnFamily, Task, TaskFamily, Verdict } from '../envs/types.ts';
import { encodeReply, type Message } from '../policy/format.ts';
import type { SamplingParams, TokenPolicy } from '../policy/types.ts';
import { Verifier } from '../envs/verifier.ts';
import { episodeIsHard } from '../envs/multiturn/episode.ts';

/**
 * What is being rolled out: a single-turn task family or a multi-turn one;
 * `file` is the absolute path of the user's file it was loaded from (absent
 * for built-ins).
 */
export type RolloutEnv = { kind: 'task'; family: TaskFamily; file?: string } | { kind: 'multiturn'; family: MultiTurnFamily; file?: string };

/** One task to roll out: the environment's seed and difficulty. */
export interface TaskRef {
  seed: number;
  difficulty: number;
}

export interface Trajectory {
  env: string;
  seed: number;
  difficulty: number;
  hard: boolean; // the family's isHard (multi-turn: its isHard of the first observation, else difficulty at the family's max)
  group: number; // index of its task in the batch: trajectories of a group share a prompt
  prompt: string; // the task prompt (multi-turn: the first observation)
  completion: string; // the reply (multi-turn: the actions, one a line)
  messages: Message[] | null; // multi-turn: the episode as chat messages
  tokens: number[]; // the whole sequence
  mask: Uint8Array; // 1 at tokens the policy sampled
  logprobs: Float32Array; // log p of each token under the sampling policy (0 where mask is 0)
  promptTokens: number; // tokens before the first action
  actionTokens: number; // tokens sampled
  reward: number;
  ok: boolean;
  reason: string;
  firstReason: string; // multi-turn: the verdict of the first action (equals reason for single turn)
  finish: 'stop' | 'length'; // 'length': the last reply was cut short (maxTokens or the context)
  turns: number;
}

export interface RolloutOptions {
  group: number; // completions per task (G)
  sampling: SamplingParams; // seed: all randomness of this call
  verifyTimeoutMs?: number; // default 10 s
  /**
   * Multi-turn, for measurement: one first action per task, played for the
   * policy (its tokens are in the trajectory with mask 0: not the policy's);
   * the policy acts from the second turn on. Used to ask "after this wrong
   * first attempt, does the policy recover?"
   */
  firstActions?: readonly string[];
}

/** Verifications in flight at once, process-wide (sandboxed code runs are processes). */
const VERIFY_CONCURRENCY = 4;
let shared: Verifier | null = null;
/** The process's verifier: its worker threads (one per user file) live across steps. */
function verifier(): Verifier {
  return (shared ??= new Verifier({ timeoutMs: 10_000, concurrency: VERIFY_CONCURRENCY }));
}

/** G trajectories per task, tasks in order, each group's G together. */
export async function rollout(env: RolloutEnv, policy: TokenPolicy, tasks: readonly TaskRef[], opts: RolloutOptions): Promise<Trajectory[]> {
  return env.kind === 'task' ? singleTurn(env.family, env.file, policy, tasks, opts) : multiTurn(env.family, policy, tasks, opts);
}

async function singleTurn(family: TaskFamily, file: string | undefined, policy: TokenPolicy, refs: readonly TaskRef[], opts: RolloutOptions): Promise<Trajectory[]> {
  const G = opts.group;
  const tasks = refs.map((r) => family.generate(r.seed, r.difficulty));
  const prompts = tasks.map((t) => policy.encode([{ role: 'user', content: t.prompt }]));
  const samples = await policy.sampleTokens(prompts.flatMap((p) => Array.from({ length: G }, () => p)), opts.sampling);
  const texts = samples.map((s) => policy.decodeReply(s.tokens));
  const verdicts = await verifyAll({ family, file }, samples.map((_, i) => tasks[Math.floor(i / G)]), texts, opts);
  return samples.map((s, i) => {
    const g = Math.floor(i / G), task = tasks[g], p = prompts[g], v = verdicts[i];
    const tokens = [...p, ...s.tokens];
    const mask = new Uint8Array(tokens.length).fill(1, p.length);
    const logprobs = new Float32Array(tokens.length);
    logprobs.set(s.logprobs, p.length);
    return {
      env: family.id, seed: task.seed, difficulty: task.difficulty, hard: safeIsHard(family, task), group: g, prompt: task.prompt,
      completion: texts[i], messages: null, tokens, mask, logprobs, promptTokens: p.length, actionTokens: s.tokens.length,
      reward: v.reward, ok: v.ok, reason: v.reason, firstReason: v.reason, finish: s.finish, turns: 1,
    };
  });
}

interface Episode {
  ref: TaskRef;
  group: number;
  ep: ReturnType<MultiTurnFamily['create']>;
  messages: Message[];
  tokens: number[];
  mask: number[];
  logprobs: number[];
  promptTokens: number;
  reward: number;
  reason: string;
  firstReason: string;
  finish: 'stop' | 'length';
  turns: number;
  done: boolean;
}

async function multiTurn(family: MultiTurnFamily, policy: TokenPolicy, refs: readonly TaskRef[], opts: RolloutOptions): Promise<Trajectory[]> {
  const episodes: Episode[] = [];
  refs.forEach((ref, g) => {
    for (let k = 0; k < opts.group; k++) {
      const ep = family.create();
      const obs = ep.reset(ref.seed, ref.difficulty);
      const tokens = policy.encode([{ role: 'user', content: obs }]);
      episodes.push({
        ref, group: g, ep, messages: [{ role: 'user', content: obs }], tokens, mask: tokens.map(() => 0), logprobs: tokens.map(() => 0),
        promptTokens: tokens.length, reward: 0, reason: 'out_of_turns', firstReason: '', finish: 'stop', turns: 0, done: false,
      });
    }
  });
  /** One action (its tokens; `sampled`: the policy's, with their log-probs), the environment's answer, the next observation. */
  const take = (e: Episode, action: string, tokens: readonly number[], sampled: readonly number[] | null, finish: Episode['finish']): void => {
    for (let j = 0; j < tokens.length; j++) {
      e.tokens.push(tokens[j]);
      e.mask.push(sampled ? 1 : 0);
      e.logprobs.push(sampled ? sampled[j] : 0);
    }
    e.messages.push({ role: 'assistant', content: action });
    e.turns++;
    e.finish = finish;
    const r = safeStep(e.ep, action);
    e.reward += r.reward;
    e.reason = typeof r.info.reason === 'string' ? r.info.reason : r.done ? 'done' : 'continue';
    if (e.turns === 1) e.firstReason = e.reason;
    if (r.done) {
      e.done = true;
      return;
    }
    const obs = policy.encode([{ role: 'user', content: r.observation }]);
    if (e.tokens.length + obs.length + 1 >= policy.contextLength) {
      e.done = true; // no room for another turn
      e.reason = 'context_full';
      e.finish = 'length';
      return;
    }
    e.messages.push({ role: 'user', content: r.observation });
    for (const t of obs) (e.tokens.push(t), e.mask.push(0), e.logprobs.push(0));
  };
  const first = opts.firstActions;
  if (first) {
    if (first.length !== refs.length) throw new Error(`rollout: ${first.length} first actions for ${refs.length} tasks`);
    for (const e of episodes) take(e, first[e.group], encodeReply(policy.tokenizer, first[e.group]), null, 'stop');
  }
  for (let turn = first ? 1 : 0; turn < family.maxTurns; turn++) {
    const live = episodes.filter((e) => !e.done);
    if (live.length === 0) break;
    const samples = await policy.sampleTokens(live.map((e) => e.tokens), { ...opts.sampling, seed: opts.sampling.seed * 1009 + turn });
    live.forEach((e, i) => take(e, policy.decodeReply(samples[i].tokens), samples[i].tokens, samples[i].logprobs, samples[i].finish));
  }
  return episodes.map((e) => ({
    env: family.id, seed: e.ref.seed, difficulty: e.ref.difficulty, hard: safeEpisodeIsHard(family, e.messages[0].content, e.ref.difficulty), group: e.group,
    prompt: e.messages[0].content, completion: e.messages.filter((m) => m.role === 'assistant').map((m) => m.content).join('\n'),
    messages: e.messages, tokens: e.tokens, mask: Uint8Array.from(e.mask), logprobs: Float32Array.from(e.logprobs),
    promptTokens: e.promptTokens, actionTokens: e.mask.reduce((a, b) => a + b, 0),
    reward: Math.max(0, Math.min(1, e.reward)), ok: e.reason === 'correct', reason: e.reason, firstReason: e.firstReason || e.reason,
    finish: e.finish, turns: e.turns,
  }));
}

/** An environment step that never throws (a throwing step ends the episode with 'env_error'). */
function safeStep(ep: Episode['ep'], action: string): { observation: string; reward: number; done: boolean; info: { [k: string]: unknown } } {
  try {
    const r = ep.step(action);
    if (typeof r?.reward !== 'number' || !Number.isFinite(r.reward)) return { observation: '', reward: 0, done: true, info: { reason: 'env_error' } };
    return r;
  } catch {
    return { observation: '', reward: 0, done: true, info: { reason: 'env_error' } };
  }
}

function safeIsHard(family: TaskFamily, task: Task): boolean {
  try {
    return Boolean(family.isHard(task));
  } catch {
    return false;
  }
}

function safeEpisodeIsHard(family: MultiTurnFamily, firstObservation: string, difficulty: number): boolean {
  try {
    return episodeIsHard(family, firstObservation, difficulty);
  } catch {
    return false;
  }
}

/** Verifies every completion (concurrently, bounded process-wide), never throwing. */
export async function verifyAll(
  env: { family: TaskFamily; file?: string }, tasks: readonly Task[], completions: readonly string[], opts: Pick<RolloutOptions, 'verifyTimeoutMs'> = {},
): Promise<Verdict[]> {
  const target = { family: env.family, source: env.file ?? 'builtin' }, timeout = opts.verifyTimeoutMs ?? 10_000;
  return Promise.all(tasks.map((task, i) => verifier().verify(target, task, completions[i], timeout)));
}
