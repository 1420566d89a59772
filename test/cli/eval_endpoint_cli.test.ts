/**
 * `flywheel eval --endpoint` as a user runs it, against a local fake
 * OpenAI-compatible server that answers deterministically: killed with
 * SIGKILL midway and resumed, it asks only for what was not stored and ends
 * with the summary of an uninterrupted run; an endpoint that starts refusing
 * midway (401) is a clear error naming it, the rollouts collected so far are
 * kept, and --resume finishes the job once the endpoint is back.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutStore } from '../../src/runs/rollouts.ts';
import { FIRST_LETTER_SOURCE } from '../algos/rl_toy.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'flywheel.js');
const tmp = mkdtempSync(join(tmpdir(), 'flywheel-eval-endpoint-'));
const envFile = join(tmp, 'first_letter.ts');
writeFileSync(envFile, FIRST_LETTER_SOURCE);

/** What the fake server was asked: the prompt, the mode (temperature 0 or not), the seed. */
interface Asked { prompt: string; greedy: boolean; seed: number; n: number }
let asked: Asked[] = [];
let refuseAfter = Infinity; // answer 401 from this request on
let delayMs = 0;

/** A deterministic "model": right when the prompt's letters and the seed say so. */
function answer(prompt: string, seed: number, i: number): string {
  const h = [...prompt].reduce((a, c) => a * 31 + c.charCodeAt(0), seed + i) % 5;
  return h < 2 ? prompt[0] : 'x';
}

const server = createServer((req, res) => {
  let data = '';
  req.on('data', (c) => (data += c));
  req.on('end', () => {
    const b = JSON.parse(data) as { messages: { content: string }[]; temperature: number; seed: number; n: number };
    const prompt = b.messages.at(-1)!.content;
    asked.push({ prompt, greedy: b.temperature === 0, seed: b.seed, n: b.n });
    if (asked.length > refuseAfter) return json(res, 401, { error: { message: 'key revoked' } });
    setTimeout(() => json(res, 200, {
      choices: Array.from({ length: b.n }, (_, i) => ({ index: i, message: { role: 'assistant', content: answer(prompt, b.temperature === 0 ? 0 : b.seed, i) }, finish_reason: 'stop' })),
      usage: { prompt_tokens: 4, completion_tokens: b.n },
    }), delayMs);
  });
});
function json(res: ServerResponse, status: number, v: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(v));
}
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const ENDPOINT = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
after(() => {
  server.closeAllConnections();
  server.close();
});

const ARGS = ['eval', '--endpoint', ENDPOINT, '--model', 'fake', '--env', envFile, '--n', '30', '--k', '3', '--concurrency', '2', '--retries', '0', '--quiet'];

/** Runs the CLI without blocking this process (the fake server lives here). */
function fw(args: string[], opts: { killAfterAsked?: number; signal?: NodeJS.Signals } = {}): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const watch = opts.killAfterAsked === undefined ? null : setInterval(() => {
      if (asked.length >= opts.killAfterAsked!) {
        child.kill(opts.signal ?? 'SIGKILL');
        clearInterval(watch!);
      }
    }, 5);
    child.on('exit', (code, signal) => {
      if (watch) clearInterval(watch);
      resolve({ code, signal, out, err });
    });
  });
}

function storedJobs(dir: string): Set<string> {
  const store = new RolloutStore(join(dir, 'rollouts.sqlite'));
  try {
    return new Set([...store.rows()].map((r) => `${(r.sampling as { job: string }).job}`));
  } finally {
    store.close();
  }
}

const key = (a: Asked): string => `${a.greedy ? 'g' : 's'}:${a.prompt}:${a.seed}`;

const straight = await (async () => {
  asked = [];
  const r = await fw([...ARGS, '--out', join(tmp, 'straight'), '--json']);
  assert.equal(r.code, 0, r.err);
  return { summary: JSON.parse(r.out), asked: asked.map(key) };
})();

test('an uninterrupted run: every job asked once, every rollout stored, usage counted', () => {
  const s = straight.summary;
  assert.equal(straight.asked.length, 60, '30 greedy + 30 sampled requests');
  assert.equal(straight.asked.filter((k) => k.startsWith('g:')).length, 30);
  assert.equal(s.rollouts, 30 + 30 * 3);
  assert.equal(s.usage.requests, 60);
  assert.ok(s.accuracy.overall > 0 && s.accuracy.overall < 1);
  assert.deepEqual(Object.keys(s.by_difficulty), ['1', '2']);
  assert.ok(s.pass_at_k['3'] >= s.pass_at_k['1']);
});

