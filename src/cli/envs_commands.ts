/**
 * What `flywheel envs ...` does (the commands and flags are declared in
 * ./envs.ts, which imports this module lazily). Each command resolves its
 * environment (a registry id, or a user's file: load.ts), then prints text or,
 * with --json, one JSON document on stdout. User mistakes are UserErrors.
 *
 * Demonstrations come from src/envs/demo_rows.ts (seeded per item, so
 * `sample` and `demos` agree on the same seed, difficulty and teacher). A
 * user's file is wrapped by guardUserEntry, so a throw in their code is a
 * clear error naming the file and function (`check` runs the raw entry: the
 * suite reports throws as failed checks).
 */
import { existsSync, fstatSync, readFileSync, statSync } from 'node:fs';
import { UserError } from '../util/errors.ts';
import { yieldNow } from '../util/async.ts';
import { checkEnv } from '../envs/check.ts';
import { formatReport } from '../envs/conformance.ts';
import { skillToDemoOptions, skillToPlayerSpec } from '../envs/demo.ts';
import { demoRow, scriptedGame, taskDemo, teacherEpisode, type DemoTeacher } from '../envs/demo_rows.ts';
import { guardUserEntry } from '../envs/guard.ts';
import { isEnvPath, loadEnvFile } from '../envs/load.ts';
import type { DifficultyRange, EnvEntry, Game, Task, Verdict } from '../envs/types.ts';
import { JsonlWriter } from '../runs/jsonl.ts';
import { episodeStats } from '../measure/episodes.ts';
import { exitCode, onInterrupt } from './signals.ts';
import { progressBar } from './progress.ts';
import type { EnvsFlags } from './envs.ts';

// ------------------------------------------------------------------ shared helpers

/** The id or path named by the id argument or --env. */
function sourceOf(id: string | undefined, flags: EnvsFlags): { name: string; file: boolean } {
  if (id !== undefined && flags.env !== undefined) throw new UserError(`give an environment id or --env PATH, not both (got "${id}" and --env ${flags.env})`);
  const name = flags.env ?? id;
  if (name === undefined) throw new UserError('which environment? give an id (`flywheel envs list` shows them) or a path to your .ts/.js file');
  return { name, file: flags.env !== undefined || isEnvPath(name) };
}

/** The environment named by the id argument or --env; a user's file is guarded unless `raw`. */
async function target(id: string | undefined, flags: EnvsFlags, raw = false): Promise<EnvEntry> {
  const { name, file } = sourceOf(id, flags);
  if (file) {
    const entry = await loadEnvFile(name);
    return raw ? entry : guardUserEntry(entry, name);
  }
  const { getEnv } = await import('../envs/registry.ts');
  return getEnv(name);
}

/**
 * The teacher of sample and demos: --skill sets both error rates on one axis
 * (skillToDemoOptions); --error-rate and --hard-accuracy override either.
 * Multi-turn families with a teacher (demonstrate) take the same options; a
 * family without one plays its reference policy, and asking it for a flawed
 * teacher is an error. Games: players that slip with probability
 * --error-rate (or the skill's).
 */
function teacherOf(flags: EnvsFlags, entry: EnvEntry, defaultSkill: number): DemoTeacher {
  const task = { ...skillToDemoOptions(flags.skill ?? defaultSkill) };
  if (flags.errorRate !== undefined) task.errorRate = flags.errorRate;
  if (flags.hardAccuracy !== undefined) task.hardAccuracy = flags.hardAccuracy;
  const given = flags.skill !== undefined || flags.errorRate !== undefined || flags.hardAccuracy !== undefined;
  if (entry.kind === 'multiturn' && !entry.family.demonstrate && given && (task.errorRate > 0 || task.hardAccuracy < 1)) {
    const asked = [flags.skill !== undefined && `--skill ${flags.skill}`, flags.errorRate !== undefined && `--error-rate ${flags.errorRate}`, flags.hardAccuracy !== undefined && `--hard-accuracy ${flags.hardAccuracy}`].filter(Boolean).join(' ');
    throw new UserError(`${idOf(entry)} is a multi-turn environment without a flawed teacher (its family defines no demonstrate()): its demonstrations come from the reference policy, so ${asked} does not apply`);
  }
  if (entry.kind === 'game' && flags.hardAccuracy !== undefined) throw new UserError(`${idOf(entry)} is a game: --hard-accuracy applies to task families and multi-turn teachers (games take --skill or --error-rate)`);
  const playerSpec = flags.errorRate !== undefined ? (flags.errorRate === 0 ? 'perfect' : flags.errorRate === 1 ? 'random' : `noisy:${flags.errorRate}`) : skillToPlayerSpec(flags.skill ?? defaultSkill);
  return { task, playerSpec };
}

