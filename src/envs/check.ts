/**
 * checkEnv(entry): the conformance suite for any kind of environment (the
 * one place that dispatches on entry.kind), plus what only a second process
 * can see.
 *
 * Given `source` (a registry id or the path of the user's file), the
 * environment is first loaded in a fresh child process that generates the
 * same tasks (multi-turn: reference and teacher episodes; games: a fixed playout) as this
 * process does, under a time limit:
 *
 *   - a generator that depends on Math.random() at module level, Date.now()
 *     or state left behind by earlier calls passes every in-process check,
 *     but gives other tasks in another process (and then `envs sample` and
 *     `envs verify` disagree): the outputs are compared item by item;
 *   - a generate() that never returns would hang the suite: in the child it
 *     is killed after the time limit, the failure names the (seed,
 *     difficulty) it hung on, and the in-process checks are skipped.
 *
 * Without `source` (a family built in code) only the in-process suite runs.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkGame, checkMultiTurnFamily, checkTaskFamily } from './conformance.ts';
import { describeError, levels, type Check, type ConformanceOptions, type ConformanceReport } from './conformance_base.ts';
import { Rng } from '../util/rng.ts';
import { runEpisode } from './multiturn/episode.ts';
import type { EnvEntry } from './types.ts';

export interface CheckEnvOptions extends ConformanceOptions {
  source?: string; // registry id or file path the entry was loaded from; enables the cross-process check
  processTimeoutMs?: number; // time limit of generating in the child once it has loaded the environment (default 30000)
}

const CROSS = 'generate is deterministic across processes and returns in time';

export async function checkEnv(entry: EnvEntry, opts: CheckEnvOptions = {}): Promise<ConformanceReport> {
  let cross: CrossCheck | null = null;
  if (opts.source !== undefined) {
    cross = await crossProcessCheck(entry, opts.source, opts.seeds ?? 6, opts.processTimeoutMs ?? 30_000);
    if (cross.hung) {
      const id = envId(entry);
      return { env: id, kind: entry.kind, ok: false, checks: [{ name: cross.name, ok: false, message: `${cross.message}; the other checks were skipped (they would hang too)` }] };
    }
  }
  const report =
    entry.kind === 'task' ? await checkTaskFamily(entry.family, opts) : entry.kind === 'multiturn' ? await checkMultiTurnFamily(entry.family, opts) : await checkGame(entry.game, opts);
  if (cross === null) return report;
  const checks = [...report.checks, { name: cross.name, ok: cross.ok, message: cross.message }];
  return { ...report, ok: report.ok && cross.ok, checks };
}

function envId(entry: EnvEntry): string {
  const id = entry.kind === 'game' ? entry.game?.id : entry.family?.id;
  return typeof id === 'string' ? id : '(no id)';
}

// ------------------------------------------------------------------ what both processes generate

/** One generated item: where, and what came out (as JSON text). */
export interface ProbeItem {
  at: string; // e.g. 'generate(3, 2)'
  out: string;
}

/**
 * The items both processes generate, in order. `onStart` is told each call
 * before it is made (the child reports it, so a hang names its call). A
 * throw is an item too: it should be the same throw in both processes.
 */
export function* probe(entry: EnvEntry, seeds: number, onStart: (at: string) => void = () => {}): Generator<ProbeItem> {
  const attempt = (at: string, f: () => unknown): ProbeItem => {
    onStart(at);
    try {
      return { at, out: JSON.stringify(f()) ?? 'undefined' };
    } catch (err) {
      return { at, out: `threw ${describeError(err)}` };
    }
  };
  if (entry.kind === 'game') {
    const g = entry.game;
    yield attempt('a playout taking the first legal move', () => {
      const keys: string[] = [];
      let s = g.initial();
      for (let ply = 0; ply < 100 * g.numActions + 1000 && g.result(s) === null; ply++) {
        keys.push(g.key(s));
        s = g.play(s, g.legalMoves(s)[0]);
      }
      return [...keys, g.key(s), g.result(s)];
    });
    return;
  }
  const f = entry.family;
  for (const d of levels(f.difficulty))
    for (let seed = 0; seed < seeds; seed++) {
      if (entry.kind === 'task') yield attempt(`generate(${seed}, ${d})`, () => entry.family.generate(seed, d));
      else {
        const mt = entry.family;
        yield attempt(`reset(${seed}, ${d}) and the reference episode`, () => runEpisode(mt, (t) => mt.solve(t), { seed, difficulty: d }));
        if (typeof mt.demonstrate === 'function') {
          const demonstrate = mt.demonstrate, rng = new Rng(`probe:${seed}`), teacher = { errorRate: 0.5, hardAccuracy: 0.5 };
          yield attempt(`a teacher episode (demonstrate) of seed ${seed}, difficulty ${d}`, () => runEpisode(mt, (t) => demonstrate.call(mt, t, rng, teacher), { seed, difficulty: d }));
        }
      }
    }
}

