// The env server in-process, through the TypeScript client: every route
// against the environments themselves (the oracle), every response against
// its schema, and many sessions at once without crossed answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { listEnvs, envId } from '../../src/envs/registry.ts';
import type { EnvEntry, MultiTurnFamily, TaskFamily } from '../../src/envs/types.ts';
import { Rng } from '../../src/util/rng.ts';
import { startEnvServer, type EnvServer } from '../../src/server/env_server.ts';
import { EnvClient } from '../../src/server/env_client.ts';
import * as S from '../../src/server/env_schema.ts';

let server: EnvServer;
let client: EnvClient;
before(async () => {
  server = await startEnvServer({ port: 0 });
  client = new EnvClient(server.url);
});
after(() => server.close());

const tasks = listEnvs().flatMap((e) => (e.kind === 'task' ? [e.family] : []));
const episodes = listEnvs().flatMap((e) => (e.kind === 'multiturn' ? [e.family] : []));
const family = (id: string): TaskFamily => tasks.find((f) => f.id === id)!;

describe('environments and tasks', () => {
  test('GET /envs lists every registered environment with its kind, range and game shapes', async () => {
    const envs = S.EnvList.parse({ envs: await client.listEnvs() }).envs;
    assert.deepEqual(envs.map((e) => e.id), listEnvs().map(envId));
    const byId = new Map(envs.map((e) => [e.id, e]));
    for (const entry of listEnvs() as EnvEntry[]) {
      const info = byId.get(envId(entry))!;
      assert.equal(info.kind, entry.kind);
      assert.equal(info.source, 'builtin');
      if (entry.kind === 'game') assert.deepEqual([info.numActions, info.encodingShape], [entry.game.numActions, [...entry.game.encodingShape]]);
      else assert.deepEqual(info.difficulty, entry.family.difficulty);
    }
    assert.deepEqual(S.Health.parse(await client.health()), { ok: true, sessions: 0, maxSessions: 10_000, envs: envs.length });
  });

  test('a task session carries the family\'s prompt; its reference solution gets 1 and junk 0', async () => {
    for (const f of tasks) {
      const view = S.TaskView.parse(await client.createSession({ env: f.id, seed: 3 }));
      const task = f.generate(3, f.difficulty.default);
      assert.deepEqual([view.prompt, view.difficulty, view.seed], [task.prompt, f.difficulty.default, 3], f.id);
      assert.deepEqual(await client.getSession(view.session), view);
      const right = S.Verdict.parse(await client.verify(view.session, f.solve(task)));
      const junk = S.Verdict.parse(await client.verify(view.session, 'no idea, sorry'));
      assert.deepEqual([right.reward, right.ok, junk.reward, junk.ok], [1, true, 0, false], f.id);
      assert.deepEqual(await client.close(view.session), { session: view.session, closed: true });
    }
    assert.equal((await client.health()).sessions, 0);
  });

  test('POST /verify grades a mixed batch exactly as the families do, in order', async () => {
    const rng = new Rng(9);
    const ids = ['addsub-v1', 'sort-v1', 'countdown-v1', 'code-rpn-v1', 'sudoku4-v1'];
    const items = Array.from({ length: 40 }, (_, i) => {
      const f = family(ids[i % ids.length]);
      const difficulty = rng.range(f.difficulty.min, f.difficulty.max);
      const task = f.generate(i, difficulty);
      const completion = [f.solve(task), f.mistake(task, rng.pick([...f.errorKinds]), rng), 'Answer: ???'][i % 3];
      return { env: f.id, seed: i, difficulty, completion };
    });
    const { results } = S.VerifyBatchResponse.parse(await client.verifyBatch(items));
    const expected = await Promise.all(items.map((it) => family(it.env).verify(family(it.env).generate(it.seed, it.difficulty), it.completion)));
    assert.deepEqual(results, expected);
    assert.ok(results.some((r) => r.ok) && results.some((r) => !r.ok));
  });

  test('POST /tasks gives the prompts of a batch; difficulty defaults per family', async () => {
    const items = [{ env: 'linear-eq-v1', seed: 5, difficulty: 4 }, { env: 'bool-expr-v1', seed: 6 }];
    const got = S.TasksResponse.parse({ tasks: await client.tasks(items) }).tasks;
    assert.deepEqual(got, [
      { env: 'linear-eq-v1', seed: 5, difficulty: 4, prompt: family('linear-eq-v1').generate(5, 4).prompt },
      { env: 'bool-expr-v1', seed: 6, difficulty: 2, prompt: family('bool-expr-v1').generate(6, 2).prompt },
    ]);
  });
});

