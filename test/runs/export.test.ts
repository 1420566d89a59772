/**
 * Export from a rollout store written here row by row: each kind's exact
 * rows, the preference pairing rule, filters, the errors a user sees, and
 * Parquet files read back by DuckDB (an independent reader) equal to the
 * JSONL of the same export, with real column types.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { RunDir } from '../../src/runs/run_dir.ts';
import { RolloutStore, type RolloutRow } from '../../src/runs/rollouts.ts';
import { exportRollouts, pairsOf, type ExportOptions } from '../../src/runs/export.ts';
import { parquetFile, type Column } from '../../src/runs/export_sinks.ts';

const tmp = mkdtempSync(join(tmpdir(), 'flywheel-export-'));

function row(over: Partial<RolloutRow>): RolloutRow {
  return {
    step: 1, phase: 'train', env: 'a-v1', seed: 7, difficulty: 1, hard: false, group: 0, prompt: 'p', completion: 'c', messages: null,
    reward: 0, ok: false, reason: 'wrong', advantage: 0.25, finish: 'stop', turns: 1, promptTokens: 2, completionTokens: 1, tokens: [1, 2, 3],
    actionMask: Uint8Array.of(0, 0, 1), logprobs: Float32Array.of(0, 0, -1), sampling: { temperature: 1 }, ...over,
  };
}
const win = (over: Partial<RolloutRow>): RolloutRow => row({ reward: 1, ok: true, reason: 'correct', ...over });

/** An RL run: two groups of step 1 stored interleaved, step 2 in another env, a multi-turn episode, eval and preflight rows. */
function makeRun(name: string): string {
  const dir = join(tmp, name);
  RunDir.start(dir, 'rl', { env: 'a-v1' });
  const s = new RolloutStore(join(dir, 'rollouts.sqlite'));
  s.insert([row({ step: 0, phase: 'preflight', prompt: 'pf', completion: 'q' }), win({ step: 0, phase: 'preflight', prompt: 'pf', completion: 'r' })]);
  s.insert([
    row({ group: 0, prompt: 'p0', completion: 'x' }),
    row({ group: 1, prompt: 'p1', completion: 'u' }),
    win({ group: 0, prompt: 'p0', completion: 'y' }),
    row({ group: 1, prompt: 'p1', completion: 'v' }),
    row({ group: 0, prompt: 'p0', completion: 'z', reward: 0.5, reason: 'partial' }),
    win({ group: 0, prompt: 'p0', completion: 'y' }), // the same reply again
    row({ group: 0, prompt: 'p0', completion: 'w' }),
  ]);
  s.insert([
    win({ step: 2, env: 'b-v1', difficulty: 2, seed: 3_000_000_000, prompt: 'p2', completion: 'k' }),
    row({ step: 2, env: 'b-v1', difficulty: 2, seed: 3_000_000_000, prompt: 'p2', completion: 'j', advantage: null }),
    win({ step: 2, env: 'm-v1', group: 1, prompt: 'guess', completion: '5\n3', turns: 2,
      messages: [{ role: 'user', content: 'guess' }, { role: 'assistant', content: '5' }, { role: 'user', content: 'lower' }, { role: 'assistant', content: '3' }] }),
  ]);
  s.insert([win({ step: 2, phase: 'eval', prompt: 'e0', completion: 'g', advantage: null }), row({ step: 2, phase: 'eval', prompt: 'e0', completion: 'h', advantage: null })]);
  s.close();
  return dir;
}

const run = makeRun('run');

/** Runs an export into a JSONL file and returns its rows and summary. */
async function jsonl(o: Partial<ExportOptions> & Pick<ExportOptions, 'kind'>, name = `${o.kind}-${Math.random().toString(36).slice(2)}.jsonl`) {
  const out = join(tmp, name);
  const summary = await exportRollouts({ run, format: 'jsonl', out, ...o });
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { rows, summary, out };
}

