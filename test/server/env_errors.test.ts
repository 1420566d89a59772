// Bad input and faults: every mistake a client can make is a 4xx whose JSON
// names the field, value, session or environment; a user's environment that
// throws or hangs costs that request (or that completion's reward), never the
// server. After each, the server still answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startEnvServer, type EnvServer } from '../../src/server/env_server.ts';
import { EnvClient, EnvServerError } from '../../src/server/env_client.ts';
import * as S from '../../src/server/env_schema.ts';

const FAULTY_TASK = fileURLToPath(new URL('./fixtures/faulty_task.ts', import.meta.url));
const FAULTY_EPISODE = fileURLToPath(new URL('./fixtures/faulty_episode.ts', import.meta.url));

let server: EnvServer;
before(async () => {
  server = await startEnvServer({ port: 0, envFiles: [FAULTY_TASK, FAULTY_EPISODE], maxBodyBytes: 2048, maxSessions: 3, verifyTimeoutSeconds: 0.5 });
});
after(() => server.close());

/** A raw request; the answer's status and parsed JSON. */
async function send(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; json: S.ErrorResponse; headers: Headers }> {
  const res = await fetch(server.url + path, { method, body, headers });
  return { status: res.status, json: (await res.json()) as S.ErrorResponse, headers: res.headers };
}

/** The error answer has the schema's shape, the status, and a message matching the pattern; then the server still serves. */
async function expectError(r: { status: number; json: unknown }, status: number, pattern: RegExp, field?: string): Promise<void> {
  const { error } = S.ErrorResponse.parse(r.json);
  assert.equal(r.status, status, error.message);
  assert.equal(error.status, status);
  assert.match(error.message, pattern);
  assert.equal(error.field, field);
  assert.equal((await fetch(`${server.url}/health`)).status, 200);
}

describe('bad requests', () => {
  test('malformed bodies and wrong fields are 400s naming the field', async () => {
    const post = (body: string) => send('POST', '/sessions', body, { 'Content-Type': 'application/json' });
    await expectError(await post('{"env": "addsub-v1", "seed": '), 400, /not valid JSON/);
    await expectError(await post(''), 400, /body is empty/);
    await expectError(await post('[1, 2]'), 400, /^body: .*expected object/);
    await expectError(await post('{"env": "addsub-v1", "seed": "3"}'), 400, /^field "seed": .*expected number.*got "3"/, 'seed');
    await expectError(await post('{"env": "addsub-v1", "seed": 1.5}'), 400, /^field "seed": .*int/, 'seed');
    await expectError(await post('{"env": "addsub-v1", "sede": 1}'), 400, /^field "sede": unknown field/, 'sede');
    await expectError(await post('{"env": "addsub-v1", "difficulty": 9}'), 400, /difficulty 9 is out of range for addsub-v1: 1\.\.8/, 'difficulty');
    await expectError(await post('{"env": "tictactoe-v1", "difficulty": 1}'), 400, /tictactoe-v1 is a game and has no difficulty/, 'difficulty');
    const batch = JSON.stringify({ items: [{ env: 'addsub-v1', seed: 1, completion: 'x' }, { env: 'addsub-v1', seed: -1, completion: 'x' }] });
    await expectError(await send('POST', '/verify', batch), 400, /^field "items\.1\.seed": .*got -1/, 'items.1.seed');
    const episodeInBatch = JSON.stringify({ items: [{ env: 'guess-number-v1', seed: 1, completion: 'x' }] });
    await expectError(await send('POST', '/verify', episodeInBatch), 400, /guess-number-v1 is a multiturn environment; batches are for task families/, 'items.0.env');
    await expectError(await send('POST', '/verify', '{"items": []}'), 400, /items/, 'items');
  });

  test('unknown environments (with close matches), sessions and routes are 404s; a wrong method is a 405', async () => {
    await expectError(await send('POST', '/sessions', '{"env": "countdwn-v1"}'), 404, /unknown environment "countdwn-v1"; did you mean countdown-v1\?/, 'env');
    await expectError(await send('POST', '/verify', '{"items": [{"env": "sort-v2", "seed": 0, "completion": ""}]}'), 404, /did you mean sort-v1/, 'items.0.env');
    await expectError(await send('GET', '/sessions/no-such-id'), 404, /unknown session "no-such-id": closed, expired .* or never created/);
    await expectError(await send('POST', '/sessions/%zz/step', '{"action": "x"}'), 404, /unknown session "%zz"/);
    await expectError(await send('GET', '/nothing/here'), 404, /no route GET \/nothing\/here; GET \/schema lists the routes/);
    const wrong = await send('PUT', '/sessions');
    await expectError(wrong, 405, /PUT \/sessions: this path takes POST/);
    assert.equal(wrong.headers.get('allow'), 'POST');
  });

  test('a route of another kind of session is a 400 saying which to use', async () => {
    const c = new EnvClient(server.url);
    const s = await c.createSession({ env: 'addsub-v1', seed: 1 });
    await assert.rejects(c.step(s.session, 'Answer: 1'), /is a task session \(addsub-v1\): step is for multiturn sessions; use verify/);
    await assert.rejects(c.play(s.session, 0), /play is for game sessions; use verify/);
    await c.close(s.session);
  });

  test('a body over --max-body is a 413; more sessions than --max-sessions a 429', async () => {
    const big = JSON.stringify({ items: [{ env: 'addsub-v1', seed: 1, completion: 'x'.repeat(4000) }] });
    await expectError(await send('POST', '/verify', big), 413, /over the limit of 2048 bytes \(--max-body\)/);
    const c = new EnvClient(server.url);
    const open = await Promise.all([1, 2, 3].map((seed) => c.createSession({ env: 'sort-v1', seed })));
    await expectError(await send('POST', '/sessions', '{"env": "sort-v1"}'), 429, /3 sessions are open, the limit \(--max-sessions\)/);
    await c.close(open[0].session);
    const again = await c.createSession({ env: 'sort-v1' }); // room again
    await Promise.all([open[1], open[2], again].map((s) => c.close(s.session)));
  });
});