/** The reference policy's episode, step by step, as the family runs it locally. */
function localEpisode(f: MultiTurnFamily, seed: number, difficulty: number) {
  const ep = f.create();
  const transcript = [ep.reset(seed, difficulty)];
  const steps = [];
  for (let t = 0; t < f.maxTurns; t++) {
    const action = f.solve(transcript);
    const r = ep.step(action);
    steps.push({ action, ...r });
    transcript.push(action, r.observation);
    if (r.done) break;
  }
  return { first: transcript[0], steps };
}

describe('episodes and games', () => {
  test('a multi-turn episode over HTTP is the same episode as run locally, to done', async () => {
    for (const f of episodes) {
      const d = f.difficulty.max;
      const local = localEpisode(f, 21, d);
      const view = S.EpisodeView.parse(await client.createSession({ env: f.id, seed: 21, difficulty: d }));
      assert.equal(view.observation, local.first, f.id);
      let total = 0;
      for (const [i, s] of local.steps.entries()) {
        const r = S.StepResponse.parse(await client.step(view.session, s.action));
        total += s.reward;
        assert.deepEqual(r, { observation: s.done ? '' : s.observation, reward: s.reward, done: s.done, info: s.info, turn: i + 1, totalReward: total }, `${f.id} step ${i}`);
      }
      const end = S.EpisodeView.parse(await client.getSession(view.session));
      assert.deepEqual([end.done, end.turn, end.totalReward], [true, local.steps.length, total]);
      assert.equal((await client.step(view.session, 'Answer: 1')).info.reason, 'episode_over');
      await client.close(view.session);
    }
  });

  test('a game plays to the end with the positions the game computes; illegal and late moves are 400s', async () => {
    const game = listEnvs().find((e) => e.kind === 'game' && e.game.id === 'connect4-v1');
    assert.ok(game?.kind === 'game');
    const g = game.game;
    const rng = new Rng(4);
    let view = S.GameView.parse(await client.createSession({ env: 'connect4-v1' }));
    let state = g.initial();
    while (g.result(state) === null) {
      const move = rng.pick(g.legalMoves(state));
      state = g.play(state, move);
      view = S.GameView.parse(await client.play(view.session, move));
      assert.deepEqual([view.board, view.legalMoves, view.toMove, view.encoding], [g.render(state), g.legalMoves(state), g.toMove(state), Array.from(g.encode(state))]);
    }
    assert.equal(view.result, g.result(state));
    await assert.rejects(client.play(view.session, 0), (e: Error & { status: number; field?: string }) => e.status === 400 && e.field === 'move' && /is over/.test(e.message));
    const fresh = await client.createSession({ env: 'connect4-v1' });
    await assert.rejects(client.play(fresh.session, 7), /field "move": 7 is not a legal move .*legal moves: 0, 1, 2, 3, 4, 5, 6/);
  });

  test('100 sessions in flight at once each get their own answers', async () => {
    const f = episodes.find((e) => e.id === 'retry-arith-v1')!;
    const seeds = Array.from({ length: 100 }, (_, i) => 1000 + i);
    const views = await Promise.all(seeds.map((seed) => client.createSession({ env: f.id, seed })));
    const steps = await Promise.all(views.map((v, i) => client.step(v.session, f.solve([localEpisode(f, seeds[i], 2).first]))));
    for (const [i, v] of views.entries()) {
      assert.equal(v.kind === 'multiturn' && v.observation, localEpisode(f, seeds[i], 2).first);
      assert.deepEqual([steps[i].reward, steps[i].done], [1, true]);
    }
    assert.equal(new Set(views.map((v) => v.session)).size, 100);
    await Promise.all(views.map((v) => client.close(v.session)));
  });
});
