/**
 * `flywheel export` as a user runs it: on a real RL run (`flywheel train` on
 * a tiny environment), its sft and messages JSONL train again with
 * `flywheel sft`, its Parquet is read by DuckDB with the same rows as the
 * JSONL, and bad input is a clear error (exit 1, no stack trace).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { initBackend } from '../../src/tensor/backend.ts';
import { RunDir } from '../../src/runs/run_dir.ts';
import { RolloutStore } from '../../src/runs/rollouts.ts';
import { lmCheckpoint } from '../../src/runs/lm_checkpoint.ts';
import { FIRST_LETTER_SOURCE, toyPolicy } from '../algos/rl_toy.ts';
import { stepsArg } from '../../src/cli/export.ts';

await initBackend();
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'flywheel.js');
const tmp = mkdtempSync(join(tmpdir(), 'flywheel-export-cli-'));
const envFile = join(tmp, 'first_letter.ts');
writeFileSync(envFile, FIRST_LETTER_SOURCE);
const init = join(tmp, 'init');
const p = toyPolicy(5);
RunDir.start(init, 'sft', {}).saveCheckpoint(lmCheckpoint(p.model, p.tokenizer, { kind: 'sft', model: p.model.config, format: 'chat' }));

function fw(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, cwd: tmp });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// one reply token: a verified success is exactly the right letter, text the char tokenizer reads back
const rl = join(tmp, 'runs', 'rl');
const trained = fw('train', '--env', envFile, '--init', init, '--steps', '4', '--prompts', '4', '--group', '8', '--max-tokens', '1',
  '--eval-every', '2', '--eval-tasks', '8', '--quiet', '--out', rl);

test('a real RL run: sft and messages exports train again with flywheel sft', () => {
  assert.equal(trained.code, 0, trained.err);
  const store = new RolloutStore(join(rl, 'rollouts.sqlite'));
  const wins = [...store.rows({ phase: 'train', ok: true }, { blobs: false })];
  store.close();
  assert.ok(wins.length >= 2, `the toy policy gets some right (${wins.length})`);

  const sft = fw('export', 'rl', '--kind', 'sft'); // by name under runs/, to stdout
  assert.equal(sft.code, 0, sft.err);
  const rows = sft.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows, wins.map((w) => ({ prompt: w.prompt, completion: w.completion })));
  assert.match(sft.err, new RegExp(`exported ${wins.length} sft rows from ${wins.length} rollouts \\(phase train\\) to stdout`));
  writeFileSync(join(tmp, 'sft.jsonl'), sft.out);
  assert.equal(fw('export', rl, '--kind', 'messages', '--out', join(tmp, 'chat.jsonl'), '--quiet').code, 0);

  for (const data of ['sft.jsonl', 'chat.jsonl']) {
    const out = join(tmp, `again-${data}`);
    const r = fw('sft', '--data', join(tmp, data), '--init', rl, '--steps', '3', '--batch-size', '4', '--eval-every', '0', '--out', out, '--quiet', '--json');
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(r.out);
    assert.equal(res.steps, 3);
    assert.ok(res.tokens > 0 && res.finalLoss < res.firstLoss, `${data}: trained on the export (loss ${res.firstLoss} -> ${res.finalLoss})`);
    assert.ok(existsSync(join(out, 'checkpoint')));
  }
});

test('a real RL run: Parquet read by DuckDB holds the rows of the JSONL export; --json prints the summary', async () => {
  assert.equal(trained.code, 0, trained.err);
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  for (const kind of ['preference', 'rollouts']) {
    const file = join(tmp, `${kind}.parquet`);
    const r = fw('export', rl, '--kind', kind, '--format', 'parquet', '--out', file, '--json');
    assert.equal(r.code, 0, r.err);
    const summary = JSON.parse(r.out);
    const lines = fw('export', rl, '--kind', kind).out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(summary.rows, lines.length);
    assert.ok(lines.length > 0);
    const got = (await duck.runAndReadAll(`SELECT * FROM read_parquet('${file}')`)).getRowObjectsJson() as Record<string, unknown>[];
    const norm = (o: Record<string, unknown>) => ({ ...o, ...(o.id !== undefined ? { id: Number(o.id), seed: Number(o.seed) } : {}) });
    assert.deepEqual(got.map(norm), lines);
  }
  const [{ phases }] = (await duck.runAndReadAll(`SELECT string_agg(DISTINCT phase, ',' ORDER BY phase) AS phases FROM read_parquet('${join(tmp, 'rollouts.parquet')}')`)).getRowObjectsJson();
  assert.equal(phases, 'eval,preflight,train');
});

test('an eval run exports too (every phase by default), and multi-turn chats train with flywheel sft', () => {
  assert.equal(trained.code, 0, trained.err);
  const ev = join(tmp, 'ev');
  const e = fw('eval', '--checkpoint', rl, '--env', envFile, '--n', '8', '--k', '8', '--max-tokens', '1', '--out', ev, '--json');
  assert.equal(e.code, 0, e.err);
  const r = fw('export', ev, '--kind', 'preference', '--out', join(tmp, 'ev.jsonl'), '--json');
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out);
  assert.equal(summary.phase, 'all');
  const store = new RolloutStore(join(ev, 'rollouts.sqlite'));
  const prompts = new Set([...store.rows({}, { blobs: false })].map((x) => x.prompt));
  store.close();
  const pairs = readFileSync(join(tmp, 'ev.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(pairs.length, summary.rows);
  assert.ok(pairs.every((x) => prompts.has(x.prompt) && x.chosen !== x.rejected));

  // multi-turn episodes (written here: the toy policy has no multi-turn environment), exported whole and trained on
  const mt = join(tmp, 'mt');
  RunDir.start(mt, 'rl', {});
  const s = new RolloutStore(join(mt, 'rollouts.sqlite'));
  s.insert(Array.from({ length: 6 }, (_, i) => ({
    step: 1, phase: 'train' as const, env: 'm-v1', seed: i, difficulty: 1, hard: false, group: i, prompt: 'abc', completion: 'd\na', reward: 1, ok: true,
    reason: 'correct', finish: 'stop' as const, turns: 2, promptTokens: 4, completionTokens: 2, sampling: {},
    messages: [{ role: 'user', content: 'abc' }, { role: 'assistant', content: 'd' }, { role: 'user', content: `b${'abcd'[i % 4]}` }, { role: 'assistant', content: 'a' }],
  })));
  s.close();
  assert.equal(fw('export', mt, '--kind', 'messages', '--out', join(tmp, 'mt.jsonl'), '--quiet').code, 0);
  assert.equal(JSON.parse(readFileSync(join(tmp, 'mt.jsonl'), 'utf8').split('\n')[0]).messages.length, 4);
  const t = fw('sft', '--data', join(tmp, 'mt.jsonl'), '--init', init, '--steps', '2', '--batch-size', '2', '--eval-every', '0', '--out', join(tmp, 'mt-sft'), '--quiet', '--json');
  assert.equal(t.code, 0, t.err);
  assert.equal(JSON.parse(t.out).steps, 2);
  const sft = fw('export', mt, '--kind', 'sft');
  assert.equal(sft.code, 1);
  assert.match(sft.err, /all 6 matching rollouts are multi-turn episodes.*--kind messages exports them whole/);
});

test('bad input: a clear error and exit 1, never a stack trace; an existing --out is kept without --force', () => {
  const out = join(tmp, 'kept.jsonl');
  writeFileSync(out, 'mine\n');
  const cases: [string[], RegExp][] = [
    [['export', rl, '--kind', 'dpo'], /--kind.*expected one of sft, messages, preference, rollouts, got "dpo"/],
    [['export', rl, '--kind', 'sft', '--format', 'csv'], /expected one of jsonl, parquet, got "csv"/],
    [['export', rl], /required option '--kind <kind>' not specified/],
    [['export', rl, '--kind', 'rollouts', '--format', 'parquet'], /--format parquet writes a file: give it with --out FILE.parquet/],
    [['export', 'nope', '--kind', 'sft'], /no run at nope \(nor runs\/nope\)/],
    [['export', init, '--kind', 'sft'], /init is a sft run without rollouts \(no rollouts.sqlite\)/],
    [['export', rl, '--kind', 'sft', '--out', out], /kept.jsonl already exists; pass --force to replace it/],
    [['export', rl, '--kind', 'sft', '--env', 'other-v1'], /nothing to export from .*: --env other-v1 matches none of the \d+ rollouts left by the filters before it; environments there: first-letter-v1/],
    [['export', rl, '--kind', 'sft', '--steps', '9:3'], /empty step range "9:3"/],
    [['export', rl, '--kind', 'sft', '--json'], /--json prints the summary on stdout.*give --out FILE/],
  ];
  for (const [args, re] of cases) {
    const r = fw(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.doesNotMatch(r.err, /internal error|    at /, 'no stack trace');
  }
  assert.equal(readFileSync(out, 'utf8'), 'mine\n');
  assert.equal(fw('export', rl, '--kind', 'sft', '--out', out, '--force').code, 0);
  assert.notEqual(readFileSync(out, 'utf8'), 'mine\n');
  assert.equal(existsSync(join(tmp, 'runs', 'rl', 'rollouts.sqlite')), true);
});

test('a reader that stops early (| head -1) ends the export quietly', () => {
  const big = join(tmp, 'big');
  RunDir.start(big, 'rl', {});
  const s = new RolloutStore(join(big, 'rollouts.sqlite'));
  const long = 'x'.repeat(400);
  s.insert(Array.from({ length: 4000 }, (_, i) => ({
    step: 1, phase: 'train' as const, env: 'e-v1', seed: i, difficulty: 1, hard: false, group: i, prompt: `p${i}`, completion: long, reward: 1, ok: true,
    reason: 'correct', finish: 'stop' as const, turns: 1, promptTokens: 3, completionTokens: 400, sampling: {},
  })));
  s.close();
  const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" export "${big}" --kind sft | head -1`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(JSON.parse(r.stdout).prompt, 'p0');
  assert.doesNotMatch(r.stderr, /error/i);
  assert.equal(r.status, 0, r.stderr);
});

test('--steps parses A:B, A:, :B and A', () => {
  assert.deepEqual(stepsArg('10:50'), [10, 50]);
  assert.deepEqual(stepsArg('10:'), [10, undefined]);
  assert.deepEqual(stepsArg(':50'), [undefined, 50]);
  assert.deepEqual(stepsArg('7'), [7, 7]);
  for (const bad of ['', ':', 'a:b', '5:2', '1:2:3', '-1:4']) assert.throws(() => stepsArg(bad), /step range/, bad);
});
