/**
 * Run directories: one layout for every kind of run (pretrain, SFT, RL,
 * eval, self-play), so resuming, inspecting, comparing and exporting work
 * the same way everywhere. An algorithm never lays out files itself; it asks
 * a RunDir.
 *
 *   <dir>/config.json       { kind, version, ...the resolved config }: what really ran
 *   <dir>/metrics.jsonl     one JSON object a line, each with an integer "step"
 *   <dir>/checkpoint/       the latest checkpoint (src/nn/checkpoint.ts: saved atomically)
 *   <dir>/rollouts.sqlite   every rollout (RL, eval; src/runs/rollouts.ts)
 *   <dir>/games.jsonl       game records (self-play)
 *   <dir>/report.html       a self-contained report
 *   <dir>/summary.json      the headline figures of a finished run
 *
 * The rules, in one place:
 *   - A directory is a run when it holds a config.json whose "kind" is a run kind.
 *   - A new run goes into a missing or empty directory. A directory that holds
 *     a run is refused (resume it, or pass force); a non-empty directory that
 *     is not a run is always refused, force or not: it is somebody's data.
 *   - force replaces a run: the new config is written to a temporary file, the
 *     old run's files are removed, then the new config is renamed in. Killed
 *     at any point, the directory is the old run (maybe without its
 *     checkpoint) or the new one, never a new config over an old checkpoint.
 *   - Resuming truncates metrics.jsonl to the checkpoint's step (and drops a
 *     line cut short by a crash), so an interrupted run logs each step once.
 *   - The checkpoint is found through resolveCheckpointDir, so a save that
 *     was interrupted mid-swap (only checkpoint.old-* left) is recovered the
 *     same way by sample, --resume and a fresh run (which is refused: it
 *     never deletes a complete checkpoint).
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { makeDirs } from '../util/fs.ts';
import { loadCheckpoint, resolveCheckpointDir, saveCheckpoint, type Checkpoint } from '../nn/checkpoint.ts';
import { writeFileAtomic } from '../nn/safetensors.ts';

export const RUN_KINDS = ['pretrain', 'sft', 'rl', 'eval', 'selfplay', 'demo'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** The files of a run directory (the layout in the header). */
export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  checkpoint: 'checkpoint',
  rollouts: 'rollouts.sqlite',
  games: 'games.jsonl',
  report: 'report.html',
  summary: 'summary.json',
} as const;

const VERSION = 1;

/** One metrics line: an integer step, then whatever the run measures. */
export type MetricRow = { step: number } & Record<string, unknown>;

export interface StartOptions {
  resume?: boolean; // continue the run in dir (it must be a run of this kind)
  force?: boolean; // replace the run in dir, if any
}

export class RunDir {
  private constructor(readonly dir: string, readonly kind: RunKind, private cfg: Record<string, unknown>) {}

  /**
   * A new run (or, with resume, the existing one). For a new run `config` is
   * written as config.json; on resume the saved config is kept and `config`
   * is ignored: the caller reconciles flags with `run.config()` (see
   * reconcile below) and calls updateConfig if the run is extended.
   */
  static start(dir: string, kind: RunKind, config: object, opts: StartOptions = {}): RunDir {
    if (opts.resume && opts.force) throw new UserError('--resume and --force contradict each other: resume continues the run, force starts it over');
    if (opts.resume) return RunDir.open(dir, kind);
    return RunDir.create(dir, kind, config, !!opts.force);
  }

  /** Opens an existing run (for --resume, inspection, export); kind, when given, must match. */
  static open(dir: string, kind?: RunKind): RunDir {
    const what = readRunConfig(dir);
    if (what === 'missing') throw new UserError(`${dir}: no such run directory`);
    if (what === 'not-a-run') throw new UserError(`${dir}: not a flywheel run directory (no ${RUN_FILES.config} with a "kind")`);
    const { kind: saved, version: _v, ...cfg } = what;
    if (kind !== undefined && saved !== kind) throw new UserError(`${dir} holds a ${saved} run, not a ${kind} run`);
    return new RunDir(dir, saved as RunKind, cfg);
  }