test('sft: verified successes of the training phase as {prompt, completion}; multi-turn episodes skipped; --dedup drops repeats', async () => {
  const { rows, summary } = await jsonl({ kind: 'sft' });
  assert.deepEqual(rows, [{ prompt: 'p0', completion: 'y' }, { prompt: 'p0', completion: 'y' }, { prompt: 'p2', completion: 'k' }]);
  assert.equal(summary.phase, 'train');
  assert.equal(summary.skipped.multiTurn, 1);
  const d = await jsonl({ kind: 'sft', dedup: true });
  assert.deepEqual(d.rows, [{ prompt: 'p0', completion: 'y' }, { prompt: 'p2', completion: 'k' }]);
  assert.equal(d.summary.skipped.duplicates, 1);
  const all = await jsonl({ kind: 'sft', includeFailures: true, phase: 'all', dedup: true });
  assert.equal(all.rows.length, 12, 'every distinct single-turn reply of every phase');
  const meta = await jsonl({ kind: 'sft', meta: true, env: 'b-v1' });
  assert.deepEqual(meta.rows, [{ prompt: 'p2', completion: 'k', env: 'b-v1', seed: 3_000_000_000, difficulty: 2, step: 2, phase: 'train', reward: 1 }]);
});

test('messages: single-turn rows as [user, assistant], multi-turn episodes whole', async () => {
  const { rows } = await jsonl({ kind: 'messages', dedup: true });
  assert.deepEqual(rows, [
    { messages: [{ role: 'user', content: 'p0' }, { role: 'assistant', content: 'y' }] },
    { messages: [{ role: 'user', content: 'p2' }, { role: 'assistant', content: 'k' }] },
    { messages: [{ role: 'user', content: 'guess' }, { role: 'assistant', content: '5' }, { role: 'user', content: 'lower' }, { role: 'assistant', content: '3' }] },
  ]);
});

test('preference: best against worst within each group (ties to the first stored); all: every pair with a reward gap; --min-reward is on the chosen reply', async () => {
  const best = await jsonl({ kind: 'preference' });
  assert.deepEqual(best.rows, [{ prompt: 'p0', chosen: 'y', rejected: 'x' }, { prompt: 'p2', chosen: 'k', rejected: 'j' }]);
  assert.equal(best.summary.skipped.sameReward, 1, 'group p1: every reply scored 0');
  assert.equal(best.summary.skipped.multiTurn, 1);
  const all = await jsonl({ kind: 'preference', pairs: 'all', env: 'a-v1' });
  assert.deepEqual(all.rows.map((r) => `${r.chosen}>${r.rejected}`), ['y>x', 'y>w', 'y>z', 'z>x', 'z>w']);
  const high = await jsonl({ kind: 'preference', pairs: 'all', env: 'a-v1', minReward: 0.75, meta: true });
  assert.deepEqual(high.rows.map((r) => `${r.chosen}>${r.rejected}`), ['y>x', 'y>w', 'y>z']);
  assert.deepEqual(Object.keys(high.rows[0]), ['prompt', 'chosen', 'rejected', 'env', 'seed', 'difficulty', 'step', 'phase', 'chosen_reward', 'rejected_reward']);
  assert.equal(high.rows[2].rejected_reward, 0.5);
  const every = await jsonl({ kind: 'preference', phase: 'all' });
  assert.deepEqual(every.rows.map((r) => r.prompt), ['e0', 'pf', 'p0', 'p2'], 'grouped by phase, then step and group');
});

test('pairsOf: replies with the same text count once; equal rewards make no pair', () => {
  const r = (id: number, completion: string, reward: number) => ({ id, completion, reward });
  assert.deepEqual(pairsOf([r(1, 'a', 0), r(2, 'b', 1), r(3, 'c', 1), r(4, 'd', 0)], 'best-worst').map(([c, x]) => [c.id, x.id]), [[2, 1]]);
  assert.deepEqual(pairsOf([r(1, 'a', 1), r(2, 'a', 0)], 'all'), [], 'one text, one reply');
  assert.deepEqual(pairsOf([r(1, 'a', 1), r(2, 'b', 1)], 'best-worst'), []);
  assert.deepEqual(pairsOf([r(1, 'a', 0.2), r(2, 'b', 0.6)], 'best-worst', 0.7), []);
});

