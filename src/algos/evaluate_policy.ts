/**
 * Evaluation of any text Policy (a remote OpenAI-compatible model, or a local
 * one through Policy.complete), built to survive failures: the work is cut
 * into jobs (one task's greedy completion, one task's k sampled ones), up to
 * `concurrency` jobs run at once, and each finished job is handed to onJob
 * at once (the caller stores it), so what was collected before an endpoint
 * failure or Ctrl-C is kept. Jobs whose key is in `skip` (already stored) are
 * not asked again: resuming is re-running with the stored keys.
 *
 * Seeds are per job (the greedy seed, or seed + 1 + the task's index for the
 * sampled job), so a resumed evaluation asks exactly what the first one would
 * have. Multi-turn episodes run over chat messages, one request per turn.
 *
 * Unlike evaluate.ts (TokenPolicy, one batch, exact tokens) trajectories here
 * carry text only: tokens is empty, logprobs are the server's when it gives
 * them.
 */
import type { MultiTurnFamily, TaskFamily } from '../envs/types.ts';
import type { Message } from '../policy/format.ts';
import type { Completion, Policy } from '../policy/types.ts';
import { verifyAll, type RolloutEnv, type TaskRef, type Trajectory } from './rollout.ts';

export type EvalMode = 'greedy' | 'sampled';

export interface EvalJob {
  key: string; // `${mode}:${index}`: what the store remembers
  mode: EvalMode;
  index: number; // the task's index in the task list (the rollouts' group)
  task: TaskRef;
  n: number; // completions
  temperature: number;
  seed: number;
}

export interface PolicyEvalOptions {
  maxTokens: number;
  k: number; // sampled completions per task (0 = greedy only)
  temperature: number;
  topP?: number;
  seed: number;
  concurrency: number; // jobs in flight at once
  verifyTimeoutMs?: number;
  skip?: ReadonlySet<string>; // keys of jobs already done
  onJob: (job: EvalJob, trajectories: Trajectory[]) => void; // called once per finished job, in completion order
  shouldStop?: () => boolean; // checked before each job starts (Ctrl-C)
  onFailure?: (err: unknown) => void; // told of the first failure (e.g. to cancel the requests in flight)
}

export interface PolicyEvalResult {
  jobs: number; // jobs in the evaluation
  ran: number; // jobs run now
  skipped: number; // jobs already done
  interrupted: boolean; // stopped by shouldStop before every job ran
}

/** The jobs of an evaluation: every task's greedy job, then (k > 0) every task's sampled job. */
export function evalJobs(tasks: readonly TaskRef[], opts: Pick<PolicyEvalOptions, 'k' | 'temperature' | 'seed'>): EvalJob[] {
  const greedy = tasks.map((task, index): EvalJob => ({ key: `greedy:${index}`, mode: 'greedy', index, task, n: 1, temperature: 0, seed: opts.seed }));
  const sampled = opts.k > 0
    ? tasks.map((task, index): EvalJob => ({ key: `sampled:${index}`, mode: 'sampled', index, task, n: opts.k, temperature: opts.temperature, seed: opts.seed + 1 + index }))
    : [];
  return [...greedy, ...sampled];
}

/**
 * Runs the jobs not in `skip`. On the first failure no new job starts, the
 * jobs in flight finish (and are stored through onJob), and the failure is
 * thrown; the caller resumes later with the stored keys.
 */
export async function evaluatePolicy(env: RolloutEnv, policy: Policy, tasks: readonly TaskRef[], opts: PolicyEvalOptions): Promise<PolicyEvalResult> {
  const all = evalJobs(tasks, opts);
  const todo = all.filter((j) => !opts.skip?.has(j.key));
  let next = 0, ran = 0, failure: unknown = null, interrupted = false;
  const worker = async (): Promise<void> => {
    while (next < todo.length && failure === null) {
      if (opts.shouldStop?.()) {
        interrupted = true;
        return;
      }
      const job = todo[next++];
      try {
        const trajectories = await runJob(env, policy, job, opts);
        opts.onJob(job, trajectories);
        ran++;
      } catch (err) {
        if (failure === null) {
          failure = err;
          opts.onFailure?.(err);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, todo.length)) }, worker));
  if (failure !== null) throw failure;
  return { jobs: all.length, ran, skipped: all.length - todo.length, interrupted };
}

async function runJob(env: RolloutEnv, policy: Policy, job: EvalJob, opts: PolicyEvalOptions): Promise<Trajectory[]> {
  const sampling = { n: job.n, maxTokens: opts.maxTokens, temperature: job.temperature, topP: opts.topP, seed: job.seed };
  return env.kind === 'task' ? singleTurn(env.family, env.file, policy, job, sampling, opts) : multiTurn(env.family, policy, job, sampling);
}