  /** Whether `dir` holds a run (of any kind). */
  static isRun(dir: string): boolean {
    const what = readRunConfig(dir);
    return what !== 'missing' && what !== 'not-a-run';
  }

  private static create(dir: string, kind: RunKind, config: object, force: boolean): RunDir {
    const what = readRunConfig(dir);
    if (what === 'not-a-run') {
      throw new UserError(`${dir} exists and is not a flywheel run directory; choose another --out (flywheel never writes into a directory that holds other data)`);
    }
    if (what !== 'missing' && !force) {
      throw new UserError(`${dir} already holds a ${what.kind} run; continue it with --resume, start over with --force, or choose another --out`);
    }
    try {
      makeDirs(dir);
      const body = JSON.stringify({ kind, version: VERSION, ...config }, null, 2) + '\n';
      const tmp = join(dir, `${RUN_FILES.config}.new`);
      writeFileSync(tmp, body);
      if (what !== 'missing') removeRunFiles(dir);
      renameSync(tmp, join(dir, RUN_FILES.config));
    } catch (err) {
      throw fsError(err, dir);
    }
    return new RunDir(dir, kind, { ...config } as Record<string, unknown>);
  }

  /** The resolved config this run was started with (without kind and version). */
  config<T = Record<string, unknown>>(): T {
    return structuredClone(this.cfg) as T;
  }

  /** Rewrites config.json (atomically), e.g. when --steps extends a resumed run. */
  updateConfig(config: object): void {
    this.cfg = { ...config } as Record<string, unknown>;
    try {
      writeFileAtomic(this.path(RUN_FILES.config), new TextEncoder().encode(JSON.stringify({ kind: this.kind, version: VERSION, ...config }, null, 2) + '\n'));
    } catch (err) {
      throw fsError(err, this.dir);
    }
  }

  /** A file inside the run directory. */
  path(name: string): string {
    return join(this.dir, name);
  }

  get checkpointDir(): string {
    return this.path(RUN_FILES.checkpoint);
  }

  /** Whether a complete checkpoint can be loaded (including one recovered from an interrupted save). */
  hasCheckpoint(): boolean {
    try {
      return existsSync(join(resolveCheckpointDir(this.checkpointDir), 'checkpoint.json'));
    } catch {
      return false;
    }
  }

  saveCheckpoint(ck: Checkpoint): void {
    saveCheckpoint(this.checkpointDir, ck);
  }

  /** The latest checkpoint; a UserError that says how to start over when there is none. */
  loadCheckpoint(): Checkpoint {
    if (!this.hasCheckpoint()) {
      throw new UserError(`${this.dir}: this run has no checkpoint yet (it stopped before its first save); start it over with --force`);
    }
    return loadCheckpoint(this.checkpointDir);
  }

  // ---------------------------------------------------------------- metrics

  appendMetrics(row: MetricRow): void {
    try {
      appendFileSync(this.path(RUN_FILES.metrics), JSON.stringify(row) + '\n');
    } catch (err) {
      throw fsError(err, this.dir);
    }
  }

  /** Every complete metrics line, in order (a line cut short by a crash is skipped). */
  readMetrics(): MetricRow[] {
    const file = this.path(RUN_FILES.metrics);
    if (!existsSync(file)) return [];
    const rows: MetricRow[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const row = JSON.parse(line);
        if (Number.isInteger(row?.step)) rows.push(row);
      } catch {
        // a partial last line from a crash mid-write
      }
    }
    return rows;
  }

  /** Keeps the metrics lines with step <= `step` (called on resume from a checkpoint at `step`). */
  truncateMetrics(step: number): void {
    const file = this.path(RUN_FILES.metrics);
    if (!existsSync(file)) return;
    const kept = this.readMetrics().filter((r) => r.step <= step);
    try {
      writeFileAtomic(file, new TextEncoder().encode(kept.map((r) => JSON.stringify(r) + '\n').join('')));
    } catch (err) {
      throw fsError(err, this.dir);
    }
  }

  writeJson(name: string, value: unknown): void {
    try {
      writeFileAtomic(this.path(name), new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n'));
    } catch (err) {
      throw fsError(err, this.dir);
    }
  }
}