test('rollouts: every row of every phase with its fields; filters by env, difficulty, steps and reward', async () => {
  const { rows } = await jsonl({ kind: 'rollouts' });
  assert.equal(rows.length, 14);
  const j = rows.find((r) => r.completion === 'j')!;
  assert.deepEqual(j, {
    id: 11, step: 2, phase: 'train', env: 'b-v1', seed: 3_000_000_000, difficulty: 2, hard: false, group: 0, prompt: 'p2', completion: 'j', messages: null,
    reward: 0, ok: false, reason: 'wrong', advantage: null, finish: 'stop', turns: 1, prompt_tokens: 2, completion_tokens: 1, sampling: '{"temperature":1}',
  });
  assert.equal(rows.find((r) => r.turns === 2)!.messages instanceof Array, true);
  const pick = async (o: Partial<ExportOptions>): Promise<unknown[]> => (await jsonl({ kind: 'rollouts', ...o })).rows.map((r) => r.completion);
  assert.deepEqual(await pick({ env: 'b-v1' }), ['k', 'j']);
  assert.deepEqual(await pick({ difficulty: [2] }), ['k', 'j']);
  assert.deepEqual(await pick({ fromStep: 0, toStep: 0 }), ['q', 'r']);
  assert.deepEqual(await pick({ fromStep: 2, phase: 'train', minReward: 1 }), ['k', '5\n3']);
  assert.deepEqual(await pick({ phase: 'eval' }), ['g', 'h']);
});

test('JSONL to a stream: the same lines as to a file', async () => {
  const chunks: string[] = [];
  const { Writable } = await import('node:stream');
  const stream = new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) });
  const s = await exportRollouts({ run, kind: 'rollouts', format: 'jsonl', stream });
  const { out } = await jsonl({ kind: 'rollouts' });
  assert.equal(chunks.join(''), readFileSync(out, 'utf8'));
  assert.equal(s.out, null);
});