// ------------------------------------------------------------------ the child process

interface CrossCheck extends Check {
  hung: boolean;
}

const LOAD_TIMEOUT_MS = 60_000; // loading the environment in the child, before the time limit of generating starts
const CHILD = fileURLToPath(new URL('./check_child.ts', import.meta.url));

async function crossProcessCheck(entry: EnvEntry, source: string, seeds: number, timeoutMs: number): Promise<CrossCheck> {
  const child = await runChild(source, seeds, timeoutMs);
  const seconds = `${(timeoutMs / 1000).toFixed(timeoutMs < 1000 ? 1 : 0)} s`;
  if (child.timedOut) {
    const where = child.started ?? 'loading the environment';
    return { name: CROSS, ok: false, hung: true, message: `${where} did not return within ${seconds} in a fresh process` };
  }
  if (child.error !== null) return { name: CROSS, ok: false, hung: false, message: `the child process failed: ${child.error}` };
  const problems: string[] = [];
  let i = 0;
  for (const mine of probe(entry, seeds)) {
    const theirs = child.items[i++];
    if (theirs === undefined) {
      problems.push(`${mine.at}: the child process gave no result`);
      break;
    }
    if (theirs.out !== mine.out) problems.push(`${mine.at} differs: ${clip(mine.out)} here, ${clip(theirs.out)} in a fresh process`);
  }
  if (problems.length === 0) return { name: CROSS, ok: true, hung: false, message: `${i} items` };
  const hint = 'does it use Math.random(), Date.now(), or state kept between calls? Draw everything from the rng it is given';
  return { name: CROSS, ok: false, hung: false, message: `${problems.slice(0, 2).join('; ')}${problems.length > 2 ? ` (and ${problems.length - 2} more)` : ''}; ${hint}` };
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}...` : s;
}

interface ChildResult {
  items: ProbeItem[];
  started: string | null; // the last call the child began
  timedOut: boolean;
  error: string | null;
}

/** Runs check_child.ts on `source` and collects its output lines, killing it after `timeoutMs`. */
function runChild(source: string, seeds: number, timeoutMs: number): Promise<ChildResult> {
  const tsx = import.meta.resolve('tsx');
  return new Promise((resolveResult) => {
    const out: ChildResult = { items: [], started: null, timedOut: false, error: null };
    const child = spawn(process.execPath, ['--import', tsx, CHILD, source, String(seeds)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let rest = '';
    let stderr = '';
    // Loading (tsx compiling the file, the registry) gets its own, generous limit; the generating phase gets timeoutMs.
    const expire = (): void => {
      out.timedOut = true;
      child.kill('SIGKILL');
    };
    let timer = setTimeout(expire, Math.max(LOAD_TIMEOUT_MS, timeoutMs));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const msg = JSON.parse(line) as { loaded?: boolean; start?: string; item?: ProbeItem; error?: string };
        if (msg.loaded) {
          clearTimeout(timer);
          timer = setTimeout(expire, timeoutMs);
        }
        if (msg.start !== undefined) out.started = msg.start;
        if (msg.item !== undefined) out.items.push(msg.item);
        if (msg.error !== undefined) out.error = msg.error;
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (err) => {
      out.error = describeError(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (!out.timedOut && out.error === null && code !== 0) out.error = `exit code ${code}: ${stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300)}`;
      resolveResult(out);
    });
  });
}
