/**
 * Rollout bookkeeping with a scripted policy: single-turn trajectories keep
 * the sampled tokens and log-probs; multi-turn episodes interleave
 * observation tokens (mask 0) with actions (mask 1) and sum the episode's
 * reward; verifiers that throw, hang or return garbage become reasons.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharTokenizer } from '../../src/models/tokenizer.ts';
import { decodeReply, encodeChat, type Message } from '../../src/policy/format.ts';
import type { Completion, SamplingParams, TokenPolicy, TokenSample } from '../../src/policy/types.ts';
import { rollout, verifyAll } from '../../src/algos/rollout.ts';
import { getEnv } from '../../src/envs/registry.ts';
import type { MultiTurnFamily, TaskFamily } from '../../src/envs/types.ts';
import { firstLetter } from './rl_toy.ts';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvFile } from '../../src/envs/load.ts';

const tok = CharTokenizer.ascii();

/** Replies with scripted texts in order, each ending with EOS; log-prob -0.5 a token. */
class Scripted implements TokenPolicy {
  readonly name = 'scripted';
  readonly tokenizer = tok;
  readonly contextLength = 512;
  readonly seen: number[][] = [];
  constructor(private readonly replies: string[]) {}
  encode(messages: readonly Message[]): number[] {
    return encodeChat(tok, messages, { open: true }).tokens;
  }
  decodeReply(tokens: readonly number[]): string {
    return decodeReply(tok, tokens);
  }
  async sampleTokens(prefixes: readonly (readonly number[])[], _p: SamplingParams): Promise<TokenSample[]> {
    return prefixes.map((p) => {
      this.seen.push([...p]);
      const tokens = [...tok.encode(this.replies.shift() ?? ''), tok.eosId];
      return { tokens, logprobs: tokens.map(() => -0.5), finish: 'stop' as const };
    });
  }
  score(): number[][] {
    throw new Error('not used');
  }
  async complete(): Promise<Completion[][]> {
    throw new Error('not used');
  }
}

const params = { maxTokens: 20, temperature: 1, seed: 0 };

test('single turn: the trajectory is prompt ++ sampled tokens, masked and scored where the policy wrote', async () => {
  const policy = new Scripted(['a', 'b']);
  const [right, wrong] = await rollout({ kind: 'task', family: firstLetter }, policy, [{ seed: 3, difficulty: 1 }], { group: 2, sampling: params });
  const prompt = firstLetter.generate(3, 1).prompt;
  const promptTokens = tok.encode(prompt + '\n');
  assert.deepEqual(right.tokens, [...promptTokens, ...tok.encode('a'), tok.eosId]);
  assert.deepEqual([...right.mask], [...promptTokens.map(() => 0), 1, 1]);
  assert.deepEqual([...right.logprobs].slice(promptTokens.length), [-0.5, -0.5]);
  assert.equal(right.promptTokens, promptTokens.length);
  assert.equal(right.actionTokens, 2);
  assert.equal(right.ok, prompt[0] === 'a');
  assert.equal(wrong.ok, prompt[0] === 'b');
  assert.equal(right.group, 0);
});

