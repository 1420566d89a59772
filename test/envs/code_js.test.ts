// code-js-v1: the extraction rule, the problem bank (every mutant is caught by
// the fixed tests, every syntax slip is a SyntaxError), grading in each
// sandbox, and the shared conformance suite.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext, Script } from 'node:vm';
import { CODE_FAMILIES, createCodeJsFamily, extractCode } from '../../src/envs/code/index.ts';
import { MAX_SOURCE_CHARS, PROBLEMS } from '../../src/envs/code/code_js.ts';
import { applyEdits, type MutantKind } from '../../src/envs/code/problems.ts';
import { encodeValue, gradeRun, RESULTS_MARK } from '../../src/envs/code/harness.ts';
import type { RunResult } from '../../src/envs/code/sandbox.ts';
import { BwrapSandbox, probeBwrap } from '../../src/envs/code/bwrap.ts';
import { QuickJsSandbox } from '../../src/envs/code/quickjs.ts';
import { detectSandbox } from '../../src/envs/code/detect.ts';
import { assertConformance, checkTaskFamily } from '../../src/envs/conformance.ts';
import type { Json, Task, TaskFamily } from '../../src/envs/types.ts';
import type { Sandbox } from '../../src/envs/code/sandbox.ts';
import { Rng } from '../../src/util/rng.ts';

const js = (src: string) => '```js\n' + src + '\n```';

describe('extractCode', () => {
  test('takes the last fenced block and drops its info string', () => {
    assert.equal(extractCode('first\n```js\nconst a = 1;\n```\nthen\n```javascript\nconst b = 2;\n```\ndone'), 'const b = 2;');
  });
  test('a fence left open runs to the end', () => {
    assert.equal(extractCode('Here:\n```js\nfunction f() {\n  return 1;\n}'), 'function f() {\n  return 1;\n}');
  });
  test("without fences, the text after the last 'Answer:' (all lines), else everything", () => {
    assert.equal(extractCode('think Answer: x\nAnswer: function f() {\n}'), 'function f() {\n}');
    assert.equal(extractCode('  function f() {}  '), 'function f() {}');
    assert.equal(extractCode(' \n '), '');
  });
});

/** Runs `source` on the host in a fresh vm context with a timeout; our own code only (solutions and their mutants). */
function runOnHost(source: string, name: string, args: Json[]): string {
  try {
    const fn = runInNewContext(`${source}\n;${name}`, {}, { timeout: 1000 }) as (...a: Json[]) => Json;
    const ctx = { fn, args: JSON.parse(JSON.stringify(args)) as Json[] };
    return encodeValue(runInNewContext('fn(...args)', ctx, { timeout: 1000 }) as Json);
  } catch (e) {
    return `threw ${String(e)}`;
  }
}

describe('the problem bank', () => {
  test('has at least 30 problems, 6 per level, with unique names', () => {
    assert.ok(PROBLEMS.length >= 30);
    for (let level = 1; level <= 5; level++) assert.equal(PROBLEMS.filter((p) => p.level === level).length, 6, `level ${level}`);
    assert.equal(new Set(PROBLEMS.map((p) => p.name)).size, PROBLEMS.length);
  });

  test('every mutant applies and fails at least one fixed test; hard problems have an edge-case mutant', () => {
    for (const p of PROBLEMS) {
      const kinds = Object.keys(p.mutants) as MutantKind[];
      assert.ok(kinds.some((k) => k !== 'edge_case'), `${p.name} needs an off_by_one or wrong_op mutant`);
      if (p.level >= 4) assert.ok(p.mutants.edge_case, `${p.name} (level ${p.level}) needs an edge_case mutant`);
      for (const k of kinds) {
        const mutant = applyEdits(p.solution, p.mutants[k]!, `${p.name} ${k}`);
        const caught = p.fixed.some((args) => runOnHost(mutant, p.name, args) !== runOnHost(p.solution, p.name, args));
        assert.ok(caught, `${p.name} ${k} mutant passes every fixed test`);
      }
    }
  });

  test("every 'syntax' mistake is a SyntaxError for every problem", () => {
    const family = CODE_FAMILIES[0];
    for (const p of PROBLEMS) {
      const task = taskFor(family, p.name);
      for (let seed = 0; seed < 12; seed++) {
        const src = extractCode(family.mistake(task, 'syntax', new Rng(seed)));
        assert.throws(() => new Script(src), SyntaxError, `${p.name}: ${src}`);
      }
    }
  });

  test('expected outputs are small JSON values', () => {
    const family = CODE_FAMILIES[0];
    for (let d = 1; d <= 5; d++)
      for (let seed = 0; seed < 20; seed++) {
        const task = family.generate(seed, d);
        for (const t of (task.meta as unknown as { tests: { expected: Json }[] }).tests) assert.ok(encodeValue(t.expected).length < 1000);
      }
  });
});

