/**
 * The env server's sessions: one task, episode or game per session id, held
 * in memory. A session is
 *
 *   task       the generated Task (its answer stays here); verify grades completions of it
 *   multiturn  a running TextEpisode: step(action) -> observation, reward, done
 *   game       the current state and the moves so far; play(move) -> new state
 *
 * Sessions idle for longer than the TTL expire (sweep() is called on a timer
 * and before refusing a new session for want of room); at most maxSessions are
 * open at once. Session ids are random UUIDs: an identifier no other client
 * can guess, not a random choice of the experiment, so no seed is involved.
 *
 * Environment code that throws here is a bug in the environment (the
 * contracts say step() and verify() never throw on model output): it becomes
 * a 500 'env_error' naming the environment, and the server carries on.
 */
import { randomUUID } from 'node:crypto';
import type { EnvEntry, Game, Task, TextEpisode } from '../envs/types.ts';
import * as S from './env_schema.ts';
import { badRequest, HttpError, notFound } from './env_http.ts';

/** An environment as the server serves it. */
export interface ServedEnv {
  id: string;
  entry: EnvEntry;
  source: string; // 'builtin', or the absolute path of the user's file
}

export interface SessionOptions {
  ttlMs: number; // idle time after which a session expires
  maxSessions: number; // open sessions at most
  now?: () => number; // the clock in ms (tests pass their own)
}

interface Head {
  id: string;
  env: ServedEnv;
  seed: number;
  difficulty: number | null;
  lastUsed: number; // ms, by opts.now
}
interface TaskSession extends Head {
  kind: 'task';
  task: Task;
}
interface EpisodeSession extends Head {
  kind: 'multiturn';
  episode: TextEpisode;
  maxTurns: number;
  observation: string;
  turn: number;
  done: boolean;
  totalReward: number;
}
interface GameSession extends Head {
  kind: 'game';
  game: Game<unknown>;
  state: unknown;
  moves: number[];
}
type Session = TaskSession | EpisodeSession | GameSession;

/**
 * The difficulty a request asks for, checked against the environment: its
 * default when omitted; null for games (which have none).
 */
export function resolveDifficulty(env: ServedEnv, difficulty: number | undefined, field = 'difficulty'): number | null {
  if (env.entry.kind === 'game') {
    if (difficulty !== undefined) throw badRequest(`field "${field}": ${env.id} is a game and has no difficulty; omit the field`, field);
    return null;
  }
  const range = env.entry.family.difficulty;
  if (difficulty === undefined) return range.default;
  if (difficulty < range.min || difficulty > range.max) throw badRequest(`field "${field}": difficulty ${difficulty} is out of range for ${env.id}: ${range.min}..${range.max}`, field);
  return difficulty;
}

/** Runs environment code; a throw becomes a 500 'env_error' naming the environment and the call. */
export function envCall<T>(env: ServedEnv, what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new HttpError(500, 'env_error', `${env.id}: ${what} threw: ${message.split('\n')[0].slice(0, 300)}`);
  }
}

export class Sessions {
  private readonly open = new Map<string, Session>();
  private readonly now: () => number;

  constructor(private readonly opts: SessionOptions) {
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.open.size;
  }

  create(env: ServedEnv, seed: number, requested: number | undefined): S.SessionView {
    const difficulty = resolveDifficulty(env, requested);
    if (this.open.size >= this.opts.maxSessions) this.sweep();
    if (this.open.size >= this.opts.maxSessions) {
      throw new HttpError(429, 'too_many_sessions', `${this.open.size} sessions are open, the limit (--max-sessions); close some (DELETE /sessions/:id) or wait for idle ones to expire`);
    }
    const head: Head = { id: randomUUID(), env, seed, difficulty, lastUsed: this.now() };
    const e = env.entry;
    let session: Session;
    if (e.kind === 'task') {
      session = { ...head, kind: 'task', task: envCall(env, 'generate', () => e.family.generate(seed, difficulty as number)) };
    } else if (e.kind === 'multiturn') {
      const episode = envCall(env, 'create', () => e.family.create());
      const observation = envCall(env, 'reset', () => episode.reset(seed, difficulty as number));
      session = { ...head, kind: 'multiturn', episode, maxTurns: e.family.maxTurns, observation, turn: 0, done: false, totalReward: 0 };
    } else {
      session = { ...head, kind: 'game', game: e.game, state: envCall(env, 'initial', () => e.game.initial()), moves: [] };
    }
    const view = this.view(session); // fails (env_error) before the session is stored if the env cannot render it
    this.open.set(session.id, session);
    return view;
  }

