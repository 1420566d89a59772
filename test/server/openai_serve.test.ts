/**
 * `flywheel serve` as a real child process of a small SFT checkpoint trained
 * here in seconds, spoken to with the official `openai` npm client: models,
 * chat and completions, streaming and not, logprobs, seeds, OpenAI-shaped
 * errors that leave the server serving, batching of concurrent requests, a
 * graceful SIGTERM; and `flywheel eval --endpoint` against it gives the
 * greedy accuracy `flywheel eval --checkpoint` gives on the same tasks.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import OpenAI from 'openai';
import { initBackend } from '../../src/tensor/backend.ts';
import { loadLM } from '../../src/runs/lm_checkpoint.ts';
import { LocalPolicy } from '../../src/policy/local.ts';
import { FIRST_LETTER_SOURCE } from '../algos/rl_toy.ts';

await initBackend();
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'flywheel.js');
const tmp = mkdtempSync(join(tmpdir(), 'flywheel-serve-'));
const envFile = join(tmp, 'first_letter.ts');
writeFileSync(envFile, FIRST_LETTER_SOURCE);

function fw(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// a model that is right on about half the tasks: greedy accuracy says something
const demos = join(tmp, 'demos.jsonl'), ckpt = join(tmp, 'sft');
assert.equal(fw('envs', 'demos', envFile, '--n', '2000', '--skill', '0.6', '--out', demos).code, 0);
const sft = fw('sft', '--data', demos, '--preset', 'tiny', '--block-size', '16', '--steps', '50', '--batch-size', '16', '--lr', '3e-3', '--warmup', '5',
  '--eval-every', '0', '--checkpoint-every', '0', '--out', ckpt, '--quiet');
assert.equal(sft.code, 0, sft.err);

const KEY = 'test-key';
const child = spawn(process.execPath, [BIN, 'serve', ckpt, '--port', '0', '--json', '--api-key', KEY, '--batch-window', '40'], { stdio: ['ignore', 'pipe', 'pipe'] });
let stderr = '';
child.stderr.on('data', (d) => (stderr += d));
const lines = createInterface({ input: child.stdout });
const events: Record<string, unknown>[] = [];
const listening = new Promise<{ url: string; model: string }>((resolve, reject) => {
  lines.on('line', (l) => {
    const e = JSON.parse(l);
    events.push(e);
    if (e.event === 'listening') resolve(e);
  });
  child.on('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
});
const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
const { url, model } = await listening;
after(() => void (child.exitCode === null && child.kill('SIGKILL')));
assert.equal(model, 'sft');
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
const local = (() => {
  const lm = loadLM(ckpt);
  return new LocalPolicy(lm.model, lm.tokenizer);
})();

test('models, and a greedy chat reply equal to the model sampled in-process', async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['sft']);
  for (const prompt of ['abc', 'dca', 'bbd']) {
    const r: OpenAI.ChatCompletion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }], temperature: 0, max_tokens: 6 });
    const [[want]] = await local.complete([[{ role: 'user', content: prompt }]], { n: 1, maxTokens: 6, temperature: 0, seed: 0 });
    assert.equal(r.choices[0].message.content, want.text);
    assert.equal(r.choices[0].finish_reason, want.finish);
    assert.equal(r.usage?.prompt_tokens, prompt.length + 1, 'prompt + "\\n" (char tokenizer)');
  }
});

test('streaming chat: the deltas make the non-streamed reply; usage in the last chunk', async () => {
  const messages = [{ role: 'user' as const, content: 'cab' }];
  const whole = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 6 });
  const stream = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 6, stream: true, stream_options: { include_usage: true } });
  let text = '', finish: string | null = null, usage: unknown = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    for (const c of chunk.choices) {
      text += c.delta.content ?? '';
      finish = c.finish_reason ?? finish;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.deepEqual(usage, whole.usage);
  assert.ok(chunks >= 3);
});

test('completions: n, seed, stop, logprobs and top logprobs', async () => {
  const ask = () => client.completions.create({ model, prompt: 'abd\n', n: 4, temperature: 1, seed: 7, max_tokens: 5, logprobs: 2 });
  const a = await ask(), b = await ask();
  assert.equal(a.choices.length, 4);
  assert.deepEqual(a.choices.map((c) => c.text), b.choices.map((c) => c.text), 'the same seed gives the same completions');
  for (const c of a.choices) {
    const lp = c.logprobs!;
    assert.equal(lp.tokens!.join(''), c.text);
    assert.equal(lp.token_logprobs!.length, lp.tokens!.length);
    for (const [j, tops] of lp.top_logprobs!.entries()) {
      assert.ok(Object.keys(tops).length <= 2);
      const best = Math.max(...Object.values(tops));
      assert.ok(lp.token_logprobs![j] <= best + 1e-4, 'a sampled token is never likelier than the most likely one');
    }
  }
  const greedy = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'abd' }], temperature: 0, max_tokens: 5, logprobs: true, top_logprobs: 3 });
  for (const t of greedy.choices[0].logprobs!.content!) {
    assert.equal(t.top_logprobs[0].token, t.token, 'greedy picks the most likely token');
    assert.ok(Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-4);
  }
  const stopped = await client.completions.create({ model, prompt: 'abd\n', temperature: 0, max_tokens: 8, stop: [greedy.choices[0].message.content!.slice(1, 2) || 'x'] });
  assert.ok(stopped.choices[0].text.length <= 1);
});

test('bad requests: OpenAI-shaped errors with the right status, and the server keeps serving', async () => {
  await assert.rejects(client.chat.completions.create({ model, messages: [{ role: 'user', content: 'a' }], temperature: 5 }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.BadRequestError);
    assert.equal(e.status, 400);
    assert.equal((e.error as { param?: string }).param, 'temperature');
    return true;
  });
  await assert.rejects(client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'a' }] }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.equal((e.error as { code?: string }).code, 'model_not_found');
    return true;
  });
  await assert.rejects(new OpenAI({ baseURL: `${url}/v1`, apiKey: 'wrong', maxRetries: 0 }).models.list(), OpenAI.AuthenticationError);
  const raw = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { Authorization: `Bearer ${KEY}` }, body: '{"model": "sft", "messages": [' });
  assert.equal(raw.status, 400);
  const body = await raw.json() as { error: { message: string; type: string } };
  assert.equal(body.error.type, 'invalid_request_error');
  assert.match(body.error.message, /not valid JSON/);
  const long = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { Authorization: `Bearer ${KEY}` }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'abcabcabcabcabcabc' }] }) });
  assert.equal(long.status, 400);
  assert.equal(((await long.json()) as { error: { code: string } }).error.code, 'context_length_exceeded');
  const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'abc' }], temperature: 0, max_tokens: 3 });
  assert.equal(typeof r.choices[0].message.content, 'string', 'still serving');
});

test('eval --endpoint against serve = eval --checkpoint: the same greedy accuracy on the same tasks', () => {
  const viaCheckpoint = fw('eval', '--checkpoint', ckpt, '--env', envFile, '--n', '60', '--k', '0', '--out', join(tmp, 'ev-ckpt'), '--json');
  assert.equal(viaCheckpoint.code, 0, viaCheckpoint.err);
  const viaServe = fw('eval', '--endpoint', `${url}/v1`, '--model', model, '--api-key', KEY, '--env', envFile, '--n', '60', '--k', '2', '--concurrency', '16',
    '--out', join(tmp, 'ev-serve'), '--json', '--quiet');
  assert.equal(viaServe.code, 0, viaServe.err);
  const a = JSON.parse(viaCheckpoint.out), b = JSON.parse(viaServe.out);
  assert.ok(a.accuracy.overall > 0.1 && a.accuracy.overall < 0.9, `a model that is sometimes right (${a.accuracy.overall})`);
  assert.deepEqual(b.accuracy, a.accuracy);
  assert.equal(b.rollouts, 60 * 3);
  assert.equal(b.usage.requests, 120);
  assert.ok(b.pass_at_k['2'] >= b.pass_at_k['1']);
});

test('concurrent requests share sampling calls; SIGTERM stops the server cleanly', async () => {
  const before = (await fetch(`${url}/health`)).status;
  assert.equal(before, 200);
  const replies = await Promise.all(['abc', 'bca', 'cab', 'dab', 'bad', 'ccd', 'dda', 'acd'].map((p) =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content: p }], temperature: 0, max_tokens: 4 })));
  assert.equal(replies.length, 8);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  const stopped = events.find((e) => e.event === 'stopped') as { batcher: { calls: number; requests: number; largestBatch: number }; signal: string };
  assert.equal(stopped.signal, 'SIGTERM');
  assert.ok(stopped.batcher.largestBatch >= 8, `the 8 concurrent requests were sampled together (largest batch ${stopped.batcher.largestBatch})`);
  assert.ok(stopped.batcher.calls < stopped.batcher.requests);
});
