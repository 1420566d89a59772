// The Python client against a live `flywheel env-server`, both as a user runs
// them: the server a real child process on a free port with a token, the
// examples run by python3. Every reward, observation and position Python
// reports is replayed against the environments here (the oracle); SIGTERM
// then stops the server cleanly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { getEnv, listEnvs } from '../../src/envs/registry.ts';
import type { Game, MultiTurnFamily, TaskFamily } from '../../src/envs/types.ts';

const REPO = join(import.meta.dirname, '..', '..');
const PY = join(REPO, 'examples', 'python');
const TOKEN = 'py-test-token';

let server: ChildProcess;
let url = '';
let stdout = '';
let stderr = '';
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

before(async () => {
  server = spawn(process.execPath, [join(REPO, 'bin', 'flywheel.js'), 'env-server', '--port', '0', '--json'], { cwd: REPO, env: { ...process.env, FLYWHEEL_ENV_TOKEN: TOKEN } });
  exited = new Promise((done) => server.on('exit', (code, signal) => done({ code, signal })));
  server.stderr!.on('data', (d: Buffer) => (stderr += d));
  url = await new Promise<string>((resolve, reject) => {
    server.stdout!.on('data', (d: Buffer) => {
      stdout += d;
      const line = stdout.split('\n').find((l) => l.includes('"listening"'));
      if (line) resolve(JSON.parse(line).url);
    });
    void exited.then(({ code }) => reject(new Error(`env-server exited (${code}) before listening: ${stderr}`)));
  });
});
after(() => {
  if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
});

/** Runs a Python script (or `-c` code) with the client's token; its stdout as JSON. */
function python(args: string[], input?: string, token = TOKEN): unknown {
  const r = spawnSync('python3', args, { cwd: PY, input, encoding: 'utf8', timeout: 60_000, env: { ...process.env, FLYWHEEL_ENV_TOKEN: token } });
  assert.equal(r.error, undefined, `python3 could not run: ${r.error?.message}`);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const family = (id: string): TaskFamily => {
  const e = getEnv(id);
  assert.ok(e.kind === 'task');
  return e.family;
};

test('reward_fn_example.py: the reward function grades every completion as the family does', async () => {
  const out = python(['reward_fn_example.py', '--url', url, '--steps', '2', '--prompts', '6', '--group', '4', '--json']) as {
    graded: { env: string; seed: number; difficulty: number; completion: string; kind: string; reward: number; advantage: number }[];
  };
  assert.equal(out.graded.length, 2 * 6 * 4);
  for (const g of out.graded) {
    const f = family(g.env);
    const verdict = await f.verify(f.generate(g.seed, g.difficulty), g.completion);
    assert.equal(g.reward, verdict.reward, JSON.stringify(g));
    assert.equal(g.reward, g.kind === 'correct' ? 1 : 0, JSON.stringify(g));
  }
  assert.deepEqual(new Set(out.graded.map((g) => g.kind)), new Set(['correct', 'slip', 'junk']));
});

test('the Python client: reference solutions get 1 and junk 0 on every task family; a wrong token is a clear 401', () => {
  const tasks = listEnvs().flatMap((e) => (e.kind === 'task' ? [e.family] : []));
  const items = tasks.flatMap((f) => {
    const task = f.generate(5, f.difficulty.default);
    return [
      { env: f.id, seed: 5, difficulty: task.difficulty, completion: f.solve(task) },
      { env: f.id, seed: 5, difficulty: task.difficulty, completion: 'Answer: \u{1F600} <junk>' },
    ];
  });
  const code = [
    'import json, sys',
    'from flywheel_env import EnvClient, EnvServerError',
    'results = EnvClient(sys.argv[1]).verify_batch(json.load(sys.stdin))',
    'try:',
    '    EnvClient(sys.argv[1], token="wrong").list_envs()',
    '    denied = None',
    'except EnvServerError as err:',
    '    denied = {"status": err.status, "code": err.code, "message": str(err)}',
    'print(json.dumps({"rewards": [r["reward"] for r in results], "denied": denied}))',
  ].join('\n');
  const out = python(['-c', code, url], JSON.stringify(items)) as { rewards: number[]; denied: { status: number; code: string; message: string } };
  assert.deepEqual(out.rewards, items.map((_, i) => (i % 2 === 0 ? 1 : 0)));
  assert.deepEqual([out.denied.status, out.denied.code], [401, 'unauthorized']);
  assert.match(out.denied.message, new RegExp(`^GET ${url}/envs: 401 unauthorized: wrong token`));
});

test('tour.py: an episode reaches done, a game plays to the end, mistakes are clear errors', () => {
  const out = python(['tour.py', '--url', url, '--seed', '11', '--json']) as {
    envs: string[];
    episode: { seed: number; difficulty: number; first: string; steps: { action: string; observation: string; reward: number; done: boolean }[] };
    game: { moves: number[]; result: number; board: string };
    mistakes: Record<string, { status: number; code: string; field: string | null; message: string }>;
    open_sessions_after: number;
  };
  assert.equal(out.envs.length, listEnvs().length);

  const guess = getEnv('guess-number-v1') as { kind: 'multiturn'; family: MultiTurnFamily };
  const ep = guess.family.create();
  assert.equal(out.episode.first, ep.reset(out.episode.seed, out.episode.difficulty));
  for (const s of out.episode.steps) {
    const r = ep.step(s.action);
    assert.deepEqual([s.observation, s.reward, s.done], [r.done ? '' : r.observation, r.reward, r.done]);
  }
  assert.equal(out.episode.steps.at(-1)!.done, true);

  const { game } = getEnv('tictactoe-v1') as { kind: 'game'; game: Game<unknown> };
  const end = out.game.moves.reduce((s, m) => game.play(s, m), game.initial());
  assert.deepEqual([out.game.result, out.game.board], [game.result(end), game.render(end)]);
  assert.notEqual(out.game.result, null);

  const m = out.mistakes;
  assert.deepEqual([m.unknown_env.status, m.unknown_env.field], [404, 'env']);
  assert.match(m.unknown_env.message, /did you mean addsub-v1\?/);
  assert.deepEqual([m.bad_seed.status, m.bad_seed.field], [400, 'seed']);
  assert.deepEqual([m.illegal_move.status, m.illegal_move.field], [400, 'move']);
  assert.match(m.illegal_move.message, /9 is not a legal move/);
  assert.deepEqual([m.closed_session.status, m.closed_session.code], [404, 'not_found']);
  assert.equal(out.open_sessions_after, 0);
});

test('SIGTERM stops the server cleanly: exit 0, a stopped event, no stack', async () => {
  server.kill('SIGTERM');
  const { code, signal } = await exited;
  assert.deepEqual([code, signal], [0, null], stderr);
  const stopped = JSON.parse(stdout.trim().split('\n').at(-1)!);
  assert.equal(stopped.event, 'stopped');
  assert.equal(stopped.signal, 'SIGTERM');
  assert.ok(stopped.requests > 10);
  assert.equal(stopped.droppedSessions, 0); // the examples close what they open
  assert.match(stderr, /SIGTERM: stopping/);
  assert.doesNotMatch(stderr, /\n\s+at /);
});
