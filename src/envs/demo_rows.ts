/**
 * One demonstration per (seed, difficulty), for every kind of environment:
 * what `flywheel envs sample` shows and `flywheel envs demos` writes.
 *
 *   task family   the demonstrator's completion (demo.ts) and its verdict;
 *                 the JSONL row is {prompt, completion, env, seed, difficulty, ok, reward}
 *   multi-turn    an episode of the reference policy (runEpisode); the row is
 *                 chat {messages} (env turns as 'user', actions as 'assistant')
 *   game          a game between two scripted players (players.ts); the row
 *                 is the game record
 *
 * The demonstrator's rng for seed s is Rng('demo:<id>:<s>'), so `sample` and
 * `demos` agree on the same seed, difficulty and teacher.
 */
import { UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { demonstrate } from './demo.ts';
import { runEpisode } from './multiturn/episode.ts';
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
export function referenceEpisode(family: MultiTurnFamily, seed: number, difficulty: number) {
  const run = runEpisode(family, (t) => family.solve(t), { seed, difficulty });
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

/** One JSONL row of `envs demos`, with whether it counts as good (verifies; earns reward) and its reward (games: the result). */
export async function demoRow(entry: EnvEntry, seed: number, difficulty: number, teacher: DemoTeacher): Promise<{ row: object; good: boolean; reward: number }> {
  if (entry.kind === 'task') {
    const { task, completion, verdict } = await taskDemo(entry.family, seed, difficulty, teacher.task);
    return { row: { prompt: task.prompt, completion, env: task.env, seed, difficulty, ok: verdict.ok, reward: verdict.reward }, good: verdict.ok, reward: verdict.reward };
  }
  if (entry.kind === 'multiturn') {
    const e = referenceEpisode(entry.family, seed, difficulty);
    const messages = e.turns.map((t) => ({ role: t.role === 'env' ? 'user' : 'assistant', content: t.text }));
    return { row: { messages, env: entry.family.id, seed, difficulty, reward: e.total }, good: e.total > 0, reward: e.total };
  }
  const { record } = await scriptedGame(entry.game, seed, teacher.playerSpec);
  return { row: { ...record, seed }, good: false, reward: record.result }; // reward: +1 first player wins, -1 second
}
