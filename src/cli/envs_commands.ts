/**
 * What `flywheel envs ...` does (the commands and flags are declared in
 * ./envs.ts, which imports this module lazily). Each command resolves its
 * environment (a registry id, or a user's file: load.ts), then prints text or,
 * with --json, one JSON document on stdout. User mistakes are UserErrors.
 *
 * Demonstrations are seeded per item: the demonstrator's rng for seed s is
 * Rng('demo:<id>:<s>'), so `sample` and `demos` agree on the same seed,
 * difficulty and skill.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { checkGame, checkMultiTurnFamily, checkTaskFamily, formatReport } from '../envs/conformance.ts';
import { demonstrate, skillToDemoOptions, skillToPlayerSpec } from '../envs/demo.ts';
import { isEnvPath, loadEnvFile } from '../envs/load.ts';
import type { DifficultyRange, EnvEntry, Game, MultiTurnFamily, Task, TaskFamily, Verdict } from '../envs/types.ts';
import type { EnvsFlags } from './envs.ts';

// ------------------------------------------------------------------ shared helpers

/** The environment named by the id argument or --env. */
async function target(id: string | undefined, flags: EnvsFlags): Promise<EnvEntry> {
  if (id !== undefined && flags.env !== undefined) throw new UserError(`give an environment id or --env PATH, not both (got "${id}" and --env ${flags.env})`);
  const name = flags.env ?? id;
  if (name === undefined) throw new UserError('which environment? give an id (`flywheel envs list` shows them) or a path to your .ts/.js file');
  if (flags.env !== undefined || isEnvPath(name)) return loadEnvFile(name);
  const { getEnv } = await import('../envs/registry.ts');
  return getEnv(name);
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

/** One task with its demonstration and the demonstration's verdict. */
async function taskDemo(family: TaskFamily, seed: number, difficulty: number, skill: number) {
  const task = family.generate(seed, difficulty);
  const completion = demonstrate(family, task, new Rng(`demo:${family.id}:${seed}`), skillToDemoOptions(skill));
  const verdict = await family.verify(task, completion);
  return { task, completion, verdict };
}

/** An episode of the reference policy: the transcript as alternating env/policy turns. */
function referenceEpisode(family: MultiTurnFamily, seed: number, difficulty: number) {
  const ep = family.create();
  const texts = [ep.reset(seed, difficulty)];
  const turns: { role: 'env' | 'policy'; text: string; reward?: number }[] = [{ role: 'env', text: texts[0] }];
  let total = 0;
  let reason = 'out_of_turns';
  for (let t = 0; t < family.maxTurns; t++) {
    const action = family.solve(texts);
    const r = ep.step(action);
    texts.push(action);
    turns.push({ role: 'policy', text: action, reward: r.reward });
    total += r.reward;
    if (r.done) {
      reason = typeof r.info.reason === 'string' ? r.info.reason : 'done';
      break;
    }
    texts.push(r.observation);
    turns.push({ role: 'env', text: r.observation });
  }
  return { turns, total, reason };
}

/** A game between two players of the given skill (see skillToPlayerSpec). */
async function scriptedGame(game: Game<unknown>, seed: number, skill: number) {
  const { makePlayer, playGame } = await import('../envs/games/players.ts');
  const spec = skillToPlayerSpec(skill);
  const record = playGame(game, makePlayer(game, spec), makePlayer(game, spec), new Rng(`demo:${game.id}:${seed}`));
  let s = game.initial();
  for (const m of record.moves) s = game.play(s, m);
  return { record, final: game.render(s) };
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
  const skill = flags.skill ?? 0.8;
  const seeds = Array.from({ length: n }, (_, i) => seed0 + i);
  if (entry.kind === 'game') {
    const g = entry.game as Game<unknown>;
    const games = await mapInOrder(seeds, async (seed) => ({ env: g.id, seed, ...(await scriptedGame(g, seed, skill)) }));
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
    const episodes = seeds.map((seed) => ({ env: mt.id, seed, difficulty: d, ...referenceEpisode(mt, seed, d) }));
    print(flags, episodes, () =>
      episodes
        .map((e) => [`--- ${e.env} seed ${e.seed} difficulty ${e.difficulty} (reference policy) ---`, ...e.turns.map((t) => `${t.role === 'env' ? 'env:   ' : 'policy:'} ${t.text}`), `total reward ${e.total} (${e.reason})`].join('\n'))
        .join('\n\n'),
    );
    return;
  }
  const tf = entry.family;
  const samples = await mapInOrder(seeds, async (seed) => {
    const { task, completion, verdict } = await taskDemo(tf, seed, d, skill);
    return { env: tf.id, seed, difficulty: d, prompt: task.prompt, answer: task.answer, hard: tf.isHard(task), reference: tf.solve(task), demo: completion, skill, verdict };
  });
  print(flags, samples, () =>
    samples
      .map((s) =>
        [
          `--- ${s.env} seed ${s.seed} difficulty ${s.difficulty}${s.hard ? ' (hard)' : ''} ---`,
          `prompt:\n${indent(s.prompt, '  ')}`,
          `answer:    ${s.answer}`,
          `reference: ${s.reference}`,
          `demo (skill ${s.skill}): ${s.demo}`,
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
  return readFileSync(file, 'utf8');
}

// ------------------------------------------------------------------ demos

export async function demos(id: string | undefined, flags: EnvsFlags): Promise<void> {
  const entry = await target(id, flags);
  const n = flags.n!;
  const skill = flags.skill!;
  const seed0 = flags.seed ?? 0;
  const out = resolve(flags.out!);
  if (!existsSync(dirname(out)) || !statSync(dirname(out)).isDirectory()) throw new UserError(`--out ${flags.out}: directory ${dirname(out)} does not exist`);
  const range = entry.kind === 'game' ? null : entry.family.difficulty;
  if (range && flags.difficulty !== undefined) level(range, flags.difficulty, idOf(entry));
  const difficultyOf = (i: number): number => (range ? (flags.difficulty ?? range.min + (i % (range.max - range.min + 1))) : 0);

  const tmp = `${out}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  let good = 0; // demos that verify (tasks) or earn reward (multi-turn); not counted for games
  let rewardSum = 0;
  try {
    let batch = '';
    for (let i = 0; i < n; i++) {
      const seed = seed0 + i;
      const d = difficultyOf(i);
      let row: object;
      if (entry.kind === 'task') {
        const { task, completion, verdict } = await taskDemo(entry.family, seed, d, skill);
        row = { prompt: task.prompt, completion, env: task.env, seed, difficulty: d, ok: verdict.ok, reward: verdict.reward };
        if (verdict.ok) good++;
        rewardSum += verdict.reward;
      } else if (entry.kind === 'multiturn') {
        const e = referenceEpisode(entry.family, seed, d);
        const messages = e.turns.map((t) => ({ role: t.role === 'env' ? 'user' : 'assistant', content: t.text }));
        row = { messages, env: entry.family.id, seed, difficulty: d, reward: e.total };
        if (e.total > 0) good++;
        rewardSum += e.total;
      } else {
        const { record } = await scriptedGame(entry.game as Game<unknown>, seed, skill);
        row = { ...record, seed };
        rewardSum += record.result; // mean result: +1 first player wins, -1 second
      }
      batch += `${JSON.stringify(row)}\n`;
      if (batch.length > 1 << 16 || i === n - 1) {
        writeSync(fd, batch);
        batch = '';
      }
      if (n >= 1000 && (i + 1) % Math.ceil(n / 10) === 0) process.stderr.write(`demos: ${i + 1}/${n}\n`);
    }
    closeSync(fd);
    renameSync(tmp, out);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw err;
  }
  const env = idOf(entry);
  const summary = { out: flags.out, env, kind: entry.kind, n, skill, good: entry.kind === 'game' ? null : good, meanReward: rewardSum / n };
  const what = entry.kind === 'task' ? `${good} verify` : entry.kind === 'multiturn' ? `${good} earn reward` : `mean result ${summary.meanReward.toFixed(3)}`;
  print(flags, summary, () => `wrote ${n} ${env} demonstrations to ${flags.out} (${what})`);
}

// ------------------------------------------------------------------ check

export async function check(id: string | undefined, flags: EnvsFlags): Promise<void> {
  const entry = await target(id, flags);
  const opts = { seeds: flags.seeds };
  const report =
    entry.kind === 'task' ? await checkTaskFamily(entry.family, opts) : entry.kind === 'multiturn' ? await checkMultiTurnFamily(entry.family, opts) : await checkGame(entry.game, opts);
  print(flags, report, () => formatReport(report));
  if (!report.ok) process.exitCode = 1;
}