// ---------------------------------------------------------------- resume: flags against the saved config

/** A setting given on the command line, with the config path it sets. */
export interface GivenSetting {
  flag: string; // as the user typed it, e.g. '--layers'
  path: string; // dotted path into the config, e.g. 'model.nLayer'
  value: unknown;
}

/**
 * On resume the run's own config wins; a flag the user gave explicitly must
 * agree with it. Paths in `extendable` (e.g. 'train.steps') may grow: the
 * returned config carries the new value. Anything else that differs is a
 * UserError naming the flag, both values and the file.
 */
export function reconcile<T extends object>(run: RunDir, given: readonly GivenSetting[], extendable: readonly string[] = []): T {
  const cfg = run.config<Record<string, unknown>>();
  for (const g of given) {
    const saved = getPath(cfg, g.path);
    if (sameValue(saved, g.value)) continue;
    if (extendable.includes(g.path) && typeof saved === 'number' && typeof g.value === 'number' && g.value >= saved) {
      setPath(cfg, g.path, g.value);
      continue;
    }
    const extend = extendable.includes(g.path) ? ` (it may only grow, from ${JSON.stringify(saved)})` : '';
    throw new UserError(
      `${g.flag} ${JSON.stringify(g.value)} contradicts this run's ${g.path} = ${JSON.stringify(saved)} (${run.path(RUN_FILES.config)})${extend}; ` +
        'leave the flag out to resume as it was, or start a new run with --force or another --out',
    );
  }
  return cfg as T;
}

function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
  cur[keys[keys.length - 1]] = value;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---------------------------------------------------------------- helpers

/** The parsed config.json of a run, or why `dir` is not one. */
function readRunConfig(dir: string): 'missing' | 'not-a-run' | { kind: string; version: number; [k: string]: unknown } {
  let st;
  try {
    st = statSync(dir);
  } catch {
    return 'missing';
  }
  if (!st.isDirectory()) throw new UserError(`${dir} is a file, not a directory; a run directory is a directory (choose another --out)`);
  const file = join(dir, RUN_FILES.config);
  if (!existsSync(file)) return readdirSync(dir).length === 0 ? 'missing' : 'not-a-run';
  if (existsSync(join(dir, 'checkpoint.json'))) return 'not-a-run'; // a checkpoint directory (its config.json describes a model)
  let cfg: unknown;
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return 'not-a-run';
  }
  const kind = (cfg as { kind?: unknown })?.kind;
  if (typeof kind !== 'string' || !(RUN_KINDS as readonly string[]).includes(kind)) return 'not-a-run';
  return cfg as { kind: string; version: number };
}

/** Removes what a run writes (the layout above, checkpoint leftovers, SQLite side files), nothing else. */
function removeRunFiles(dir: string): void {
  const ours = new Set<string>(Object.values(RUN_FILES).filter((f) => f !== RUN_FILES.config));
  for (const name of readdirSync(dir)) {
    const mine = ours.has(name) || /^checkpoint\.(tmp|old)-\d+-\d+$/.test(name) || /^rollouts\.sqlite-(wal|shm|journal)$/.test(name);
    if (mine) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/** File system failures (permissions, disk full, a file where a directory should be) are the user's to fix. */
function fsError(err: unknown, dir: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return new UserError(`${resolve(dir)}: cannot write the run directory (${(err as Error).message})`);
  return err;
}