test('errors a user can fix: the filter that matched nothing, what the run holds, and no file left behind', async () => {
  const out = join(tmp, 'none.jsonl');
  const fails = (o: Partial<ExportOptions>, re: RegExp) => assert.rejects(exportRollouts({ run, kind: 'sft', format: 'jsonl', out, ...o }), (e: Error) => e.name === 'UserError' && re.test(e.message));
  await fails({ env: 'nope-v1' }, /--env nope-v1 matches none of the 10 rollouts left by the filters before it; environments there: a-v1 \(7\), b-v1 \(2\), m-v1 \(1\)/);
  await fails({ difficulty: [5, 6] }, /--difficulty 5,6 matches none.*difficulties there: 1 \(8\), 2 \(2\)/);
  await fails({ fromStep: 7 }, /--steps 7: matches none.*steps run from 1 to 2/);
  await fails({ minReward: 2 }, /--min-reward 2 matches none/);
  await fails({ env: 'm-v1' }, /all 1 matching rollouts are multi-turn episodes.*--kind messages exports them whole/);
  await fails({ phase: 'eval', env: 'b-v1' }, /--env b-v1 matches none of the 2 rollouts left by the filters before it; environments there: a-v1 \(2\)/);
  await assert.rejects(exportRollouts({ run, kind: 'preference', format: 'jsonl', out, env: 'a-v1', minReward: 1.5 }), /none of the 2 groups \(the replies to one prompt at one step\) among the 7 matching rollouts has two different replies with different rewards where the better one has reward >= 1.5/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(tmp).filter((f) => f.includes('.partial-')), [], 'no temporary file left');

  const bare = join(tmp, 'bare');
  RunDir.start(bare, 'sft', {});
  await assert.rejects(exportRollouts({ run: bare, kind: 'sft', format: 'jsonl', out }), /bare is a sft run without rollouts \(no rollouts.sqlite\)/);
  await assert.rejects(exportRollouts({ run: join(tmp, 'missing'), kind: 'sft', format: 'jsonl', out }), /no such run directory/);
  writeFileSync(join(tmp, 'notrun.txt'), 'x');
  await assert.rejects(exportRollouts({ run: tmp, kind: 'sft', format: 'jsonl', out }), /not a flywheel run directory/);
  const early = join(tmp, 'early');
  RunDir.start(early, 'rl', {});
  const st = new RolloutStore(join(early, 'rollouts.sqlite'));
  st.insert([win({ phase: 'preflight' })]);
  st.close();
  await assert.rejects(exportRollouts({ run: early, kind: 'sft', format: 'jsonl', out }), /--phase train matches none of the 1 rollouts; phases there: preflight \(1\) \(train is the default for --kind sft of an RL run; --phase all takes every phase\)/);
  const empty = join(tmp, 'empty');
  RunDir.start(empty, 'eval', {});
  new RolloutStore(join(empty, 'rollouts.sqlite')).close();
  await assert.rejects(exportRollouts({ run: empty, kind: 'rollouts', format: 'jsonl', out }), /holds no rollouts yet/);

  await assert.rejects(exportRollouts({ run, kind: 'rollouts', format: 'parquet', stream: process.stdout }), /--format parquet writes a file: give it with --out/);
  await assert.rejects(exportRollouts({ run, kind: 'rollouts', format: 'jsonl', out: join(run, 'rollouts.sqlite'), force: true }), /one of the run's own files/);
  await assert.rejects(exportRollouts({ run, kind: 'rollouts', format: 'jsonl', out: join(tmp, 'no', 'dir.jsonl') }), /no such directory/);
  await assert.rejects(exportRollouts({ run, kind: 'rollouts', format: 'jsonl', out: tmp }), /is a directory/);
  // a FIFO or a symlink (as /dev/null would be) is refused, force or not: renaming the file into place would replace it
  const fifo = join(tmp, 'fifo');
  execFileSync('mkfifo', [fifo]);
  symlinkSync(join(tmp, 'notrun.txt'), join(tmp, 'link.jsonl'));
  for (const special of [fifo, join(tmp, 'link.jsonl')]) {
    await assert.rejects(exportRollouts({ run, kind: 'rollouts', format: 'parquet', out: special, force: true }), /is not a regular file/);
  }
  assert.equal(lstatSync(fifo).isFIFO(), true);
  assert.equal(readFileSync(join(tmp, 'link.jsonl'), 'utf8'), 'x');
  await assert.rejects(exportRollouts({ run, kind: 'rollouts', format: 'csv' as 'jsonl', out }), /unknown --format "csv"/);
  await assert.rejects(exportRollouts({ run, kind: 'dpo' as 'sft', format: 'jsonl', out }), /unknown --kind "dpo"; expected one of sft, messages, preference, rollouts/);
  await assert.rejects(exportRollouts({ run, kind: 'rollouts', format: 'jsonl', out, dedup: true }), /--dedup applies to --kind sft and messages/);
  await assert.rejects(exportRollouts({ run, kind: 'sft', format: 'jsonl', out, pairs: 'all' }), /--pairs applies to --kind preference/);
});

test('an existing output is refused without force, replaced with it; an interrupted export leaves it as it was', async () => {
  const out = join(tmp, 'keep.jsonl');
  writeFileSync(out, 'precious\n');
  await assert.rejects(exportRollouts({ run, kind: 'sft', format: 'jsonl', out }), /keep.jsonl already exists; pass --force to replace it/);
  assert.equal(readFileSync(out, 'utf8'), 'precious\n');

  // a store big enough that the export polls shouldStop (every 512 rows)
  const big = join(tmp, 'big');
  RunDir.start(big, 'rl', {});
  const s = new RolloutStore(join(big, 'rollouts.sqlite'));
  s.insert(Array.from({ length: 1500 }, (_, i) => win({ group: i % 50, prompt: `p${i % 50}`, completion: `c${i}`, reward: (i % 3) / 2 })));
  s.close();
  for (const format of ['jsonl', 'parquet'] as const) {
    const r = await exportRollouts({ run: big, kind: 'rollouts', format, out, force: true, shouldStop: () => true });
    assert.equal(r.interrupted, true);
    assert.equal(readFileSync(out, 'utf8'), 'precious\n', `${format}: interrupted export kept the old file`);
  }
  const r = await exportRollouts({ run: big, kind: 'sft', format: 'jsonl', out, force: true });
  assert.equal(r.rows, 1500);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 1500);
  assert.deepEqual(readdirSync(tmp).filter((f) => f.includes('.partial-')), []);
});

// ---------------------------------------------------------------- Parquet, read by DuckDB

const duck = await (await DuckDBInstance.create(':memory:')).connect();

