// checkEnv: the one dispatch over kinds, and the cross-process probe with a real child process;
// guardUserEntry: a throw in a user's file names the file and the function; runEpisode.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkEnv } from '../../src/envs/check.ts';
import { guardUserEntry } from '../../src/envs/guard.ts';
import { loadEnvFile } from '../../src/envs/load.ts';
import { runEpisode } from '../../src/envs/multiturn/episode.ts';
import { getEnv } from '../../src/envs/registry.ts';
import { UserError } from '../../src/util/errors.ts';
import { toyEcho, toyNim, toySum } from './toy.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flywheel-check-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `import { defineTaskFamily } from 'flywheel';\n${body}`);
  return p;
}

const GOOD = `export default defineTaskFamily({
  id: 'triple-v1', description: 'Triple a number.', difficulty: { min: 1, max: 3, default: 2 },
  generate: (rng, d) => { const n = rng.range(10 ** (d - 1), 10 ** d - 1); return { prompt: 'Triple ' + n, answer: 3 * n, meta: { n } }; },
  stat: (t) => String(t.meta.n).length,
});`;

describe('checkEnv', { concurrency: 3 }, () => {
  test('without a source it runs the in-process suite of every kind', async () => {
    for (const entry of [{ kind: 'task', family: toySum }, { kind: 'multiturn', family: toyEcho }, { kind: 'game', game: toyNim }] as const) {
      const r = await checkEnv(entry, { seeds: 3 });
      assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
      assert.equal(r.kind, entry.kind);
      assert.ok(!r.checks.some((c) => /across processes/.test(c.name)));
    }
  });

  test('a deterministic user file passes the cross-process check', async () => {
    const p = file('good.ts', GOOD);
    const r = await checkEnv(await loadEnvFile(p), { seeds: 3, source: p });
    assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
    const cross = r.checks.find((c) => /across processes/.test(c.name));
    assert.equal(cross?.message, '9 items'); // 3 difficulties x 3 seeds, compared one by one
  });

  test('Math.random() at module level passes in-process but fails across processes', async () => {
    const p = file('rand.ts', GOOD.replace("'Triple ' + n", "'Triple ' + (n + OFFSET)").replace('answer: 3 * n', 'answer: 3 * (n + OFFSET)').replace('export default', 'const OFFSET = Math.floor(Math.random() * 1e9);\nexport default'));
    const r = await checkEnv(await loadEnvFile(p), { seeds: 2, source: p });
    const failed = r.checks.filter((c) => !c.ok);
    assert.deepEqual(failed.map((c) => c.name), ['generate is deterministic across processes and returns in time']);
    assert.match(failed[0].message, /generate\(0, 1\) differs: .* here, .* in a fresh process.*Math\.random\(\)/);
  });

  test('a generate that hangs is named and the rest is skipped', async () => {
    const p = file('hang.ts', GOOD.replace('generate: (rng, d) => {', 'generate: (rng, d) => { if (d === 3) for (;;) {}'));
    const r = await checkEnv(await loadEnvFile(p), { seeds: 2, source: p, processTimeoutMs: 3000 });
    assert.equal(r.ok, false);
    assert.equal(r.checks.length, 1);
    assert.match(r.checks[0].message, /^generate\(0, 3\) did not return within 3 s in a fresh process; the other checks were skipped/);
  });

  test('an async generate fails one clear check', async () => {
    const p = file('async.ts', GOOD.replace('generate: (rng, d) => {', 'generate: async (rng, d) => {'));
    const entry = await loadEnvFile(p);
    assert.ok(entry.kind === 'task');
    const family = { ...entry.family, generate: (s: number, d: number) => Promise.resolve(entry.family.generate(s, d)) as never };
    const r = await checkEnv({ kind: 'task', family });
    assert.deepEqual(r.checks.filter((c) => !c.ok).map((c) => c.name), ['generate returns a Task synchronously']);
    assert.match(r.checks[1].message, /generate returned a Promise/);
  });

  test('a registry id is probed in the child too', async () => {
    const r = await checkEnv(getEnv('sort-v1'), { seeds: 1, source: 'sort-v1' });
    assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
  });
});

test('guardUserEntry: a throw names the file, the function and the line; a Promise from generate is refused', async () => {
  const p = file('throws.ts', GOOD.replace('stat:', "verify: (task) => { const o: any = undefined; return o.bad; },\n  stat:"));
  const entry = guardUserEntry(await loadEnvFile(p), './throws.ts');
  assert.ok(entry.kind === 'task');
  const task = entry.family.generate(0, 1);
  assert.throws(() => entry.family.verify(task, 'x'), (e: Error) => e instanceof UserError && /^\.\/throws\.ts: verify\(\) threw TypeError: .*bad.* \(at throws\.ts:\d+:\d+\)$/.test(e.message));
  const raw = await loadEnvFile(p);
  assert.ok(raw.kind === 'task');
  const asyncOne = guardUserEntry({ kind: 'task', family: { ...raw.family, generate: async () => raw.family.generate(0, 1) } as never }, 'a.ts');
  assert.ok(asyncOne.kind === 'task');
  assert.throws(() => asyncOne.family.generate(0, 1), /a\.ts: generate\(\) returned a Promise; it must return its result synchronously/);
  const ep = guardUserEntry({ kind: 'multiturn', family: { ...toyEcho, create: () => ({ reset: () => 'hi', step: () => { throw new Error('boom'); } }) } }, 'e.ts');
  assert.ok(ep.kind === 'multiturn');
  assert.throws(() => ep.family.create().step('x'), /e\.ts: episode\.step\(\) threw Error: boom/);
});

test('runEpisode plays the reference policy; a misbehaving environment is a problem, not a throw', () => {
  const mt = getEnv('guess-number-v1');
  assert.ok(mt.kind === 'multiturn');
  const run = runEpisode(mt.family, (t) => mt.family.solve(t), { seed: 1, difficulty: 2 });
  assert.equal(run.done, true);
  assert.equal(run.reason, 'correct');
  assert.equal(run.problem, null);
  assert.deepEqual(run.turns.map((t) => t.role), run.transcript.map((_, i) => (i % 2 === 0 ? 'env' : 'policy')));
  assert.equal(run.total, run.rewards.reduce((a, b) => a + b, 0));
  const broken = { ...toyEcho, create: () => ({ reset: () => 'go', step: (): never => { throw new RangeError('bad step'); } }) };
  const b = runEpisode(broken, () => 'x', { seed: 0, difficulty: toyEcho.difficulty.default });
  assert.equal(b.reason, 'problem');
  assert.match(b.problem!, /step\("x"\) threw RangeError: bad step/);
});