function idOf(entry: EnvEntry): string {
  return entry.kind === 'game' ? entry.game.id : entry.family.id;
}

/** The requested difficulty, or the default; out of range is a UserError. */
function level(range: DifficultyRange, d: number | undefined, id: string): number {
  if (d === undefined) return range.default;
  if (d < range.min || d > range.max) throw new UserError(`--difficulty ${d} is out of range for ${id}: ${range.min}..${range.max}`);
  return d;
}

function print(flags: EnvsFlags, json: unknown, text: () => string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(json, null, 2)}\n` : `${text()}\n`);
}

const indent = (s: string, pad = '    '): string => s.replace(/^/gm, pad);
const resultWord = (r: number): string => (r > 0 ? 'first player won' : r < 0 ? 'second player won' : 'draw');

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n');
}

/** Awaits f on each item in turn (not concurrently: verifiers may run sandboxed processes). */
async function mapInOrder<T, R>(xs: readonly T[], f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const x of xs) out.push(await f(x));
  return out;
}

function verdictLine(v: Verdict): string {
  return `${v.reason} (reward ${v.reward})${v.detail ? `: ${v.detail}` : ''}`;
}

// ------------------------------------------------------------------ list, show

export async function list(_id: string | undefined, flags: EnvsFlags): Promise<void> {
  const { listEnvs } = await import('../envs/registry.ts');
  const rows = listEnvs().map((e) => {
    const d = e.kind === 'game' ? null : e.family.difficulty;
    return { id: idOf(e), kind: e.kind, description: e.kind === 'game' ? e.game.description : e.family.description, difficulty: d };
  });
  print(flags, rows, () =>
    table([
      ['ID', 'KIND', 'DIFFICULTY', 'DESCRIPTION'],
      ...rows.map((r) => [r.id, r.kind, r.difficulty ? `${r.difficulty.min}..${r.difficulty.max} (${r.difficulty.default})` : '-', r.description]),
    ]),
  );
}

export async function show(id: string | undefined, flags: EnvsFlags): Promise<void> {
  const entry = await target(id, flags);
  const seed = flags.seed ?? 0;
  if (entry.kind === 'game') {
    const g = entry.game;
    const json = { id: g.id, kind: 'game', description: g.description, numActions: g.numActions, encodingShape: g.encodingShape, initial: g.render(g.initial()) };
    print(flags, json, () => `${g.id} (game): ${g.description}\nactions: ${g.numActions}, encoding shape [${g.encodingShape.join(', ')}]\ninitial position:\n${indent(json.initial)}`);
    return;
  }
  const f = entry.family;
  const levels = Array.from({ length: f.difficulty.max - f.difficulty.min + 1 }, (_, i) => f.difficulty.min + i);
  const head = `${f.id} (${entry.kind}): ${f.description}\ndifficulty: ${f.difficulty.min}..${f.difficulty.max}, default ${f.difficulty.default}`;
  if (entry.kind === 'multiturn') {
    const mt = entry.family;
    const examples = levels.map((d) => ({ difficulty: d, observation: mt.create().reset(seed, d) }));
    print(flags, { id: f.id, kind: entry.kind, description: f.description, difficulty: f.difficulty, maxTurns: mt.maxTurns, examples }, () =>
      [`${head}\nmax turns: ${mt.maxTurns}\nfirst observations (seed ${seed}):`, ...examples.map((e) => `  difficulty ${e.difficulty}:\n${indent(e.observation)}`)].join('\n'),
    );
    return;
  }
  const tf = entry.family;
  const examples = levels.map((d) => {
    const t = tf.generate(seed, d);
    return { difficulty: d, prompt: t.prompt, answer: t.answer, hard: tf.isHard(t), stat: tf.stat(t) };
  });
  const json = { id: f.id, kind: entry.kind, description: f.description, difficulty: f.difficulty, errorKinds: tf.errorKinds, examples };
  print(flags, json, () =>
    [
      `${head}\nerror kinds: ${tf.errorKinds.join(', ')}\nexamples (seed ${seed}):`,
      ...examples.map((e) => `  difficulty ${e.difficulty}${e.hard ? ' (hard)' : ''}:\n${indent(e.prompt)}\n    answer: ${e.answer}`),
    ].join('\n'),
  );
}

// ------------------------------------------------------------------ sample, verify

export async function sample(id: string | undefined, flags: EnvsFlags): Promise<void> {
  const entry = await target(id, flags);
  const n = flags.n ?? 3;
  const seed0 = flags.seed ?? 0;
  const teacher = teacherOf(flags, entry, 0.8);
  const seeds = Array.from({ length: n }, (_, i) => seed0 + i);
  if (entry.kind === 'game') {
    const g = entry.game as Game<unknown>;
    const games = await mapInOrder(seeds, async (seed) => ({ env: g.id, seed, ...(await scriptedGame(g, seed, teacher.playerSpec)) }));
    print(flags, games, () =>
      games
        .map(({ env, seed, record: r, final }) => `--- ${env} seed ${seed}: ${r.players[0]} vs ${r.players[1]} ---\nmoves: ${r.moves.join(' ')}\nresult: ${r.result} (${resultWord(r.result)})\nfinal position:\n${indent(final)}`)
        .join('\n\n'),
    );
    return;
  }
  const d = level(entry.family.difficulty, flags.difficulty, entry.family.id);
  if (entry.kind === 'multiturn') {
    const mt = entry.family;
    const episodes = seeds.map((seed) => {
      const { turns, total, reason, hard, teacher: t } = teacherEpisode(mt, seed, d, teacher.task);
      return { env: mt.id, seed, difficulty: d, hard, teacher: t && { errorRate: t.errorRate, hardAccuracy: t.hardAccuracy }, turns, total, reason };
    });
    print(flags, episodes, () =>
      episodes
        .map((e) => {
          const who = e.teacher ? `teacher: error rate ${e.teacher.errorRate}, hard accuracy ${e.teacher.hardAccuracy}` : 'reference policy';
          const label = e.teacher ? 'teacher:' : 'policy: ';
          return [
            `--- ${e.env} seed ${e.seed} difficulty ${e.difficulty}${e.hard ? ' (hard)' : ''} (${who}) ---`,
            ...e.turns.map((t) => `${t.role === 'env' ? 'env:    ' : label} ${t.text}`),
            `total reward ${e.total} (${e.reason})`,
          ].join('\n');
        })
        .join('\n\n'),
    );
    return;
  }
  const tf = entry.family;
  const samples = await mapInOrder(seeds, async (seed) => {
    const { task, completion, verdict } = await taskDemo(tf, seed, d, teacher.task);
    const { errorRate, hardAccuracy } = teacher.task;
    return { env: tf.id, seed, difficulty: d, prompt: task.prompt, answer: task.answer, hard: tf.isHard(task), reference: tf.solve(task), demo: completion, skill: flags.skill ?? 0.8, errorRate, hardAccuracy, verdict };
  });
  print(flags, samples, () =>
    samples
      .map((s) =>
        [
          `--- ${s.env} seed ${s.seed} difficulty ${s.difficulty}${s.hard ? ' (hard)' : ''} ---`,
          `prompt:\n${indent(s.prompt, '  ')}`,
          `answer:    ${s.answer}`,
          `reference: ${s.reference}`,
          `demo (error rate ${s.errorRate}, hard accuracy ${s.hardAccuracy}): ${s.demo}`,
          `verdict:   ${verdictLine(s.verdict)}`,
        ].join('\n'),
      )
      .join('\n\n'),
  );
}

export async function verify(id: string | undefined, flags: EnvsFlags): Promise<void> {
  const entry = await target(id, flags);
  if (entry.kind !== 'task') throw new UserError(`${idOf(entry)} is a ${entry.kind} environment; verify grades single-turn task families (try \`flywheel envs sample ${idOf(entry)}\`)`);
  if ((flags.completion === undefined) === (flags.completionFile === undefined)) throw new UserError('give exactly one of --completion TEXT or --completion-file FILE (- reads stdin)');
  const completion = flags.completion ?? readCompletion(flags.completionFile!);
  const f = entry.family;
  const d = level(f.difficulty, flags.difficulty, f.id);
  const task: Task = f.generate(flags.seed!, d);
  const verdict = await f.verify(task, completion);
  print(flags, { env: f.id, seed: task.seed, difficulty: d, verdict }, () => `${f.id} seed ${task.seed} difficulty ${d}: ${verdictLine(verdict)}`);
}

