/**
 * `flywheel eval --endpoint URL --model NAME`: verified accuracy and pass@k
 * of a model behind an OpenAI-compatible server (lazily imported by rl.ts).
 *
 * Every finished job (a task's greedy completion, or its k samples) goes to
 * <out>/rollouts.sqlite at once, in one transaction, with its job key in the
 * row's sampling JSON; an evaluation stopped by an endpoint failure, Ctrl-C
 * or kill -9 continues with --resume, which asks only for the jobs not yet
 * stored. The summary is computed from the store, so it covers every
 * session. Each session appends one metrics line: requests, retries, tokens
 * the server reported, cost (with --price-input / --price-output).
 *
 * --difficulty-sweep evaluates --n tasks at every difficulty and names the
 * band where the pass rate sits between 10% and 90%: where RL learns.
 */
import { UserError } from '../util/errors.ts';
import { OpenAIPolicy, type OpenAIApi } from '../policy/openai.ts';
import { RunDir, RUN_FILES } from '../runs/run_dir.ts';
import { RolloutStore, type RolloutRow } from '../runs/rollouts.ts';
import { evaluatePolicy, type EvalJob } from '../algos/evaluate_policy.ts';
import { heldoutTasks } from '../algos/evaluate.ts';
import { HELDOUT_SEED_BASE } from '../algos/rl_config.ts';
import type { RolloutEnv, TaskRef, Trajectory } from '../algos/rollout.ts';
import { accuracyOf } from '../measure/accuracy.ts';
import { passAtKs } from '../measure/passk.ts';
import { levels, rolloutEnv, samples } from './rl_impl.ts';
import { exitCode, onInterrupt } from './signals.ts';

export interface EndpointEvalFlags {
  endpoint?: string;
  model?: string;
  apiKey?: string;
  api: OpenAIApi;
  env?: string;
  n: number;
  k: number;
  difficulty?: number[];
  difficultySweep?: boolean;
  temperature: number;
  maxTokens?: number;
  concurrency: number;
  timeout: number; // seconds
  retries: number;
  stream?: boolean;
  logprobs: boolean;
  priceInput?: number; // USD per million prompt tokens
  priceOutput?: number; // USD per million completion tokens
  out: string;
  force?: boolean;
  resume?: boolean;
  seed: number;
  json?: boolean;
  quiet?: boolean;
}

/** config.json of an endpoint evaluation: what defines its jobs (the endpoint itself may move between sessions). */
export interface EndpointEvalConfig {
  endpoint: string;
  model: string;
  api: OpenAIApi;
  env: string;
  n: number;
  k: number;
  difficulties: number[];
  sweep: boolean;
  maxTokens: number;
  temperature: number;
  seed: number;
}

/** The BAND where RL learns: pass rates in [lo, hi]. */
export const RL_BAND = [0.1, 0.9] as const;

