/**
 * `flywheel demo` with a small plan: the summary has the documented shape,
 * report.html is self-contained, the phase run directories are ordinary
 * runs, and a demo interrupted by Ctrl-C resumes to the same summary. (The
 * learning claims of the full demo are measured by running it: see README.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'flywheel.js');
const tmp = mkdtempSync(join(tmpdir(), 'flywheel-demo-'));
const plan = join(tmp, 'plan.json');
writeFileSync(plan, JSON.stringify({ demos: 3000, sft: { steps: 120, chunks: 2 }, rl: { steps: 8, evalEvery: 4, checkpointEvery: 2 }, heldout: { tasks: 24, samples: 2 } }));

function fw(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const frac = (x: unknown): boolean => typeof x === 'number' && x >= 0 && x <= 1;

test('the demo summary, its report and its runs', () => {
  const out = join(tmp, 'a');
  const r = fw('demo', '--plan', plan, '--out', out, '--json', '--quiet');
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out);
  for (const phase of ['teacher', 'sft', 'rl']) for (const k of ['overall', 'easy', 'hard']) assert.ok(frac(s[phase][k]), `${phase}.${k} = ${s[phase][k]}`);
  assert.ok(frac(s.rl.greedy.overall) && frac(s.sft.greedy.hard));
  assert.ok(s.teacher.easy === 1 && s.teacher.hard < 0.6, 'the teacher is right on easy tasks and mostly wrong on hard ones');
  assert.deepEqual(s.phases.map((p: { name: string }) => p.name), ['teacher', 'sft', 'rl']);
  for (const p of s.phases) for (const k of ['samples', 'tokens', 'flops']) assert.equal(typeof p[k], 'number');
  assert.ok(s.phases[2].samples === 8 * 16 * 8 && s.phases[2].flops > 0);
  assert.ok(typeof s.seconds === 'number' && s.seconds > 0);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /<svg/);
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?https?:/i, 'nothing fetched from the network');
  const sample = fw('sample', '--checkpoint', join(out, 'rl'), '--prompt', 'solve 2x+3=7', '--temperature', '0', '--max-tokens', '12');
  assert.equal(sample.code, 0, sample.err);
  assert.match(sample.out, /Answer:/);
  assert.equal(fw('demo', '--plan', plan, '--out', out).code, 1, 'an existing demo is refused without --resume or --force');
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, JSON.stringify({ rl: { stpes: 3 } }));
  const b = fw('demo', '--plan', bad, '--out', join(tmp, 'b'));
  assert.equal(b.code, 1);
  assert.match(b.err, /unknown key "rl.stpes"/);
});

test('Ctrl-C during the demo, then --resume: it finishes with the same result as an uninterrupted demo', async () => {
  const out = join(tmp, 'c');
  const child = spawn(process.execPath, [BIN, 'demo', '--plan', plan, '--out', out, '--quiet'], { stdio: 'ignore' });
  const rlMetrics = join(out, 'rl', 'metrics.jsonl');
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  while (!(existsSync(rlMetrics) && readFileSync(rlMetrics, 'utf8').split('\n').length > 3)) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  const r = fw('demo', '--plan', plan, '--out', out, '--resume', '--json', '--quiet');
  assert.equal(r.code, 0, r.err);
  const a = JSON.parse(r.out), b = JSON.parse(readFileSync(join(tmp, 'a', 'summary.json'), 'utf8'));
  for (const phase of ['teacher', 'sft', 'rl']) assert.deepEqual(a[phase], b[phase], phase);
});