test('kill -9 midway, then --resume: asks only what was not stored, ends as an uninterrupted run', async () => {
  const out = join(tmp, 'killed');
  asked = [];
  delayMs = 15;
  const killed = await fw([...ARGS, '--out', out], { killAfterAsked: 25 });
  assert.equal(killed.signal, 'SIGKILL');
  const stored = storedJobs(out);
  assert.ok(stored.size >= 15 && stored.size < 60, `some jobs stored before the kill (${stored.size})`);
  const lost = asked.length - stored.size; // answered or asked, but not stored when the kill came
  assert.ok(lost >= 0 && lost <= 2, `at most the jobs in flight at the kill are lost (${lost}; concurrency 2)`);

  asked = [];
  const resumed = await fw(['eval', '--out', out, '--resume', '--json', '--quiet']);
  delayMs = 0;
  assert.equal(resumed.code, 0, resumed.err);
  assert.equal(asked.length, 60 - stored.size, 'one request per job not stored');
  const s = JSON.parse(resumed.out), want = straight.summary;
  assert.deepEqual(s.accuracy, want.accuracy);
  assert.deepEqual(s.pass_at_k, want.pass_at_k);
  assert.deepEqual(s.by_difficulty, want.by_difficulty);
  assert.equal(s.rollouts, want.rollouts);
  assert.equal(s.usage.sessions, 1, 'the killed session wrote no metrics line; the resumed one did');
});

test('Ctrl-C: the requests in flight finish and are stored, exit 130 with how to resume; --resume finishes', async () => {
  const out = join(tmp, 'interrupted');
  asked = [];
  delayMs = 30;
  const stopped = await fw([...ARGS, '--out', out], { killAfterAsked: 12, signal: 'SIGINT' });
  delayMs = 0;
  assert.equal(stopped.code, 130, stopped.err);
  assert.match(stopped.err, /stopped: \d+ rollouts are stored in .*rollouts\.sqlite; continue with: flywheel eval --out .* --resume/);
  const stored = storedJobs(out);
  assert.equal(stored.size, asked.length, 'every request made was answered and stored: nothing collected is lost');
  assert.ok(stored.size < 60);
  asked = [];
  const resumed = await fw(['eval', '--out', out, '--resume', '--json', '--quiet']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.equal(asked.length, 60 - stored.size);
  const s = JSON.parse(resumed.out);
  assert.deepEqual(s.accuracy, straight.summary.accuracy);
  assert.deepEqual(s.pass_at_k, straight.summary.pass_at_k);
  assert.equal(s.usage.sessions, 2, 'the interrupted session wrote its metrics line');
});

test('an endpoint that starts refusing: a clear error naming it, collected rollouts kept, --resume finishes', async () => {
  const out = join(tmp, 'refused');
  asked = [];
  refuseAfter = 20;
  const failed = await fw([...ARGS, '--out', out]);
  refuseAfter = Infinity;
  assert.equal(failed.code, 1);
  assert.match(failed.err, new RegExp(`error: ${ENDPOINT}/chat/completions: HTTP 401, the API key was refused \\(--api-key / OPENAI_API_KEY\\): key revoked`));
  assert.match(failed.err, /rollouts are stored in .*rollouts\.sqlite; continue with: flywheel eval --out .* --resume/);
  assert.doesNotMatch(failed.err, /at .*\.ts:\d+/, 'no stack trace');
  const stored = storedJobs(out);
  assert.ok(stored.size >= 18 && stored.size <= 20, `the jobs answered before the refusal are stored (${stored.size})`);

  asked = [];
  const resumed = await fw(['eval', '--out', out, '--resume', '--json', '--quiet']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.equal(asked.length, 60 - stored.size);
  const s = JSON.parse(resumed.out);
  assert.deepEqual(s.accuracy, straight.summary.accuracy);
  assert.deepEqual(s.pass_at_k, straight.summary.pass_at_k);
  assert.equal(s.usage.sessions, 2);
});

test('difficulty sweep names the band; bad flags are clear errors', async () => {
  asked = [];
  const r = await fw(['eval', '--endpoint', ENDPOINT, '--model', 'fake', '--env', envFile, '--difficulty-sweep', '--n', '10', '--k', '4', '--out', join(tmp, 'sweep'), '--quiet']);
  assert.equal(r.code, 0, r.err);
  assert.equal(asked.length, 2 * 10 * 2, '10 tasks at each of 2 difficulties, greedy and sampled');
  assert.match(r.out, /difficulty 1: greedy [\d.]+% \(10 tasks\)  pass@1 [\d.]+%  pass@2 [\d.]+%  pass@4 [\d.]+%/);
  assert.match(r.out, /RL band \(pass@1 between 10\.0% and 90\.0%\): difficulty 1, 2|RL band: no difficulty/);

  const noModel = await fw(['eval', '--endpoint', ENDPOINT, '--env', envFile, '--out', join(tmp, 'x1')]);
  assert.equal(noModel.code, 1);
  assert.match(noModel.err, /--model is required with --endpoint/);
  const both = await fw(['eval', '--endpoint', ENDPOINT, '--checkpoint', tmp, '--env', envFile]);
  assert.match(both.err, /give --checkpoint or --endpoint, not both/);
  const notRun = await fw(['eval', '--out', join(tmp, 'nothing-here'), '--resume']);
  assert.equal(notRun.code, 1);
  assert.match(notRun.err, /no such run directory/);
  assert.ok(!existsSync(join(tmp, 'x1', 'rollouts.sqlite')));
});