export async function runEndpointEval(flags: EndpointEvalFlags): Promise<void> {
  const log = (s: string): void => void (flags.quiet ? undefined : process.stderr.write(s + '\n'));
  const { run, config } = await openRun(flags);
  const { env } = await rolloutEnv(config.env);
  const tasks = taskList(config);
  const controller = new AbortController();
  const policy = new OpenAIPolicy({
    baseUrl: flags.endpoint ?? config.endpoint, model: config.model, apiKey: flags.apiKey, api: config.api, concurrency: flags.concurrency,
    timeoutMs: flags.timeout * 1000, retries: flags.retries, stream: flags.stream, logprobs: flags.logprobs, seed: config.seed, signal: controller.signal,
    onRetry: (e, attempt, wait) => log(`retry ${attempt}/${flags.retries} in ${(wait / 1000).toFixed(1)} s: ${e.message}`),
  });
  const store = new RolloutStore(run.path(RUN_FILES.rollouts));
  const stop = onInterrupt((s) => {
    log(`\n${s}: finishing the requests in flight, then stopping (Ctrl-C again to quit at once; stored rollouts are kept)`);
  });
  const started = Date.now();
  const skip = storedKeys(store);
  if (skip.size) log(`resuming: ${skip.size} jobs already stored in ${store.path}`);
  log(`evaluating ${config.model} at ${policy.url} on ${config.env}: ${tasks.length} tasks, greedy${config.k ? ` + ${config.k} samples at T=${config.temperature}` : ''}`);
  let failure: unknown = null, ran = 0, interrupted = false;
  try {
    const r = await evaluatePolicy(env, policy, tasks, {
      maxTokens: config.maxTokens, k: config.k, temperature: config.temperature, seed: config.seed, concurrency: flags.concurrency, skip,
      shouldStop: () => stop.requested,
      onFailure: () => controller.abort(),
      onJob: (job, trajectories) => {
        store.insert(trajectories.map((t) => rowOf(t, job, config)));
        ran++;
      },
    });
    interrupted = r.interrupted || stop.requested;
  } catch (err) {
    if (stop.requested) interrupted = true;
    else failure = err;
  } finally {
    stop.dispose();
  }
  const cost = costOf(policy.usage.promptTokens, policy.usage.completionTokens, flags);
  const session = run.readMetrics().length;
  run.appendMetrics({
    step: session, jobs_ran: ran, requests: policy.usage.requests, retries: policy.usage.retries, prompt_tokens: policy.usage.promptTokens,
    completion_tokens: policy.usage.completionTokens, cost_usd: cost, seconds: (Date.now() - started) / 1000, ended: failure ? 'endpoint_failure' : interrupted ? 'interrupted' : 'done',
  });
  const stored = store.count({ phase: 'eval' });
  const resumeHint = `${stored} rollouts are stored in ${store.path}; continue with: flywheel eval --out ${flags.out} --resume`;
  if (failure !== null || interrupted) {
    store.close();
    if (failure !== null) throw new UserError(`${(failure as Error).message ?? String(failure)}\n${resumeHint}`);
    process.stderr.write(`stopped: ${resumeHint}\n`);
    process.exitCode = exitCode(stop.signal);
    return;
  }
  const summary = endpointSummary(store, env, config, run.readMetrics(), flags);
  store.close();
  run.writeJson(RUN_FILES.summary, summary);
  if (flags.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else process.stdout.write(formatSummary(summary));
}

/** A new run (config from the flags) or, with --resume, the saved one (whose config defines the jobs). */
async function openRun(flags: EndpointEvalFlags): Promise<{ run: RunDir; config: EndpointEvalConfig }> {
  if (flags.resume) {
    const run = RunDir.start(flags.out, 'eval', {}, { resume: true, force: flags.force });
    const config = run.config<EndpointEvalConfig & { checkpoint?: string }>();
    if (!config.endpoint) throw new UserError(`${flags.out}: this evaluation was of a checkpoint, not an endpoint; --resume is for endpoint evaluations (run it again with --force)`);
    if (flags.model !== undefined && flags.model !== config.model) throw new UserError(`--model ${flags.model}: this evaluation is of ${config.model}; mixing models in one run would mix their results (use another --out)`);
    return { run, config };
  }
  if (!flags.env) throw new UserError('--env is required: an environment id (`flywheel envs list`) or your task family file');
  const model = flags.model ?? process.env.OPENAI_MODEL;
  if (!model) throw new UserError('--model is required with --endpoint: the server\'s model name (GET /v1/models lists them)');
  const endpoint = flags.endpoint ?? process.env.OPENAI_BASE_URL;
  if (!endpoint) throw new UserError('--endpoint URL is required (or set OPENAI_BASE_URL), e.g. http://127.0.0.1:8000/v1');
  const { env, source } = await rolloutEnv(flags.env);
  const all = levels(env);
  const difficulties = flags.difficulty ?? all;
  const { min, max } = env.family.difficulty;
  for (const d of difficulties) if (d < min || d > max) throw new UserError(`--difficulty ${d} is out of range for ${env.family.id}: ${min}..${max}`);
  const maxTokens = flags.maxTokens ?? defaultMaxTokens(env, difficulties);
  const config: EndpointEvalConfig = {
    endpoint, model, api: flags.api, env: source, n: flags.n, k: flags.k, difficulties, sweep: !!flags.difficultySweep, maxTokens,
    temperature: flags.temperature, seed: flags.seed,
  };
  return { run: RunDir.start(flags.out, 'eval', config, { force: flags.force }), config };
}

/** Characters stand in for tokens (a remote tokenizer is unknown): 1.5x the longest reference reply, plus 4, as for checkpoints with a character tokenizer. */
function defaultMaxTokens(env: RolloutEnv, difficulties: readonly number[]): number {
  const longest = Math.max(...samples(env, difficulties).map((e) => e.reply.length + 1));
  return Math.ceil(1.5 * longest) + 4;
}

/** The held-out tasks: cycling through the difficulties, or (sweep) n at each. */
function taskList(c: EndpointEvalConfig): TaskRef[] {
  if (!c.sweep) return heldoutTasks(c.n, c.difficulties);
  return c.difficulties.flatMap((difficulty) => Array.from({ length: c.n }, (_, i) => ({ seed: HELDOUT_SEED_BASE + i, difficulty })));
}

function storedKeys(store: RolloutStore): Set<string> {
  const keys = new Set<string>();
  for (const r of store.rows({ phase: 'eval' })) {
    const job = (r.sampling as { job?: unknown }).job;
    if (typeof job === 'string') keys.add(job);
  }
  return keys;
}

function rowOf(t: Trajectory, job: EvalJob, c: EndpointEvalConfig): RolloutRow {
  return {
    step: 0, phase: 'eval', env: t.env, seed: t.seed, difficulty: t.difficulty, hard: t.hard, group: t.group, prompt: t.prompt, completion: t.completion,
    messages: t.messages, reward: t.reward, ok: t.ok, reason: t.reason, finish: t.finish, turns: t.turns, promptTokens: t.promptTokens,
    completionTokens: t.actionTokens, tokens: null, actionMask: null, logprobs: t.logprobs.length ? t.logprobs : null,
    sampling: { job: job.key, mode: job.mode, temperature: job.temperature, max_tokens: c.maxTokens, seed: job.seed, n: job.n, model: c.model },
  };
}

function costOf(promptTokens: number, completionTokens: number, flags: Pick<EndpointEvalFlags, 'priceInput' | 'priceOutput'>): number | null {
  if (flags.priceInput === undefined && flags.priceOutput === undefined) return null;
  return ((flags.priceInput ?? 0) * promptTokens + (flags.priceOutput ?? 0) * completionTokens) / 1e6;
}

export interface EndpointSummary {
  model: string;
  endpoint: string;
  env: string;
  n: number; // tasks
  accuracy: { overall: number | null; easy: number | null; hard: number | null; by_difficulty: Record<string, number> }; // greedy
  pass_at_k: Record<string, number | null>; // sampled, over every task
  by_difficulty: Record<string, { tasks: number; greedy: number | null; pass_at_k: Record<string, number | null> }>;
  band: { lo: number; hi: number; rate: 'pass@1' | 'greedy'; difficulties: number[] } | null; // --difficulty-sweep
  reasons: Record<string, number>; // greedy
  mean_reward: number;
  usage: { sessions: number; requests: number; retries: number; prompt_tokens: number; completion_tokens: number; cost_usd: number | null };
  rollouts: number;
  config: EndpointEvalConfig;
}

/** The summary over every stored rollout (all sessions of the run). */
function endpointSummary(store: RolloutStore, env: RolloutEnv, c: EndpointEvalConfig, metrics: Record<string, unknown>[], flags: EndpointEvalFlags): EndpointSummary {
  const greedy: Trajectory[] = [], sampled = new Map<number, { difficulty: number; n: number; c: number }>();
  let rollouts = 0, promptTokens = 0, completionTokens = 0;
  const askedOnce = new Set<string>(); // a request's prompt tokens are counted once, not once per sample
  for (const r of store.rows({ phase: 'eval' })) {
    rollouts++;
    const job = String((r.sampling as { job?: unknown }).job);
    if (!askedOnce.has(job)) (askedOnce.add(job), (promptTokens += r.promptTokens));
    completionTokens += r.completionTokens;
    const mode = (r.sampling as { mode?: string }).mode;
    if (mode === 'greedy') greedy.push({ ...r, mask: new Uint8Array(0), logprobs: new Float32Array(0), tokens: [], actionTokens: r.completionTokens, firstReason: r.reason, messages: null });
    else {
      const g = sampled.get(r.group) ?? { difficulty: r.difficulty, n: 0, c: 0 };
      g.n++;
      if (r.ok) g.c++;
      sampled.set(r.group, g);
    }
  }
  const ks = c.k > 0 ? [...new Set([1, 2, 4, 8, 16, 32, 64, c.k])].filter((k) => k <= c.k).sort((a, b) => a - b) : [];
  // in task order, not storage order: a resumed run stores jobs in another order, and float sums must not depend on it
  greedy.sort((x, y) => x.group - y.group);
  const groups = [...sampled.entries()].sort((x, y) => x[0] - y[0]).map(([, g]) => g);
  const a = accuracyOf(greedy);
  const by_difficulty: EndpointSummary['by_difficulty'] = {};
  for (const d of c.difficulties) {
    const counts = groups.filter((g) => g.difficulty === d);
    by_difficulty[d] = { tasks: greedy.filter((t) => t.difficulty === d).length, greedy: a.byDifficulty[d] ?? null, pass_at_k: ks.length ? passAtKs(counts, ks) : {} };
  }
  const rate = c.k > 0 ? 'pass@1' : 'greedy';
  const band = c.sweep ? {
    lo: RL_BAND[0], hi: RL_BAND[1], rate,
    difficulties: c.difficulties.filter((d) => {
      const x = rate === 'pass@1' ? by_difficulty[d].pass_at_k['1'] : by_difficulty[d].greedy;
      return x !== null && x !== undefined && x >= RL_BAND[0] && x <= RL_BAND[1];
    }),
  } as const : null;
  const sum = (key: string): number => metrics.reduce((s, m) => s + (typeof m[key] === 'number' ? (m[key] as number) : 0), 0);
  return {
    model: c.model, endpoint: flags.endpoint ?? c.endpoint, env: c.env, n: greedy.length,
    accuracy: { overall: a.overall, easy: a.easy, hard: a.hard, by_difficulty: a.byDifficulty },
    pass_at_k: ks.length ? passAtKs(groups, ks) : {}, by_difficulty, band, reasons: a.reasons, mean_reward: a.meanReward ?? 0,
    usage: {
      sessions: metrics.length, requests: sum('requests'), retries: sum('retries'), prompt_tokens: promptTokens, completion_tokens: completionTokens,
      cost_usd: costOf(promptTokens, completionTokens, flags),
    },
    rollouts, config: c,
  };
}

function formatSummary(s: EndpointSummary): string {
  const pct = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const lines = [
    `${s.model} on ${s.env}: ${s.n} tasks, ${s.rollouts} rollouts`,
    `greedy accuracy: ${pct(s.accuracy.overall)} (easy ${pct(s.accuracy.easy)}, hard ${pct(s.accuracy.hard)})`,
  ];
  if (Object.keys(s.pass_at_k).length) lines.push(`pass@k: ${Object.entries(s.pass_at_k).map(([k, v]) => `@${k} ${pct(v)}`).join(', ')}`);
  for (const [d, v] of Object.entries(s.by_difficulty)) {
    const pk = Object.entries(v.pass_at_k).map(([k, x]) => `pass@${k} ${pct(x)}`).join('  ');
    lines.push(`  difficulty ${d}: greedy ${pct(v.greedy)} (${v.tasks} tasks)${pk ? `  ${pk}` : ''}`);
  }
  if (s.band) {
    lines.push(s.band.difficulties.length
      ? `RL band (${s.band.rate} between ${pct(s.band.lo)} and ${pct(s.band.hi)}): difficulty ${s.band.difficulties.join(', ')}`
      : `RL band: no difficulty has ${s.band.rate} between ${pct(s.band.lo)} and ${pct(s.band.hi)}`);
  }
  lines.push(`reasons (greedy): ${Object.entries(s.reasons).map(([r, n]) => `${r} ${n}`).join(', ')}`);
  const u = s.usage;
  lines.push(`usage: ${u.requests} requests, ${u.retries} retries, ${u.prompt_tokens} prompt + ${u.completion_tokens} completion tokens${u.cost_usd !== null ? `, $${u.cost_usd.toFixed(4)}` : ''}`);
  return lines.join('\n') + '\n';
}