  /** The session's prompt, observation or position. */
  get(id: string): S.SessionView {
    return this.view(this.use(id));
  }

  /** The task of a single-turn session, for verify. */
  task(id: string): { env: ServedEnv; task: Task } {
    const s = this.expect(this.use(id), 'task', 'verify');
    return { env: s.env, task: s.task };
  }

  step(id: string, action: string): S.StepResponse {
    const s = this.expect(this.use(id), 'multiturn', 'step');
    if (s.done) return { observation: '', reward: 0, done: true, info: { reason: 'episode_over' }, turn: s.turn, totalReward: s.totalReward };
    const r = envCall(s.env, 'step', () => s.episode.step(action));
    s.turn++;
    s.totalReward += r.reward;
    s.done = r.done || s.turn >= s.maxTurns;
    s.observation = s.done ? '' : r.observation;
    const info = s.done && !r.done ? { ...r.info, reason: 'out_of_turns' } : r.info;
    return { observation: s.observation, reward: r.reward, done: s.done, info, turn: s.turn, totalReward: s.totalReward };
  }

  play(id: string, move: number): S.GameView {
    const s = this.expect(this.use(id), 'game', 'play');
    const result = envCall(s.env, 'result', () => s.game.result(s.state));
    if (result !== null) throw badRequest(`field "move": the game in session ${id} is over (result ${result}); start a new session`, 'move');
    const legal = envCall(s.env, 'legalMoves', () => s.game.legalMoves(s.state));
    if (!legal.includes(move)) throw badRequest(`field "move": ${move} is not a legal move in session ${id}; legal moves: ${legal.join(', ')}`, 'move');
    s.state = envCall(s.env, 'play', () => s.game.play(s.state, move));
    s.moves.push(move);
    return this.view(s) as S.GameView;
  }

  close(id: string): S.Closed {
    this.use(id);
    this.open.delete(id);
    return { session: id, closed: true };
  }

  /** Removes sessions idle for longer than the TTL; returns how many. */
  sweep(): number {
    const cutoff = this.now() - this.opts.ttlMs;
    let n = 0;
    for (const [id, s] of this.open) {
      if (s.lastUsed < cutoff) {
        this.open.delete(id);
        n++;
      }
    }
    return n;
  }

  /** The live session with this id, marked as used now; a 404 when it is closed, expired or unknown. */
  private use(id: string): Session {
    const s = this.open.get(id);
    const t = this.now();
    if (!s || t - s.lastUsed > this.opts.ttlMs) {
      if (s) this.open.delete(id);
      throw notFound(`unknown session ${JSON.stringify(id)}: closed, expired after ${this.opts.ttlMs / 1000} s idle (--session-ttl), or never created`);
    }
    s.lastUsed = t;
    return s;
  }

  private expect<K extends Session['kind']>(s: Session, kind: K, op: string): Extract<Session, { kind: K }> {
    if (s.kind === kind) return s as Extract<Session, { kind: K }>;
    const use = { task: 'verify', multiturn: 'step', game: 'play' }[s.kind];
    throw badRequest(`session ${s.id} is a ${s.kind} session (${s.env.id}): ${op} is for ${kind} sessions; use ${use}`);
  }

  private view(s: Session): S.SessionView {
    const head = { session: s.id, env: s.env.id, seed: s.seed, difficulty: s.difficulty };
    if (s.kind === 'task') return { ...head, kind: 'task', prompt: s.task.prompt };
    if (s.kind === 'multiturn') {
      return { ...head, kind: 'multiturn', observation: s.observation, turn: s.turn, maxTurns: s.maxTurns, done: s.done, totalReward: s.totalReward };
    }
    const { game, state } = s;
    return envCall(s.env, 'render/encode', () => ({
      ...head,
      kind: 'game' as const,
      board: game.render(state),
      toMove: game.toMove(state),
      legalMoves: game.legalMoves(state),
      moves: [...s.moves],
      encoding: Array.from(game.encode(state)),
      encodingShape: [...game.encodingShape],
      result: game.result(state),
    }));
  }
}
