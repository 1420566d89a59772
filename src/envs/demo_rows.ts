/**
 * One demonstration per (seed, difficulty), for every kind of environment:
 * what `flywheel envs sample` shows and `flywheel envs demos` writes.
 *
 *   task family   the demonstrator's completion (demo.ts) and its verdict;
 *                 the JSONL row is {prompt, completion, env, seed, difficulty, ok, reward}
 *   multi-turn    an episode of the family's flawed teacher (demonstrate(), with
 *                 the same error model as the task families') or, for a family
 *                 without one, of the reference policy (runEpisode); the row is
 *                 chat {messages} (env turns as 'user', actions as 'assistant')
 *   game          a game between two scripted players (players.ts); the row
 *                 is the game record
 *
 * The demonstrator's rng for seed s is Rng('demo:<id>:<s>'), so `sample` and
 * `demos` agree on the same seed, difficulty and teacher.
 */
import { UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { checkDemoOptions, demonstrate } from './demo.ts';
import { episodeIsHard, runEpisode, type EpisodeRun } from './multiturn/episode.ts';
import type { GameRecord } from './games/players.ts';
import type { DemoOptions, EnvEntry, Game, MultiTurnFamily, Task, TaskFamily, Verdict } from './types.ts';

/** One task with the demonstrator's completion and its verdict. */
export async function taskDemo(family: TaskFamily, seed: number, difficulty: number, teacher: DemoOptions): Promise<{ task: Task; completion: string; verdict: Verdict }> {
  const task = family.generate(seed, difficulty);
  const completion = demonstrate(family, task, new Rng(`demo:${family.id}:${seed}`), teacher);
  const verdict = await family.verify(task, completion);
  return { task, completion, verdict };
}

/** An episode of the reference policy. An environment that misbehaves (throws, malformed step) is a UserError naming what it did. */
export function referenceEpisode(family: MultiTurnFamily, seed: number, difficulty: number): EpisodeRun {
  return checked(family, runEpisode(family, (t) => family.solve(t), { seed, difficulty }));
}

/** A teacher's episode, and whether it is a hard case; `teacher` is null when the family has no demonstrate() and the reference policy played. */
export interface TeacherEpisode extends EpisodeRun {
  hard: boolean;
  teacher: DemoOptions | null;
}

/**
 * An episode of the family's flawed teacher with the given error model (one
 * rng for the whole episode, Rng('demo:<id>:<seed>')), or of the reference
 * policy when the family has no demonstrate().
 */
export function teacherEpisode(family: MultiTurnFamily, seed: number, difficulty: number, teacher: DemoOptions): TeacherEpisode {
  const demonstrate = family.demonstrate;
  let run: EpisodeRun;
  if (demonstrate) {
    checkDemoOptions(teacher);
    const rng = new Rng(`demo:${family.id}:${seed}`);
    run = checked(family, runEpisode(family, (t) => demonstrate.call(family, t, rng, teacher), { seed, difficulty }));
  } else run = referenceEpisode(family, seed, difficulty);
  return { ...run, hard: episodeIsHard(family, run.transcript[0], difficulty), teacher: demonstrate ? teacher : null };
}

/**
 * The teacher's wrong first attempt at an episode: its systematic mistake on
 * a hard case, a slip otherwise (demonstrate with errorRate 1, hardAccuracy
 * 0, from Rng('mistake:<id>:<seed>')); null when the family has no teacher.
 * Evaluation opens episodes with it to measure recovery (evaluate.ts).
 */
export function teacherMistake(family: MultiTurnFamily, seed: number, difficulty: number): string | null {
  if (!family.demonstrate) return null;
  const first = family.create().reset(seed, difficulty);
  return family.demonstrate([first], new Rng(`mistake:${family.id}:${seed}`), { errorRate: 1, hardAccuracy: 0 });
}

function checked(family: MultiTurnFamily, run: EpisodeRun): EpisodeRun {
  if (run.problem) {
    const inner = run.problem.match(/threw UserError: (.*)$/s); // a guarded user file already named itself (guard.ts)
    throw new UserError(inner ? inner[1] : `${family.id}: ${run.problem}`);
  }
  return run;
}

/** A game between two players of the given spec (see makePlayer), seeded by the game's id and `seed`. */
export async function scriptedGame(game: Game<unknown>, seed: number, playerSpec: string): Promise<{ record: GameRecord; final: string }> {
  const { makePlayer, playGame } = await import('./games/players.ts');
  const record = playGame(game, makePlayer(game, playerSpec), makePlayer(game, playerSpec), new Rng(`demo:${game.id}:${seed}`));
  let s = game.initial();
  for (const m of record.moves) s = game.play(s, m);
  return { record, final: game.render(s) };
}

/** How the demonstrations are made: the task teacher's error model, and the game players. */
export interface DemoTeacher {
  task: DemoOptions;
  playerSpec: string;
}

/** One demonstration: its JSONL row, whether it counts as good (verifies; earns reward) and its reward (games: the result). */
export interface DemoRow {
  row: object;
  good: boolean;
  reward: number;
  episode?: { firstOk: boolean; ok: boolean; hard: boolean }; // multi-turn: first attempt right, ended right, hard case
}

/** One JSONL row of `envs demos`. */
export async function demoRow(entry: EnvEntry, seed: number, difficulty: number, teacher: DemoTeacher): Promise<DemoRow> {
  if (entry.kind === 'task') {
    const { task, completion, verdict } = await taskDemo(entry.family, seed, difficulty, teacher.task);
    return { row: { prompt: task.prompt, completion, env: task.env, seed, difficulty, ok: verdict.ok, reward: verdict.reward }, good: verdict.ok, reward: verdict.reward };
  }
  if (entry.kind === 'multiturn') {
    const e = teacherEpisode(entry.family, seed, difficulty, teacher.task);
    const messages = e.turns.map((t) => ({ role: t.role === 'env' ? 'user' : 'assistant', content: t.text }));
    const episode = { firstOk: e.reasons[0] === 'correct', ok: e.reason === 'correct', hard: e.hard };
    return { row: { messages, env: entry.family.id, seed, difficulty, hard: e.hard, reward: e.total }, good: e.total > 0, reward: e.total, episode };
  }
  const { record } = await scriptedGame(entry.game, seed, teacher.playerSpec);
  return { row: { ...record, seed }, good: false, reward: record.result }; // reward: +1 first player wins, -1 second
}
