/**
 * Run directories as a user meets them, through real child processes and
 * real signals: Ctrl-C and SIGTERM stop within a step, checkpoint and say
 * how to resume; a second Ctrl-C exits at once; --resume restores the run's
 * own settings and refuses contradicting flags; SFT'd models are sampled in
 * the format they were trained on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, fw, userError } from './fw.ts';

const tmp = mkdtempSync(join(tmpdir(), 'flywheel-runs-cli-'));
const corpus = join(tmp, 'corpus.txt');
writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. a bird sang in the tall tree. '.repeat(60));
const TINY = ['--preset', 'tiny', '--block-size', '32', '--batch-size', '8', '--corpus', corpus, '--sample-tokens', '0'];

/** Starts a long run, waits until it has trained a few steps, sends the signals, and returns what it printed. */
async function interrupt(out: string, signals: NodeJS.Signals[]): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [BIN, 'pretrain', ...TINY, '--steps', '2000', '--checkpoint-every', '0', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const metrics = join(out, 'metrics.jsonl');
  while (!(existsSync(metrics) && readFileSync(metrics, 'utf8').split('\n').length > 3)) await new Promise((r) => setTimeout(r, 50));
  for (const s of signals) child.kill(s);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, err };
}

const savedStep = (out: string): number => JSON.parse(readFileSync(join(out, 'checkpoint', 'state.json'), 'utf8')).step;

test('Ctrl-C stops a run within a step, saves a checkpoint and prints the resume command; --resume continues', async () => {
  const out = join(tmp, 'int');
  const r = await interrupt(out, ['SIGINT']);
  assert.equal(r.code, 130, r.err);
  const step = savedStep(out);
  assert.ok(step > 0 && step < 2000, `checkpoint at step ${step}`);
  assert.match(r.err, new RegExp(`stopped at step ${step} of 2000; continue with: flywheel pretrain --out ${out} --resume`));
  const resumed = fw('pretrain', '--out', out, '--resume', '--quiet', '--json');
  assert.equal(resumed.code, 0, resumed.err);
  assert.equal(JSON.parse(resumed.out).steps, 2000);
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.train.steps, 2000);
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, [...new Set(steps)].sort((a, b) => a - b), 'each step logged once, in order');
});

test('SIGTERM checkpoints too (exit 143); a second Ctrl-C exits at once and the last checkpoint stays loadable', async () => {
  const term = join(tmp, 'term');
  const r = await interrupt(term, ['SIGTERM']);
  assert.equal(r.code, 143, r.err);
  assert.ok(savedStep(term) > 0);
  const twice = join(tmp, 'twice');
  const r2 = await interrupt(twice, ['SIGINT', 'SIGINT']);
  assert.equal(r2.code, 130, r2.err);
  const s = fw('sample', '--checkpoint', twice, '--max-tokens', '5');
  if (existsSync(join(twice, 'checkpoint'))) assert.equal(s.code, 0, s.err);
  else assert.match(s.err, /checkpoint/);
});

test('--resume restores the run: its corpus and shape without flags; contradicting flags are errors naming both values', () => {
  const out = join(tmp, 'res');
  assert.equal(fw('pretrain', ...TINY, '--steps', '6', '--checkpoint-every', '3', '--out', out, '--quiet').code, 0);
  // no --corpus, no --preset: the run's own (tiny, its corpus) are used
  const r = fw('pretrain', '--out', out, '--resume', '--steps', '8', '--quiet', '--json', '--sample-tokens', '0');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).steps, 8);
  userError(fw('pretrain', '--out', out, '--resume', '--layers', '4'), /--layers 4 contradicts this run's model.nLayer = 2/);
  userError(fw('pretrain', '--out', out, '--resume', '--preset', 'small'), /--preset small: --layers 4 contradicts/);
  userError(fw('pretrain', '--out', out, '--resume', '--steps', '4'), /may only grow, from 8/);
  userError(fw('pretrain', '--out', out, '--resume', '--corpus', join(tmp, 'other.txt')), /--corpus ".*other.txt" contradicts this run's data.file/);
  userError(fw('pretrain', ...TINY, '--out', out), /already holds a pretrain run; continue it with --resume/);
  userError(fw('pretrain', '--out', out, '--resume', '--force'), /contradict each other/);
  const notRun = join(tmp, 'mydata');
  mkdirSync(notRun);
  writeFileSync(join(notRun, 'config.json'), '{}');
  userError(fw('pretrain', ...TINY, '--out', notRun, '--force'), /not a flywheel run directory/);
  assert.equal(readFileSync(join(notRun, 'config.json'), 'utf8'), '{}');
  userError(fw('pretrain', ...TINY, '--out', corpus), /is a file, not a directory/);
});