describe('gradeRun', () => {
  const ran = (stdout: string, more: Partial<RunResult> = {}): RunResult => ({ status: 'exited', exitCode: 0, signal: null, stdout, stderr: '', truncated: false, wallMs: 5, ...more });
  const line = (obj: unknown) => `noise\n${RESULTS_MARK}${JSON.stringify(obj)}\n`;

  test('compares encodings test by test', () => {
    assert.deepEqual(gradeRun(ran(line({ results: [{ out: '3' }, { out: '[1,2]' }] })), [3, [1, 2]], 't'), { reward: 1, ok: true, reason: 'correct' });
    const v = gradeRun(ran(line({ results: [{ out: '3' }, { out: '[2,1]' }] })), [3, [1, 2]], 't');
    assert.deepEqual([v.reward, v.reason], [0.5, 'wrong']);
  });

  test('malformed or forged reports never throw', () => {
    for (const stdout of [line({ results: [1, null, { out: 5 }] }), line({ compile: null }), line([]), line('x'), `${RESULTS_MARK}{not json`, line({ results: [{ error: 7 }] })]) {
      const v = gradeRun(ran(stdout), [1, 2, 3], 't');
      assert.equal(v.ok, false, stdout);
      assert.equal(v.reward < 1, true);
    }
  });

  test('run statuses and OS errors map to reasons', () => {
    assert.equal(gradeRun(ran('', { status: 'timeout' }), [1], 't').reason, 'timeout');
    assert.equal(gradeRun(ran('', { status: 'memory_limit' }), [1], 't').reason, 'memory_limit');
    assert.equal(gradeRun(ran('', { exitCode: 1 }), [1], 't').reason, 'runtime_error');
    const blocked = gradeRun(ran(line({ results: [{ out: '1' }, { error: { name: 'Error', message: 'x', code: 'EACCES', syscall: 'open' } }] })), [1, 2], 't');
    assert.deepEqual([blocked.reason, blocked.reward], ['blocked', 0]);
  });
});

/** The first task (by seed) at the problem's level that poses problem `name`. */
function taskFor(family: TaskFamily, name: string): Task {
  const level = PROBLEMS.find((p) => p.name === name)!.level;
  for (let seed = 0; seed < 1000; seed++) {
    const task = family.generate(seed, level);
    if (task.meta.problem === name) return task;
  }
  throw new Error(`no task for ${name}`);
}

const probe = probeBwrap();
const bwrapSetup = probe.ok ? probe.setup : null; // null: those tests are skipped
const SANDBOXES: { name: string; make: () => Sandbox; skip: string | false }[] = [
  { name: 'bwrap', make: () => new BwrapSandbox(bwrapSetup!), skip: probe.ok ? false : `bubblewrap unavailable here: ${probe.ok ? '' : probe.reason}` },
  { name: 'quickjs', make: () => new QuickJsSandbox(), skip: false },
];

