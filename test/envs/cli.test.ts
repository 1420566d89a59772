// `flywheel envs ...` as a user runs it: a subprocess of bin/flywheel.js.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getEnv } from '../../src/envs/registry.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function flywheel(args: string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/flywheel.js'), ...args], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** A user mistake: exit 1 and exactly one 'error: ...' line on stderr, no stack trace. */
function assertUserError(r: Run, pattern: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^error: [^\n]*\n$/, `expected one error line, got:\n${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stdout, '');
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flywheel-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = `import { defineTaskFamily } from 'flywheel';
export default defineTaskFamily({
  id: 'triple-v1', description: 'Triple a number.', difficulty: { min: 1, max: 3, default: 2 },
  generate: (rng, d) => { const n = rng.range(10 ** (d - 1), 10 ** d - 1); return { prompt: 'Triple ' + n, answer: 3 * n, meta: { n } }; },
  stat: (t) => String(t.meta.n).length,
});
`;

describe('flywheel envs', { concurrency: 4 }, () => {
  test('list shows every environment; --json parses', async () => {
    const [text, json] = await Promise.all([flywheel(['envs', 'list']), flywheel(['envs', 'list', '--json'])]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^ID +KIND +DIFFICULTY +DESCRIPTION$/m);
    assert.match(text.stdout, /^addsub-v1 +task +1\.\.8 \(2\) +\S/m);
    const rows = JSON.parse(json.stdout) as { id: string; kind: string }[];
    assert.deepEqual(rows.find((r) => r.id === 'connect4-v1')?.kind, 'game');
    assert.deepEqual(rows.find((r) => r.id === 'retry-arith-v1')?.kind, 'multiturn');
    assert.ok(rows.length >= 18);
  });

  test('sample --json: prompt, reference answer, demonstration and its verdict', async () => {
    const r = await flywheel(['envs', 'sample', 'addsub-v1', '--n', '2', '--seed', '5', '--skill', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const samples = JSON.parse(r.stdout);
    assert.deepEqual(samples.map((s: { seed: number }) => s.seed), [5, 6]);
    const family = getEnv('addsub-v1');
    assert.ok(family.kind === 'task');
    for (const s of samples) {
      const task = family.family.generate(s.seed, s.difficulty);
      assert.equal(s.prompt, task.prompt);
      assert.equal(s.answer, task.answer);
      assert.equal(s.reference, family.family.solve(task));
      assert.deepEqual(s.verdict, { reward: 1, ok: true, reason: 'correct' }); // skill 1 is perfect
    }
  });

  test('sample of a multi-turn environment and of a game', async () => {
    const [mt, blind, ref, game] = await Promise.all([
      flywheel(['envs', 'sample', 'guess-number-v1', '--difficulty', '5', '--skill', '1', '--json']),
      flywheel(['envs', 'sample', 'guess-number-v1', '--difficulty', '5', '--hard-accuracy', '0', '--json']),
      flywheel(['envs', 'sample', 'calc-tool-v1', '--json']),
      flywheel(['envs', 'sample', 'tictactoe-v1', '--n', '2', '--skill', '1', '--json']),
    ]);
    assert.equal(mt.code, 0, mt.stderr);
    for (const e of JSON.parse(mt.stdout)) {
      assert.equal(e.reason, 'correct');
      assert.ok(e.total > 0.5);
      assert.deepEqual([e.hard, e.teacher], [true, { errorRate: 0, hardAccuracy: 1 }]);
      assert.equal(e.turns[0].role, 'env');
      assert.match(e.turns[0].text, /from 1 to 1000/);
    }
    assert.equal(blind.code, 0, blind.stderr); // misreads every hint: never finds it
    assert.deepEqual(JSON.parse(blind.stdout).map((e: { reason: string }) => e.reason), ['out_of_turns', 'out_of_turns', 'out_of_turns']);
    assert.equal(ref.code, 0, ref.stderr); // no teacher: the reference policy
    assert.ok(JSON.parse(ref.stdout).every((e: { teacher: unknown; reason: string }) => e.teacher === null && e.reason === 'correct'));
    assert.equal(game.code, 0, game.stderr);
    for (const g of JSON.parse(game.stdout)) {
      assert.equal(g.record.result, 0, 'perfect tic-tac-toe is a draw');
      assert.equal(g.record.moves.length, 9);
      assert.deepEqual(g.record.players, ['perfect', 'perfect']);
    }
  });

  test('verify grades a right and a wrong completion; - reads stdin', async () => {
    const family = getEnv('multiplication-v1');
    assert.ok(family.kind === 'task');
    const right = family.family.solve(family.family.generate(3, 4));
    const base = ['envs', 'verify', 'multiplication-v1', '--seed', '3', '--difficulty', '4', '--json'];
    const [ok, wrong, stdin, text] = await Promise.all([
      flywheel([...base, '--completion', right]),
      flywheel([...base, '--completion', 'Answer: 12']),
      flywheel([...base, '--completion-file', '-'], `some reasoning\n${right}\n`),
      flywheel(['envs', 'verify', 'multiplication-v1', '--seed', '3', '--difficulty', '4', '--completion', 'no idea']),
    ]);
    assert.deepEqual(JSON.parse(ok.stdout).verdict, { reward: 1, ok: true, reason: 'correct' });
    assert.equal(JSON.parse(wrong.stdout).verdict.reason, 'wrong');
    assert.equal(JSON.parse(stdin.stdout).verdict.ok, true);
    assert.equal(text.code, 0);
    assert.equal(text.stdout, 'multiplication-v1 seed 3 difficulty 4: no_answer (reward 0)\n');
  });

  test('demos writes valid JSONL atomically: SFT rows for tasks, game records for games', async () => {
    const tasks = join(dir, 'sort.jsonl');
    const games = join(dir, 'ttt.jsonl');
    const [t, g] = await Promise.all([
      flywheel(['envs', 'demos', 'sort-v1', '--n', '60', '--skill', '0.6', '--out', tasks, '--seed', '100', '--json']),
      flywheel(['envs', 'demos', 'tictactoe-v1', '--n', '4', '--skill', '0.5', '--out', games]),
    ]);
    assert.equal(t.code, 0, t.stderr);
    const rows = readFileSync(tasks, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows.length, 60);
    assert.deepEqual(Object.keys(rows[0]), ['prompt', 'completion', 'env', 'seed', 'difficulty', 'ok', 'reward']);
    assert.deepEqual(rows.map((r) => r.seed), Array.from({ length: 60 }, (_, i) => 100 + i));
    assert.deepEqual([...new Set(rows.map((r) => r.difficulty))].sort(), [1, 2, 3, 4, 5, 6]); // cycles through levels
    const good = rows.filter((r) => r.ok).length;
    assert.ok(good > 20 && good < 60, `${good} of 60 verify at skill 0.6`);
    assert.equal(JSON.parse(t.stdout).good, good);

    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, /^wrote 4 tictactoe-v1 demonstrations to /);
    const ttt = getEnv('tictactoe-v1');
    assert.ok(ttt.kind === 'game');
    for (const line of readFileSync(games, 'utf8').trimEnd().split('\n')) {
      const rec = JSON.parse(line);
      assert.deepEqual(rec.players, ['noisy:0.25', 'noisy:0.25']);
      let s = ttt.game.initial();
      for (const m of rec.moves) s = ttt.game.play(s, m); // every move legal
      assert.equal(ttt.game.result(s), rec.result);
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  });

  test("check exits 0 on a good user family and 1 on a broken one", async () => {
    const good = join(dir, 'good.ts');
    const bad = join(dir, 'bad.ts');
    writeFileSync(good, GOOD);
    writeFileSync(bad, GOOD.replace("id: 'triple-v1'", "id: 'triple-v2', solve: () => 'Answer: 0'"));
    const [g, b, byFlag] = await Promise.all([flywheel(['envs', 'check', good]), flywheel(['envs', 'check', bad]), flywheel(['envs', 'check', '--env', good, '--json'])]);
    assert.equal(g.code, 0, g.stdout + g.stderr);
    assert.match(g.stdout, /triple-v1: all 11 checks passed/);
    assert.equal(b.code, 1);
    assert.match(b.stdout, /^FAIL {2}the reference solver verifies: seed 0, difficulty 1: solve\(\) got wrong/m);
    assert.equal(b.stderr, '');
    assert.equal(JSON.parse(byFlag.stdout).ok, true);
  });

  test('the example family checks and samples', async () => {
    const [c, s] = await Promise.all([flywheel(['envs', 'check', './examples/my_env.ts']), flywheel(['envs', 'sample', './examples/my_env.ts', '--n', '1'])]);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.match(s.stdout, /^--- digit-sum-v1 seed 0 difficulty 3 ---$/m);
  });

  test('a missing file, an unknown id and other mistakes are one clear line and exit 1', async () => {
    const runs = await Promise.all([
      flywheel(['envs', 'check', './nope/my_env.ts']),
      flywheel(['envs', 'show', 'addsub']),
      flywheel(['envs', 'verify', 'tictactoe-v1', '--seed', '1', '--completion', 'x']),
      flywheel(['envs', 'verify', 'addsub-v1', '--seed', '1']),
      flywheel(['envs', 'sample', 'addsub-v1', '--difficulty', '99']),
      flywheel(['envs', 'demos', 'addsub-v1', '--n', '2', '--skill', '1', '--out', join(dir, 'no/such/dir/x.jsonl')]),
      flywheel(['envs', 'verify', 'addsub-v1', '--seed', '1', '--completion-file', dir]),
      flywheel(['envs', 'sample', 'addsub-v1', '--env', './examples/my_env.ts']),
      flywheel(['envs', 'sample']),
    ]);
    assertUserError(runs[0], /^error: environment file not found: \.\/nope\/my_env\.ts$/m);
    assertUserError(runs[1], /unknown environment "addsub"; did you mean addsub-v1\?/);
    assertUserError(runs[2], /tictactoe-v1 is a game environment; verify grades single-turn task families/);
    assertUserError(runs[3], /give exactly one of --completion TEXT or --completion-file FILE/);
    assertUserError(runs[4], /--difficulty 99 is out of range for addsub-v1: 1\.\.8/);
    assertUserError(runs[5], /--out .*: directory .* does not exist/);
    assertUserError(runs[6], /--completion-file .* is a directory/);
    assertUserError(runs[7], /give an environment id or --env PATH, not both/);
    assertUserError(runs[8], /which environment\?/);
    assert.ok(!existsSync(join(dir, 'no')));
  });

  test('bad flag values are rejected by the parser; --help has examples', async () => {
    const [n, skill, help] = await Promise.all([
      flywheel(['envs', 'sample', 'addsub-v1', '--n', 'many']),
      flywheel(['envs', 'demos', 'addsub-v1', '--n', '3', '--skill', '2', '--out', join(dir, 'x.jsonl')]),
      flywheel(['envs', 'sample', '--help']),
    ]);
    assert.equal(n.code, 1);
    assert.match(n.stderr, /option '--n <n>' argument 'many' is invalid\. expected an integer in \[1, 10000\]/);
    assert.equal(skill.code, 1);
    assert.match(skill.stderr, /expected a number in \[0, 1\]/);
    assert.doesNotMatch(n.stderr + skill.stderr, /\n\s+at /);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Examples:\n {2}\$ flywheel envs sample addsub-v1/);
  });

  test('demos --error-rate and --hard-accuracy make exactly the teacher asked for', async () => {
    const out = join(dir, 'teacher.jsonl');
    const r = await flywheel(['envs', 'demos', 'addsub-v1', '--n', '400', '--error-rate', '0', '--hard-accuracy', '0', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.errorRate, 0);
    assert.equal(summary.hardAccuracy, 0);
    const family = getEnv('addsub-v1');
    assert.ok(family.kind === 'task');
    let hard = 0;
    for (const row of readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))) {
      const isHard = family.family.isHard(family.family.generate(row.seed, row.difficulty));
      if (isHard) hard++;
      assert.equal(row.ok, !isHard, `seed ${row.seed}: right exactly on the easy tasks`);
    }
    assert.ok(hard > 50 && hard < 350, `${hard} hard tasks`);
    const [game, multi, skill, perfect] = await Promise.all([
      flywheel(['envs', 'demos', 'tictactoe-v1', '--n', '1', '--hard-accuracy', '0.5', '--out', join(dir, 'g.jsonl')]),
      flywheel(['envs', 'sample', 'calc-tool-v1', '--error-rate', '0.1']),
      flywheel(['envs', 'demos', 'calc-tool-v1', '--n', '1', '--skill', '0.5', '--out', join(dir, 'c.jsonl')]),
      flywheel(['envs', 'demos', 'calc-tool-v1', '--n', '2', '--skill', '1', '--out', join(dir, 'c1.jsonl'), '--json']),
    ]);
    assertUserError(game, /tictactoe-v1 is a game: --hard-accuracy applies to task families/);
    assertUserError(multi, /calc-tool-v1 is a multi-turn environment without a flawed teacher .*reference policy, so --error-rate 0\.1 does not apply/);
    assertUserError(skill, /calc-tool-v1 is a multi-turn environment without a flawed teacher .*so --skill 0\.5 does not apply/);
    assert.equal(perfect.code, 0, perfect.stderr); // skill 1 asks for the reference policy, which is what it has
    assert.equal(JSON.parse(perfect.stdout).teacher, 'reference');
    assert.equal(existsSync(join(dir, 'c.jsonl')), false);
  });

  test('a multi-turn teacher: demos miss, hear "wrong, try again" and retry; sample shows such an episode', async () => {
    const out = join(dir, 'retry.jsonl');
    const [demos, perfect, sample] = await Promise.all([
      flywheel(['envs', 'demos', 'retry-arith-v1', '--n', '1200', '--difficulty', '1', '--error-rate', '0.1', '--hard-accuracy', '0.3', '--out', out, '--quiet', '--json']),
      flywheel(['envs', 'demos', 'retry-arith-v1', '--n', '30', '--out', '/dev/stdout', '--quiet']),
      flywheel(['envs', 'sample', 'retry-arith-v1', '--difficulty', '1', '--seed', '3', '--n', '1', '--hard-accuracy', '0']),
    ]);
    assert.equal(demos.code, 0, demos.stderr);
    const summary = JSON.parse(demos.stdout);
    assert.deepEqual([summary.teacher, summary.errorRate, summary.hardAccuracy], ['demonstrate', 0.1, 0.3]);
    const rows = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { messages: { role: string; content: string }[]; hard: boolean; reward: number });
    const hard = rows.filter((r) => r.hard), missedHard = hard.filter((r) => r.messages.length > 2);
    const retried = missedHard.filter((r) => r.messages[2].content === 'wrong, try again');
    assert.ok(hard.length > 120 && missedHard.length > 0.55 * hard.length, `${missedHard.length} of ${hard.length} hard demos missed first`);
    assert.equal(retried.length, missedHard.length);
    const recovered = missedHard.filter((r) => r.reward > 0).length / missedHard.length; // two more attempts at 30%: 1 - 0.7^2 = 0.51
    assert.ok(recovered > 0.35 && recovered < 0.67, `the teacher recovered ${recovered} of its hard misses`);
    assert.equal(summary.episodes.missedFirst, rows.filter((r) => r.messages.length > 2).length);
    // the default teacher (skill 1) is the reference policy: right at once
    assert.equal(perfect.code, 0, perfect.stderr);
    assert.ok(perfect.stdout.trimEnd().split('\n').every((l) => JSON.parse(l).messages.length === 2 && JSON.parse(l).reward === 1));
    assert.equal(sample.code, 0, sample.stderr);
    assert.match(sample.stdout, /^--- retry-arith-v1 seed 3 difficulty 1 \(hard\) \(teacher: error rate 0.1, hard accuracy 0\) ---\nenv: +Compute 3 - 6\.[^\n]*\nteacher: Answer: 3\nenv: +wrong, try again\nteacher: Answer: 3\n/);
  });

  test('demos --out: refuses an existing file without --force and a directory; writes through /dev/stdout', async () => {
    const out = join(dir, 'keep.jsonl');
    writeFileSync(out, 'precious\n');
    const [refused, isDir, stdout] = await Promise.all([
      flywheel(['envs', 'demos', 'sort-v1', '--n', '2', '--out', out]),
      flywheel(['envs', 'demos', 'sort-v1', '--n', '2', '--out', dir]),
      flywheel(['envs', 'demos', 'sort-v1', '--n', '3', '--skill', '1', '--out', '/dev/stdout']),
    ]);
    assertUserError(refused, /--out .*keep\.jsonl already exists; pass --force to overwrite it/);
    assert.equal(readFileSync(out, 'utf8'), 'precious\n');
    assertUserError(isDir, /--out .* is a directory; give a file path/);
    assert.equal(stdout.code, 0, stdout.stderr);
    const rows = stdout.stdout.trimEnd().split('\n').map((l) => JSON.parse(l)); // only rows on stdout: the summary went to stderr
    assert.deepEqual(rows.map((r) => r.seed), [0, 1, 2]);
    assert.match(stdout.stderr, /wrote 3 sort-v1 demonstrations to \/dev\/stdout/);
    const forced = await flywheel(['envs', 'demos', 'sort-v1', '--n', '2', '--out', out, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(readFileSync(out, 'utf8').trimEnd().split('\n').length, 2);
  });

  test("a throw in a user's file is one error line naming the file and the function", async () => {
    const p = join(dir, 'throws.ts');
    writeFileSync(p, GOOD.replace('stat:', "verify: () => { throw new TypeError('oops'); },\n  stat:"));
    const runs = await Promise.all([
      flywheel(['envs', 'sample', p, '--n', '1']),
      flywheel(['envs', 'verify', p, '--seed', '1', '--completion', 'x']),
      flywheel(['envs', 'demos', p, '--n', '2', '--out', join(dir, 'throws.jsonl')]),
    ]);
    for (const r of runs) assertUserError(r, /throws\.ts: verify\(\) threw TypeError: oops \(at throws\.ts:\d+:\d+\)/);
    assert.ok(!existsSync(join(dir, 'throws.jsonl')));
  });

  test('check catches a generator that differs between processes (Math.random at module level)', async () => {
    const p = join(dir, 'random.ts');
    writeFileSync(p, GOOD.replace("id: 'triple-v1'", "id: 'random-v1'").replace('answer: 3 * n', 'answer: 3 * n + BIAS').replace('export default', 'const BIAS = Math.floor(Math.random() * 1e9);\nexport default'));
    const r = await flywheel(['envs', 'check', p, '--seeds', '2']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^FAIL {2}generate is deterministic across processes and returns in time: generate\(0, 1\) differs/m);
    assert.match(r.stdout, /random-v1: 1 of 11 checks failed/);
  });

  test('demos stops on SIGINT (and at once on a second one): exit 130, nothing written to --out', async () => {
    const interrupt = async (name: string, signals: number): Promise<{ code: number | null; stderr: string }> => {
      const child = spawn(process.execPath, [join(REPO, 'bin/flywheel.js'), 'envs', 'demos', 'sort-v1', '--n', '5000000', '--out', join(dir, name)], { cwd: REPO });
      let stderr = '';
      let sent = false;
      const code = await new Promise<number | null>((resolve) => {
        child.stderr.on('data', (b) => {
          stderr += b;
          if (sent || !/demos sort-v1/.test(stderr)) return; // wait until the progress line is up: the loop is running
          sent = true;
          for (let i = 0; i < signals; i++) child.kill('SIGINT');
        });
        child.on('close', resolve);
      });
      return { code, stderr };
    };
    const [once, twice] = await Promise.all([interrupt('once.jsonl', 1), interrupt('twice.jsonl', 2)]);
    assert.equal(once.code, 130, once.stderr);
    assert.match(once.stderr, /interrupted: stopping; nothing is written to --out/);
    assert.equal(twice.code, 130, twice.stderr);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('once') || f.startsWith('twice')), []);
  });
});