async function query(sql: string): Promise<Record<string, unknown>[]> {
  return (await duck.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

async function columnTypes(file: string): Promise<Record<string, string>> {
  return Object.fromEntries((await query(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).map((r) => [r.column_name, r.column_type]));
}

/** DuckDB's JSON rendering of a row, with BIGINTs (rendered as strings) back to numbers. */
function unbig(r: Record<string, unknown>, types: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, types[k] === 'BIGINT' && typeof v === 'string' ? Number(v) : v]));
}

test('Parquet, read by DuckDB: the same rows as the JSONL export, with typed columns and messages as a list of structs', async () => {
  const MSG = 'STRUCT("role" VARCHAR, "content" VARCHAR)[]';
  const cases: [Partial<ExportOptions> & Pick<ExportOptions, 'kind'>, Record<string, string>][] = [
    [{ kind: 'sft', meta: true }, { prompt: 'VARCHAR', completion: 'VARCHAR', env: 'VARCHAR', seed: 'BIGINT', difficulty: 'INTEGER', step: 'INTEGER', phase: 'VARCHAR', reward: 'DOUBLE' }],
    [{ kind: 'messages' }, { messages: MSG }],
    [{ kind: 'preference', pairs: 'all', phase: 'all' }, { prompt: 'VARCHAR', chosen: 'VARCHAR', rejected: 'VARCHAR' }],
    [{ kind: 'rollouts' }, {
      id: 'BIGINT', step: 'INTEGER', phase: 'VARCHAR', env: 'VARCHAR', seed: 'BIGINT', difficulty: 'INTEGER', hard: 'BOOLEAN', group: 'INTEGER', prompt: 'VARCHAR',
      completion: 'VARCHAR', messages: MSG, reward: 'DOUBLE', ok: 'BOOLEAN', reason: 'VARCHAR', advantage: 'DOUBLE', finish: 'VARCHAR', turns: 'INTEGER',
      prompt_tokens: 'INTEGER', completion_tokens: 'INTEGER', sampling: 'VARCHAR',
    }],
  ];
  for (const [o, types] of cases) {
    const file = join(tmp, `${o.kind}.parquet`);
    const s = await exportRollouts({ run, format: 'parquet', out: file, ...o });
    assert.deepEqual(await columnTypes(file), types, `${o.kind}: column types`);
    const fromDuck = (await query(`SELECT * FROM read_parquet('${file}')`)).map((r) => unbig(r, types));
    const { rows } = await jsonl(o);
    assert.equal(fromDuck.length, s.rows);
    assert.deepEqual(fromDuck, rows, `${o.kind}: DuckDB reads what the JSONL export says`);
  }
  const [{ n }] = await query(`SELECT count(*)::INT AS n FROM read_parquet('${join(tmp, 'rollouts.parquet')}') WHERE advantage IS NULL AND len(messages) IS NULL`);
  assert.equal(n, 3, 'nulls survive: eval rows and the untrained row have no advantage; single-turn rows no messages');
  const [kv] = await query(`SELECT decode(value) AS v FROM parquet_kv_metadata('${join(tmp, 'sft.parquet')}') WHERE decode(key) = 'flywheel'`);
  assert.equal(JSON.parse(kv.v as string).kind, 'sft', 'provenance in the file metadata');
});

test('the Parquet sink writes row groups as rows come (one per rowGroup rows), and unicode survives', async () => {
  const file = join(tmp, 'groups.parquet');
  const cols: Column[] = [{ name: 'i', type: 'int32' }, { name: 's', type: 'string' }, { name: 'b', type: 'bool' }, { name: 'x', type: 'double', nullable: true }];
  const sink = parquetFile(file, cols, {}, 3);
  for (let i = 0; i < 10; i++) sink.write({ i, s: `é${i}🙂\n"`, b: i % 2 === 0, x: i % 4 === 0 ? null : i / 4 });
  await sink.close();
  const rows = await query(`SELECT * FROM read_parquet('${file}') ORDER BY i`);
  assert.deepEqual(rows[5], { i: 5, s: 'é5🙂\n"', b: false, x: 1.25 });
  assert.equal(rows[4].x, null);
  const [{ g }] = await query(`SELECT count(DISTINCT row_group_id)::INT AS g FROM parquet_metadata('${file}')`);
  assert.equal(g, 4);
});
