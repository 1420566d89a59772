// Bring your own environment: loading users' .ts/.js files from outside the
// repo (importing 'flywheel'), detecting their kind, and clear UserErrors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertConformance, checkGame, checkMultiTurnFamily, checkTaskFamily } from '../../src/envs/conformance.ts';
import { asEntry, isEnvPath, loadEnvFile } from '../../src/envs/load.ts';
import { UserError } from '../../src/util/errors.ts';

let dir = '';
const file = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flywheel-byo-'));
  mkdirSync(join(dir, 'lib'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("a .ts family outside the repo imports 'flywheel' and a relative helper", async () => {
  file('lib/words.ts', "export const WORDS: string[] = ['ab', 'cde', 'fghi', 'jklmn', 'opqrst'];\n");
  const path = file(
    'reverse.ts',
    `import { defineTaskFamily, type Task } from 'flywheel';
import { WORDS } from './lib/words.ts';
export default defineTaskFamily({
  id: 'reverse-word-v1',
  description: 'Reverse a word.',
  difficulty: { min: 1, max: 3, default: 2 },
  generate(rng, d) {
    const w = Array.from({ length: d }, () => rng.pick(WORDS)).join('');
    return { prompt: 'Reverse ' + w, answer: [...w].reverse().join('') };
  },
  stat: (t: Task) => t.answer.length,
});
`,
  );
  const entry = await loadEnvFile(path);
  assert.equal(entry.kind, 'task');
  assert.ok(entry.kind === 'task');
  assert.equal(entry.family.id, 'reverse-word-v1');
  assertConformance(await checkTaskFamily(entry.family));
});

test("a plain .js game exported as 'game', and a multi-turn family exported as 'family'", async () => {
  const game = await loadEnvFile(
    file(
      'nim.js',
      `export const game = {
  id: 'nim-v1', description: 'Take 1-3 from 7; last stone wins.', numActions: 3, encodingShape: [8],
  initial: () => ({ heap: 7, p: 0 }),
  toMove: (s) => s.p,
  legalMoves: (s) => [0, 1, 2].filter((m) => m < s.heap),
  play(s, m) {
    if (!Number.isInteger(m) || m < 0 || m > 2 || m >= s.heap) throw new RangeError('illegal move ' + m);
    return { heap: s.heap - m - 1, p: 1 - s.p };
  },
  result: (s) => (s.heap > 0 ? null : s.p === 1 ? 1 : -1),
  encode: (s) => { const x = new Float32Array(8); x[s.heap] = 1; return x; },
  render: (s) => 'heap ' + s.heap,
  key: (s) => s.heap + '/' + s.p,
};
`,
    ),
  );
  assert.equal(game.kind, 'game');
  assert.ok(game.kind === 'game');
  assertConformance(await checkGame(game.game));

  const multi = await loadEnvFile(
    file(
      'say.mts',
      `import { extractAnswer, formatAnswer, type MultiTurnFamily } from 'flywheel/envs';
export const family: MultiTurnFamily = {
  id: 'say-v1', description: 'Say the number.', difficulty: { min: 1, max: 2, default: 1 }, maxTurns: 2,
  create() {
    let n = 0;
    let turns = 0;
    return {
      reset(seed: number, d = 1) {
        if (!Number.isInteger(d) || d < 1 || d > 2) throw new RangeError('difficulty ' + d);
        n = (seed * 7 + 3) % (10 ** d); turns = 0;
        return 'Say ' + n;
      },
      step(a: string) {
        turns++;
        const got = extractAnswer(a);
        const right = got.ok && got.text === String(n);
        const done = right || turns >= 2;
        return { observation: done ? '' : 'again', reward: right ? 1 : 0, done, info: {} };
      },
    };
  },
  solve: (t) => formatAnswer(t[0].slice(4)),
};
`,
    ),
  );
  assert.equal(multi.kind, 'multiturn');
  assert.ok(multi.kind === 'multiturn');
  assertConformance(await checkMultiTurnFamily(multi.family));
});

async function loadError(path: string): Promise<string> {
  try {
    await loadEnvFile(path);
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${err}`);
    return err.message;
  }
  return assert.fail(`${path} loaded`);
}

test('mistakes in a user file are UserErrors naming the file and the problem', async () => {
  assert.equal(await loadError(join(dir, 'absent.ts')), `environment file not found: ${join(dir, 'absent.ts')}`);
  assert.match(await loadError(file('notes.txt', 'hi')), /notes\.txt: expected a \.ts, \.mts, \.js, \.mjs file/);
  assert.match(await loadError(join(dir, 'lib')), /lib: not a file/);
  assert.match(await loadError(file('none.ts', 'export const x = 1;\n')), /none\.ts: export your environment as the default export .* the file exports "x"/);
  assert.match(await loadError(file('num.ts', 'export default 42;\n')), /num\.ts: the exported environment is number/);
  assert.match(await loadError(file('shape.ts', 'export default { id: "s-v1", run() {} };\n')), /shape\.ts: the export is not an environment/);
  const missing = await loadError(file('half.ts', "export default { id: 'half-v1', description: 'h', difficulty: { min: 1, max: 2, default: 1 }, generate() {}, verify() {}, errorKinds: 'slip' };\n"));
  assert.match(missing, /half\.ts: invalid task family half-v1: missing member "solve" \(a function: \(task\) => string\)/);
  assert.match(missing, /member "errorKinds" should be a list/);
  assert.match(missing, /missing member "stat"/);
  assert.match(await loadError(file('syntax.ts', 'export default {{{\n')), /syntax\.ts: could not load: .*syntax\.ts:1:\d+: ERROR/);
  assert.match(await loadError(file('boom.ts', "throw new Error('boom at import');\n")), /boom\.ts: could not load: boom at import/);
});

test('asEntry validates game members; isEnvPath tells paths from ids', () => {
  assert.throws(() => asEntry({ id: 'g-v1', description: 'g', initial() {}, numActions: 0 }, 'g.ts'), /g\.ts: invalid game g-v1: member "numActions" should be an integer/);
  for (const p of ['./x.ts', 'x.js', 'dir/x', '/abs/y.mjs', 'C:\\x\\y.ts']) assert.equal(isEnvPath(p), true, p);
  for (const id of ['addsub-v1', 'connect4-v1', 'x']) assert.equal(isEnvPath(id), false, id);
});
