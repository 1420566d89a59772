// The registry, and the conformance suite over EVERY registered environment
// (one test per environment, so a failure names it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConformance } from '../../src/envs/conformance.ts';
import { checkEnv } from '../../src/envs/check.ts';
import { envId, getEnv, listEnvs, registerEnv, resolveEnv } from '../../src/envs/registry.ts';
import { UserError } from '../../src/util/errors.ts';
import type { EnvEntry } from '../../src/envs/types.ts';
import { toySum } from './toy.ts';

/** Task families whose verify is asynchronous (a sandboxed process) get fewer seeds, to stay quick. */
async function seedsFor(entry: EnvEntry): Promise<number> {
  if (entry.kind !== 'task') return 6;
  const f = entry.family;
  const v = f.verify(f.generate(0, f.difficulty.default), '');
  if (!(v instanceof Promise)) return 6;
  await v;
  return 3;
}

for (const entry of listEnvs()) {
  test(`${envId(entry)} (${entry.kind}) passes conformance`, async () => {
    assertConformance(await checkEnv(entry, { seeds: await seedsFor(entry) }));
  });
}

test('the registry holds every built-in environment under a unique versioned id', () => {
  const ids = listEnvs().map(envId);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^[a-z0-9-]+-v\d+$/);
  const expected = [
    'addsub-v1', 'multiplication-v1', 'countdown-v1', 'modular-v1', 'linear-eq-v1', 'base-convert-v1', 'sort-v1', 'string-transform-v1',
    'count-parity-v1', 'bool-expr-v1', 'shortest-path-v1', 'sudoku4-v1', 'code-js-v1', 'code-rpn-v1', 'guess-number-v1', 'retry-arith-v1', 'calc-tool-v1',
    'tictactoe-v1', 'connect4-v1',
  ];
  assert.deepEqual([...ids].sort(), [...expected].sort());
  assert.equal(getEnv('tictactoe-v1').kind, 'game');
  assert.equal(getEnv('guess-number-v1').kind, 'multiturn');
});

test('an unknown id is a UserError naming close matches', () => {
  const message = (id: string) => {
    try {
      getEnv(id);
    } catch (err) {
      assert.ok(err instanceof UserError);
      return err.message;
    }
    assert.fail(`getEnv(${id}) did not throw`);
  };
  assert.match(message('addsub'), /unknown environment "addsub"; did you mean addsub-v1\?/);
  assert.match(message('tictactoe-v2'), /did you mean tictactoe-v1/);
  assert.match(message('conect4-v1'), /did you mean connect4-v1/);
  assert.doesNotMatch(message('zzzzzzzzzz'), /did you mean/);
});

test('registerEnv adds an entry; duplicate and unversioned ids throw', () => {
  registerEnv({ kind: 'task', family: toySum });
  assert.equal(getEnv('toy-sum-v1').kind, 'task');
  assert.throws(() => registerEnv({ kind: 'task', family: toySum }), /already registered/);
  assert.throws(() => registerEnv({ kind: 'task', family: { ...toySum, id: 'toy-sum' } }), /not a versioned id/);
  assert.throws(() => registerEnv({ kind: 'task', family: { ...toySum, id: 'addsub-v1' } }), /"addsub-v1" is already registered/);
});

test('resolveEnv takes an id or a path to a user file', async () => {
  assert.equal(envId(await resolveEnv('sort-v1')), 'sort-v1');
  const mine = await resolveEnv('./examples/my_env.ts');
  assert.equal(mine.kind, 'task');
  assert.equal(envId(mine), 'digit-sum-v1');
  await assert.rejects(resolveEnv('./examples/nope.ts'), { name: 'UserError', message: 'environment file not found: ./examples/nope.ts' });
});
