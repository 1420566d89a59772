// The session store on its own, with a hand-driven clock: idle sessions
// expire (and using a session keeps it alive), the cap holds, and episodes
// that never say done end at maxTurns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEnv } from '../../src/envs/registry.ts';
import type { MultiTurnFamily } from '../../src/envs/types.ts';
import { HttpError } from '../../src/server/env_http.ts';
import { resolveDifficulty, Sessions } from '../../src/server/env_sessions.ts';
import type { ServedEnv } from '../../src/server/env_sessions.ts';

const served = (id: string): ServedEnv => ({ id, entry: getEnv(id), source: 'builtin' });

function store(maxSessions = 100) {
  const clock = { t: 0 };
  const sessions = new Sessions({ ttlMs: 10_000, maxSessions, now: () => clock.t });
  return { clock, sessions };
}

const isHttp = (status: number, pattern: RegExp) => (e: unknown) => e instanceof HttpError && e.status === status && pattern.test(e.message);

test('a session idle for longer than the TTL expires; using it keeps it alive', () => {
  const { clock, sessions } = store();
  const a = sessions.create(served('sort-v1'), 1, undefined);
  const b = sessions.create(served('sort-v1'), 2, undefined);
  clock.t = 8_000;
  sessions.get(a.session); // a is used at 8 s, b last at 0 s
  clock.t = 12_000;
  assert.equal(sessions.sweep(), 1);
  assert.equal(sessions.size, 1);
  assert.throws(() => sessions.get(b.session), isHttp(404, /expired after 10 s idle/));
  assert.equal(sessions.get(a.session).session, a.session);
  clock.t = 22_001; // 10.001 s after the last use: expired even before a sweep runs
  assert.throws(() => sessions.get(a.session), isHttp(404, /unknown session/));
  assert.equal(sessions.size, 0);
});

test('at most maxSessions are open; expired ones make room', () => {
  const { clock, sessions } = store(2);
  sessions.create(served('addsub-v1'), 1, 3);
  clock.t = 5_000;
  const keep = sessions.create(served('tictactoe-v1'), 0, undefined);
  assert.throws(() => sessions.create(served('addsub-v1'), 3, undefined), isHttp(429, /2 sessions are open/));
  clock.t = 10_500; // the first is now idle for 10.5 s
  const c = sessions.create(served('addsub-v1'), 3, undefined);
  assert.equal(sessions.size, 2);
  assert.deepEqual([sessions.get(keep.session).kind, sessions.get(c.session).kind], ['game', 'task']);
});

test('difficulty: the default when omitted, checked against the range, refused for games', () => {
  assert.equal(resolveDifficulty(served('countdown-v1'), undefined), 2);
  assert.equal(resolveDifficulty(served('countdown-v1'), 5), 5);
  assert.throws(() => resolveDifficulty(served('countdown-v1'), 0, 'items.2.difficulty'), (e: unknown) => e instanceof HttpError && e.field === 'items.2.difficulty' && /0 is out of range for countdown-v1: 1\.\.5/.test(e.message));
  assert.throws(() => resolveDifficulty(served('connect4-v1'), 1), isHttp(400, /is a game and has no difficulty/));
  assert.equal(resolveDifficulty(served('connect4-v1'), undefined), null);
});

test('an episode that never says done ends after maxTurns with reason out_of_turns', () => {
  const endless: MultiTurnFamily = {
    id: 'endless-v1',
    description: 'never done',
    difficulty: { min: 1, max: 1, default: 1 },
    maxTurns: 2,
    create: () => ({ reset: () => 'go', step: () => ({ observation: 'more', reward: 0.25, done: false, info: { n: 1 } }) }),
    solve: () => 'x',
  };
  const { sessions } = store();
  const s = sessions.create({ id: endless.id, entry: { kind: 'multiturn', family: endless }, source: 'test' }, 0, undefined);
  assert.deepEqual(sessions.step(s.session, 'a'), { observation: 'more', reward: 0.25, done: false, info: { n: 1 }, turn: 1, totalReward: 0.25 });
  assert.deepEqual(sessions.step(s.session, 'b'), { observation: '', reward: 0.25, done: true, info: { n: 1, reason: 'out_of_turns' }, turn: 2, totalReward: 0.5 });
  assert.deepEqual(sessions.step(s.session, 'c'), { observation: '', reward: 0, done: true, info: { reason: 'episode_over' }, turn: 2, totalReward: 0.5 });
});