function readCompletion(file: string): string {
  if (file === '-') return readFileSync(0, 'utf8');
  if (!existsSync(file)) throw new UserError(`completion file not found: ${file}`);
  if (!statSync(file).isFile() && statSync(file).isDirectory()) throw new UserError(`--completion-file ${file} is a directory; give the file that holds the completion (- reads stdin)`);
  return readFileSync(file, 'utf8');
}

// ------------------------------------------------------------------ demos

export async function demos(id: string | undefined, flags: EnvsFlags): Promise<void> {
  const entry = await target(id, flags);
  const n = flags.n!;
  const teacher = teacherOf(flags, entry, 1);
  const seed0 = flags.seed ?? 0;
  const range = entry.kind === 'game' ? null : entry.family.difficulty;
  if (range && flags.difficulty !== undefined) level(range, flags.difficulty, idOf(entry));
  const difficultyOf = (i: number): number => (range ? (flags.difficulty ?? range.min + (i % (range.max - range.min + 1))) : 0);

  const out = await JsonlWriter.open(flags.out!, { force: flags.force, flag: '--out' });
  const stop = onInterrupt(() => bar.log('interrupted: stopping; nothing is written to --out (Ctrl-C again to quit at once)'));
  const bar = progressBar(`demos ${idOf(entry)}`, n, { quiet: n < 1000 || flags.quiet }); // after the handler: its first line means Ctrl-C is handled
  let good = 0; // demos that verify (tasks) or earn reward (multi-turn); not counted for games
  let rewardSum = 0;
  const episodes: { firstOk: boolean; ok: boolean; hard: boolean; reward: number }[] = []; // multi-turn
  try {
    for (let i = 0; i < n && !stop.requested; i++) {
      const r = await demoRow(entry, seed0 + i, difficultyOf(i), teacher);
      await out.write(r.row);
      if (r.good) good++;
      rewardSum += r.reward;
      if (r.episode) episodes.push({ ...r.episode, reward: r.reward });
      if (i % 64 === 63) {
        bar.update(i + 1, { good: String(good) });
        await yieldNow(); // lets Ctrl-C and the progress timer in
      }
    }
    bar.update(out.lines, { good: String(good) });
    bar.stop();
    if (stop.requested) {
      await out.abort();
      process.exitCode = exitCode(stop.signal);
      return;
    }
    await out.close();
  } catch (err) {
    bar.stop();
    await out.abort();
    throw err;
  } finally {
    stop.dispose();
  }
  const env = idOf(entry);
  const flawed = entry.kind === 'task' || (entry.kind === 'multiturn' && entry.family.demonstrate !== undefined); // game players: see playerSpec
  const stats = entry.kind === 'multiturn' ? episodeStats(episodes) : null;
  const summary = {
    out: flags.out,
    env,
    kind: entry.kind,
    n,
    skill: flags.skill ?? 1,
    teacher: entry.kind === 'multiturn' ? (flawed ? 'demonstrate' : 'reference') : undefined,
    errorRate: flawed ? teacher.task.errorRate : null,
    hardAccuracy: flawed ? teacher.task.hardAccuracy : null,
    good: entry.kind === 'game' ? null : good,
    meanReward: rewardSum / n,
    episodes: stats ?? undefined, // multi-turn: first-attempt accuracy and recovery of the demonstrations
  };
  const pctOf = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const what =
    entry.kind === 'task' ? `${good} verify`
    : stats ? `${good} earn reward; first attempt right ${pctOf(stats.firstAttempt)}; recovered after a wrong first attempt ${pctOf(stats.recovery)} of ${stats.missedFirst}`
    : `mean result ${summary.meanReward.toFixed(3)}`;
  const text = `wrote ${n} ${env} demonstrations to ${flags.out} (${what})`;
  // Demonstrations written to our own stdout: the summary goes to stderr, so the JSONL stays clean.
  if (sameAsStdout(flags.out!)) process.stderr.write(`${flags.json ? JSON.stringify(summary) : text}\n`);
  else print(flags, summary, () => text);
}

function sameAsStdout(path: string): boolean {
  try {
    const a = statSync(path);
    const b = fstatSync(1);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ check

export async function check(id: string | undefined, flags: EnvsFlags): Promise<void> {
  const { name, file } = sourceOf(id, flags);
  const entry = await target(id, flags, true);
  const timeoutMs = flags.timeout === undefined ? undefined : flags.timeout * 1000;
  const report = await checkEnv(entry, { seeds: flags.seeds, source: file ? name : idOf(entry), processTimeoutMs: timeoutMs, verifyTimeoutMs: timeoutMs });
  print(flags, report, () => formatReport(report));
  if (!report.ok) process.exitCode = 1;
}