describe('faults in users\' environments', () => {
  test('a verifier that throws, spins, never settles or returns garbage gives reward 0 with a reason', async () => {
    const c = new EnvClient(server.url);
    const item = (completion: string) => ({ env: 'faulty-double-v1', seed: 3, completion });
    const { tasks } = { tasks: await c.tasks([{ env: 'faulty-double-v1', seed: 3 }]) };
    const n = Number(/Double (\d+)/.exec(tasks[0].prompt)![1]);
    const right = `Answer: ${2 * n}`;
    const { results } = await c.verifyBatch(['throw', right, 'garbage', 'spin', 'never', right, 'greedy', 'Answer: 1'].map(item));
    assert.deepEqual(results.map((r) => r.reason), ['verifier_error', 'correct', 'verifier_error', 'verifier_timeout', 'verifier_timeout', 'correct', 'verifier_error', 'wrong']);
    assert.ok(results.every((r) => r.reward === (r.reason === 'correct' ? 1 : 0)));
    assert.match(results[0].detail ?? '', /verify threw: the verifier fell over/);
    assert.match(results[2].detail ?? '', /verify returned 42/);
    assert.match(results[6].detail ?? '', /verify returned \{"reward":2,.*not \{ reward in \[0, 1\], ok, reason \}/);
  });

  test('while a user\'s verifier spins, the server answers everyone else', async () => {
    const c = new EnvClient(server.url);
    const s = await c.createSession({ env: 'faulty-double-v1', seed: 1 });
    const order: string[] = [];
    const spinning = c.verify(s.session, 'spin').then((v) => order.push(`verify:${v.reason}`));
    const others = Promise.all([c.health(), c.verifyBatch([{ env: 'addsub-v1', seed: 2, completion: 'Answer: 0' }]), c.listEnvs()]).then(() => order.push('others'));
    await Promise.all([spinning, others]);
    assert.deepEqual(order, ['others', 'verify:verifier_timeout']);
    await c.close(s.session);
  });

  test('an environment whose step throws is a 500 env_error naming it, and the session lives on', async () => {
    const c = new EnvClient(server.url);
    const s = await c.createSession({ env: 'faulty-countdown-v1', seed: 5 });
    assert.equal(s.kind === 'multiturn' && s.observation, 'Episode 5: speak.');
    const err = await c.step(s.session, 'boom').catch((e: EnvServerError) => e);
    assert.ok(err instanceof EnvServerError);
    assert.deepEqual([err.status, err.code], [500, 'env_error']);
    assert.match(err.message, /faulty-countdown-v1: step threw: step exploded/);
    assert.deepEqual((await c.step(s.session, 'hi')).observation, 'again');
    assert.deepEqual(await c.step(s.session, 'hi'), { observation: '', reward: 1, done: true, info: { turn: 2 }, turn: 2, totalReward: 1 });
    await c.close(s.session);
  });
});

describe('auth', () => {
  test('with a token, every route but /health needs "Authorization: Bearer <token>"', async () => {
    const guarded = await startEnvServer({ port: 0, token: 's3cret' });
    try {
      const unauthorized = async (headers: Record<string, string>, pattern: RegExp) => {
        const res = await fetch(`${guarded.url}/envs`, { headers });
        assert.equal(res.status, 401);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer');
        assert.match(S.ErrorResponse.parse(await res.json()).error.message, pattern);
      };
      await unauthorized({}, /missing Authorization header/);
      await unauthorized({ Authorization: 'Bearer nope' }, /wrong token/);
      await unauthorized({ Authorization: 's3cret' }, /not "Bearer <token>"/);
      assert.equal((await fetch(`${guarded.url}/health`)).status, 200);
      await assert.rejects(new EnvClient(guarded.url).verifyBatch([{ env: 'addsub-v1', seed: 0, completion: '' }]), /401 unauthorized/);
      const ok = await new EnvClient(guarded.url, { token: 's3cret' }).listEnvs();
      assert.ok(ok.length > 10);
    } finally {
      await guarded.close();
    }
  });
});