test('SFT on prompt/completion and chat rows; resumes with the same command plus --resume; sampled in its trained format', () => {
  const data = join(tmp, 'pairs.jsonl');
  const rows: string[] = [];
  for (let i = 0; i < 60; i++) rows.push(JSON.stringify({ prompt: `echo ${i % 10}`, completion: `Answer: ${i % 10}` }));
  writeFileSync(data, rows.join('\n') + '\n');
  const base = join(tmp, 'sft-base');
  const args = ['sft', '--data', data, '--preset', 'tiny', '--block-size', '32', '--batch-size', '16', '--lr', '0.01', '--warmup', '10', '--quiet'];
  assert.equal(fw(...args, '--steps', '150', '--out', base).code, 0);
  // greedy, the model answers its training prompt: it saw "echo 3" + newline, and --prompt is formatted the same way
  const s = fw('sample', '--checkpoint', base, '--prompt', 'echo 3', '--temperature', '0', '--max-tokens', '20', '--json');
  assert.equal(s.code, 0, s.err);
  const got = JSON.parse(s.out);
  assert.equal(got.format, 'chat');
  assert.equal(got.samples[0].text, 'Answer: 3');
  assert.equal(got.samples[0].finish, 'stop');
  assert.equal(got.samples[0].tokens.length, got.samples[0].logprobs.length);
  assert.ok(got.samples[0].logprobs.every((x: number) => x <= 0));

  const sft = join(tmp, 'sft-init');
  const withInit = ['sft', '--data', data, '--init', base, '--steps', '4', '--checkpoint-every', '2', '--out', sft, '--quiet'];
  assert.equal(fw(...withInit).code, 0);
  const again = fw(...withInit.map((a) => (a === '4' ? '6' : a)), '--resume', '--json');
  assert.equal(again.code, 0, again.err);
  assert.equal(JSON.parse(again.out).steps, 6);

  const chat = join(tmp, 'chat.jsonl');
  const turn = (n: number) => [{ role: 'user', content: `echo ${n}` }, { role: 'assistant', content: `Answer: ${n + 1}` }, { role: 'user', content: 'again' }, { role: 'assistant', content: `Answer: ${n}` }];
  writeFileSync(chat, Array.from({ length: 20 }, (_, i) => JSON.stringify({ messages: turn(i % 10) })).join('\n'));
  assert.equal(fw('sft', '--data', chat, '--preset', 'tiny', '--block-size', '48', '--steps', '2', '--out', join(tmp, 'sft-chat'), '--quiet').code, 0);
  writeFileSync(join(tmp, 'badchat.jsonl'), `${JSON.stringify({ messages: turn(1) })}\n${JSON.stringify({ messages: [{ role: 'robot', content: 'x' }] })}\n`);
  userError(fw('sft', '--data', join(tmp, 'badchat.jsonl'), '--out', join(tmp, 'sft-bad')), /badchat\.jsonl:2: field "messages\[0\]\.role" is "robot"/);
  const w = fw('sample', '--checkpoint', base, '--prompt', 'echo é', '--max-tokens', '3');
  assert.match(w.err, /warning: the prompt has characters this model's tokenizer does not know .*"é"/);
});

test('unknown commands are errors in every form; --version; bad numbers and FLYWHEEL_THREADS are clear errors', () => {
  for (const args of [['dashboard'], ['dashboard', '--help'], ['help', 'dashboard']]) userError(fw(...args), /unknown command 'dashboard'/);
  const v = fw('--version');
  assert.equal(v.code, 0);
  assert.equal(v.out.trim(), JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')).version);
  for (const [flag, value] of [['--steps', '1e308'], ['--steps', '0x10'], ['--lr', '0'], ['--lr', '0x10']]) {
    const r = fw('pretrain', flag, value, '--out', join(tmp, 'never'));
    assert.equal(r.code, 1, `${flag} ${value}`);
    assert.match(r.err, new RegExp(`'${flag} <.>' argument '${value}' is invalid`));
  }
  assert.ok(!existsSync(join(tmp, 'never')));
  const t = spawnSync(process.execPath, [BIN, 'doctor', '--line'], { encoding: 'utf8', env: { ...process.env, FLYWHEEL_THREADS: 'abc' } });
  assert.equal(t.status, 1);
  assert.match(t.stderr, /FLYWHEEL_THREADS=abc is not a thread count/);
  userError(fw('pretrain', '--block-size', '65536', '--out', join(tmp, 'huge')), /would need about .* GiB/);
  assert.ok(!existsSync(join(tmp, 'huge')), 'nothing left behind');
});