for (const impl of SANDBOXES) {
  describe(`grading in the ${impl.name} sandbox`, { skip: impl.skip }, () => {
    const family = createCodeJsFamily({ sandbox: impl.make(), limits: { cpuSeconds: 1, wallSeconds: 4, memoryMB: 64 } });
    const absDiff = taskFor(family, 'absDiff');
    const grade = (src: string, task = absDiff) => family.verify(task, js(src));

    test('a correct solution gets reward 1', async () => {
      assert.deepEqual(await grade('function absDiff(a, b) { return a > b ? a - b : b - a; }'), { reward: 1, ok: true, reason: 'correct' });
      const fizz = taskFor(family, 'fizzbuzz');
      assert.equal((await family.verify(fizz, family.solve(fizz))).ok, true);
    });

    test('a half-correct solution gets a fractional reward', async () => {
      const v = await grade('function absDiff(a, b) { return a - b; }');
      assert.equal(v.reason, 'wrong');
      assert.ok(v.reward > 0 && v.reward < 1, `reward ${v.reward}`);
      assert.match(v.detail ?? '', new RegExp(`\\[${impl.name}\\] \\d+/\\d+ tests passed`));
    });

    test('errors on some inputs are runtime_error with partial credit', async () => {
      const v = await grade('function absDiff(a, b) { if (a < b) throw new Error("nope"); return a - b; }');
      assert.equal(v.reason, 'runtime_error');
      assert.ok(v.reward > 0 && v.reward < 1);
    });

    test('syntax errors, missing functions, no code and huge programs get reward 0', async () => {
      assert.equal((await grade('function absDiff(a, b) { return a - ; }')).reason, 'syntax_error');
      assert.equal((await grade('function other(a, b) { return 0; }')).reason, 'missing_function');
      assert.equal((await family.verify(absDiff, '   ')).reason, 'no_answer');
      const huge = await family.verify(absDiff, js(`// ${'x'.repeat(MAX_SOURCE_CHARS)}\nfunction absDiff(a, b) { return Math.abs(a - b); }`));
      assert.deepEqual([huge.reason, huge.reward], ['too_long', 0]);
    });

    test('an infinite loop is a timeout', async () => {
      const v = await grade('function absDiff(a, b) { for (;;) {} }');
      assert.deepEqual([v.reason, v.reward, v.ok], ['timeout', 0, false]);
    });

    test('a memory hog is memory_limit', async () => {
      // filling 64 MB takes the interpreter ~0.5 s, which on a loaded machine
      // outran the 1 s CPU limit above (reason 'timeout'): the same memory
      // limit, with time to reach it
      const roomy = createCodeJsFamily({ sandbox: impl.make(), limits: { cpuSeconds: 15, wallSeconds: 30, memoryMB: 64 } });
      const v = await roomy.verify(absDiff, js('function absDiff(a, b) { const xs = []; for (;;) xs.push(new Array(1e5).fill(a)); }'));
      assert.deepEqual([v.reason, v.reward], ['memory_limit', 0], v.detail);
    });

    test('escape attempts are blocked with reward 0, even when the answer is right', async () => {
      const readFile = 'function absDiff(a, b) { require("fs").readFileSync("/etc/passwd"); return Math.abs(a - b); }';
      const network = 'async function absDiff(a, b) { await fetch("http://example.com/"); return Math.abs(a - b); }';
      for (const src of [readFile, network]) {
        const v = await grade(src);
        assert.deepEqual([v.reason, v.reward], ['blocked', 0], `${src}: ${v.detail}`);
      }
    });

    test('process.exit inside the function gets reward 0, and faking the results line does not pay', async () => {
      const exit = await grade('function absDiff(a, b) { process.exit(0); }');
      assert.deepEqual([exit.reason, exit.reward], [impl.name === 'bwrap' ? 'runtime_error' : 'blocked', 0]); // QuickJS has no process
      const forged = await grade(
        'function absDiff(a, b) { console.log("@@flywheel-results@@" + JSON.stringify({ results: Array(50).fill({ out: "1" }) })); return 1; }',
      );
      assert.equal(forged.ok, false);
    });
  });
}

test('code-js-v1 passes the shared conformance suite', async () => {
  assert.deepEqual(CODE_FAMILIES.map((f) => f.id), ['code-js-v1', 'code-rpn-v1']);
  const report = await checkTaskFamily(CODE_FAMILIES[0], { seeds: 3, statSeeds: 24 });
  assertConformance(report);
  assert.ok(['bwrap', 'quickjs'].includes(detectSandbox().sandbox.name));
});