async function singleTurn(family: TaskFamily, file: string | undefined, policy: Policy, job: EvalJob, sampling: Parameters<Policy['complete']>[1], opts: PolicyEvalOptions): Promise<Trajectory[]> {
  const task = family.generate(job.task.seed, job.task.difficulty);
  const [completions] = await policy.complete([[{ role: 'user', content: task.prompt }]], sampling);
  const verdicts = await verifyAll({ family, file }, completions.map(() => task), completions.map((c) => c.text), { verifyTimeoutMs: opts.verifyTimeoutMs });
  let hard = false;
  try {
    hard = Boolean(family.isHard(task));
  } catch {
    // a throwing isHard counts as easy, as in rollout.ts
  }
  return completions.map((c, i) => ({
    ...textTrajectory(c), env: family.id, seed: task.seed, difficulty: task.difficulty, hard, group: job.index, prompt: task.prompt,
    completion: c.text, messages: null, reward: verdicts[i].reward, ok: verdicts[i].ok, reason: verdicts[i].reason, firstReason: verdicts[i].reason,
    finish: c.finish, turns: 1,
  }));
}

/** n episodes of a multi-turn environment: the first turn asks for n replies at once, later turns one request per live episode. */
async function multiTurn(family: MultiTurnFamily, policy: Policy, job: EvalJob, sampling: Parameters<Policy['complete']>[1]): Promise<Trajectory[]> {
  const eps = Array.from({ length: job.n }, () => {
    const ep = family.create();
    const obs = ep.reset(job.task.seed, job.task.difficulty);
    return { ep, messages: [{ role: 'user', content: obs }] as Message[], reward: 0, reason: 'out_of_turns', first: '', finish: 'stop' as 'stop' | 'length', turns: 0, done: false, lps: [] as number[], ptok: 0, ctok: 0 };
  });
  for (let turn = 0; turn < family.maxTurns; turn++) {
    const live = eps.filter((e) => !e.done);
    if (live.length === 0) break;
    const seed = (sampling.seed * 1009 + turn) >>> 0;
    const replies: Completion[] = turn === 0
      ? (await policy.complete([live[0].messages], { ...sampling, seed }))[0]
      : (await policy.complete(live.map((e) => e.messages), { ...sampling, n: 1, seed })).map((cs) => cs[0]);
    live.forEach((e, i) => {
      const c = replies[i];
      e.messages.push({ role: 'assistant', content: c.text });
      e.turns++;
      e.finish = c.finish;
      e.lps.push(...(c.logprobs ?? []));
      if (turn === 0) e.ptok = c.promptTokens;
      e.ctok += c.completionTokens;
      let r: { observation: string; reward: number; done: boolean; info: { [k: string]: unknown } };
      try {
        r = e.ep.step(c.text);
        if (typeof r?.reward !== 'number' || !Number.isFinite(r.reward)) r = { observation: '', reward: 0, done: true, info: { reason: 'env_error' } };
      } catch {
        r = { observation: '', reward: 0, done: true, info: { reason: 'env_error' } };
      }
      e.reward += r.reward;
      e.reason = typeof r.info.reason === 'string' ? r.info.reason : r.done ? 'done' : 'continue';
      if (turn === 0) e.first = e.reason;
      if (r.done) e.done = true;
      else e.messages.push({ role: 'user', content: r.observation });
    });
  }
  return eps.map((e) => ({
    env: family.id, seed: job.task.seed, difficulty: job.task.difficulty, hard: job.task.difficulty >= family.difficulty.max, group: job.index,
    prompt: e.messages[0].content, completion: e.messages.filter((m) => m.role === 'assistant').map((m) => m.content).join('\n'), messages: e.messages,
    tokens: [], mask: new Uint8Array(0), logprobs: Float32Array.from(e.lps), promptTokens: e.ptok, actionTokens: e.ctok,
    reward: Math.max(0, Math.min(1, e.reward)), ok: e.reason === 'correct', reason: e.reason, firstReason: e.first || e.reason, finish: e.finish, turns: e.turns,
  }));
}

function textTrajectory(c: Completion): Pick<Trajectory, 'tokens' | 'mask' | 'logprobs' | 'promptTokens' | 'actionTokens'> {
  return { tokens: [], mask: new Uint8Array(0), logprobs: Float32Array.from(c.logprobs ?? []), promptTokens: c.promptTokens, actionTokens: c.completionTokens };
}