test('multi-turn: observations are injected between actions (mask 0), the reward is the episode total', async () => {
  const entry = getEnv('retry-arith-v1');
  const family = (entry as { family: MultiTurnFamily }).family;
  const ep = family.create();
  const obs = ep.reset(7, 1);
  const truth = family.solve([obs]);
  const policy = new Scripted(['Answer: -99999', truth]);
  const [t] = await rollout({ kind: 'multiturn', family }, policy, [{ seed: 7, difficulty: 1 }], { group: 1, sampling: params });
  assert.equal(t.turns, 2);
  assert.equal(t.reward, 0.5); // right on the second attempt
  assert.equal(t.ok, true);
  assert.equal(t.firstReason, 'wrong');
  assert.deepEqual(t.messages!.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
  const expected = encodeChat(tok, t.messages!);
  assert.deepEqual(t.tokens, expected.tokens, 'the trajectory is the chat encoding of the episode');
  assert.deepEqual([...t.mask], [...expected.loss], 'only the actions carry the mask');
  assert.deepEqual(policy.seen[1], expected.tokens.slice(0, expected.tokens.length - tok.encode(truth).length - 1), 'the second turn continues the exact tokens of the first');
});

test('multi-turn with firstActions: the given first attempt is played for the policy (mask 0), the policy acts from the second turn', async () => {
  const family = (getEnv('retry-arith-v1') as { family: MultiTurnFamily }).family;
  const tasks = [{ seed: 7, difficulty: 1 }, { seed: 8, difficulty: 1 }];
  const truths = tasks.map((t) => family.solve([family.create().reset(t.seed, t.difficulty)]));
  const policy = new Scripted([truths[0], 'Answer: -99999', 'no idea']);
  const [a, b] = await rollout({ kind: 'multiturn', family }, policy, tasks, { group: 1, sampling: params, firstActions: ['Answer: -99998', 'Answer: -99997'] });
  assert.equal(policy.seen.length, 3, 'the policy was asked for turns 2 (both) and 3 (the second episode) only');
  assert.deepEqual(a.messages!.map((m) => m.content).slice(1), ['Answer: -99998', 'wrong, try again', truths[0]]);
  assert.deepEqual([a.firstReason, a.reason, a.ok, a.reward, a.turns], ['wrong', 'correct', true, 0.5, 2]);
  assert.deepEqual([b.firstReason, b.reason, b.ok, b.reward, b.turns], ['wrong', 'no_answer', false, 0, 3]);
  const all = encodeChat(tok, a.messages!), forced = tok.encode('Answer: -99998').length + 1;
  assert.deepEqual(a.tokens, all.tokens);
  assert.deepEqual([...a.mask], [...all.loss.slice(0, a.promptTokens), ...Array(forced).fill(0), ...all.loss.slice(a.promptTokens + forced)], 'the given attempt is not the policy\'s');
  assert.equal(a.actionTokens, tok.encode(truths[0]).length + 1);
  await assert.rejects(rollout({ kind: 'multiturn', family }, policy, tasks, { group: 1, sampling: params, firstActions: ['x'] }), /1 first actions for 2 tasks/);
});

test('verifier faults are values: throw -> verifier_error, a promise that never settles -> verifier_timeout, garbage -> verifier_error', async () => {
  const base = firstLetter;
  const task = base.generate(0, 1);
  const throwing: TaskFamily = { ...base, verify: () => { throw new TypeError('boom'); } };
  const hanging: TaskFamily = { ...base, verify: () => new Promise(() => {}) };
  const garbage: TaskFamily = { ...base, verify: () => ({ reward: 7 }) as never };
  const [e1] = await verifyAll({ family: throwing }, [task], ['a']);
  assert.equal(e1.reason, 'verifier_error');
  assert.match(e1.detail!, /boom/);
  const [e2] = await verifyAll({ family: hanging }, [task], ['a'], { verifyTimeoutMs: 50 });
  assert.equal(e2.reason, 'verifier_timeout');
  const [e3] = await verifyAll({ family: garbage }, [task], ['a']);
  assert.equal(e3.reason, 'verifier_error');
  for (const v of [e1, e2, e3]) assert.equal(v.reward, 0);
});

test("a user's file verifies in a worker: a synchronous infinite loop in verify() times out, and the next verdicts are honest", async () => {
  const file = fileURLToPath(new URL('../server/fixtures/faulty_task.ts', import.meta.url));
  const entry = await loadEnvFile(file);
  assert.equal(entry.kind, 'task');
  if (entry.kind !== 'task') return;
  const task = entry.family.generate(3, 1), right = `Answer: ${task.answer}`;
  const env = { family: entry.family, file };
  const verdicts = await verifyAll(env, [task, task, task, task, task], ['spin', right, 'throw', 'greedy', 'Answer: -1'], { verifyTimeoutMs: 1000 });
  assert.deepEqual(verdicts.map((v) => v.reason), ['verifier_timeout', 'correct', 'verifier_error', 'verifier_error', 'wrong']);
  assert.deepEqual(verdicts.map((v) => v.reward), [0, 1, 0, 0, 0]);
  // and a whole rollout through the policy interface, on the same (restarted) worker
  const [t] = await rollout({ kind: 'task', family: entry.family, file }, new Scripted(['spin']), [{ seed: 3, difficulty: 1 }], { group: 1, sampling: params, verifyTimeoutMs: 500 });
  assert.equal(t.reason, 'verifier_timeout');
});

test("a process that verified with a user's file exits by itself (the worker thread does not hold it open)", () => {
  const file = fileURLToPath(new URL('../server/fixtures/faulty_task.ts', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'flywheel-verify-exit-'));
  const script = join(dir, 'verify.mts');
  writeFileSync(script, [
    `import { loadEnvFile } from ${JSON.stringify(fileURLToPath(new URL('../../src/envs/load.ts', import.meta.url)))};`,
    `import { verifyAll } from ${JSON.stringify(fileURLToPath(new URL('../../src/algos/rollout.ts', import.meta.url)))};`,
    `const e = await loadEnvFile(${JSON.stringify(file)});`,
    `if (e.kind !== 'task') throw new Error('not a task family');`,
    `const t = e.family.generate(1, 1);`,
    `const [v] = await verifyAll({ family: e.family, file: ${JSON.stringify(file)} }, [t], ['Answer: ' + t.answer]);`,
    `console.log(v.reason);`,
  ].join('\n'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.signal, null, 'killed by the timeout: the process did not exit after verifying');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'correct');
});
